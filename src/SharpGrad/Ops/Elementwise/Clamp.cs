using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise clamp to [min, max] (either bound may be null); the gradient passes where min ≤ x ≤ max and is 0
    /// outside, as in PyTorch (PyTorch: <c>clamp</c>).
    /// </summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        EnsureFloatingPoint(nameof(Clamp));
        if (min is null && max is null) throw new ArgumentException("Clamp: give at least one of min and max.");
        if (min > max) throw new ArgumentException($"Clamp: min ({min}) is greater than max ({max}).");
        Tensor y = this, mask = OnesLike(this);
        if (min is double lo)
        {
            y = MapScalar<MaximumFunction>(y, lo, scalarFirst: false);
            mask = MapBinary<GreaterEqualOp>(this, ScalarLike(lo), nameof(Clamp));
        }
        if (max is double hi)
        {
            y = MapScalar<MinimumFunction>(y, hi, scalarFirst: false);
            mask = mask * MapBinary<GreaterEqualOp>(ScalarLike(hi), this, nameof(Clamp));
        }
        return Autograd.ShouldRecord(this)
            ? Autograd.Record(y, "ClampBackward", [this], g => [g * mask], attributes: new ClampAttributes(min, max))
            : y;
    }
}

/// <summary>min(x, y) with the IEEE 754-2019 minimum (NaN if either is NaN, −0 below +0).</summary>
internal readonly struct MinimumFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => T.Min(x, y);
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Min(x, y);
}

internal static partial class GradChecks
{
    internal static readonly int Clamp = Register(nameof(Clamp), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Clamp(-0.3, 0.8), c.Normal(s));
        c.Add("min only", x => x[0].Clamp(min: 0.2), c.Normal(7));
        c.Add("max only", x => x[0].Clamp(max: -0.1), c.Normal(7));
    });
}
