using SharpGrad.NN;

namespace SharpGrad;

// Float64 gradient checks of the issue-14 layers through their own Forward (input and state gradients), beside the
// op-level checks that take the weights as inputs; the parameter gradients of these layers are compared with PyTorch's
// by the golden tests (tests/golden/layers, conv_layers, seq).
internal static partial class GradChecks
{
    internal static readonly int Layers = Register("Layers", static c =>
    {
        var g = c.Generator;
        const DType f64 = DType.Float64;
        void One(string name, Module m, params int[] shape) => c.Add(name, x => m.Forward(x[0]), c.Normal(shape));

        One("LayerNorm", new LayerNorm([3, 4], dtype: f64), 2, 3, 4);
        One("GroupNorm", new GroupNorm(2, 4, dtype: f64), 2, 4, 3);
        One("GroupNorm no affine", new GroupNorm(3, 6, affine: false, dtype: f64), 2, 6, 2);
        One("RMSNorm", new RMSNorm(5, dtype: f64), 3, 5);
        One("InstanceNorm1d affine", new InstanceNorm1d(3, affine: true, dtype: f64), 2, 3, 5);
        One("InstanceNorm2d", new InstanceNorm2d(2, dtype: f64), 2, 2, 3, 3);
        One("GELU tanh", new GELU(GeluApproximation.Tanh), 3, 4);
        One("SiLU", new SiLU(), 3, 4);
        One("ELU", new ELU(0.7), 3, 4);
        One("SELU", new SELU(), 3, 4);
        One("Mish", new Mish(), 3, 4);
        One("Hardsigmoid", new Hardsigmoid(), 3, 4);
        One("Hardswish", new Hardswish(), 3, 4);
        One("Softsign", new Softsign(), 3, 4);
        One("Softplus", new Softplus(2, 3), 3, 4);
        One("Hardtanh", new Hardtanh(-0.5, 0.5), 3, 4);
        One("PReLU", new PReLU(3, dtype: f64), 2, 3, 4);
        One("Unflatten", new Unflatten(1, 2, 3), 2, 6);
        One("ConvTranspose1d", new ConvTranspose1d(2, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2, generator: g, dtype: f64), 1, 2, 4);
        One("ConvTranspose2d", new ConvTranspose2d(2, 3, 2, stride: 2, generator: g, dtype: f64), 1, 2, 3, 2);
        One("Conv3d", new Conv3d(2, 2, 2, padding: 1, groups: 2, generator: g, dtype: f64), 1, 2, 3, 2, 3);
        One("MaxPool1d", new MaxPool1d(3, 2, 1, ceilMode: true), 2, 2, 8);
        One("MaxPool3d", new MaxPool3d([2, 2, 3], [1, 2, 2]), 1, 2, 3, 4, 5);
        One("AvgPool1d", new AvgPool1d(3, 2, 1, countIncludePad: false), 2, 2, 7);
        One("AvgPool3d", new AvgPool3d(2, padding: 1, ceilMode: true), 1, 1, 3, 4, 3);
        One("AdaptiveAvgPool1d", new AdaptiveAvgPool1d(3), 2, 2, 7);
        One("AdaptiveAvgPool2d", new AdaptiveAvgPool2d([2, 3]), 1, 2, 5, 4);
        One("AdaptiveMaxPool2d", new AdaptiveMaxPool2d([2, 3]), 1, 2, 5, 4);
        One("Upsample bilinear", new Upsample([4, 5], mode: InterpolateMode.Bilinear, alignCorners: false), 1, 2, 3, 3);

        var rnn = new RNN(3, 2, numLayers: 2, bidirectional: true, generator: g, dtype: f64);
        c.Add("RNN 2-layer bidirectional", x => rnn.Forward(x[0], x[1]).Output, c.Normal(4, 2, 3), c.Normal(4, 2, 2));
        var rnnCell = new RNNCell(3, 2, nonlinearity: RnnNonlinearity.Relu, generator: g, dtype: f64);
        c.Add("RNNCell relu", x => rnnCell.Forward(x[0], x[1]), c.Normal(2, 3), c.Normal(2, 2));
        var lstmCell = new LSTMCell(3, 2, generator: g, dtype: f64);
        c.Add("LSTMCell", x => Tensor.Concat([.. ToArray(lstmCell.Forward(x[0], (x[1], x[2])))], 1), c.Normal(2, 3), c.Normal(2, 2), c.Normal(2, 2));
        var gruCell = new GRUCell(3, 2, generator: g, dtype: f64);
        c.Add("GRUCell", x => gruCell.Forward(x[0], x[1]), c.Normal(2, 3), c.Normal(2, 2));
        var mha = new MultiheadAttention(4, 2, batchFirst: true, generator: g, dtype: f64);
        c.Add("MultiheadAttention batchFirst, causal", x => mha.Forward(x[0], x[0], x[0], isCausal: true, needWeights: false).Output, c.Normal(2, 3, 4));
        var postNorm = new TransformerEncoderLayer(4, 2, 6, 0, generator: g, dtype: f64);
        var stack = new TransformerEncoder(postNorm, 2, new LayerNorm(4, dtype: f64));
        var padding = Tensor.FromArray(new[] { false, false, true, false, false, false }, 2, 3);
        c.Add("TransformerEncoder post-norm, padding mask", x => stack.Forward(x[0], null, padding), c.Normal(3, 2, 4));
        var preNormDecoder = new TransformerDecoderLayer(4, 2, 6, 0, TransformerActivation.Gelu, normFirst: true, generator: g, dtype: f64);
        c.Add("TransformerDecoderLayer pre-norm", x => preNormDecoder.Forward(x[0], x[1], tgtIsCausal: true), c.Normal(3, 2, 4), c.Normal(2, 2, 4));
    });

    private static Tensor[] ToArray((Tensor H, Tensor C) hc) => [hc.H, hc.C];
}
