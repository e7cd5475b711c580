using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise <c>log(1 + x)</c>, accurate for tiny |x| where <c>1 + x</c> rounds (PyTorch: <c>log1p</c>);
    /// <c>d/dx = 1 / (1 + x)</c>. −∞ at −1, NaN below.
    /// </summary>
    public Tensor Log1p()
    {
        var y = Map1<Log1pFunction>(this, nameof(Log1p));
        return Autograd.Record(y, "Log1pBackward", [this], g => [g / (this + 1.0)]);
    }
}

/// <summary>
/// log(1 + x) by the classical correction: with <c>u = fl(1 + x)</c>, <c>log(u) · x / (u − 1)</c> cancels the rounding
/// error of u to first order (Goldberg, "What every computer scientist should know about floating-point arithmetic",
/// theorem 4). Where u rounds to 1 the answer is x itself; at +∞ the quotient would be ∞/∞, so x is kept there too.
/// (.NET's own LogP1 is <c>log(x + 1)</c>, which loses everything below machine epsilon.)
/// </summary>
internal readonly struct Log1pFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One || T.IsPositiveInfinity(u)) return x;
        return T.Log(u) * x / (u - T.One);
    }
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Vector128<T>.One + x;
        var r = VMath.Log(u) * x / (u - Vector128<T>.One);
        var keep = Vector128.Equals(u, Vector128<T>.One) | Vector128.Equals(u, Vector128.Create(T.PositiveInfinity));
        return Vector128.ConditionalSelect(keep, x, r);
    }
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Vector256<T>.One + x;
        var r = VMath.Log(u) * x / (u - Vector256<T>.One);
        var keep = Vector256.Equals(u, Vector256<T>.One) | Vector256.Equals(u, Vector256.Create(T.PositiveInfinity));
        return Vector256.ConditionalSelect(keep, x, r);
    }
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = Vector512<T>.One + x;
        var r = VMath.Log(u) * x / (u - Vector512<T>.One);
        var keep = Vector512.Equals(u, Vector512<T>.One) | Vector512.Equals(u, Vector512.Create(T.PositiveInfinity));
        return Vector512.ConditionalSelect(keep, x, r);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Log1p = Register(nameof(Log1p), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Log1p(), c.Uniform(-0.6, 3, s));
    });
}
