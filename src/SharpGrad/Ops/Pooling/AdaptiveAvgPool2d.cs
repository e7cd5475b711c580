namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 2-d adaptive average pooling (PyTorch: <c>F.adaptive_avg_pool2d</c>): the output has the given spatial size and
        /// output position o averages the input positions [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉) in each dimension.
        /// </summary>
        public static Tensor AdaptiveAvgPool2d(Tensor input, int outputSize) => AdaptiveAvgPool2d(input, [outputSize]);

        /// <summary>2-d adaptive average pooling (PyTorch: <c>F.adaptive_avg_pool2d</c>) with one output size or one per spatial dimension.</summary>
        public static Tensor AdaptiveAvgPool2d(Tensor input, int[] outputSize) =>
            PoolCore.Average(nameof(AdaptiveAvgPool2d), input, PoolCoreAdaptive.Axes(nameof(AdaptiveAvgPool2d), input, 2, outputSize), null);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AdaptiveAvgPool2d = Register(nameof(AdaptiveAvgPool2d), static c =>
        {
            c.Add("down", x => NN.Functional.AdaptiveAvgPool2d(x[0], [3, 2]), c.Normal(2, 2, 7, 5));
            c.Add("global", x => NN.Functional.AdaptiveAvgPool2d(x[0], 1), c.Normal(2, 3, 4, 4));
        });
    }
}
