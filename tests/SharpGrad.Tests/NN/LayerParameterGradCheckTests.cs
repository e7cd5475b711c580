using SharpGrad.NN;
using Xunit;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Float64 gradient checks of every parameter of the layers that have parameters: the analytic gradient of ⟨v, f(x)⟩
/// from one backward pass, against central differences taken by perturbing each parameter element in place and running
/// the layer's own forward again. The registry checks (GradChecks.Layers, SequenceGradChecks) differentiate inputs and
/// states only; this closes the gap for the weights, biases and norms, including weights shared across the steps of a
/// recurrence, across the stacked copies of a transformer layer, and between the q/k/v projections of attention.
/// </summary>
public class LayerParameterGradCheckTests
{
    private const DType F64 = DType.Float64;

    public static TheoryData<string> Layers() => [.. Cases().Keys];

    [Theory]
    [MemberData(nameof(Layers))]
    public void EveryParameterGradientMatchesCentralDifferences(string name)
    {
        var (module, forward) = Cases()[name]();
        var parameters = module.NamedParameters().ToList();
        Assert.NotEmpty(parameters);
        Assert.All(parameters, p => Assert.Equal(F64, p.Value.DType));

        var y0 = forward();
        var gen = new Generator(77);
        var v = new double[y0.Numel];
        for (int j = 0; j < v.Length; j++) v[j] = gen.NextNormal();
        var vt = Tensor.FromArray(v, y0.Shape);

        module.ZeroGrad();
        (forward() * vt).Sum().Backward();

        const double eps = 1e-6;
        foreach (var (pname, p) in parameters)
        {
            var analytic = p.Grad?.ToArray<double>() ?? new double[p.Numel];
            var data = p.Span<double>();
            for (int e = 0; e < p.Numel; e++)
            {
                double orig = data[e];
                double[] plus, minus;
                using (SharpGrad.Autograd.NoGrad())
                {
                    data[e] = orig + eps; plus = forward().ToArray<double>();
                    data[e] = orig - eps; minus = forward().ToArray<double>();
                }
                data[e] = orig;
                double numeric = 0;
                for (int j = 0; j < v.Length; j++) numeric += v[j] * (plus[j] - minus[j]) / (2 * eps);
                double error = Math.Abs(analytic[e] - numeric) / Math.Max(1.0, Math.Abs(numeric));
                Assert.True(error <= 1e-6,
                    $"{name}: parameter '{pname}' element {e}: analytic {analytic[e]:R}, central difference {numeric:R} (relative error {error:E2})");
            }
        }
    }

    private static Tensor Normal(Generator g, params int[] shape)
    {
        var data = new double[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < data.Length; i++) data[i] = g.NextNormal();
        return Tensor.FromArray(data, shape);
    }

