namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 3-d average pooling (PyTorch: <c>F.avg_pool3d</c>) over an input [N, C, D, H, W] or [C, D, H, W]: y = Σ window / divisor,
        /// windows of kernelSize positions stride apart (stride defaults to the kernel size), zero padding of at most half
        /// the kernel. The divisor counts the padded positions (up to in + padding) when <paramref name="countIncludePad"/>,
        /// else only the positions inside the input. When <paramref name="divisorOverride"/> is given it replaces the divisor. Output size per dimension ⌊(in + 2p − k) / s⌋ + 1, or with ⌈·⌉
        /// when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// </summary>
        public static Tensor AvgPool3d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
            AvgPool3d(input, [kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride);

        /// <summary>
        /// 3-d average pooling (PyTorch: <c>F.avg_pool3d</c>) with kernel, stride and padding given as one value or one
        /// per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor AvgPool3d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);

            var axes = PoolCore.SlidingAxes(nameof(AvgPool3d), input, 3, kernelSize, stride, padding, null, ceilMode, countIncludePad);
            return PoolCore.Average(nameof(AvgPool3d), input, axes, divisorOverride);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AvgPool3d = Register(nameof(AvgPool3d), static c =>
        {
            c.Add("k2", x => NN.Functional.AvgPool3d(x[0], 2), c.Normal(1, 2, 4, 4, 5));
            c.Add("per-dim, ceil, exclude pad", x => NN.Functional.AvgPool3d(x[0], [3, 2, 2], [2, 2, 1], [1, 1, 0], ceilMode: true, countIncludePad: false), c.Normal(2, 1, 5, 4, 3));
        });
    }
}
