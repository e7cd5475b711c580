using System.Numerics;
using System.Runtime.Intrinsics;
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
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vector128<T>.One / x;
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vector256<T>.One / x;
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vector512<T>.One / x;
}

internal static partial class GradChecks
{
    internal static readonly int Reciprocal = Register(nameof(Reciprocal), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Reciprocal(), c.AwayFromZero(s));
    });
}
