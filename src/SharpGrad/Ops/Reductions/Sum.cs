using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Sum of all elements as a 0-dimensional tensor (PyTorch: <c>sum()</c>); 0 for an empty tensor.</summary>
    public Tensor Sum()
    {
        var y = ReduceAll<SumOp>(nameof(Sum), emptyAllowed: true);
        return Autograd.ShouldRecord(this) ? RecordSum(y, this, -1, false) : y;
    }

    /// <summary>Sum over <paramref name="dim"/>, keeping it as size 1 when <paramref name="keepDim"/> (PyTorch: <c>sum(dim, keepdim)</c>).</summary>
    public Tensor Sum(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(Sum));
        int d = Shapes.WrapDim(dim, Rank, nameof(Sum));
        var y = ReduceDim<SumOp>(d, keepDim, nameof(Sum), emptyAllowed: true);
        return Autograd.ShouldRecord(this) ? RecordSum(y, this, d, keepDim) : y;
    }

    /// <summary>
    /// ∂Σx/∂x = 1: g broadcast back over the summed dimension (all of them when <paramref name="d"/> is −1). Unsqueeze is
    /// a view and Expand one copy, both recorded when g is, so the rule differentiates again.
    /// </summary>
    private static Tensor RecordSum(Tensor y, Tensor x, int d, bool keepDim) => Autograd.Record(y, "SumBackward", [x],
        g => [ReducedGradient(g, d, keepDim).ExpandTo(x._shape)], attributes: d < 0 ? null : new DimAttributes(d, keepDim));

    /// <summary>Sum as a reduction operator: one vector sum per run, rows added as vectors.</summary>
    internal readonly struct SumOp : IReduceOperator
    {
        public static T All<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Sum(x);
        public static void Fold<T>(Span<T> acc, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Add(acc, row, acc);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Sum = Register(nameof(Sum), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sum(), c.Normal(s));
        foreach (var (s, dim) in ReductionDims)
        {
            c.Add($"dim {dim}", x => x[0].Sum(dim), c.Normal(s));
            c.Add($"dim {dim}, keep", x => x[0].Sum(dim, keepDim: true), c.Normal(s));
        }
        // The gradient of (Σ_d x)² is 2·Σ_d x broadcast back: checking it checks SumBackward differentiated again.
        c.Add("second order", x => Gradient(t => (t.Sum(1) * t.Sum(1)).Sum() * t.Sum(), x[0]), c.Normal(3, 4));
    });
}