    private static Dictionary<string, Func<(Module, Func<Tensor>)>> Cases()
    {
        var g = new Generator(2026);
        (Module, Func<Tensor>) One(Module m, params int[] shape)
        {
            var x = Normal(g, shape);
            return (m, () => m.Forward(x));
        }
        return new()
        {
            ["Linear"] = () => One(new Linear(3, 4, generator: g, dtype: F64), 2, 3),
            ["Conv1d stride 2, padding 1, groups 2"] = () => One(new Conv1d(4, 2, 3, stride: 2, padding: 1, groups: 2, generator: g, dtype: F64), 2, 4, 7),
            ["Conv2d dilation 2"] = () => One(new Conv2d(2, 3, 2, dilation: 2, generator: g, dtype: F64), 1, 2, 5, 4),
            ["Conv3d padding 1, groups 2"] = () => One(new Conv3d(2, 2, 2, padding: 1, groups: 2, generator: g, dtype: F64), 1, 2, 3, 2, 3),
            ["ConvTranspose1d stride 2, outputPadding 1, groups 2"] = () => One(new ConvTranspose1d(2, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, generator: g, dtype: F64), 1, 2, 4),
            ["ConvTranspose2d stride 2"] = () => One(new ConvTranspose2d(2, 3, 2, stride: 2, generator: g, dtype: F64), 1, 2, 3, 2),
            ["BatchNorm1d (training)"] = () => One(new BatchNorm1d(3, dtype: F64), 4, 3),
            ["BatchNorm2d (training)"] = () => One(new BatchNorm2d(2, dtype: F64), 3, 2, 2, 2),
            ["LayerNorm [3, 4]"] = () => One(new LayerNorm([3, 4], dtype: F64), 2, 3, 4),
            ["GroupNorm"] = () => One(new GroupNorm(2, 4, dtype: F64), 2, 4, 3),
            ["RMSNorm"] = () => One(new RMSNorm(5, dtype: F64), 3, 5),
            ["InstanceNorm1d affine"] = () => One(new InstanceNorm1d(3, affine: true, dtype: F64), 2, 3, 5),
            ["PReLU per channel"] = () => One(new PReLU(3, dtype: F64), 2, 3, 4),
            ["Embedding"] = () =>
            {
                var m = new Embedding(5, 3, generator: g, dtype: F64);
                var idx = Tensor.FromArray(new long[] { 1, 0, 4, 4, 2, 1 }, 2, 3);
                return (m, () => m.Forward(idx));
            },
            ["RNN 2-layer bidirectional"] = () =>
            {
                var m = new RNN(3, 2, numLayers: 2, bidirectional: true, generator: g, dtype: F64);
                var (x, h0) = (Normal(g, 4, 2, 3), Normal(g, 4, 2, 2));
                return (m, () => Tensor.Concat([m.Forward(x, h0).Output.Reshape(-1), m.Forward(x, h0).HiddenState.Reshape(-1)], 0));
            },
            ["LSTM 2-layer bidirectional"] = () =>
            {
                var m = new LSTM(3, 2, numLayers: 2, bidirectional: true, generator: g, dtype: F64);
                var (x, h0, c0) = (Normal(g, 4, 2, 3), Normal(g, 4, 2, 2), Normal(g, 4, 2, 2));
                return (m, () =>
                {
                    var (output, (h, c)) = m.Forward(x, (h0, c0));
                    return Tensor.Concat([output.Reshape(-1), h.Reshape(-1), c.Reshape(-1)], 0);
                });
            },
            ["GRU 2-layer batchFirst"] = () =>
            {
                var m = new GRU(3, 2, numLayers: 2, batchFirst: true, generator: g, dtype: F64);
                var (x, h0) = (Normal(g, 2, 4, 3), Normal(g, 2, 2, 2));
                return (m, () => m.Forward(x, h0).Output);
            },
            ["LSTMCell"] = () =>
            {
                var m = new LSTMCell(3, 2, generator: g, dtype: F64);
                var (x, h0, c0) = (Normal(g, 2, 3), Normal(g, 2, 2), Normal(g, 2, 2));
                return (m, () => { var (h, c) = m.Forward(x, (h0, c0)); return Tensor.Concat([h, c], 1); });
            },
            ["GRUCell"] = () =>
            {
                var m = new GRUCell(3, 2, generator: g, dtype: F64);
                var (x, h0) = (Normal(g, 2, 3), Normal(g, 2, 2));
                return (m, () => m.Forward(x, h0));
            },
            ["MultiheadAttention cross, padding mask"] = () =>
            {
                var m = new MultiheadAttention(4, 2, generator: g, dtype: F64);
                var (q, kv) = (Normal(g, 3, 2, 4), Normal(g, 5, 2, 4));
                var padding = Tensor.FromArray(new[] { false, false, true, false, false, false, false, false, false, true }, 2, 5);
                return (m, () => m.Forward(q, kv, kv, padding, needWeights: false).Output);
            },
            ["TransformerEncoder post-norm, 2 layers, final norm, causal"] = () =>
            {
                var m = new TransformerEncoder(new TransformerEncoderLayer(4, 2, 6, 0, generator: g, dtype: F64), 2, new LayerNorm(4, dtype: F64));
                var x = Normal(g, 3, 2, 4);
                return (m, () => m.Forward(x, null, null, isCausal: true));
            },
            ["TransformerEncoderLayer pre-norm GELU, batchFirst"] = () =>
            {
                var m = new TransformerEncoderLayer(4, 2, 6, 0, TransformerActivation.Gelu, batchFirst: true, normFirst: true, generator: g, dtype: F64);
                var x = Normal(g, 2, 3, 4);
                return (m, () => m.Forward(x, null, null, isCausal: true));
            },
            ["TransformerDecoderLayer pre-norm"] = () =>
            {
                var m = new TransformerDecoderLayer(4, 2, 6, 0, TransformerActivation.Gelu, normFirst: true, generator: g, dtype: F64);
                var (tgt, memory) = (Normal(g, 3, 2, 4), Normal(g, 2, 2, 4));
                return (m, () => m.Forward(tgt, memory, tgtIsCausal: true));
            },
        };
    }
}
