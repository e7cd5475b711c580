using System.Text.Json;
using SharpGrad.NN;
using SharpGrad.Tests.Golden;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The convolution layers against PyTorch 1.13 (tests/golden/conv_layers, written by tools/golden/make_conv_layers.py,
/// float64): PyTorch's state dict loads by name into the same SharpGrad layer, and the output, the input gradient and
/// every parameter gradient match. Beside them, the conv ops' argument checks and the refusal of double backward.
/// </summary>
public class ConvLayerGoldenTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "golden", "conv_layers");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)) data.Add(d!);
        return data;
    }

    private static Tensor Load(string dir, string name) => GoldenOpsTests.Npy.Load(Path.Combine(dir, name + ".npy")).ToTensor();

    private static Module Build(JsonElement meta)
    {
        var kw = meta.GetProperty("kwargs");
        int I(string k, int d) => kw.TryGetProperty(k, out var v) ? v.GetInt32() : d;
        bool bias = !kw.TryGetProperty("bias", out var b) || b.GetBoolean();
        int inC = I("in_channels", 0), outC = I("out_channels", 0), g = I("groups", 1);
        var dt = DType.Float64;
        string module = meta.GetProperty("module").GetString()!;
        if (kw.GetProperty("kernel_size").ValueKind == JsonValueKind.Array)
        {
            // PyTorch's tuples: one value per spatial dimension, through the int[] constructors.
            int[]? A(string k) => kw.TryGetProperty(k, out var v) ? v.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
            int[] ks = A("kernel_size")!;
            return module switch
            {
                "Conv2d" => new Conv2d(inC, outC, ks, A("stride"), A("padding"), A("dilation"), g, bias, dtype: dt),
                "Conv3d" => new Conv3d(inC, outC, ks, A("stride"), A("padding"), A("dilation"), g, bias, dtype: dt),
                "ConvTranspose2d" => new ConvTranspose2d(inC, outC, ks, A("stride"), A("padding"), A("output_padding"), g, bias, A("dilation"), dtype: dt),
                "ConvTranspose3d" => new ConvTranspose3d(inC, outC, ks, A("stride"), A("padding"), A("output_padding"), g, bias, A("dilation"), dtype: dt),
                var m => throw new InvalidOperationException($"unknown module {m} with per-dimension sizes"),
            };
        }
        int k = I("kernel_size", 0), s = I("stride", 1), p = I("padding", 0), d = I("dilation", 1), op = I("output_padding", 0);
        return module switch
        {
            "Conv1d" => new Conv1d(inC, outC, k, s, p, d, g, bias, dtype: dt),
            "Conv2d" => new Conv2d(inC, outC, k, s, p, d, g, bias, dtype: dt),
            "Conv3d" => new Conv3d(inC, outC, k, s, p, d, g, bias, dtype: dt),
            "ConvTranspose1d" => new ConvTranspose1d(inC, outC, k, s, p, op, g, bias, d, dtype: dt),
            "ConvTranspose2d" => new ConvTranspose2d(inC, outC, k, s, p, op, g, bias, d, dtype: dt),
            "ConvTranspose3d" => new ConvTranspose3d(inC, outC, k, s, p, op, g, bias, d, dtype: dt),
            var m => throw new InvalidOperationException($"unknown module {m}"),
        };
    }

    private static void Close(string what, Tensor expected, Tensor actual)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {Shapes.Format(actual.ShapeRef)}, PyTorch's {Shapes.Format(expected.ShapeRef)}");
        var e = expected.ToArray<double>();
        var a = actual.ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-10 + 1e-10 * Math.Abs(e[i]), $"{what}[{i}]: {a[i]:R}, PyTorch's {e[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        string dir = Path.Combine(Root, name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var module = Build(doc.RootElement);
        var state = Directory.GetFiles(dir, "param.*.npy").ToDictionary(f => Path.GetFileName(f)["param.".Length..^".npy".Length], f => GoldenOpsTests.Npy.Load(f).ToTensor());
        var result = module.LoadStateDict(state, strict: true);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);

        var x = Load(dir, "in.x");
        x.RequiresGrad = true;
        var y = module.Forward(x);
        Close($"{name}: output", Load(dir, "out.y"), y);
        (y * Load(dir, "w.y")).Sum().Backward();
        Close($"{name}: input gradient", Load(dir, "grad.in.x"), x.Grad!);
        foreach (var (k, p) in module.NamedParameters())
            Close($"{name}: gradient of {k}", Load(dir, "grad.param." + k), p.Grad!);
    }

    [Fact]
    public void LayersUsePyTorchsWeightLayoutsAndInitBounds()
    {
        // Weight [out, in / groups, *k] for a convolution, [in, out / groups, *k] for a transposed one; the default
        // initialisation draws from ±1/√fanIn with fanIn = weight dim 1 · kernel volume (PyTorch's kaiming_uniform(√5)).
        var conv = new Conv3d(4, 6, 3, groups: 2, generator: new Generator(1));
        Assert.Equal([6, 2, 3, 3, 3], conv.Weight.Shape);
        var convT = new ConvTranspose2d(4, 6, 3, groups: 2, generator: new Generator(1));
        Assert.Equal([4, 3, 3, 3], convT.Weight.Shape);
        Assert.Equal([6], convT.Bias!.Shape);
        Assert.True(convT.Weight.ToArray<float>().All(v => Math.Abs(v) <= 1 / Math.Sqrt(27)));
        Assert.Contains("groups=2", conv.ToString());
        Assert.Contains("output_padding", new ConvTranspose1d(2, 2, 3, stride: 2, outputPadding: 1).ToString());
        // Per-dimension sizes print as PyTorch's tuples and shape the weight.
        var rect = new Conv2d(2, 3, [3, 5], [2, 1], [1, 2]);
        Assert.Equal([3, 2, 3, 5], rect.Weight.Shape);
        Assert.Equal("Conv2d(2, 3, kernel_size=(3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 1))", rect.ToString());
        Assert.Equal("MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)", new MaxPool2d([2, 3]).ToString());
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = Tensor.Zeros(1, 6, 5, 5);
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros(4, 2, 3, 3), groups: 4));
        Assert.Contains("groups = 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros(4, 2, 3, 3), groups: 2));
        Assert.Contains("expects 4", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => F.ConvTranspose2d(x, Tensor.Zeros(6, 2, 3, 3), stride: 2, outputPadding: 2));
        Assert.Contains("outputPadding", r.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv3d(Tensor.Zeros(6, 5, 5), Tensor.Zeros(2, 6, 3, 3, 3)));
        Assert.Contains("[N, C, D, H, W]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros(2, 6, 3, 3), null, [1, 1, 1]));
        Assert.Contains("stride", e.Message);
        // The layers check their per-dimension sizes when built, naming the argument.
        e = Assert.Throws<ArgumentException>(() => new Conv2d(2, 2, [3, 3, 3]));
        Assert.Contains("kernelSize", e.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new Conv3d(2, 2, [3], padding: [1, -1, 0]));
        Assert.Contains("padding", r.Message);
        e = Assert.Throws<ArgumentException>(() => new MaxPool2d([2, 2], stride: [1, 1, 1]));
        Assert.Contains("stride", e.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => new AvgPool2d(0));
        Assert.Contains("kernelSize", r.Message);
    }

    [Fact]
    public void DoubleBackwardIsRefusedWithTheOpsName()
    {
        var x = Tensor.Randn([1, 2, 5, 5], new Generator(3), DType.Float64, requiresGrad: true);
        var w = Tensor.Randn([2, 3, 3, 3], new Generator(4), DType.Float64, requiresGrad: true);
        var y = F.ConvTranspose2d(x, w, stride: 2);
        var ex = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad((y * y).Sum(), [x], createGraph: true));
        Assert.Contains("ConvTranspose2dBackward", ex.Message);
    }
}
