namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d cross-correlation (PyTorch: <c>F.conv2d</c>): input [N, C, H, W] or [C, H, W], weight [O, C / groups, kh, kw],
        /// bias [O]; y[n, o, i, j] = b[o] + Σ_c Σ_{a,b} w[o, c, a, b] · x[n, c, i·s − p + a·d, j·s − p + b·d] over the
        /// channels c of o's group, zero padding. Output size ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1 per spatial dimension.
        /// <paramref name="groups"/> splits the channels into groups that do not mix (groups = C: depthwise).
        /// </summary>
        public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv2d), 2, input, weight, bias, [stride], [padding], [dilation], groups);

        /// <summary>2-d cross-correlation (PyTorch: <c>F.conv2d</c>) with separate (height, width) stride, padding and dilation.</summary>
        public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv2d), 2, input, weight, bias, [stride.H, stride.W], [padding.H, padding.W], [dilation.H, dilation.W], groups);

        /// <summary>
        /// 2-d cross-correlation (PyTorch: <c>F.conv2d</c>) with stride, padding and dilation given as one value or one per
        /// spatial dimension (null: 1, 0, 1); see the int overload for the formula.
        /// </summary>
        public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, int[] stride, int[]? padding = null, int[]? dilation = null, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv2d), 2, input, weight, bias, stride, padding, dilation, groups);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Conv2d = Register(nameof(Conv2d), static c =>
        {
            foreach (var (stride, pad, dil, k) in new[] { (1, 0, 1, 3), (2, 1, 1, 3), (1, 2, 2, 3), (2, 0, 1, 2), (3, 1, 2, 2) })
                c.Add($"k{k} s{stride} p{pad} d{dil}", x => NN.Functional.Conv2d(x[0], x[1], x[2], stride, pad, dil), c.Normal(2, 2, 7, 6), c.Normal(3, 2, k, k), c.Normal(3));
            c.Add("no bias, rectangular stride", x => NN.Functional.Conv2d(x[0], x[1], null, (1, 2), (1, 0), (1, 1)), c.Normal(1, 3, 5, 6), c.Normal(2, 3, 3, 2));
            c.Add("groups 2, per-dim", x => NN.Functional.Conv2d(x[0], x[1], x[2], [2, 1], [1, 0], [1, 2], groups: 2), c.Normal(2, 4, 6, 5), c.Normal(4, 2, 3, 2), c.Normal(4));
            c.Add("depthwise x2, unbatched", x => NN.Functional.Conv2d(x[0], x[1], x[2], 1, 1, 1, groups: 3), c.Normal(3, 5, 4), c.Normal(6, 1, 3, 3), c.Normal(6));
        });
    }
}
