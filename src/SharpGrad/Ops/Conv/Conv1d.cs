namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 1-d cross-correlation (PyTorch: <c>F.conv1d</c>): input [N, C, L] or [C, L], weight [O, C / groups, k], bias [O];
        /// y[n, o, t] = b[o] + Σ_c Σ_j w[o, c, j] · x[n, c, t·s − p + j·d] over the channels c of o's group (zero padding).
        /// Output length ⌊(L + 2p − d(k − 1) − 1) / s⌋ + 1. <paramref name="groups"/> splits the channels into groups that
        /// do not mix (groups = C: depthwise). Computed as a 2-d convolution of height 1.
        /// </summary>
        public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
            ConvCore.Convolution(nameof(Conv1d), 1, input, weight, bias, [stride], [padding], [dilation], groups);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Conv1d = Register(nameof(Conv1d), static c =>
        {
            foreach (var (stride, pad, dil, k) in new[] { (1, 0, 1, 3), (2, 1, 1, 3), (1, 2, 2, 3), (3, 1, 2, 2) })
                c.Add($"k{k} s{stride} p{pad} d{dil}", x => NN.Functional.Conv1d(x[0], x[1], x[2], stride, pad, dil), c.Normal(2, 2, 9), c.Normal(3, 2, k), c.Normal(3));
            c.Add("groups 2, no bias", x => NN.Functional.Conv1d(x[0], x[1], null, 2, 1, 1, groups: 2), c.Normal(2, 4, 8), c.Normal(6, 2, 3));
            c.Add("depthwise, unbatched", x => NN.Functional.Conv1d(x[0], x[1], x[2], 1, 1, 2, groups: 3), c.Normal(3, 7), c.Normal(3, 1, 2), c.Normal(3));
        });
    }
}
