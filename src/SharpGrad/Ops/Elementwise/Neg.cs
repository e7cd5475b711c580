using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>-x</c>; d/dx = −1 (PyTorch: <c>neg</c>).</summary>
    public Tensor Neg() => Unary<NegFunction>(this, nameof(Neg), static (y, x) => Autograd.Record(y, "NegBackward", [x], g => [-g]));

    /// <summary>Elementwise negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
}

/// <summary>−x.</summary>
internal readonly struct NegFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => -x;
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => -x;
}

internal static partial class GradChecks
{
    internal static readonly int Neg = Register(nameof(Neg), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => -x[0], c.Normal(s));
    });
}
