namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d max pooling (PyTorch: <c>F.max_pool2d</c>) over an input [N, C, H, W] or [C, H, W]: y = the maximum of each
        /// window of kernelSize positions spaced by dilation, windows stride apart (stride defaults to the kernel size);
        /// padding (at most half the kernel) counts as −∞. Output size per dimension ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1, or
        /// with ⌈·⌉ when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// The gradient goes to the element that won each window.
        /// </summary>
        public static Tensor MaxPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
            MaxPool2d(input, [kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode);

        /// <summary>
        /// 2-d max pooling (PyTorch: <c>F.max_pool2d</c>) with kernel, stride, padding and dilation given as one value or
        /// one per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor MaxPool2d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);
            var axes = PoolCore.SlidingAxes(nameof(MaxPool2d), input, 2, kernelSize, stride, padding, dilation, ceilMode, countIncludePad: true);
            var blocked = PoolCore.Blocked2d(nameof(MaxPool2d), input, axes, kernelSize, stride, padding, dilation);
            return PoolCore.Max(nameof(MaxPool2d), input, axes, blocked, PoolCore.Attributes2d(blocked));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int MaxPool2d = Register(nameof(MaxPool2d), static c =>
        {
            c.Add("per-dim k s p d", x => NN.Functional.MaxPool2d(x[0], [3, 2], [2, 1], [1, 0], [1, 2]), c.Normal(2, 2, 7, 6));
            c.Add("ceil mode", x => NN.Functional.MaxPool2d(x[0], 2, ceilMode: true), c.Normal(1, 2, 5, 7));
            c.Add("unbatched", x => NN.Functional.MaxPool2d(x[0], [2]), c.Normal(2, 4, 5));
        });
    }
}
