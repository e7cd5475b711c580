namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 3-d transposed convolution (PyTorch: <c>F.conv_transpose3d</c>), the adjoint in its input of
        /// <see cref="Conv3d(Tensor, Tensor, Tensor?, int, int, int, int)"/> with the same weight: input [N, Cin, D, H, W] or
        /// [Cin, D, H, W], weight [Cin, Cout / groups, kd, kh, kw], bias [Cout]. Output size
        /// (in − 1)·s − 2p + d(k − 1) + outputPadding + 1 per spatial dimension (outputPadding &lt; max(s, d)).
        /// </summary>
        public static Tensor ConvTranspose3d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1, int dilation = 1) =>
            ConvCore.Transposed(nameof(ConvTranspose3d), 3, input, weight, bias, [stride], [padding], [outputPadding], groups, [dilation]);

        /// <summary>
        /// 3-d transposed convolution (PyTorch: <c>F.conv_transpose3d</c>) with stride, padding, output padding and
        /// dilation given as one value or one per spatial dimension (null: 1, 0, 0, 1); see the int overload.
        /// </summary>
        public static Tensor ConvTranspose3d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[]? padding = null, int[]? outputPadding = null, int groups = 1, int[]? dilation = null) =>
            ConvCore.Transposed(nameof(ConvTranspose3d), 3, input, weight, bias, stride, padding, outputPadding, groups, dilation);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int ConvTranspose3d = Register(nameof(ConvTranspose3d), static c =>
        {
            c.Add("k2", x => NN.Functional.ConvTranspose3d(x[0], x[1], x[2]), c.Normal(1, 2, 2, 3, 2), c.Normal(2, 2, 2, 2, 2), c.Normal(2));
            c.Add("per-dim s p op, groups 2, no bias", x => NN.Functional.ConvTranspose3d(x[0], x[1], null, [2, 1, 2], [1, 0, 0], [1, 0, 1], 2), c.Normal(1, 2, 2, 2, 3), c.Normal(2, 1, 3, 2, 2));
        });
    }
}
