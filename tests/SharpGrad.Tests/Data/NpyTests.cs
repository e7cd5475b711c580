using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using SharpGrad;
using SharpGrad.Data;

namespace SharpGrad.Tests.Data;

public sealed class NpyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sharpgrad-npy-" + Guid.NewGuid().ToString("N"));

    public NpyTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Golden(string file) => Path.Combine(AppContext.BaseDirectory, "golden", "npy", file);

    // ---- reading files written by NumPy (tools/golden/make_npy.py), checked against its plain-text sidecars ----

    /// <summary>The sidecar: NumPy's dtype string, the shape, then the C-order elements one per line.</summary>
    private static (string Descr, int[] Shape, string[] Values) Sidecar(string file)
    {
        string[] lines = File.ReadAllLines(Golden(file));
        int[] shape = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        return (lines[0], shape, lines[2..]);
    }

    private static void AssertValues(string descr, string[] expected, Array actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            object? a = actual.GetValue(i);
            if (descr[1] == 'f')
            {
                double want = double.Parse(expected[i], CultureInfo.InvariantCulture);
                double got = a is float f ? f : (double)a!;
                // Bitwise, so that -0.0 and NaN are checked too.
                Assert.True(BitConverter.DoubleToInt64Bits(want) == BitConverter.DoubleToInt64Bits(got) || (double.IsNaN(want) && double.IsNaN(got)),
                    $"element {i}: expected {expected[i]}, got {got:R}");
            }
            else
            {
                long got = a is bool b ? (b ? 1 : 0) : Convert.ToInt64(a, CultureInfo.InvariantCulture);
                Assert.Equal(long.Parse(expected[i], CultureInfo.InvariantCulture), got);
            }
        }
    }

    public static TheoryData<string> GoldenArrays() => new()
    {
        "f4_2x3", "f8_5", "i4_2x3x4", "i8_3", "u1_4x4", "b1_5", "f8_scalar", "f4_empty", "f8_2x0",
        "v2_f4", "v3_f8", "fortran_f8_3x4", "fortran_i4_2x3x4",
    };

    [Theory]
    [MemberData(nameof(GoldenArrays))]
    public void ReadArray_NumPyFile_MatchesSidecar(string name)
    {
        var (descr, shape, values) = Sidecar(name + ".txt");
        NpyArray a = Npy.ReadArray(Golden(name + ".npy"));
        Assert.Equal(descr, a.Descr);
        Assert.Equal(shape, a.Shape);
        Type expectedType = descr switch
        {
            "<f4" => typeof(float[]), "<f8" => typeof(double[]), "<i4" => typeof(int[]),
            "<i8" => typeof(long[]), "|u1" => typeof(byte[]), _ => typeof(bool[]),
        };
        Assert.IsType(expectedType, a.Data);
        AssertValues(descr, values, a.Data);
    }

    [Theory]
    [MemberData(nameof(GoldenArrays))]
    public void Load_NumPyFile_GivesTensorOfWidenedDType(string name)
    {
        var (descr, shape, values) = Sidecar(name + ".txt");
        Tensor t = Npy.Load(Golden(name + ".npy"));
        Assert.Equal(shape, t.Shape);
        DType expected = descr switch { "<f4" => DType.Float32, "<f8" => DType.Float64, _ => DType.Int64 };
        Assert.Equal(expected, t.DType);
        AssertValues(descr, values, t.DType switch
        {
            DType.Float32 => t.ToArray<float>(),
            DType.Float64 => t.ToArray<double>(),
            _ => t.ToArray<long>(),
        });
    }

    [Fact]
    public void ReadArray_VersionedHeaders_AreTheVersionsClaimed()
    {
        Assert.Equal(2, File.ReadAllBytes(Golden("v2_f4.npy"))[6]);
        Assert.Equal(3, File.ReadAllBytes(Golden("v3_f8.npy"))[6]);
    }

    [Theory]
    [InlineData("arrays.npz")]
    [InlineData("arrays_compressed.npz")]
    public void LoadNpz_NumPyArchive_KeepsOrderAndValues(string file)
    {
        string[] keys = File.ReadAllLines(Golden(file + ".txt"));
        OrderedDictionary<string, NpyArray> raw = Npy.ReadNpz(Golden(file));
        OrderedDictionary<string, Tensor> tensors = Npy.LoadNpz(Golden(file));
        Assert.Equal(keys, raw.Keys);
        Assert.Equal(keys, tensors.Keys);
        foreach (string key in keys)
        {
            var (descr, shape, values) = Sidecar($"{file}.{key}.txt");
            Assert.Equal(descr, raw[key].Descr);
            Assert.Equal(shape, raw[key].Shape);
            AssertValues(descr, values, raw[key].Data);
            Assert.Equal(shape, tensors[key].Shape);
        }
        Assert.IsType<byte[]>(raw["image"].Data);
        Assert.Equal(DType.Int64, tensors["image"].DType);
    }

    /// <summary>
    /// NumPy also leaves spare header room for growing the first dimension; for these small shapes both land on the
    /// same 64-byte boundary, so our writer's files are byte-for-byte NumPy's.
    /// </summary>
    [Theory]
    [InlineData("f4_2x3")]
    [InlineData("f8_5")]
    [InlineData("i4_2x3x4")]
    [InlineData("i8_3")]
    [InlineData("u1_4x4")]
    [InlineData("b1_5")]
    [InlineData("f8_scalar")]
    public void Write_SmallArrays_AreByteIdenticalToNumPy(string name)
    {
        byte[] numpy = File.ReadAllBytes(Golden(name + ".npy"));
        var ms = new MemoryStream();
        Npy.Write(ms, Npy.ReadArray(Golden(name + ".npy")));
        Assert.Equal(numpy, ms.ToArray());
    }

    // ---- round trips ----

    public static TheoryData<DType, int[]> DTypesAndShapes()
    {
        var data = new TheoryData<DType, int[]>();
        foreach (DType d in new[] { DType.Float32, DType.Float64, DType.Int64 })
            foreach (int[] s in new[] { Array.Empty<int>(), [0], [5], [2, 3], [2, 3, 4] })
                data.Add(d, s);
        return data;
    }

    private static Tensor Sample(DType dtype, int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var g = new Generator(seed: 7);
        Tensor flat = dtype == DType.Int64
            ? Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)i * 1_000_000_007L - long.MaxValue / 3).ToArray())
            : Tensor.Randn([n], g, dtype);
        // FromArray with an empty shape is 1-D, so a 0-d tensor needs the storage constructor.
        return new Tensor(flat.Storage, shape, dtype);
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void SaveLoad_RoundTrips_DTypeShapeAndBits(DType dtype, int[] shape)
    {
        Tensor t = Sample(dtype, shape);
        string path = Path.Combine(_dir, "t.npy");
        Npy.Save(path, t);
        Tensor back = Npy.Load(path);
        Assert.Equal(dtype, back.DType);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(t.Bytes.ToArray(), back.Bytes.ToArray());

        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(1, file[6]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal((byte)'\n', file[10 + headerLength - 1]);
        Assert.Equal(10 + headerLength + t.Numel * dtype.ElementSize(), file.Length);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void WriteRead_NpyArray_KeepsCompactTypes()
    {
        var arrays = new[]
        {
            new NpyArray(new byte[] { 0, 1, 200, 255, 7, 9 }, 2, 3),
            new NpyArray(new int[] { int.MinValue, -1, 0, int.MaxValue }, 4),
            new NpyArray(new bool[] { true, false, true }, 3),
            new NpyArray(new double[] { 2.5 }),
        };
        var ms = new MemoryStream();
        foreach (var a in arrays) Npy.Write(ms, a);
        ms.Position = 0;
        // Arrays written one after another into one stream read back one after another, as with np.save/np.load.
        foreach (var a in arrays)
        {
            NpyArray back = Npy.ReadArray(ms, "seq.npy");
            Assert.Equal(a.Descr, back.Descr);
            Assert.Equal(a.Shape, back.Shape);
            Assert.Equal(a.Data, back.Data);
        }
        Assert.Equal(ms.Length, ms.Position);
    }

    [Fact]
    public void Write_HeaderOver64K_UsesVersion2()
    {
        int[] shape = Enumerable.Repeat(1, 30_000).ToArray();
        var ms = new MemoryStream();
        Npy.Write(ms, new NpyArray(new float[] { 4.5f }, shape));
        byte[] bytes = ms.ToArray();
        Assert.Equal(2, bytes[6]);
        Assert.Equal(0, (12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))) % 64);
        ms.Position = 0;
        NpyArray back = Npy.ReadArray(ms);
        Assert.Equal(shape, back.Shape);
        Assert.Equal(new float[] { 4.5f }, back.Data);
    }

    [Fact]
    public void ReadArray_NonSeekableStream_Works()
    {
        using var s = new ForwardOnlyStream(File.ReadAllBytes(Golden("i4_2x3x4.npy")));
        NpyArray a = Npy.ReadArray(s, "pipe");
        Assert.Equal(new[] { 2, 3, 4 }, a.Shape);
        AssertValues("<i4", Sidecar("i4_2x3x4.txt").Values, a.Data);
    }

    [Fact]
    public void Save_OverwritesExistingFileAtomically()
    {
        string path = Path.Combine(_dir, "w.npy");
        File.WriteAllText(path, "old contents");
        Npy.Save(path, Tensor.FromArray(new float[] { 1, 2, 3 }));
        Assert.Equal(new float[] { 1, 2, 3 }, Npy.Load(path).ToArray<float>());
        Assert.Equal(new[] { "w.npy" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaveLoadNpz_RoundTripsInOrder(bool compress)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("zeta", Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3)),
            new("alpha", Tensor.FromArray(new long[] { 9, 8, 7 })),
            new("scalar", new Tensor(new double[] { Math.PI }, [], DType.Float64)),
        };
        string path = Path.Combine(_dir, "a.npz");
        Npy.SaveNpz(path, tensors, compress);
        var back = Npy.LoadNpz(path);
        Assert.Equal(new[] { "zeta", "alpha", "scalar" }, back.Keys);
        foreach (var (key, t) in tensors)
        {
            Assert.Equal(t.DType, back[key].DType);
            Assert.Equal(t.Shape, back[key].Shape);
            Assert.Equal(t.Bytes.ToArray(), back[key].Bytes.ToArray());
        }
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(new[] { "zeta.npy", "alpha.npy", "scalar.npy" }, zip.Entries.Select(e => e.FullName));
        Assert.Equal(new[] { "a.npz" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void SaveNpz_RejectsDuplicateAndEmptyNames()
    {
        var t = Tensor.FromArray(new float[] { 1 });
        Assert.Throws<ArgumentException>(() => Npy.WriteNpz(new MemoryStream(), [new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => Npy.WriteNpz(new MemoryStream(), [new KeyValuePair<string, Tensor>("", t)]));
    }

    // ---- hostile input: every failure is an InvalidDataException naming the file, the place and the expectation ----

    /// <summary>A version 1.0 .npy with the given header dict, padded as NumPy pads, followed by dataBytes zeros.</summary>
    private static byte[] Npy1(string dict, int dataBytes)
    {
        int headerLength = (10 + dict.Length + 1 + 63) / 64 * 64 - 10;
        var bytes = new byte[10 + headerLength + dataBytes];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        Encoding.ASCII.GetBytes(dict.PadRight(headerLength - 1) + "\n", bytes.AsSpan(10));
        return bytes;
    }

    private static InvalidDataException LoadFails(byte[] bytes, string name = "hostile.npy", bool seekable = true)
    {
        Stream s = seekable ? new MemoryStream(bytes) : new ForwardOnlyStream(bytes);
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(s, name));
        Assert.Contains(name, e.Message);
        return e;
    }

    [Fact]
    public void Load_BadMagic_NamesFileOffsetAndMagic()
    {
        var e = LoadFails(Encoding.ASCII.GetBytes("NOTNUMPY and some more bytes here"));
        Assert.Contains("byte offset 0", e.Message);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void Load_NpzGivenToLoad_SaysSo()
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(Golden("arrays.npz")));
        Assert.Contains("arrays.npz", e.Message);
        Assert.Contains("LoadNpz", e.Message);
    }

    [Fact]
    public void Load_TruncatedHeader_NamesFileAndLengths()
    {
        string path = Path.Combine(_dir, "trunc_header.npy");
        File.WriteAllBytes(path, File.ReadAllBytes(Golden("f4_2x3.npy"))[..30]);
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(path));
        Assert.Contains("trunc_header.npy", e.Message);
        Assert.Contains("truncated header", e.Message);
        Assert.Contains("118 bytes, only 20", e.Message);

        e = LoadFails(File.ReadAllBytes(Golden("f4_2x3.npy"))[..30], seekable: false);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("only 20 available", e.Message);
    }

    [Fact]
    public void Load_TruncatedData_NamesExpectedAndAvailableBytes()
    {
        string path = Path.Combine(_dir, "trunc_data.npy");
        File.WriteAllBytes(path, File.ReadAllBytes(Golden("f4_2x3.npy"))[..^4]);
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(path));
        Assert.Contains("trunc_data.npy", e.Message);
        Assert.Contains("byte offset 128", e.Message);
        Assert.Contains("needs 24 bytes, only 20 available", e.Message);

        e = LoadFails(File.ReadAllBytes(Golden("f4_2x3.npy"))[..^4], seekable: false);
        Assert.Contains("needs 24 bytes from byte offset 128, only 20 available", e.Message);
    }

    [Theory]
    [InlineData("(1000000000, 1000000000)", true, "describes more than")]
    [InlineData("(1000000000, 1000000000)", false, "describes more than")]
    [InlineData("(500000000,)", true, "needs 2000000000 bytes, only 72 available")]
    [InlineData("(500000000,)", false, "needs 2000000000 bytes from byte offset 128, only 72 available")]
    public void Load_HugeShapeInTinyFile_FailsFastWithoutAllocating(string shape, bool seekable, string expected)
    {
        byte[] bytes = Npy1("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", 0);
        Array.Resize(ref bytes, 200);
        var watch = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = LoadFails(bytes, seekable: seekable);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes for a 200-byte file");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", "negative dimension -1")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, }", "no 'shape' key")]
    [InlineData("{'descr': '<f4', 'shape': (3,), }", "no 'fortran_order' key")]
    [InlineData("{'fortran_order': False, 'shape': (3,), }", "no 'descr' key")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", "header field 'shape' is 3; expected a tuple")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", "header field 'shape' is [3]")]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", "header field 'fortran_order' is 0")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "'>f4': big-endian")]
    [InlineData("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", "'<c16': this dtype is not supported")]
    [InlineData("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured dtypes are not supported")]
    [InlineData("{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }", "expected ',' or '}'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk", "after the header dict")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1.5), }", "unsupported number")]
    [InlineData("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", "repeats the key 'descr'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "expected ',' or '}', found the end of the header")]
    public void Load_BadHeader_NamesFileFieldAndExpectation(string dict, string expected)
    {
        var e = LoadFails(Npy1(dict, 64));
        Assert.Contains(expected, e.Message);
        Assert.Contains("byte offset", e.Message);
    }

    [Fact]
    public void Load_BadHeader_OffsetPointsAtTheField()
    {
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }";
        var e = LoadFails(Npy1(dict, 0));
        Assert.Contains($"byte offset {10 + dict.IndexOf("(-1", StringComparison.Ordinal)}", e.Message);
    }

    [Theory]
    [InlineData("{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (2,)}", new[] { 2 })]
    [InlineData("{'shape': (1, 2,), 'fortran_order': False, 'descr': '<i8', 'extra': {'k': [None, True, -3]}}", new[] { 1, 2 })]
    [InlineData("{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }", new[] { 2 })]
    [InlineData("  {'descr':'<i8','fortran_order':False,'shape':(1,1,2)}", new[] { 1, 1, 2 })]
    public void Load_LenientHeaders_AreAccepted(string dict, int[] shape)
    {
        Tensor t = Npy.Load(new MemoryStream(Npy1(dict, 16)), "ok.npy");
        Assert.Equal(shape, t.Shape);
        Assert.Equal(DType.Int64, t.DType);
    }

    [Fact]
    public void Load_UnsupportedVersion_NamesVersion()
    {
        byte[] bytes = File.ReadAllBytes(Golden("f4_2x3.npy"));
        bytes[6] = 4;
        var e = LoadFails(bytes);
        Assert.Contains("byte offset 6", e.Message);
        Assert.Contains("version 4.0", e.Message);
    }

    [Fact]
    public void Load_BigEndianNumPyFile_NamesFileAndDescr()
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(Golden("be_f4.npy")));
        Assert.Contains("be_f4.npy", e.Message);
        Assert.Contains("'>f4'", e.Message);
        Assert.Contains("big-endian", e.Message);
    }

    [Fact]
    public void LoadNpz_BadMember_NamesArchiveAndMember()
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var s = zip.CreateEntry("good.npy").Open()) Npy.Write(s, Tensor.FromArray(new float[] { 1 }));
            using (var s = zip.CreateEntry("bad.npy").Open()) s.Write(Npy1("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }", 8));
        }
        ms.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => Npy.LoadNpz(ms, "model.npz"));
        Assert.Contains("model.npz[bad.npy]", e.Message);
        Assert.Contains("needs 8000 bytes", e.Message);
    }

    [Fact]
    public void LoadNpz_NotAZip_NamesFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.LoadNpz(Golden("f4_2x3.npy")));
        Assert.Contains("f4_2x3.npy", e.Message);
        Assert.Contains("not a .npz", e.Message);
    }

    /// <summary>A pipe-like stream: no length, no seeking, short reads.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(buffer.Length, 7), data.Length - _pos);
            data.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
