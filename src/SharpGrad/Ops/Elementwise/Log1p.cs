using System.Numerics;
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
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = TV.One + x;
        var r = TV.Log(u) * x / (u - TV.One);
        var keep = TV.Equals(u, TV.One) | TV.Equals(u, TV.Create(T.PositiveInfinity));
        return TV.ConditionalSelect(keep, x, r);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Log1p = Register(nameof(Log1p), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Log1p(), c.Uniform(-0.6, 3, s));
    });
}
