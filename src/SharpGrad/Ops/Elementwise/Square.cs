using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>x²</c>; <c>d/dx x² = 2x</c> (PyTorch: <c>square</c>).</summary>
    public Tensor Square()
    {
        var y = Map1<SquareFunction>(this, nameof(Square));
        return Autograd.Record(y, "SquareBackward", [this], g => [g * this * 2.0]);
    }
}

/// <summary>x · x.</summary>
internal readonly struct SquareFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x * x;
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x * x;
}

internal static partial class GradChecks
{
    internal static readonly int Square = Register(nameof(Square), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Square(), c.Normal(s));
    });
}
