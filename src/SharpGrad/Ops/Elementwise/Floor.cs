using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise floor, the largest integer not above x (PyTorch: <c>floor</c>). Piecewise constant, so its gradient is 0 wherever it exists; the backward records
    /// zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Floor()
    {
        var y = Map1<FloorFunction>(this, nameof(Floor));
        return Autograd.Record(y, "FloorBackward", [this], g => [ZerosLike(this)]);
    }
}

/// <summary>Elementwise floor, the largest integer not above x, scalar and vector.</summary>
internal readonly struct FloorFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Floor(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Floor(x);
}

internal static partial class GradChecks
{
    internal static readonly int Floor = Register(nameof(Floor), static c =>
    {
        // Finite differences between the jumps (fractional parts in [0.2, 0.45]) are 0, which the recorded zeros must match.
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => (x[0] + 3.0).Floor(), c.Uniform(0.2, 0.45, s));
        c.Add("negative", x => (x[0] - 2.0).Floor(), c.Uniform(0.2, 0.45, 6));
    });
}
