using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SharpGrad.NN;
using SharpGrad.Onnx;

namespace SharpGrad.Tests.Onnx;

/// <summary>Runs only where Debian's python3-onnx is installed (the ONNX checker); .ci/run installs it.</summary>
public sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    public OnnxCheckerFactAttribute()
    {
        if (!Available.Value) Skip = "python3-onnx is not installed (apt-get install python3-onnx).";
    }

    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!File.Exists(Python)) return false;
        using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import onnx"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(60_000);
        return p.ExitCode == 0;
    });
}

/// <summary>A module with a residual connection and assorted ops (scalar arithmetic, softmax, concat, mean, narrow).</summary>
internal sealed class ResidualBlock : Module
{
    private readonly Linear _in, _hidden, _out;

    public ResidualBlock(Generator g)
    {
        _in = RegisterModule("proj", new Linear(6, 8, generator: g));
        _hidden = RegisterModule("hidden", new Linear(8, 8, generator: g));
        _out = RegisterModule("head", new Linear(16, 3, generator: g));
    }

    public override Tensor Forward(Tensor x)
    {
        var h = _in.Forward(x).Tanh();
        var r = h + _hidden.Forward(h).Relu() * 0.5;             // the residual connection
        var gate = (r - r.Mean(1, keepDim: true)).Sigmoid();
        var both = Tensor.Concat([r, gate * 2.0 - 1.0], 1);
        var logits = _out.Forward(both.LeakyRelu(0.1));
        return logits.Softmax(1) + logits.Narrow(1, 0, 1).Exp().Clamp(null, 3.0) / 4.0;
    }
}

/// <summary>A transformer encoder classifier over a sequence: embedding, encoder stack, mean over positions, head.</summary>
internal sealed class EncoderClassifier : Module
{
    private readonly Linear _embed, _head;
    private readonly TransformerEncoder _encoder;
    private readonly bool _causal;

    public EncoderClassifier(Generator g, bool normFirst, TransformerActivation activation, bool causal)
    {
        _causal = causal;
        _embed = RegisterModule("embed", new Linear(6, 16, generator: g));
        var layer = new TransformerEncoderLayer(16, 2, 32, dropout: 0.1, activation, batchFirst: true, normFirst: normFirst, generator: g);
        _encoder = RegisterModule("encoder", new TransformerEncoder(layer, 2, normFirst ? new LayerNorm(16) : null));
        _head = RegisterModule("head", new Linear(16, 4, generator: g));
    }

    public override Tensor Forward(Tensor x)
    {
        var h = _embed.Forward(x);
        foreach (var layer in _encoder.Layers.Cast<TransformerEncoderLayer>()) h = layer.Forward(h, null, null, _causal);
        if (_encoder.Norm is { } norm) h = norm.Forward(h);
        return _head.Forward(h.Mean(1));
    }
}

/// <summary>A 2-layer bidirectional LSTM or GRU (batch first); the last step's output goes to a linear head.</summary>
internal sealed class RecurrentClassifier : Module
{
    private readonly Module _rnn;
    private readonly Linear _head;

    public RecurrentClassifier(Generator g, bool lstm)
    {
        _rnn = RegisterModule<Module>("rnn", lstm ? new LSTM(6, 8, 2, batchFirst: true, bidirectional: true, generator: g) : new GRU(6, 8, 2, batchFirst: true, bidirectional: true, generator: g));
        _head = RegisterModule("head", new Linear(16, 4, generator: g));
    }

    public override Tensor Forward(Tensor x)
    {
        var output = _rnn.Forward(x); // [batch, seq, 16]
        return _head.Forward(output.Narrow(1, output.Size(1) - 1, 1).Squeeze(1));
    }
}

/// <summary>The elementwise ops and activations added in issue 13, each in the graph once.</summary>
internal sealed class ElementwiseOps : Module
{
    private readonly Linear _in;

    public ElementwiseOps(Generator g) => _in = RegisterModule("proj", new Linear(6, 6, generator: g));

    public override Tensor Forward(Tensor x)
    {
        var h = _in.Forward(x);
        var positive = h.Abs() + 0.5;
        Tensor[] parts =
        [
            h.Erf(), h.Sin(), h.Cos(), (h * 0.3).Tan(), h.Softsign(), h.Silu(), h.Mish(), h.HardSwish(), h.HardSigmoid(),
            h.Gelu(), h.Gelu(GeluApproximation.Tanh), h.Softplus(), positive.Rsqrt(), h.Square(), h.Expm1(), positive.Log1p(),
            positive.Reciprocal(), (h * 3).Floor(), (h * 3).Ceil(), (h * 3).Round(), h.Sign(), h.Remainder(0.7), (h * 4).Remainder(h.Abs() + 1),
        ];
        return Tensor.Concat(parts, 1);
    }
}

