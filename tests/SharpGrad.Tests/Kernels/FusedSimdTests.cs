using System.Numerics.Tensors;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>The hand-vectorised loops of the fused layer kernels against scalar loops and TensorPrimitives, for every length around the vector widths.</summary>
public class FusedSimdTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 15, 16, 17, 31, 63, 64, 65, 100, 257];

    private static double[] Random(int n, Generator g) => Tensor.Randn([n], g, DType.Float64).ToArray<double>();

    [Fact]
    public void DotMatchesTheSumOfProducts()
    {
        var g = new Generator(61);
        foreach (int n in Lengths)
        {
            double[] x = Random(n, g), y = Random(n, g);
            double expected = 0, scale = 0;
            for (int i = 0; i < n; i++) { expected += x[i] * y[i]; scale += Math.Abs(x[i] * y[i]); }
            Assert.Equal(expected, FusedSimd.Dot<double>(x, y), 1e-13 * (1 + scale));
            float[] xf = Array.ConvertAll(x, v => (float)v), yf = Array.ConvertAll(y, v => (float)v);
            Assert.True(Math.Abs(expected - FusedSimd.Dot<float>(xf, yf)) <= 1e-5 * (1 + scale), $"float32, n = {n}");
        }
    }

    [Fact]
    public void AxpyAndAddMatchScalarLoops()
    {
        var g = new Generator(62);
        foreach (int n in Lengths)
        {
            double[] x = Random(n, g), d0 = Random(n, g);
            var d = (double[])d0.Clone();
            FusedSimd.Axpy(0.75, x, d, accumulate: true);
            for (int i = 0; i < n; i++) Assert.Equal(Math.FusedMultiplyAdd(x[i], 0.75, d0[i]), d[i]);
            FusedSimd.Axpy(-1.5, x, d, accumulate: false);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * -1.5, d[i]);
            d = (double[])d0.Clone();
            FusedSimd.AddInPlace<double>(d, x);
            for (int i = 0; i < n; i++) Assert.Equal(d0[i] + x[i], d[i]);
        }
    }

    [Fact]
    public void ReluEqualsTensorPrimitivesMaxWithZeroIncludingNaNAndSignedZero()
    {
        var g = new Generator(63);
        foreach (int n in Lengths)
        {
            var x = Array.ConvertAll(Random(n, g), v => (float)v);
            if (n > 5) { x[0] = float.NaN; x[1] = -0f; x[2] = float.NegativeInfinity; x[3] = float.PositiveInfinity; x[4] = 0f; x[n - 1] = float.NaN; }
            var expected = new float[n];
            TensorPrimitives.Max(x, 0f, expected);
            var actual = new float[n];
            FusedSimd.Relu<float>(x, actual);
            for (int i = 0; i < n; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
        }
    }
}
