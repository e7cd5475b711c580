using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SharpGrad.IO;
using SharpGrad.NN;

namespace SharpGrad.Tests.IO;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-st");

    public void Dispose() => _dir.Dispose();

    /// <summary>Every awkward value: signed zero, NaN, infinities, subnormals, extremes; a scalar and an empty tensor.</summary>
    private static OrderedDictionary<string, Tensor> Awkward() => new()
    {
        ["fc1.weight"] = Tensor.FromArray(new float[] { 0.1f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, -3.5f }, 2, 4),
        ["fc1.bias"] = Tensor.FromArray(new double[] { Math.PI, double.Epsilon, -double.MaxValue }, 3),
        ["step"] = Tensor.FromArray(new long[] { long.MinValue, -1, 0, long.MaxValue }, 2, 2),
        ["scalar"] = Tensor.Scalar(2.5, DType.Float64),
        ["empty"] = Tensor.Zeros([0, 5], DType.Float32),
    };

    private static void AssertSame(OrderedDictionary<string, Tensor> expected, OrderedDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (k, t) in expected)
        {
            Assert.Equal(t.DType, actual[k].DType);
            Assert.Equal(t.Shape, actual[k].Shape);
        }
        Assert.Equal(StateDictIO.Sha256(expected), StateDictIO.Sha256(actual)); // bit for bit
    }

    [Fact]
    public void SaveThenLoad_KeepsNamesOrderDTypesShapesAndBits()
    {
        var state = Awkward();
        string path = _dir.File("w.safetensors");
        Safetensors.Save(path, state, [new("format", "pt"), new("note", "ünïcödé \"quoted\"")]);
        var back = Safetensors.Read(path);
        AssertSame(state, back.Tensors);
        Assert.Equal("pt", back.Metadata["format"]);
        Assert.Equal("ünïcödé \"quoted\"", back.Metadata["note"]);
        Assert.Equal(0, Safetensors.ReadHeader(path).DataStart % 8); // data aligned, as the reference writer does
    }

    [Fact]
    public void TheStateDictHashIsTheSha256OfTheSavedFile()
    {
        var state = Awkward();
        string path = _dir.File("w.safetensors");
        Safetensors.Save(path, state);
        using var sha = System.Security.Cryptography.SHA256.Create();
        Assert.Equal(Convert.ToHexStringLower(sha.ComputeHash(File.ReadAllBytes(path))), StateDictIO.Sha256(state));
    }

    [Fact]
    public void GoldenFileWrittenByPython_LoadsWithTheValuesPythonRead()
    {
        // tools/read_safetensors.py --write-golden tests/golden/io: a Python-style header (spaces, metadata last,
        // names not in data order) with F16 and BF16, which load widened exactly to F32.
        var contents = Safetensors.Read(IOTestUtil.Golden("golden.safetensors"));
        using var doc = JsonDocument.Parse(File.ReadAllText(IOTestUtil.Golden("golden.json")));
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(tensors.Select(t => t.GetProperty("name").GetString()), contents.Tensors.Keys);
        foreach (var t in tensors)
        {
            string name = t.GetProperty("name").GetString()!;
            IOTestUtil.AssertMatches(t, name, contents.Tensors[name]);
        }
        Assert.Equal(DType.Float32, contents.Tensors["half"].DType);
        Assert.Equal(DType.Float32, contents.Tensors["brain"].DType);
        Assert.Equal("ünïcödé", contents.Metadata["note"]);
    }

    [NumPyFact]
    public void IndependentPythonReader_ReadsOurFileBitForBit()
    {
        var state = Awkward();
        var model = new Sequential(new Linear(3, 4, generator: new Generator(1)), new ReLU(), new Linear(4, 2, generator: new Generator(2)));
        foreach (var (k, t) in model.StateDict()) state[k] = t;
        string path = _dir.File("ours.safetensors");
        Safetensors.Save(path, state, [new("format", "pt")]);
        var psi = new ProcessStartInfo("/usr/bin/python3", [Path.Combine(IOTestUtil.RepoRoot, "tools", "read_safetensors.py"), path])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8,
        };
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.True(p.ExitCode == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("pt", doc.RootElement.GetProperty("metadata").GetProperty("format").GetString());
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(state.Keys, tensors.Select(t => t.GetProperty("name").GetString()));
        foreach (var t in tensors)
        {
            string name = t.GetProperty("name").GetString()!;
            Assert.Equal(SafetensorsDTypes.FromDType(state[name].DType), t.GetProperty("dtype").GetString());
            IOTestUtil.AssertMatches(t, name, state[name]);
        }
    }

    /// <summary>A file with the given header text (length prefix computed) and <paramref name="data"/> bytes of data.</summary>
    private static byte[] File_(string header, int data, ulong? length = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    public static TheoryData<string, int, string> HostileHeaders() => new()
    {
        { """{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}""", 8, "reaches past the data section, which has 8 bytes" },
        { """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "field 'shape' holds -1; expected a non-negative integer" },
        { """{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "has more than 2^63 elements" },
        { """{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}""", 4, "expected a non-negative integer below 2^63" },
        { """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "span 4 bytes, but shape [2] of F32 needs 8" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "ends before it begins" },
        { """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "overlap tensor 'a'" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "leaving 4 unused bytes" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12, "8 bytes follow the end of tensor 'a'" },
        { """{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}""", 4, "\"Q7\", an unknown dtype" },
        { """{"a":{"dtype":"F32","shape":[1]}}""", 4, "tensor 'a' has no 'data_offsets'" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "the key 'a' twice" },
        { """{"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, "'__metadata__' field 'n' is a number; expected a string" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""", 4, "not valid JSON" },
        { """[1,2]""", 0, "expected '{'" },
        { """{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}""", 4, "has dtype I32, which SharpGrad does not load" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void HostileHeader_ThrowsNamingTheFileOffsetAndWhatWasExpected(string header, int data, string expected)
    {
        string path = _dir.File("hostile.safetensors");
        File.WriteAllBytes(path, File_(header, data));
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.StartsWith(path + ", byte offset ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(0UL, "expected at least 2")]
    [InlineData(100_000_001UL, "expected at most 100000000")]
    [InlineData(ulong.MaxValue, "expected at most 100000000")]
    [InlineData(64UL, "but only 20 bytes follow")]
    public void HeaderLength_IsCheckedBeforeAnyAllocation(ulong length, string expected)
    {
        var bytes = File_("""{"a":{"dtype":"F32"}}""", 0, length)[..28]; // a 28-byte file
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(bytes), "tiny.safetensors"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000, "allocated more than 100 kB for a 28-byte file");
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("tiny.safetensors, byte offset 0: ", e.Message);
    }

    [Fact]
    public void TruncatedFile_Throws()
    {
        Assert.Contains("expected at least 8", Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream([1, 2, 3]), "t")).Message);
        var full = new MemoryStream();
        Safetensors.Write(full, Awkward());
        var cut = full.ToArray()[..^3];
        Assert.Contains("reaches past the data section", Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(cut), "t")).Message);
    }

    [Fact]
    public void WriterRejectsBadNames()
    {
        var t = Tensor.Zeros(1);
        Assert.Throws<ArgumentException>(() => Safetensors.Write(Stream.Null, [new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Write(Stream.Null, [new("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => Safetensors.Write(Stream.Null, [new("", t)]));
    }

    [Fact]
    public void ReadHeader_ListsUnloadableDTypesWithoutReadingData()
    {
        string path = _dir.File("ints.safetensors");
        File.WriteAllBytes(path, File_("""{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}""", 11));
        var header = Safetensors.ReadHeader(path);
        Assert.Equal(["a", "b"], header.Entries.Select(e => e.Name));
        Assert.False(header.Entries[0].IsLoadable);
        Assert.Equal(3, header.Entries[1].Count);
    }
}
