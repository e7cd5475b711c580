using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Largest element (PyTorch: <c>max()</c> / <c>amax</c>); a NaN anywhere gives NaN. The gradient is shared equally
    /// among tied maxima, so it is always a valid subgradient.
    /// </summary>
    public Tensor Max()
    {
        var y = ReduceAll<MaxOp>(nameof(Max), emptyAllowed: false);
        return Autograd.ShouldRecord(this) ? RecordExtreme(y, this, -1, false, nameof(Max)) : y;
    }

    /// <summary>
    /// Largest values along <paramref name="dim"/> (PyTorch: <c>amax(dim, keepdim)</c>; use <see cref="ArgMax(int, bool)"/>
    /// for the indices); ties share the gradient.
    /// </summary>
    public Tensor Max(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(Max));
        int d = Shapes.WrapDim(dim, Rank, nameof(Max));
        var y = ReduceDim<MaxOp>(d, keepDim, nameof(Max), emptyAllowed: false);
        return Autograd.ShouldRecord(this) ? RecordExtreme(y, this, d, keepDim, nameof(Max)) : y;
    }

    /// <summary>Max as a reduction operator (NaN-propagating, as PyTorch's).</summary>
    private readonly struct MaxOp : IReduceOperator
    {
        public static T All<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Max(x);
        public static void Fold<T>(Span<T> acc, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Max(acc, row, acc);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Max = Register(nameof(Max), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Max(), c.Normal(s));
        foreach (var (s, dim) in ReductionDims)
        {
            c.Add($"dim {dim}", x => x[0].Max(dim), c.Normal(s));
            c.Add($"dim {dim}, keep", x => x[0].Max(dim, keepDim: true), c.Normal(s));
        }
        c.Add("second order", x => Gradient(t => (t.Max(1) * t.Max(1)).Sum(), x[0]), c.Normal(3, 4));
    });
}
