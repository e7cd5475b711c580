using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise rounding to the nearest integer, halves to the even one (2.5 → 2, 3.5 → 4) (PyTorch: <c>round</c>). Piecewise constant, so its gradient is 0 wherever it exists; the backward records
    /// zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Round()
    {
        var y = Map1<RoundFunction>(this, nameof(Round));
        return Autograd.Record(y, "RoundBackward", [this], g => [ZerosLike(this)]);
    }
}

/// <summary>Elementwise rounding to the nearest integer, halves to the even one (2.5 → 2, 3.5 → 4), scalar and vector.</summary>
internal readonly struct RoundFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Round(x, MidpointRounding.ToEven);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Round(x);
}

internal static partial class GradChecks
{
    internal static readonly int Round = Register(nameof(Round), static c =>
    {
        // Finite differences between the jumps (fractional parts in [0.2, 0.45]) are 0, which the recorded zeros must match.
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => (x[0] + 3.0).Round(), c.Uniform(0.2, 0.45, s));
        c.Add("negative", x => (x[0] - 2.0).Round(), c.Uniform(0.2, 0.45, 6));
    });
}
