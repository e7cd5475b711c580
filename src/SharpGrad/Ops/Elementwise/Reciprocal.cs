using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>1 / x</c>; <c>d/dx (1/x) = −1/x²</c> (PyTorch: <c>reciprocal</c>). 1/0 is ∞, as in IEEE arithmetic.</summary>
    public Tensor Reciprocal()
    {
        var y = Map1<ReciprocalFunction>(this, nameof(Reciprocal));
        return Autograd.Record(y, "ReciprocalBackward", [this], g => [-(g * (y * y))]);
    }
}

/// <summary>1 / x.</summary>
internal readonly struct ReciprocalFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / x;
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.One / x;
}

internal static partial class GradChecks
{
    internal static readonly int Reciprocal = Register(nameof(Reciprocal), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Reciprocal(), c.AwayFromZero(s));
    });
}
