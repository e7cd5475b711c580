namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// 1-d adaptive average pooling (PyTorch: <c>F.adaptive_avg_pool1d</c>): the output has the given spatial size and
        /// output position o averages the input positions [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉) in each dimension.
        /// </summary>
        public static Tensor AdaptiveAvgPool1d(Tensor input, int outputSize) => AdaptiveAvgPool1d(input, [outputSize]);

        /// <summary>1-d adaptive average pooling (PyTorch: <c>F.adaptive_avg_pool1d</c>) with one output size or one per spatial dimension.</summary>
        public static Tensor AdaptiveAvgPool1d(Tensor input, int[] outputSize) =>
            PoolCore.Average(nameof(AdaptiveAvgPool1d), input, PoolCoreAdaptive.Axes(nameof(AdaptiveAvgPool1d), input, 1, outputSize), null);
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int AdaptiveAvgPool1d = Register(nameof(AdaptiveAvgPool1d), static c =>
        {
            c.Add("down", x => NN.Functional.AdaptiveAvgPool1d(x[0], 3), c.Normal(2, 3, 7));
            c.Add("up", x => NN.Functional.AdaptiveAvgPool1d(x[0], 5), c.Normal(2, 2, 3));
        });
    }
}
