using System.Numerics;
using System.Runtime.Intrinsics;
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
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector128.Abs(x);
        var two = Vector128.Create(T.CreateTruncating(2));
        var large = Vector128<T>.One - two / (VMath.Exp(Vector128.Min(a + a, Vector128.Create(T.CreateTruncating(Cap)))) + Vector128<T>.One);
        var e = Expm1Function.Apply(Vector128.Min(a + a, Vector128.Create(T.CreateTruncating(2 * Switch))));
        var r = Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(T.CreateTruncating(Switch))), large, e / (e + two));
        return Vector128.CopySign(r, x);
    }
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.Abs(x);
        var two = Vector256.Create(T.CreateTruncating(2));
        var large = Vector256<T>.One - two / (VMath.Exp(Vector256.Min(a + a, Vector256.Create(T.CreateTruncating(Cap)))) + Vector256<T>.One);
        var e = Expm1Function.Apply(Vector256.Min(a + a, Vector256.Create(T.CreateTruncating(2 * Switch))));
        var r = Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(T.CreateTruncating(Switch))), large, e / (e + two));
        return Vector256.CopySign(r, x);
    }
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector512.Abs(x);
        var two = Vector512.Create(T.CreateTruncating(2));
        var large = Vector512<T>.One - two / (VMath.Exp(Vector512.Min(a + a, Vector512.Create(T.CreateTruncating(Cap)))) + Vector512<T>.One);
        var e = Expm1Function.Apply(Vector512.Min(a + a, Vector512.Create(T.CreateTruncating(2 * Switch))));
        var r = Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(T.CreateTruncating(Switch))), large, e / (e + two));
        return Vector512.CopySign(r, x);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Tanh = Register(nameof(Tanh), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Tanh(), c.Normal(s));
    });
}
