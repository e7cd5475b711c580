using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SharpGrad.Tests.Golden;

/// <summary>
/// Replays the PyTorch golden data of tests/golden/ops (written by tools/golden/make_ops.py) against SharpGrad: for
/// every case of the manifest, in float32 and float64, the forward output and the gradient of every input after
/// backpropagating the recorded upstream gradient must match PyTorch's.
/// </summary>
public sealed partial class GoldenOpsTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "golden", "ops");

    private static readonly Lazy<Dictionary<string, JsonElement>> Manifest = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "manifest.json")));
        var cases = new Dictionary<string, JsonElement>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            cases.Add(Key(c.GetProperty("name").GetString()!, c.GetProperty("dtype").GetString()!), c.Clone());
        return cases;
    });

    private static string Key(string name, string dtype) => $"{name}__{dtype}";

    /// <summary>Every (case, dtype) pair of the manifest: each is its own test.</summary>
    public static IEnumerable<object[]> Cases() =>
        Manifest.Value.Values.Select(c => new object[] { c.GetProperty("name").GetString()!, c.GetProperty("dtype").GetString()! });

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name, string dtype)
    {
        var c = Manifest.Value[Key(name, dtype)];
        string prefix = Key(name, dtype);
        string op = c.GetProperty("op").GetString()!;
        var args = c.GetProperty("args");
        int n = c.GetProperty("inputs").GetInt32();
        bool backward = c.GetProperty("backward").GetBoolean();

        // Relative tolerance per dtype; the absolute tolerance equals it (atol = rtol), so values near 0 are compared
        // absolutely: |actual - expected| <= atol + rtol * |expected|.
        double rtol = dtype == "float32" ? 1e-5 : 1e-10;
        double atol = rtol;

        var inputs = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = Npy.Load(Path.Combine(Dir, $"{prefix}__in{i}.npy")).ToTensor();
            Assert.Equal(dtype, inputs[i].DType.ToTorchName());
            if (backward) inputs[i].RequiresGrad = true;
        }
        Tensor? index = c.GetProperty("index").ValueKind == JsonValueKind.String
            ? Npy.Load(Path.Combine(Dir, c.GetProperty("index").GetString()!)).ToTensor()
            : null;

        Tensor y = Run(op, args, inputs, index);

        var expectedOut = Npy.Load(Path.Combine(Dir, $"{prefix}__out.npy"));
        Check($"{prefix}: output", y, expectedOut, rtol, atol);

        if (!backward) return;
        var gout = Npy.Load(Path.Combine(Dir, $"{prefix}__gout.npy")).ToTensor();
        y.Backward(gout);
        for (int i = 0; i < n; i++)
        {
            var expected = Npy.Load(Path.Combine(Dir, $"{prefix}__grad{i}.npy"));
            var grad = inputs[i].Grad;
            Assert.True(grad is not null, $"{prefix}: input {i} got no gradient (PyTorch's has shape {Fmt(expected.Shape)}).");
            Check($"{prefix}: gradient of input {i}", grad!, expected, rtol, atol);
        }
    }

    /// <summary>The SharpGrad call for each manifest op.</summary>
    private static Tensor Run(string op, JsonElement args, Tensor[] x, Tensor? index)
    {
        int Int(string key) => args.GetProperty(key).GetInt32();
        bool Bool(string key) => args.GetProperty(key).GetBoolean();
        double Dbl(string key) => args.GetProperty(key).GetDouble();
        double? OptDbl(string key) => args.GetProperty(key).ValueKind == JsonValueKind.Null ? null : args.GetProperty(key).GetDouble();
        int[] Ints(string key) => args.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();

        Func<Tensor[], Tensor> f = op switch
        {
            "add" => t => t[0] + t[1],
            "sub" => t => t[0] - t[1],
            "mul" => t => t[0] * t[1],
            "div" => t => t[0] / t[1],
            "neg" => t => -t[0],
            "exp" => t => t[0].Exp(),
            "log" => t => t[0].Log(),
            "sqrt" => t => t[0].Sqrt(),
            "pow_scalar" => t => t[0].Pow(Dbl("exponent")),
            "pow_tensor" => t => t[0].Pow(t[1]),
            "abs" => t => t[0].Abs(),
            "clamp" => t => t[0].Clamp(OptDbl("min"), OptDbl("max")),
            "relu" => t => t[0].Relu(),
            "leaky_relu" => t => t[0].LeakyRelu(Dbl("slope")),
            "sigmoid" => t => t[0].Sigmoid(),
            "tanh" => t => t[0].Tanh(),
            "heaviside" => t => t[0].Heaviside(Dbl("value")),
            "softmax" => t => t[0].Softmax(Int("dim")),
            "softmax_t" => t => t[0].Softmax(Int("dim"), Dbl("temperature")),
            "log_softmax" => t => t[0].LogSoftmax(Int("dim")),
            "logsumexp" => t => t[0].LogSumExp(Int("dim"), Bool("keepdim")),
            "sum_all" => t => t[0].Sum(),
            "sum_dim" => t => t[0].Sum(Int("dim"), Bool("keepdim")),
            "mean_all" => t => t[0].Mean(),
            "mean_dim" => t => t[0].Mean(Int("dim"), Bool("keepdim")),
            "amax" => t => t[0].Max(Int("dim"), Bool("keepdim")),
            "amin" => t => t[0].Min(Int("dim"), Bool("keepdim")),
            "max_all" => t => t[0].Max(),
            "min_all" => t => t[0].Min(),
            "argmax" => t => t[0].ArgMax(Int("dim"), Bool("keepdim")),
            "matmul" => t => t[0].MatMul(t[1]),
            "transpose" => t => t[0].Transpose(Int("dim0"), Int("dim1")),
            "permute" => t => t[0].Permute(Ints("dims")),
            "reshape" => t => t[0].Reshape(Ints("shape")),
            "flatten" => t => t[0].Flatten(Int("start"), Int("end")),
            "squeeze" => t => t[0].Squeeze(Int("dim")),
            "unsqueeze" => t => t[0].Unsqueeze(Int("dim")),
            "cat" => t => Tensor.Concat(new[] { t[0], t[1] }, Int("dim")),
            "stack" => t => Tensor.Stack(new[] { t[0], t[1] }, Int("dim")),
            "narrow" => t => t[0].Narrow(Int("dim"), Int("start"), Int("length")),
            "index_select" => t => t[0].IndexSelect(Int("dim"), index ?? throw new InvalidDataException("index_select needs an index file")),
            "gather" => t => t[0].Gather(Int("dim"), index ?? throw new InvalidDataException("gather needs an index file")),
            "expand" => t => t[0].Expand(Ints("shape")),
            "maximum" => t => Tensor.Maximum(t[0], t[1]),
            "minimum" => t => Tensor.Minimum(t[0], t[1]),
            _ => throw new InvalidDataException($"manifest op '{op}' has no SharpGrad mapping in GoldenOpsTests.Run"),
        };
        return f(x);
    }

    /// <summary>Asserts dtype, shape and every element, reporting the worst element.</summary>
    private static void Check(string what, Tensor actual, Npy.NpyData expected, double rtol, double atol)
    {
        Assert.True(Npy.DTypeOf(expected.Descr) == actual.DType,
            $"{what}: dtype {actual.DType.ToTorchName()}, PyTorch's is {Npy.DTypeOf(expected.Descr).ToTorchName()}.");
        Assert.True(actual.Shape.SequenceEqual(expected.Shape),
            $"{what}: shape {Fmt(actual.Shape)}, PyTorch's is {Fmt(expected.Shape)}.");
        string? failure = GoldenCompare.Compare(what, actual.ToArray<double>(), expected.AsDoubles(), expected.Shape, rtol, atol);
        if (failure is not null) Assert.Fail(failure);
    }

    private static string Fmt(int[] shape) => GoldenCompare.Fmt(shape);

    /// <summary>
    /// A minimal .npy reader for the golden files only: format version 1.0, little-endian '&lt;f4', '&lt;f8' or '&lt;i8',
    /// C order — exactly what numpy.save writes for them. Kept here so the golden tests do not depend on the library's
    /// own reader.
    /// </summary>
    internal static partial class Npy
    {
        public sealed record NpyData(string Descr, int[] Shape, byte[] Data)
        {
            public int Count => Shape.Aggregate(1, (p, d) => p * d);

            public double[] AsDoubles()
            {
                var r = new double[Count];
                for (int i = 0; i < r.Length; i++)
                    r[i] = Descr switch
                    {
                        "<f4" => BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i)),
                        "<f8" => BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(8 * i)),
                        "|b1" => Data[i] != 0 ? 1 : 0,
                        _ => BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(8 * i)),
                    };
                return r;
            }

            public Tensor ToTensor()
            {
                Tensor t;
                switch (Descr)
                {
                    case "<f4":
                    {
                        var v = new float[Count];
                        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i));
                        t = Tensor.FromArray(v);
                        break;
                    }
                    case "<f8":
                    {
                        var v = new double[Count];
                        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(8 * i));
                        t = Tensor.FromArray(v);
                        break;
                    }
                    case "|b1":
                    {
                        var v = new bool[Count];
                        for (int i = 0; i < v.Length; i++) v[i] = Data[i] != 0;
                        t = Tensor.FromArray(v);
                        break;
                    }
                    default:
                    {
                        var v = new long[Count];
                        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(8 * i));
                        t = Tensor.FromArray(v);
                        break;
                    }
                }
                // FromArray with no shape makes a 1-D tensor; Reshape to the file's shape (none at all for 0-d)
                // and Detach so the result is a leaf.
                return t.Reshape(Shape).Detach();
            }
        }

        public static DType DTypeOf(string descr) => descr switch
        {
            "<f4" => DType.Float32,
            "<f8" => DType.Float64,
            "<i8" => DType.Int64,
            "|b1" => DType.Bool,
            _ => throw new InvalidDataException($"unsupported .npy dtype '{descr}'"),
        };

        [GeneratedRegex(@"'descr':\s*'([^']*)'")]
        private static partial Regex DescrRegex();

        [GeneratedRegex(@"'fortran_order':\s*(True|False)")]
        private static partial Regex FortranRegex();

        [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
        private static partial Regex ShapeRegex();

        public static NpyData Load(string path)
        {
            byte[] bytes = File.ReadAllBytes(path);
            ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
            if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(magic))
                throw new InvalidDataException($"{path}: not a .npy file (bad magic at offset 0).");
            if (bytes[6] != 1 || bytes[7] != 0)
                throw new InvalidDataException($"{path}: .npy version {bytes[6]}.{bytes[7]} at offset 6; this reader takes 1.0 only.");
            int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            if (10 + headerLength > bytes.Length)
                throw new InvalidDataException($"{path}: header length {headerLength} at offset 8 runs past the end of the file.");
            string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
            var descr = DescrRegex().Match(header);
            var fortran = FortranRegex().Match(header);
            var shape = ShapeRegex().Match(header);
            if (!descr.Success || !fortran.Success || !shape.Success)
                throw new InvalidDataException($"{path}: malformed header at offset 10: {header.Trim()}");
            if (fortran.Groups[1].Value != "False")
                throw new InvalidDataException($"{path}: Fortran-order arrays are not supported.");
            string d = descr.Groups[1].Value;
            DTypeOf(d);
            int[] dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            int count = dims.Aggregate(1, (p, x) => p * x);
            int size = d switch { "<f4" => 4, "|b1" => 1, _ => 8 };
            int start = 10 + headerLength;
            if (bytes.Length - start != count * size)
                throw new InvalidDataException($"{path}: {bytes.Length - start} data bytes at offset {start}, expected {count * size} for shape ({string.Join(", ", dims)}) of {d}.");
            return new NpyData(d, dims, bytes[start..]);
        }
    }
}
