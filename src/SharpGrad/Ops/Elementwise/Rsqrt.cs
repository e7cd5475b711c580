using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise <c>1 / √x</c>; <c>d/dx x^(−1/2) = −x^(−3/2) / 2 = −y³/2</c> (PyTorch: <c>rsqrt</c>). NaN below 0, ∞ at 0.
    /// </summary>
    public Tensor Rsqrt()
    {
        var y = Map1<RsqrtFunction>(this, nameof(Rsqrt));
        return Autograd.Record(y, "RsqrtBackward", [this], g => [g * (y * y * y) * -0.5]);
    }
}

/// <summary>1 / √x, with a correctly rounded square root and a true division (no reciprocal-estimate instruction).</summary>
internal readonly struct RsqrtFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / T.Sqrt(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.One / TV.Sqrt(x);
}

internal static partial class GradChecks
{
    internal static readonly int Rsqrt = Register(nameof(Rsqrt), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Rsqrt(), c.Positive(s));
    });
}
