using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise |x| (PyTorch: <c>abs</c>). The derivative is sign(x), taken as 0 at 0 like PyTorch; it is a constant
    /// of the backward (its own derivative is 0 almost everywhere), so a double backward gives 0 with respect to x.
    /// </summary>
    public Tensor Abs()
    {
        return Unary<AbsFunction>(this, nameof(Abs), static (y, x) => Autograd.Record(y, "AbsBackward", [x], g => [g * Map1<SignFunction>(x, nameof(Abs))]));
    }
}

/// <summary>|x|.</summary>
internal readonly struct AbsFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Abs(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Abs(x);
}

internal static partial class GradChecks
{
    internal static readonly int Abs = Register(nameof(Abs), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Abs(), c.AwayFromZero(s));
    });
}
