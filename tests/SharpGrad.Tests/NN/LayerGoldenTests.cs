using System.Text.Json;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Tests.Golden;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The single-input layers of issue 14 (normalisation, activation, pooling, resampling, containers) against PyTorch 1.13
/// (tests/golden/layers, written by tools/golden/make_layers.py, float64): PyTorch's state dict loads by name into the
/// same SharpGrad layer, and the output, the input gradient and every parameter gradient match. One case
/// (composite_safetensors) reads a state dict that the PyTorch script wrote as a safetensors file, for a ModuleList /
/// ModuleDict model around a bidirectional 2-layer LSTM, and saves it back in the same names, shapes and values.
/// </summary>
public class LayerGoldenTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "golden", "layers");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal)) data.Add(d!);
        return data;
    }

    private static Tensor Load(string dir, string name) => GoldenOpsTests.Npy.Load(Path.Combine(dir, name + ".npy")).ToTensor();

    /// <summary>ModuleList and ModuleDict holding the same modules, under the same names, as the PyTorch script's Composite.</summary>
    private sealed class Composite : Module
    {
        public Composite(DType dt)
        {
            Blocks = RegisterModule("blocks", new ModuleList(new LSTM(4, 5, numLayers: 2, bidirectional: true, dtype: dt), new Linear(10, 6, dtype: dt)));
            Heads = RegisterModule("heads", new ModuleDict().Add("norm", new LayerNorm(6, dtype: dt)).Add("out", new Linear(6, 3, dtype: dt)));
        }

        public ModuleList Blocks { get; }
        public ModuleDict Heads { get; }

        public override Tensor Forward(Tensor input)
        {
            var h = ((LSTM)Blocks[0]).Forward(input, null).Output;
            h = Blocks[1].Forward(h).Gelu();
            return Heads["out"].Forward(Heads["norm"].Forward(h));
        }
    }

    private static Module Build(JsonElement meta)
    {
        var kw = meta.GetProperty("kwargs");
        bool Has(string k) => kw.TryGetProperty(k, out _);
        int I(string k, int d) => kw.TryGetProperty(k, out var v) ? v.GetInt32() : d;
        double D(string k, double d) => kw.TryGetProperty(k, out var v) ? v.GetDouble() : d;
        bool B(string k, bool d) => kw.TryGetProperty(k, out var v) ? v.GetBoolean() : d;
        int[] Ints(string k) => kw.GetProperty(k).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[]? IntsOrNull(string k) => Has(k) ? Ints(k) : null;
        var dt = DType.Float64;
        return meta.GetProperty("module").GetString() switch
        {
            "LayerNorm" => new LayerNorm(Ints("normalized_shape"), D("eps", 1e-5), B("elementwise_affine", true), dtype: dt),
            "GroupNorm" => new GroupNorm(I("num_groups", 0), I("num_channels", 0), D("eps", 1e-5), B("affine", true), dt),
            "RMSNorm" => new RMSNorm(Ints("normalized_shape"), Has("eps") ? D("eps", 0) : null, dtype: dt),
            "InstanceNorm1d" => new InstanceNorm1d(I("num_features", 0), D("eps", 1e-5), affine: B("affine", false), dtype: dt),
            "InstanceNorm2d" => new InstanceNorm2d(I("num_features", 0), D("eps", 1e-5), affine: B("affine", false), dtype: dt),
            "GELU" => new GELU(Has("approximate") ? GeluApproximation.Tanh : GeluApproximation.None),
            "SiLU" => new SiLU(),
            "ELU" => new ELU(D("alpha", 1.0)),
            "SELU" => new SELU(),
            "Mish" => new Mish(),
            "Hardsigmoid" => new Hardsigmoid(),
            "Hardswish" => new Hardswish(),
            "Softsign" => new Softsign(),
            "Softplus" => new Softplus(D("beta", 1), D("threshold", 20)),
            "Hardtanh" => new Hardtanh(D("min_val", -1), D("max_val", 1)),
            "PReLU" => new PReLU(I("num_parameters", 1), D("init", 0.25), dt),
            "Unflatten" => new Unflatten(I("dim", 0), Ints("sizes")),
            "MaxPool1d" => new MaxPool1d(I("kernel_size", 0), Has("stride") ? I("stride", 0) : null, I("padding", 0), I("dilation", 1), B("ceil_mode", false)),
            "MaxPool2d" => new MaxPool2d(Ints("kernel_size"), IntsOrNull("stride"), IntsOrNull("padding"), IntsOrNull("dilation"), B("ceil_mode", false)),
            "MaxPool3d" => new MaxPool3d(Ints("kernel_size"), IntsOrNull("stride"), IntsOrNull("padding"), IntsOrNull("dilation"), B("ceil_mode", false)),
            "AvgPool1d" => new AvgPool1d(I("kernel_size", 0), Has("stride") ? I("stride", 0) : null, I("padding", 0), B("ceil_mode", false), B("count_include_pad", true)),
            "AvgPool2d" => new AvgPool2d(Ints("kernel_size"), IntsOrNull("stride"), IntsOrNull("padding"), B("ceil_mode", false), B("count_include_pad", true)),
            "AvgPool3d" => new AvgPool3d(Ints("kernel_size"), IntsOrNull("stride"), IntsOrNull("padding"), B("ceil_mode", false), B("count_include_pad", true)),
            "AdaptiveAvgPool1d" => new AdaptiveAvgPool1d(Ints("output_size")),
            "AdaptiveAvgPool2d" => new AdaptiveAvgPool2d(Ints("output_size")),
            "AdaptiveMaxPool2d" => new AdaptiveMaxPool2d(Ints("output_size")),
            "Upsample" => new Upsample(IntsOrNull("size"),
                Has("scale_factor") ? kw.GetProperty("scale_factor").EnumerateArray().Select(e => e.GetDouble()).ToArray() : null,
                kw.GetProperty("mode").GetString() switch
                {
                    "nearest" => InterpolateMode.Nearest,
                    "linear" => InterpolateMode.Linear,
                    "bilinear" => InterpolateMode.Bilinear,
                    var m => throw new InvalidOperationException($"unknown mode {m}"),
                },
                Has("align_corners") ? B("align_corners", false) : null),
            "Composite" => new Composite(dt),
            var m => throw new InvalidOperationException($"unknown module {m}"),
        };
    }

    private static void Close(string what, Tensor expected, Tensor actual, double rtol = 1e-10)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {Shapes.Format(actual.ShapeRef)}, PyTorch's {Shapes.Format(expected.ShapeRef)}");
        var e = expected.ToArray<double>();
        var a = actual.ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-10 + rtol * Math.Abs(e[i]), $"{what}[{i}]: {a[i]:R}, PyTorch's {e[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        string dir = Path.Combine(Root, name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var module = Build(doc.RootElement);
        double rtol = doc.RootElement.TryGetProperty("rtol", out var r) ? r.GetDouble() : 1e-10;
        string file = Path.Combine(dir, "state.safetensors");
        IEnumerable<KeyValuePair<string, Tensor>> state = File.Exists(file)
            ? Safetensors.Load(file)
            : Directory.GetFiles(dir, "param.*.npy").ToDictionary(f => Path.GetFileName(f)["param.".Length..^".npy".Length], f => GoldenOpsTests.Npy.Load(f).ToTensor());
        var result = module.LoadStateDict(state, strict: true);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);

        var x = Load(dir, "in.x");
        x.RequiresGrad = true;
        var y = module.Forward(x);
        Close($"{name}: output", Load(dir, "out.y"), y, rtol);
        (y * Load(dir, "w.y")).Sum().Backward();
        Close($"{name}: input gradient", Load(dir, "grad.in.x"), x.Grad!, rtol);
        int checkedParameters = 0;
        foreach (var (k, p) in module.NamedParameters())
        {
            Close($"{name}: gradient of {k}", Load(dir, "grad.param." + k), p.Grad!, rtol);
            checkedParameters++;
        }
        // Every parameter PyTorch has, SharpGrad has (strict loading checked the names; this checks none was skipped).
        Assert.Equal(Directory.GetFiles(dir, "grad.param.*.npy").Length, checkedParameters);
    }

    [Fact]
    public void StateDictLoadedFromPyTorchsSafetensorsSavesBackTheSame()
    {
        string file = Path.Combine(Root, "composite_safetensors", "state.safetensors");
        var fromPyTorch = Safetensors.Load(file);
        var model = new Composite(DType.Float64);
        model.LoadStateDict(fromPyTorch, strict: true);
        string back = Path.Combine(Path.GetTempPath(), $"sharpgrad-layers-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(back, model.StateDict());
            var saved = Safetensors.Load(back);
            Assert.Equal(fromPyTorch.Keys.Order(StringComparer.Ordinal), saved.Keys.Order(StringComparer.Ordinal));
            foreach (var (k, t) in fromPyTorch)
            {
                Assert.Equal(t.DType, saved[k].DType);
                Assert.Equal(t.Shape, saved[k].Shape);
                Assert.Equal(t.ToArray<double>(), saved[k].ToArray<double>());
            }
        }
        finally
        {
            File.Delete(back);
        }
    }
}
