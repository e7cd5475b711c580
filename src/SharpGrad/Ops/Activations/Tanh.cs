using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise hyperbolic tangent; d/dx = 1 − tanh²x, taken from the output (PyTorch: <c>tanh</c>).</summary>
    public Tensor Tanh()
    {
        return Unary<TanhFunction>(this, nameof(Tanh), static (y, x) => Autograd.Record(y, "TanhBackward", [x], g => [g * (1.0 - y * y)]));
    }
}

/// <summary>
/// tanh x = sign(x) · t(|x|) in two forms. For |x| ≤ ln(3)/2 ≈ 0.55, t = e / (e + 2) with e = expm1(2|x|)
/// (<see cref="Expm1Function"/>), which keeps full relative precision near 0 where the textbook quotient cancels; above,
/// t = 1 − 2 / (e^(2|x|) + 1), which is monotone in e^(2|x|) (so the result is non-decreasing) and rounds to exactly 1
/// once |x| is large (2|x| is capped at 40, where that is so in both dtypes, to keep e^(2|x|) finite).
/// </summary>
internal readonly struct TanhFunction : IUnaryFunction
{
    private const double Switch = 0.5493061443340549; // ln(3)/2: e^(2|x|) = 3, t = 1/2
    private const double Cap = 40;

    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.Abs(x), two = T.CreateTruncating(2);
        if (T.IsNaN(x)) return x;
        if (a > T.CreateTruncating(Switch)) return T.CopySign(T.One - two / (T.Exp(T.Min(a + a, T.CreateTruncating(Cap))) + T.One), x);
        T e = Expm1Function.Apply(a + a);
        return T.CopySign(e / (e + two), x);
    }
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = TV.Abs(x);
        var two = TV.Create(T.CreateTruncating(2));
        var large = TV.One - two / (TV.Exp(TV.Min(a + a, TV.Create(T.CreateTruncating(Cap)))) + TV.One);
        var e = Expm1Function.Apply<TV, T>(TV.Min(a + a, TV.Create(T.CreateTruncating(2 * Switch))));
        var r = TV.ConditionalSelect(TV.GreaterThan(a, TV.Create(T.CreateTruncating(Switch))), large, e / (e + two));
        return TV.CopySign(r, x);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Tanh = Register(nameof(Tanh), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Tanh(), c.Normal(s));
    });
}
