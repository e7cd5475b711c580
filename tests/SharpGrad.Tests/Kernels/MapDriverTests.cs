using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The operator-struct drivers of <see cref="Map"/> over every length 0–256 (each vector width's body and tail), for
/// float and double, against scalar loops written here: the vector bodies and the scalar tail must agree with the
/// formula element by element, and the scalar-operand forms with the span form.
/// </summary>
public class MapDriverTests
{
    private static double[] Data(int n, int seed)
    {
        var g = new Generator((ulong)seed + 99);
        return Enumerable.Range(0, n).Select(_ => -4 + 8 * g.NextDouble()).ToArray();
    }

    /// <summary>A test function with a body per width: d = x · y − x (exactly rounded the same way in every body).</summary>
    private readonly struct MulSub : IBinaryFunction
    {
        public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => x * y - x;
        public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x * y - x;
    }

    /// <summary>d = a · b + c.</summary>
    private readonly struct MulAdd : ITernaryFunction
    {
        public static T Apply<T>(T a, T b, T c) where T : unmanaged, IFloatingPointIeee754<T> => a * b + c;
        public static TV Apply<TV, T>(TV a, TV b, TV c) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => a * b + c;
    }

    [Fact]
    public void UnaryAgreesWithTheFormulaAtEveryLength()
    {
        // Tanh-form GELU: a vector body with exp, so vector and scalar results may differ in the last bits only.
        static double Reference(double x) => 0.5 * x * (1 + Math.Tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        for (int n = 0; n <= 256; n++)
        {
            var x = Data(n, n);
            var yd = new double[n];
            Map.Unary<double, GeluTanhFunction>(x, yd);
            var xf = x.Select(v => (float)v).ToArray();
            var yf = new float[n];
            Map.Unary<float, GeluTanhFunction>(xf, yf);
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(yd[i] - Reference(x[i])) <= 1e-14 * (1 + Math.Abs(yd[i])), $"double n={n} i={i}: {yd[i]:R} vs {Reference(x[i]):R}");
                Assert.True(Math.Abs(yf[i] - Reference(xf[i])) <= 1e-6 * (1 + Math.Abs(yf[i])), $"float n={n} i={i}: {yf[i]:R} vs {Reference(xf[i]):R}");
            }
        }
    }

    [Fact]
    public void BinaryAndTernaryAreExactAtEveryLength()
    {
        for (int n = 0; n <= 256; n++)
        {
            double[] x = Data(n, n), y = Data(n, n + 1000), z = Data(n, n + 2000);
            var d = new double[n];
            Map.Binary<double, MulSub>(x, y, d);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * y[i] - x[i], d[i]);
            Map.Binary<double, MulSub>(x, 1.5, d);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * 1.5 - x[i], d[i]);
            Map.Binary<double, MulSub>(-0.25, y, d);
            for (int i = 0; i < n; i++) Assert.Equal(-0.25 * y[i] + 0.25, d[i]);
            Map.Ternary<double, MulAdd>(x, y, z, d);
            for (int i = 0; i < n; i++) Assert.Equal(x[i] * y[i] + z[i], d[i]);

            float[] xf = x.Select(v => (float)v).ToArray(), yf = y.Select(v => (float)v).ToArray();
            var df = new float[n];
            Map.Binary<float, MulSub>(xf, yf, df);
            for (int i = 0; i < n; i++) Assert.Equal(xf[i] * yf[i] - xf[i], df[i]);
        }
    }

    [Fact]
    public void BroadcastingAdapterRunsTheBroadcastDriver()
    {
        var a = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.FromArray(new double[] { 10, 20 }, 2, 1);
        var d = Tensor.MapBinary<Broadcasting<MulSub>>(a, b, "test");
        Assert.Equal(new double[] { 9, 18, 27, 76, 95, 114 }, d.ToArray<double>());
    }
}
