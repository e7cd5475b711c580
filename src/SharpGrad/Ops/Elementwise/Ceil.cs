using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise ceiling, the smallest integer not below x (PyTorch: <c>ceil</c>). Piecewise constant, so its gradient is 0 wherever it exists; the backward records
    /// zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Ceil()
    {
        var y = Map1<CeilFunction>(this, nameof(Ceil));
        return Autograd.Record(y, "CeilBackward", [this], g => [ZerosLike(this)]);
    }
}

/// <summary>Elementwise ceiling, the smallest integer not below x, scalar and vector.</summary>
internal readonly struct CeilFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Ceiling(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Ceiling(x);
}

internal static partial class GradChecks
{
    internal static readonly int Ceil = Register(nameof(Ceil), static c =>
    {
        // Finite differences between the jumps (fractional parts in [0.2, 0.45]) are 0, which the recorded zeros must match.
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => (x[0] + 3.0).Ceil(), c.Uniform(0.2, 0.45, s));
        c.Add("negative", x => (x[0] - 2.0).Ceil(), c.Uniform(0.2, 0.45, 6));
    });
}
