using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    private Tensor ReduceAll(ReduceKind kind, string op)
    {
        EnsureFloatingPoint(op);
        if (Numel == 0 && kind != ReduceKind.Sum) throw new ArgumentException($"{op}: the tensor is empty (shape {Shapes.Format(_shape)}).");
        var y = Empty([], DType);
        if (DType == DType.Float32) y.Span<float>()[0] = Reduce.All<float>(Span<float>(), kind);
        else y.Span<double>()[0] = Reduce.All<double>(Span<double>(), kind);
        return y;
    }

    private Tensor ReduceDim(int dim, bool keepDim, ReduceKind kind, string op)
    {
        EnsureFloatingPoint(op);
        dim = Shapes.WrapDim(dim, Rank, op);
        var (outer, size, inner) = Shapes.Split(_shape, dim);
        int[] shape = keepDim ? Shapes.WithDim(_shape, dim, 1) : Shapes.RemoveDim(_shape, dim);
        var y = Empty(shape, DType);
        if (DType == DType.Float32) Reduce.Dim<float>(Span<float>(), outer, size, inner, y.Span<float>(), kind);
        else Reduce.Dim<double>(Span<double>(), outer, size, inner, y.Span<double>(), kind);
        return y;
    }

    /// <summary>Sum of all elements as a 0-dimensional tensor (PyTorch: <c>sum()</c>).</summary>
    public Tensor Sum()
    {
        var y = ReduceAll(ReduceKind.Sum, nameof(Sum));
        return Autograd.Record(y, "SumBackward", [this], g => [g.Expand(_shape)]);
    }

    /// <summary>Sum over <paramref name="dim"/>, keeping it as size 1 when <paramref name="keepDim"/> (PyTorch: <c>sum(dim, keepdim)</c>).</summary>
    public Tensor Sum(int dim, bool keepDim = false)
    {
        var y = ReduceDim(dim, keepDim, ReduceKind.Sum, nameof(Sum));
        int d = Shapes.WrapDim(dim, Rank, nameof(Sum));
        return Autograd.Record(y, "SumBackward", [this], g => [(keepDim ? g : g.Unsqueeze(d)).Expand(_shape)]);
    }

    /// <summary>Mean of all elements (PyTorch: <c>mean()</c>).</summary>
    public Tensor Mean() => Sum() / Numel; // 0 / 0 = NaN for an empty tensor, as in PyTorch

    /// <summary>Mean over <paramref name="dim"/> (PyTorch: <c>mean(dim, keepdim)</c>).</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Sum(dim, keepDim) / _shape[Shapes.WrapDim(dim, Rank, nameof(Mean))];

    /// <summary>
    /// Largest element (PyTorch: <c>max()</c> / <c>amax</c>). The gradient is shared equally among tied maxima, so it
    /// is always a valid subgradient.
    /// </summary>
    public Tensor Max() => ExtremeAll(ReduceKind.Max, nameof(Max));

    /// <summary>Smallest element (PyTorch: <c>min()</c>); ties share the gradient.</summary>
    public Tensor Min() => ExtremeAll(ReduceKind.Min, nameof(Min));

    /// <summary>Largest values along <paramref name="dim"/> (PyTorch: <c>amax(dim, keepdim)</c>; use <see cref="ArgMax(int, bool)"/> for the indices).</summary>
    public Tensor Max(int dim, bool keepDim = false) => ExtremeDim(dim, keepDim, ReduceKind.Max, nameof(Max));

    /// <summary>Smallest values along <paramref name="dim"/> (PyTorch: <c>amin(dim, keepdim)</c>).</summary>
    public Tensor Min(int dim, bool keepDim = false) => ExtremeDim(dim, keepDim, ReduceKind.Min, nameof(Min));

    private Tensor ExtremeAll(ReduceKind kind, string op)
    {
        var y = ReduceAll(kind, op);
        return Autograd.Record(y, op + "Backward", [this], g =>
        {
            var mask = MapBinary<EqualOp>(this, y, op);
            return [g * mask / mask.Sum()];
        });
    }

    private Tensor ExtremeDim(int dim, bool keepDim, ReduceKind kind, string op)
    {
        var y = ReduceDim(dim, keepDim, kind, op);
        int d = Shapes.WrapDim(dim, Rank, op);
        return Autograd.Record(y, op + "Backward", [this], g =>
        {
            var yk = keepDim ? y : y.Unsqueeze(d);
            var gk = keepDim ? g : g.Unsqueeze(d);
            var mask = MapBinary<EqualOp>(this, yk, op);
            return [gk * mask / mask.Sum(d, keepDim: true)];
        });
    }

    /// <summary>Index of the largest element of the flattened tensor, as a 0-dimensional Int64 tensor (PyTorch: <c>argmax()</c>).</summary>
    public Tensor ArgMax() => Reshape(-1).ArgMax(0);

    /// <summary>Indices (Int64) of the largest values along <paramref name="dim"/>; the first one wins ties (PyTorch: <c>argmax(dim, keepdim)</c>).</summary>
    public Tensor ArgMax(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(ArgMax));
        dim = Shapes.WrapDim(dim, Rank, nameof(ArgMax));
        var (outer, size, inner) = Shapes.Split(_shape, dim);
        int[] shape = keepDim ? Shapes.WithDim(_shape, dim, 1) : Shapes.RemoveDim(_shape, dim);
        var y = Empty(shape, DType.Int64);
        if (DType == DType.Float32) Reduce.ArgMax<float>(Span<float>(), outer, size, inner, y.Span<long>());
        else Reduce.ArgMax<double>(Span<double>(), outer, size, inner, y.Span<long>());
        return y;
    }
}
