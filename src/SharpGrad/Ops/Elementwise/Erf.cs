using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The error function, <c>erf(x) = 2/√π ∫₀ˣ e^(−t²) dt</c>, elementwise (PyTorch: <c>erf</c>);
    /// <c>d/dx erf(x) = 2/√π · e^(−x²)</c>.
    /// </summary>
    public Tensor Erf()
    {
        var y = Map1<ErfFunction>(this, nameof(Erf));
        return Autograd.Record(y, "ErfBackward", [this], g => [g * ((this * this).Neg().Exp() * ErfFunction.TwoOverSqrtPi)]);
    }
}

/// <summary>
/// erf to double precision, evaluated in double for both dtypes (float32 results are the exactly rounded double ones).
/// Below |x| = 2.5 the series <c>erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))</c>, whose terms are all
/// positive (no cancellation); above, <c>1 − erfc(x)</c> with erfc from its continued fraction
/// <c>erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))</c>, evaluated from the tail up. Both are
/// textbook (Abramowitz and Stegun 7.1.6 and 7.1.14). No vector form: a vector erf would need a different
/// approximation per dtype, and so far no benchmark asks for one.
/// </summary>
internal readonly struct ErfFunction : IUnaryFunction
{
    public const double TwoOverSqrtPi = 1.1283791670955126;

    public static bool Vectorizable => false;

    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.CreateTruncating(Erf(double.CreateTruncating(x)));

    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a >= 6) return Math.CopySign(1.0, x); // 1 − erfc(6) rounds to 1 in double
        if (a < 2.5)
        {
            double term = a, sum = a, x2 = a * a;
            for (int n = 1; n < 200 && term > sum * 1e-17; n++)
            {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
            }
            return Math.CopySign(TwoOverSqrtPi * Math.Exp(-x2) * sum, x);
        }
        // Continued fraction of erfc, 60 levels: ample at a ≥ 2.5.
        double f = a;
        for (int k = 60; k >= 1; k--) f = a + k / 2.0 / f;
        double erfc = Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        return Math.CopySign(1 - erfc, x);
    }

    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}

internal static partial class GradChecks
{
    internal static readonly int Erf = Register(nameof(Erf), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Erf(), c.Normal(s));
        c.Add("large |x|", x => x[0].Erf(), c.Uniform(2.6, 4, 6));
    });
}
