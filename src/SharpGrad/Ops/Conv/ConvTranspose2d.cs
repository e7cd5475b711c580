namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d transposed convolution (PyTorch: <c>F.conv_transpose2d</c>), the adjoint in its input of
        /// <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> with the same weight: input [N, Cin, H, W] or
        /// [Cin, H, W], weight [Cin, Cout / groups, kh, kw], bias [Cout]; each input value x[n, c, i, j] adds
        /// w[c, o, a, b] · x[n, c, i, j] at (i·s − p + a·d, j·s − p + b·d) of channel o of its group, plus b[o]. Output size
        /// (in − 1)·s − 2p + d(k − 1) + outputPadding + 1 per spatial dimension (outputPadding &lt; max(s, d)).
        /// </summary>
        public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1, int dilation = 1) =>
            ConvCore.Transposed(nameof(ConvTranspose2d), 2, input, weight, bias, [stride], [padding], [outputPadding], groups, [dilation]);

        /// <summary>
        /// 2-d transposed convolution (PyTorch: <c>F.conv_transpose2d</c>) with stride, padding, output padding and
        /// dilation given as one value or one per spatial dimension (null: 1, 0, 0, 1); see the int overload.
        /// </summary>
        public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[]? padding = null, int[]? outputPadding = null, int groups = 1, int[]? dilation = null) =>
            ConvCore.Transposed(nameof(ConvTranspose2d), 2, input, weight, bias, stride, padding, outputPadding, groups, dilation);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int ConvTranspose2d = Register(nameof(ConvTranspose2d), static c =>
        {
            c.Add("k3", x => NN.Functional.ConvTranspose2d(x[0], x[1], x[2]), c.Normal(2, 2, 3, 4), c.Normal(2, 3, 3, 3), c.Normal(3));
            c.Add("s2 p1 op1", x => NN.Functional.ConvTranspose2d(x[0], x[1], x[2], 2, 1, 1), c.Normal(1, 3, 3, 3), c.Normal(3, 2, 3, 3), c.Normal(2));
            c.Add("per-dim, groups 2, no bias", x => NN.Functional.ConvTranspose2d(x[0], x[1], null, [2, 1], [1, 0], [1, 0], 2, [1, 2]), c.Normal(1, 4, 3, 3), c.Normal(4, 1, 3, 2));
            c.Add("depthwise, unbatched", x => NN.Functional.ConvTranspose2d(x[0], x[1], x[2], 2, 0, 0, groups: 2), c.Normal(2, 3, 2), c.Normal(2, 1, 2, 2), c.Normal(2));
        });
    }
}
