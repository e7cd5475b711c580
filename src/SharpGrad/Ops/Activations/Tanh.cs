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
/// tanh x = sign(x) · e / (e + 2) with e = expm1(2|x|) (<see cref="Expm1Function"/>), which keeps full relative
/// precision near 0 where (1 − e^(−2|x|)) / (1 + e^(−2|x|)) cancels; above |x| = 20, where e overflows for float32
/// and tanh rounds to ±1 in both dtypes, the result is ±1.
/// </summary>
internal readonly struct TanhFunction : IUnaryFunction
{
    private const double Saturated = 20;

    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.Abs(x);
        if (!(a <= T.CreateTruncating(Saturated))) return T.IsNaN(x) ? x : T.CopySign(T.One, x);
        T e = Expm1Function.Apply(a + a);
        return T.CopySign(e / (e + T.CreateTruncating(2)), x);
    }
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector128.Abs(x);
        var e = Expm1Function.Apply(Vector128.Min(a + a, Vector128.Create(T.CreateTruncating(2 * Saturated))));
        var r = Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(T.CreateTruncating(Saturated))), Vector128<T>.One, e / (e + Vector128.Create(T.CreateTruncating(2))));
        return Vector128.CopySign(r, x);
    }
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.Abs(x);
        var e = Expm1Function.Apply(Vector256.Min(a + a, Vector256.Create(T.CreateTruncating(2 * Saturated))));
        var r = Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(T.CreateTruncating(Saturated))), Vector256<T>.One, e / (e + Vector256.Create(T.CreateTruncating(2))));
        return Vector256.CopySign(r, x);
    }
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector512.Abs(x);
        var e = Expm1Function.Apply(Vector512.Min(a + a, Vector512.Create(T.CreateTruncating(2 * Saturated))));
        var r = Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(T.CreateTruncating(Saturated))), Vector512<T>.One, e / (e + Vector512.Create(T.CreateTruncating(2))));
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
