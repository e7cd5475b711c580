namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 1-d average pooling (PyTorch: <c>F.avg_pool1d</c>) over an input [N, C, L] or [C, L]: y = Σ window / divisor,
        /// windows of kernelSize positions stride apart (stride defaults to the kernel size), zero padding of at most half
        /// the kernel. The divisor counts the padded positions (up to in + padding) when <paramref name="countIncludePad"/>,
        /// else only the positions inside the input. Output size per dimension ⌊(in + 2p − k) / s⌋ + 1, or with ⌈·⌉
        /// when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// </summary>
        public static Tensor AvgPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
            AvgPool1d(input, [kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad);

        /// <summary>
        /// 1-d average pooling (PyTorch: <c>F.avg_pool1d</c>) with kernel, stride and padding given as one value or one
        /// per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor AvgPool1d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);

            var axes = PoolCore.SlidingAxes(nameof(AvgPool1d), input, 1, kernelSize, stride, padding, null, ceilMode, countIncludePad);
            return PoolCore.Average(nameof(AvgPool1d), input, axes, null);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AvgPool1d = Register(nameof(AvgPool1d), static c =>
        {
            c.Add("k3 s2 p1", x => NN.Functional.AvgPool1d(x[0], 3, 2, 1), c.Normal(2, 3, 9));
            c.Add("ceil, exclude pad", x => NN.Functional.AvgPool1d(x[0], 3, 2, 1, ceilMode: true, countIncludePad: false), c.Normal(2, 2, 8));
        });
    }
}
