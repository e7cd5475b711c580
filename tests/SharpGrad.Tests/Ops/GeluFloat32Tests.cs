using SharpGrad.Kernels;

namespace SharpGrad.Tests.Ops;

/// <summary>
/// Exact GELU in float32 runs a vectorised normal distribution function; it must agree with the float64 scalar path
/// (the exact erf) to float32 precision, in relative terms, over the whole range including the negative tail.
/// </summary>
public class GeluFloat32Tests
{
    /// <summary>Φ in double, accurate in relative terms in both tails: erfc(|x|/√2)/2 by its continued fraction far out,
    /// by the Maclaurin series of erf near 0.</summary>
    private static double Phi(double x)
    {
        double a = Math.Abs(x) / Math.Sqrt(2), tail;
        if (a < 2.5)
        {
            double term = a, sum = a;
            for (int n = 1; n < 400 && term > sum * 1e-18; n++) { term *= 2 * a * a / (2 * n + 1); sum += term; }
            tail = 0.5 * (1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum);
        }
        else
        {
            double f = a;
            for (int k = 80; k >= 1; k--) f = a + k / 2.0 / f;
            tail = 0.5 * Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        }
        return x < 0 ? tail : 1 - tail;
    }
    private static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    [Fact]
    public void Float32GeluAndGradientMatchFloat64AcrossTheRange()
    {
        // Every length up to 70 (vector bodies and scalar tails), then a dense grid over [-10, 10]. (Further out the
        // output is below 1e-22 in magnitude; PyTorch's float32 GELU is already exactly 0 below about -5.9.)
        var grid = Enumerable.Range(0, 20001).Select(i => (float)(-10 + i * 0.001)).ToArray();
        for (int n = 1; n <= 70; n++) Check(grid.AsSpan(n * 250, n).ToArray());
        Check(grid);
    }

    private static void Check(float[] x)
    {
        var y = new float[x.Length];
        Map.Unary<float, GeluFunction>(x, y);
        var ones = Enumerable.Repeat(1f, x.Length).ToArray();
        var d = new float[x.Length];
        Map.Ternary<float, GeluGradFunction>(ones, x, x, d);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            // Independent reference in double: x·Φ(x) with Φ from the erf series/continued fraction, and Φ + x·φ.
            double expected = v * Phi(v), dExpected = Phi(v) + v * Pdf(v);
            Assert.True(Math.Abs(y[i] - expected) <= 1e-6 * Math.Abs(expected) + 1e-37, $"GELU({v:R}) = {y[i]:R}, expected {expected:R}");
            Assert.True(Math.Abs(d[i] - dExpected) <= 1e-6 * (Phi(v) + Math.Abs(v * Pdf(v))) + 1e-37, $"GELU'({v:R}) = {d[i]:R}, expected {dExpected:R}");
        }
    }
}
