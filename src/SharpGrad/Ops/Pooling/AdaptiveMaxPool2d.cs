namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d adaptive max pooling (PyTorch: <c>F.adaptive_max_pool2d</c>): the output has the given spatial size and
        /// output position (i, j) is the maximum over rows [⌊i·H/outH⌋, ⌈(i + 1)·H/outH⌉) and the columns likewise.
        /// The gradient goes to the element that won each window.
        /// </summary>
        public static Tensor AdaptiveMaxPool2d(Tensor input, int outputSize) => AdaptiveMaxPool2d(input, [outputSize]);

        /// <summary>2-d adaptive max pooling (PyTorch: <c>F.adaptive_max_pool2d</c>) with one output size or one per spatial dimension.</summary>
        public static Tensor AdaptiveMaxPool2d(Tensor input, int[] outputSize) =>
            PoolCore.Max(nameof(AdaptiveMaxPool2d), input, PoolCoreAdaptive.Axes(nameof(AdaptiveMaxPool2d), input, 2, outputSize));
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AdaptiveMaxPool2d = Register(nameof(AdaptiveMaxPool2d), static c =>
        {
            c.Add("down", x => NN.Functional.AdaptiveMaxPool2d(x[0], [3, 2]), c.Normal(2, 2, 7, 5));
            c.Add("up", x => NN.Functional.AdaptiveMaxPool2d(x[0], 4), c.Normal(1, 2, 3, 3));
        });
    }
}
