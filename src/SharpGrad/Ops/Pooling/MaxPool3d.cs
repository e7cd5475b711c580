namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 3-d max pooling (PyTorch: <c>F.max_pool3d</c>) over an input [N, C, D, H, W] or [C, D, H, W]: y = the maximum of each
        /// window of kernelSize positions spaced by dilation, windows stride apart (stride defaults to the kernel size);
        /// padding (at most half the kernel) counts as −∞. Output size per dimension ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1, or
        /// with ⌈·⌉ when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// The gradient goes to the element that won each window.
        /// </summary>
        public static Tensor MaxPool3d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
            MaxPool3d(input, [kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode);

        /// <summary>
        /// 3-d max pooling (PyTorch: <c>F.max_pool3d</c>) with kernel, stride, padding and dilation given as one value or
        /// one per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor MaxPool3d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);

            var axes = PoolCore.SlidingAxes(nameof(MaxPool3d), input, 3, kernelSize, stride, padding, dilation, ceilMode, countIncludePad: true);
            return PoolCore.Max(nameof(MaxPool3d), input, axes);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int MaxPool3d = Register(nameof(MaxPool3d), static c =>
        {
            c.Add("k2", x => NN.Functional.MaxPool3d(x[0], 2), c.Normal(1, 2, 4, 4, 5));
            c.Add("per-dim, padding, ceil", x => NN.Functional.MaxPool3d(x[0], [3, 2, 2], [2, 2, 1], [1, 1, 0], null, ceilMode: true), c.Normal(2, 1, 5, 4, 3));
            c.Add("dilation", x => NN.Functional.MaxPool3d(x[0], [2], [1], null, [2, 1, 1]), c.Normal(1, 1, 5, 3, 3));
        });
    }
}
