using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise sign: -1, 0 or 1, NaN for NaN (PyTorch: <c>sign</c>). Its gradient is 0 wherever it exists; the
    /// backward records zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Sign()
    {
        var y = Map1<SignFunction>(this, nameof(Sign));
        return Autograd.Record(y, "SignBackward", [this], g => [ZerosLike(this)]);
    }
}

/// <summary>Sign of x as -1, 0 or 1, keeping ±0 and NaN as they are; also |x|'s derivative (0 at 0, as PyTorch).</summary>
internal readonly struct SignFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? T.One : x < T.Zero ? -T.One : x;
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
        TV.ConditionalSelect(TV.GreaterThan(x, TV.Zero), TV.One,
            TV.ConditionalSelect(TV.LessThan(x, TV.Zero), -TV.One, x));
}

internal static partial class GradChecks
{
    internal static readonly int Sign = Register(nameof(Sign), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sign() * x[0], c.AwayFromZero(s));
    });
}
