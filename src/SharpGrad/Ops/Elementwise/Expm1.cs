using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise <c>eˣ − 1</c>, accurate for tiny |x| where eˣ rounds to 1 (PyTorch: <c>expm1</c>); <c>d/dx = eˣ = y + 1</c>.
    /// </summary>
    public Tensor Expm1()
    {
        var y = Map1<Expm1Function>(this, nameof(Expm1));
        return Autograd.Record(y, "Expm1Backward", [this], g => [g * (y + 1.0)]);
    }
}

/// <summary>
/// eˣ − 1 by Kahan's correction: with <c>u = fl(eˣ)</c>, <c>(u − 1) · x / log u</c> cancels the rounding error of u to
/// first order. Where u rounds to 1 the answer is x; where u − 1 is exactly −1 (x very negative) it is −1; at u = ∞ it
/// is ∞ (the quotient would be ∞/∞). (.NET's own ExpM1 is <c>exp(x) − 1</c>, which loses the small values.)
/// </summary>
internal readonly struct Expm1Function : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One || T.IsNaN(x)) return x;
        T um1 = u - T.One;
        if (um1 == -T.One) return um1;
        if (T.IsPositiveInfinity(u)) return u;
        return um1 * x / T.Log(u);
    }
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = TV.Exp(x);
        var um1 = u - TV.One;
        var r = um1 * x / TV.Log(u);
        r = TV.ConditionalSelect(TV.Equals(um1, -TV.One) | TV.Equals(u, TV.Create(T.PositiveInfinity)), um1, r);
        return TV.ConditionalSelect(TV.Equals(u, TV.One) | ~TV.Equals(x, x), x, r);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Expm1 = Register(nameof(Expm1), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Expm1(), c.Normal(s));
    });
}
