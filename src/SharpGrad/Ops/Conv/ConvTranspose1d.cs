namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 1-d transposed convolution (PyTorch: <c>F.conv_transpose1d</c>), the adjoint in its input of
        /// <see cref="Conv1d"/> with the same weight: input [N, Cin, L] or [Cin, L], weight [Cin, Cout / groups, k],
        /// bias [Cout]; y[n, o, t·s − p + j·d] += w[c, o, j] · x[n, c, t] over the channels c of o's group, plus b[o].
        /// Output length (L − 1)·s − 2p + d(k − 1) + outputPadding + 1 (outputPadding &lt; max(s, d) picks among the sizes
        /// a stride-s convolution maps to L).
        /// </summary>
        public static Tensor ConvTranspose1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1, int dilation = 1) =>
            ConvCore.Transposed(nameof(ConvTranspose1d), 1, input, weight, bias, [stride], [padding], [outputPadding], groups, [dilation]);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int ConvTranspose1d = Register(nameof(ConvTranspose1d), static c =>
        {
            c.Add("k3", x => NN.Functional.ConvTranspose1d(x[0], x[1], x[2]), c.Normal(2, 2, 5), c.Normal(2, 3, 3), c.Normal(3));
            c.Add("s2 p1 op1", x => NN.Functional.ConvTranspose1d(x[0], x[1], x[2], 2, 1, 1), c.Normal(2, 3, 4), c.Normal(3, 2, 3), c.Normal(2));
            c.Add("groups 2, dilation 2, no bias", x => NN.Functional.ConvTranspose1d(x[0], x[1], null, 3, 2, 1, groups: 2, dilation: 2), c.Normal(2, 4, 4), c.Normal(4, 3, 2));
            c.Add("stride 1, output padding by dilation, unbatched", x => NN.Functional.ConvTranspose1d(x[0], x[1], x[2], 1, 0, 1, dilation: 2), c.Normal(2, 4), c.Normal(2, 2, 3), c.Normal(2));
        });
    }
}
