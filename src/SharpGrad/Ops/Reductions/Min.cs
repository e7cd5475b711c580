using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Smallest element (PyTorch: <c>min()</c> / <c>amin</c>); a NaN anywhere gives NaN. The gradient is shared equally
    /// among tied minima, so it is always a valid subgradient.
    /// </summary>
    public Tensor Min()
    {
        var y = ReduceAll<MinOp>(nameof(Min), emptyAllowed: false);
        return Autograd.ShouldRecord(this) ? RecordExtreme(y, this, -1, false, nameof(Min)) : y;
    }

    /// <summary>
    /// Smallest values along <paramref name="dim"/> (PyTorch: <c>amin(dim, keepdim)</c>; use <see cref="ArgMin(int, bool)"/>
    /// for the indices); ties share the gradient.
    /// </summary>
    public Tensor Min(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(Min));
        int d = Shapes.WrapDim(dim, Rank, nameof(Min));
        var y = ReduceDim<MinOp>(d, keepDim, nameof(Min), emptyAllowed: false);
        return Autograd.ShouldRecord(this) ? RecordExtreme(y, this, d, keepDim, nameof(Min)) : y;
    }

    /// <summary>Min as a reduction operator (NaN-propagating, as PyTorch's).</summary>
    private readonly struct MinOp : IReduceOperator
    {
        public static T All<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Min(x);
        public static void Fold<T>(Span<T> acc, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Min(acc, row, acc);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Min = Register(nameof(Min), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Min(), c.Normal(s));
        foreach (var (s, dim) in ReductionDims)
        {
            c.Add($"dim {dim}", x => x[0].Min(dim), c.Normal(s));
            c.Add($"dim {dim}, keep", x => x[0].Min(dim, keepDim: true), c.Normal(s));
        }
        c.Add("second order", x => Gradient(t => (t.Min(1) * t.Min(1)).Sum(), x[0]), c.Normal(3, 4));
    });
}
