using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Every element reduced by <typeparamref name="TOp"/> to a 0-dimensional tensor. An empty tensor is refused unless
    /// the reduction has an identity (<paramref name="emptyAllowed"/>: sums give 0).
    /// </summary>
    private Tensor ReduceAll<TOp>(string op, bool emptyAllowed) where TOp : IReduceOperator
    {
        EnsureFloatingPoint(op);
        if (Numel == 0 && !emptyAllowed) throw new ArgumentException($"{op}: the tensor is empty (shape {Shapes.Format(_shape)}).");
        var y = Uninitialized(ScalarShape, DType);
        DTypeDispatch.Float(DType, new ReduceKernel<TOp>(this, y, 1, Numel, 1), op);
        return y;
    }

    /// <summary>Reduction by <typeparamref name="TOp"/> over dimension <paramref name="d"/> (already wrapped).</summary>
    private Tensor ReduceDim<TOp>(int d, bool keepDim, string op, bool emptyAllowed) where TOp : IReduceOperator
    {
        var (outer, size, inner) = Shapes.Split(_shape, d);
        if (size == 0 && !emptyAllowed)
            throw new ArgumentException($"{op}: dimension {d} of the input (shape {Shapes.Format(_shape)}) is empty; there is no value to take.");
        var y = Uninitialized(ReducedShape(d, keepDim), DType);
        DTypeDispatch.Float(DType, new ReduceKernel<TOp>(this, y, outer, size, inner), op);
        return y;
    }

    private readonly struct ReduceKernel<TOp>(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel, ICapturedKernel where TOp : IReduceOperator
    {
        public void Declare(Capture capture)
        {
            capture.Reads(x);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Reduce.Dim<T, TOp>(x.Span<T>(), outer, size, inner, y.Span<T>());
    }

    /// <summary>
    /// The backward of Max and Min (over everything when <paramref name="d"/> is −1): the gradient is shared equally among
    /// the elements equal to the result, so ties split it and the result is always a valid subgradient. The mask is a
    /// constant of x, so the rule is linear in g and can be differentiated again (the second derivative in x is 0).
    /// </summary>
    private static Tensor RecordExtreme(Tensor y, Tensor x, int d, bool keepDim, string op) => Autograd.Record(y, op + "Backward", [x], g =>
    {
        var mask = MapBinary<EqualOp>(x, ReducedGradient(y, d, keepDim), op); // 1 where x equals the result, in x's dtype
        var count = d < 0 ? mask.Sum() : mask.Sum(d, keepDim: true);
        return [ReducedGradient(g, d, keepDim) * mask / count];
    }, attributes: d < 0 ? null : new DimAttributes(d, keepDim));
}

internal static partial class GradChecks
{
    /// <summary>(shape, dim) pairs the reductions over one dimension are checked at: first, middle, last, negative, size 1.</summary>
    internal static (int[] Shape, int Dim)[] ReductionDims => [([4], 0), ([3, 4], 1), ([3, 4], 0), ([2, 3, 4], 1), ([2, 1, 3], -1), ([3, 1], 1)];

    /// <summary>
    /// The first derivative of <paramref name="f"/> at <paramref name="x"/>, recorded so that checking it checks the
    /// second; also under the checker's no-grad finite differences, which need its value.
    /// </summary>
    internal static Tensor Gradient(Func<Tensor, Tensor> f, Tensor x)
    {
        using var _ = Autograd.EnableGrad();
        return Autograd.Grad(f(x), [x], createGraph: true)[0];
    }
}
