namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d average pooling (PyTorch: <c>F.avg_pool2d</c>) over an input [N, C, H, W] or [C, H, W]: y = Σ window / divisor,
        /// windows of kernelSize positions stride apart (stride defaults to the kernel size), zero padding of at most half
        /// the kernel. The divisor counts the padded positions (up to in + padding) when <paramref name="countIncludePad"/>,
        /// else only the positions inside the input. When <paramref name="divisorOverride"/> is given it replaces the divisor. Output size per dimension ⌊(in + 2p − k) / s⌋ + 1, or with ⌈·⌉
        /// when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// </summary>
        public static Tensor AvgPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
            AvgPool2d(input, [kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride);

        /// <summary>
        /// 2-d average pooling (PyTorch: <c>F.avg_pool2d</c>) with kernel, stride and padding given as one value or one
        /// per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor AvgPool2d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);
            var axes = PoolCore.SlidingAxes(nameof(AvgPool2d), input, 2, kernelSize, stride, padding, null, ceilMode, countIncludePad);
            // Only the default divisor is ONNX's AveragePool(count_include_pad=1), so only then can the op be exported.
            var onnx = countIncludePad && divisorOverride is null ? PoolCore.Attributes2d(PoolCore.Blocked2d(nameof(AvgPool2d), input, axes, kernelSize, stride, padding, null)) : null;
            return PoolCore.Average(nameof(AvgPool2d), input, axes, divisorOverride, onnx);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AvgPool2d = Register(nameof(AvgPool2d), static c =>
        {
            c.Add("per-dim", x => NN.Functional.AvgPool2d(x[0], [3, 2], [2, 1], [1, 1]), c.Normal(2, 2, 7, 6));
            c.Add("ceil, exclude pad", x => NN.Functional.AvgPool2d(x[0], 3, 2, 1, ceilMode: true, countIncludePad: false), c.Normal(1, 2, 6, 7));
            c.Add("divisor override", x => NN.Functional.AvgPool2d(x[0], 2, 1, 1, divisorOverride: 3), c.Normal(1, 2, 4, 5));
        });
    }
}
