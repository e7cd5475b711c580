namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 3-d cross-correlation (PyTorch: <c>F.conv3d</c>): input [N, C, D, H, W] or [C, D, H, W], weight
        /// [O, C / groups, kd, kh, kw], bias [O]; y[n, o, z, i, j] = b[o] + Σ_c Σ_{a,b,e} w[o, c, a, b, e] ·
        /// x[n, c, z·s − p + a·d, i·s − p + b·d, j·s − p + e·d] over the channels of o's group, zero padding. Output size
        /// ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1 per spatial dimension; <paramref name="groups"/> as in <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/>.
        /// </summary>
        public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv3d), 3, input, weight, bias, [stride], [padding], [dilation], groups);

        /// <summary>
        /// 3-d cross-correlation (PyTorch: <c>F.conv3d</c>) with stride, padding and dilation given as one value or one per
        /// spatial dimension (null: 1, 0, 1); see the int overload for the formula.
        /// </summary>
        public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[]? padding = null, int[]? dilation = null, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv3d), 3, input, weight, bias, stride, padding, dilation, groups);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Conv3d = Register(nameof(Conv3d), static c =>
        {
            c.Add("k2", x => NN.Functional.Conv3d(x[0], x[1], x[2]), c.Normal(2, 2, 3, 4, 3), c.Normal(3, 2, 2, 2, 2), c.Normal(3));
            c.Add("per-dim s p d", x => NN.Functional.Conv3d(x[0], x[1], x[2], [2, 1, 2], [1, 0, 1], [1, 2, 1]), c.Normal(1, 2, 5, 5, 4), c.Normal(2, 2, 3, 2, 2), c.Normal(2));
            c.Add("groups 2, no bias, unbatched", x => NN.Functional.Conv3d(x[0], x[1], null, 1, 1, 1, groups: 2), c.Normal(4, 3, 3, 2), c.Normal(2, 2, 2, 3, 2));
        });
    }
}
