using System.Numerics.Tensors;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The elementwise functions the layer kernels rely on, run through the Map drivers at every length around the vector
/// widths: the in-place sum the engine accumulates gradients with, and ReLU bit for bit against TensorPrimitives.
/// </summary>
public class FusedSimdTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 15, 16, 17, 31, 63, 64, 65, 100, 257];

    private static double[] Random(int n, Generator g) => Tensor.Randn([n], g, DType.Float64).ToArray<double>();

    [Fact]
    public void AddInPlaceThroughTheBinaryDriverMatchesAScalarLoop()
    {
        var g = new Generator(62);
        foreach (int n in Lengths)
        {
            double[] x = Random(n, g), d0 = Random(n, g);
            var d = (double[])d0.Clone();
            Map.Binary<double, AddFunction>(d, x, d); // the destination aliases the first source
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
            Map.Unary<float, ReluFunction>(x, actual);
            for (int i = 0; i < n; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
        }
    }
}
