namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 1-d max pooling (PyTorch: <c>F.max_pool1d</c>) over an input [N, C, L] or [C, L]: y = the maximum of each
        /// window of kernelSize positions spaced by dilation, windows stride apart (stride defaults to the kernel size);
        /// padding (at most half the kernel) counts as −∞. Output size per dimension ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1, or
        /// with ⌈·⌉ when <paramref name="ceilMode"/> (a last window starting past the input and the left padding is dropped).
        /// The gradient goes to the element that won each window.
        /// </summary>
        public static Tensor MaxPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
            MaxPool1d(input, [kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode);

        /// <summary>
        /// 1-d max pooling (PyTorch: <c>F.max_pool1d</c>) with kernel, stride, padding and dilation given as one value or
        /// one per spatial dimension (null stride: the kernel size); see the int overload for the rules.
        /// </summary>
        public static Tensor MaxPool1d(Tensor input, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        {
            ArgumentNullException.ThrowIfNull(kernelSize);

            var axes = PoolCore.SlidingAxes(nameof(MaxPool1d), input, 1, kernelSize, stride, padding, dilation, ceilMode, countIncludePad: true);
            return PoolCore.Max(nameof(MaxPool1d), input, axes);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int MaxPool1d = Register(nameof(MaxPool1d), static c =>
        {
            c.Add("k3 s2 p1", x => NN.Functional.MaxPool1d(x[0], 3, 2, 1), c.Normal(2, 3, 9));
            c.Add("dilation 2, ceil", x => NN.Functional.MaxPool1d(x[0], 2, 2, 1, 2, ceilMode: true), c.Normal(2, 2, 8));
            c.Add("unbatched", x => NN.Functional.MaxPool1d(x[0], 2), c.Normal(3, 7));
        });
    }
}