/// <summary>ELU, SELU, Hardtanh, constant padding (cropping too), Tril/Triu and CumSum on a batch of matrices.</summary>
internal sealed class ShapeOps : Module
{
    private readonly Linear _in;

    public ShapeOps(Generator g) => _in = RegisterModule("proj", new Linear(6, 12, generator: g));

    public override Tensor Forward(Tensor x)
    {
        var h = _in.Forward(x);
        var m = h.Reshape(h.Size(0), 3, 4);
        Tensor[] parts =
        [
            h.Elu(0.7), h.Selu(), h.Hardtanh(-0.5, 0.8), m.Tril().Flatten(1), m.Triu(1).Flatten(1),
            SharpGrad.NN.Functional.Pad(m, [1, 2, -1, 1], value: 0.5).Flatten(1), m.CumSum(2).Flatten(1), h.CumSum(1),
        ];
        return Tensor.Concat(parts, 1);
    }
}

/// <summary>A module around a function of its input.</summary>
internal sealed class Lambda(Func<Tensor, Tensor> f) : Module
{
    public override Tensor Forward(Tensor input) => f(input);
}

public class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    internal static IEnumerable<(string Name, Module Model, int[] Shape)> Cases()
    {
        var g = new Generator(15);
        yield return ("LogisticRegression", Models.LogisticRegression(784, 10, g), [1, 28, 28]);
        yield return ("Mlp", Models.Mlp(784, [32, 16], 10, generator: g), [784]);
        yield return ("MlpTanh", Models.Mlp(20, [12], 4, Activation.Tanh, generator: g), [20]);
        yield return ("Cnn", Models.Cnn(10, dropout: 0.3, batchNorm: true, generator: g), [1, 28, 28]);
        yield return ("StagedCnn", Models.StagedCnn([[8], [12, 12], [16]], 10, dropout: 0.3, generator: g), [1, 28, 28]);
        yield return ("Residual", new ResidualBlock(g), [6]);
        yield return ("GroupedConv2d", new Sequential(new Conv2d(4, 6, 3, padding: 1, groups: 2, generator: g), new ReLU(),
            new ConvTranspose2d(6, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, generator: g), new Conv2d(4, 4, 3, groups: 4, generator: g)), [4, 5, 6]);
        yield return ("Conv1d", new Sequential(new Conv1d(3, 4, 3, stride: 2, dilation: 2, generator: g), new Tanh(),
            new ConvTranspose1d(4, 2, 3, stride: 2, outputPadding: 1, generator: g)), [3, 11]);
        yield return ("Conv3d", new Sequential(new Conv3d(2, 4, 2, padding: 1, groups: 2, generator: g), new ReLU(),
            new ConvTranspose3d(4, 2, 2, stride: 2, generator: g)), [2, 3, 4, 3]);
        yield return ("TransformerPostNormGelu", new EncoderClassifier(g, normFirst: false, TransformerActivation.Gelu, causal: false), [5, 6]);
        yield return ("TransformerPreNormCausal", new EncoderClassifier(g, normFirst: true, TransformerActivation.Relu, causal: true), [5, 6]);
        yield return ("Lstm", new RecurrentClassifier(g, lstm: true), [5, 6]);
        yield return ("Gru", new RecurrentClassifier(g, lstm: false), [5, 6]);
        yield return ("ElementwiseOps", new ElementwiseOps(g), [6]);
        yield return ("ShapeOps", new ShapeOps(g), [6]);
        yield return ("Pool1d", new Sequential(new Conv1d(3, 4, 3, generator: g), new MaxPool1d(3, 2, padding: 1, dilation: 2),
            new AvgPool1d(2, padding: 1, countIncludePad: false)), [3, 11]);
        yield return ("Pool3d", new Sequential(new Conv3d(2, 3, 2, padding: 1, generator: g), new MaxPool3d(2), new AvgPool3d(2, padding: 1)), [2, 4, 4, 4]);
        var adaptive = new AdaptiveAvgPool2d(4);
        yield return ("Pool2dVariants", new Lambda(x => Tensor.Concat(
        [
            SharpGrad.NN.Functional.MaxPool2d(x, 3, 2, 1, ceilMode: true).Flatten(1),
            SharpGrad.NN.Functional.AvgPool2d(x, 3, 2, 1, countIncludePad: false).Flatten(1),
            adaptive.Forward(x).Flatten(1),
        ], 1)), [2, 8, 8]);
        yield return (SoftplusBeta, new Lambda(x => x.Softplus(2, 1.5) - x.Softplus(0.5, 3)), [6]);
    }

    /// <summary>Gives batch-norm layers running statistics that differ from the initial 0 and 1.</summary>
    private static void WarmUp(Module model, int[] shape, Generator g)
    {
        model.Train();
        for (int i = 0; i < 2; i++) model.Forward(Tensor.Randn([8, .. shape], g));
        model.Eval();
    }

    internal static float[] RunOrt(byte[] onnx, Tensor x)
    {
        using var session = new InferenceSession(onnx);
        var input = new DenseTensor<float>(x.ToArray<float>(), x.Shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        return [.. results.Single().AsEnumerable<float>()];
    }

    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        return worst;
    }

    public static TheoryData<string> CaseNames => [.. Cases().Select(c => c.Name)];

    /// <summary>Softplus with β ≠ 1 is written with a Where on a comparison, which an imported model cannot export again.</summary>
    internal const string SoftplusBeta = "SoftplusBeta";

    internal static (Module Model, int[] Shape) Case(string name)
    {
        var (_, model, shape) = Cases().Single(c => c.Name == name);
        return (model, shape);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void OnnxRuntime_matches_SharpGrad_at_another_batch_size(string name)
    {
        var g = new Generator(7);
        var (model, shape) = Case(name);
        WarmUp(model, shape, g);
        // Traced with batch 3, run with 7: sizes no other dimension of these models has.
        byte[] onnx = OnnxExporter.ExportToBytes(model, [Tensor.Randn([3, .. shape], g)]);
        var x = Tensor.Randn([7, .. shape], g);
        float[] expected;
        using (SharpGrad.Autograd.NoGrad()) expected = model.Forward(x).ToArray<float>();
        double diff = MaxAbsDiff(RunOrt(onnx, x), expected);
        Assert.True(diff <= Tolerance, $"{name}: ONNX Runtime differs from SharpGrad by {diff:E3}");
    }

    [Fact]
    public void Export_restores_training_mode_and_writes_the_file_atomically()
    {
        var model = Models.Cnn(10, dropout: 0.5, batchNorm: true, generator: new Generator(1));
        Assert.True(model.Training);
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-export-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, [Tensor.Randn([1, 1, 28, 28], new Generator(2))], path);
            Assert.True(model.Training);
            Assert.Equal(OnnxModel.Load(path).OutputNames, ["output"]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Import_of_an_export_gives_the_module_output_and_the_same_weights_bit_for_bit()
    {
        var g = new Generator(3);
        foreach (var (name, model, shape) in Cases())
        {
            WarmUp(model, shape, g);
            var imported = OnnxModel.Load(OnnxExporter.ExportToBytes(model, [Tensor.Randn([2, .. shape], g)]), name);
            var state = model.StateDict();
            var importedState = imported.NamedParameters().Concat(imported.NamedBuffers()).ToDictionary(p => p.Key, p => p.Value);
            // Every parameter and every buffer the forward pass reads (BatchNorm's running statistics; not its step counter).
            foreach (var (key, value) in state.Where(p => !p.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            {
                Assert.True(importedState.TryGetValue(key, out var other), $"{name}: '{key}' missing after import");
                Assert.Equal(value.Shape, other.Shape);
                Assert.Equal(value.ToArray<float>().Select(BitConverter.SingleToInt32Bits), other.ToArray<float>().Select(BitConverter.SingleToInt32Bits));
            }
            var x = Tensor.Randn([3, .. shape], g);
            float[] expected, actual;
            using (SharpGrad.Autograd.NoGrad())
            {
                expected = model.Forward(x).ToArray<float>();
                actual = imported.Forward(x).ToArray<float>();
            }
            double diff = MaxAbsDiff(actual, expected);
            Assert.True(diff <= Tolerance, $"{name}: the imported model differs from SharpGrad by {diff:E3}");
        }
    }

    [Fact]
    public void An_op_without_a_mapping_is_refused_by_name()
    {
        var model = new GatherModule();
        var e = Assert.Throws<OnnxNotSupportedException>(() => OnnxExporter.ExportToBytes(model, [Tensor.Randn([2, 4], new Generator(0))]));
        Assert.Contains("IndexSelect", e.Message);
    }

    private sealed class GatherModule : Module
    {
        public override Tensor Forward(Tensor input) => input.IndexSelect(1, Tensor.FromArray(new long[] { 0, 2 }, 2));
    }

    [OnnxCheckerFact]
    public void The_ONNX_checker_accepts_every_exported_model()
    {
        var g = new Generator(11);
        foreach (var (name, model, shape) in Cases())
        {
            WarmUp(model, shape, g);
            string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-check-{name}-{Guid.NewGuid():N}.onnx");
            try
            {
                OnnxExporter.Export(model, [Tensor.Randn([2, .. shape], g)], path);
                var psi = new ProcessStartInfo(OnnxCheckerFactAttribute.Python,
                    ["-c", "import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)", path])
                { RedirectStandardError = true, RedirectStandardOutput = true };
                using var p = Process.Start(psi)!;
                string err = p.StandardError.ReadToEnd();
                p.WaitForExit(120_000);
                Assert.True(p.ExitCode == 0, $"{name}: onnx.checker rejected the model: {err}");
            }
            finally { File.Delete(path); }
        }
    }
}
