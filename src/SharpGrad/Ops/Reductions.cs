using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Tensor ReduceAll(ReduceKind kind, string op)
    {
        EnsureFloatingPoint(op);
        if (Numel == 0 && kind != ReduceKind.Sum) throw new ArgumentException($"{op}: the tensor is empty (shape {Shapes.Format(_shape)}).");
        var y = Empty(ScalarShape, DType);
        if (DType == DType.Float32) y.Span<float>()[0] = Reduce.All<float>(Span<float>(), kind);
        else y.Span<double>()[0] = Reduce.All<double>(Span<double>(), kind);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Sum()
    {
        var y = ReduceAll(ReduceKind.Sum, nameof(Sum));
        return Autograd.ShouldRecord(this) ? RecordSum(y, this) : y;
    }

    private static Tensor RecordSum(Tensor y, Tensor x) => Autograd.Record(y, "SumBackward", [x], g => [g.ExpandTo(x._shape)]);

    /// <summary>Sum over <paramref name="dim"/>, keeping it as size 1 when <paramref name="keepDim"/> (PyTorch: <c>sum(dim, keepdim)</c>).</summary>
    public Tensor Sum(int dim, bool keepDim = false)
    {
        var y = ReduceDim(dim, keepDim, ReduceKind.Sum, nameof(Sum));
        if (!Autograd.ShouldRecord(this)) return y;
        return RecordSumDim(y, this, Shapes.WrapDim(dim, Rank, nameof(Sum)), keepDim);
    }

    private static Tensor RecordSumDim(Tensor y, Tensor x, int d, bool keepDim) => Autograd.Record(y, "SumBackward", [x], g =>
    {
        // First order: broadcast g (shaped like y) straight into x's shape, with no unsqueezed copy in between.
        if (!Autograd.IsGradEnabled && !keepDim && g.DType.IsFloatingPoint()) return [g.ExpandTo(x._shape, Shapes.WithDim(x._shape, d, 1))];
        return [(keepDim ? g : g.Unsqueeze(d)).Expand(x._shape)];
    }, attributes: new DimAttributes(d, keepDim));

    /// <summary>Mean of all elements (PyTorch: <c>mean()</c>); 0 / 0 = NaN for an empty tensor, as in PyTorch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Mean()
    {
        EnsureFloatingPoint(nameof(Mean));
        var y = Empty(ScalarShape, DType);
        int n = Numel;
        if (DType == DType.Float32) y.Span<float>()[0] = Reduce.All<float>(Span<float>(), ReduceKind.Sum) / n;
        else y.Span<double>()[0] = Reduce.All<double>(Span<double>(), ReduceKind.Sum) / n;
        return Autograd.ShouldRecord(this) ? RecordMean(y, this) : y;
    }

    /// <summary>The gradient of the mean is g / n everywhere: one fill when first-order, (g / n) expanded when recorded.</summary>
    private static Tensor RecordMean(Tensor y, Tensor x) => Autograd.Record(y, "MeanBackward", [x], g =>
    {
        int n = x.Numel;
        if (!Autograd.IsGradEnabled && g.Numel == 1 && g.DType == x.DType)
        {
            var r = Uninitialized(x._shape, x.DType);
            if (x.DType == DType.Float32) r.Span<float>().Fill(g.Span<float>()[0] / n);
            else r.Span<double>().Fill(g.Span<double>()[0] / n);
            return [r];
        }
        return [(g / n).Expand(x._shape)];
    });

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
        return Autograd.ShouldRecord(this) ? RecordExtremeAll(y, this, op) : y;
    }

    private static Tensor RecordExtremeAll(Tensor y, Tensor x, string op) => Autograd.Record(y, op + "Backward", [x], g =>
    {
        var mask = MapBinary<EqualOp>(x, y, op);
        return [g * mask / mask.Sum()];
    });

    private Tensor ExtremeDim(int dim, bool keepDim, ReduceKind kind, string op)
    {
        var y = ReduceDim(dim, keepDim, kind, op);
        if (!Autograd.ShouldRecord(this)) return y;
        return RecordExtremeDim(y, this, Shapes.WrapDim(dim, Rank, op), keepDim, op);
    }

    private static Tensor RecordExtremeDim(Tensor y, Tensor x, int d, bool keepDim, string op) => Autograd.Record(y, op + "Backward", [x], g =>
    {
        var yk = keepDim ? y : y.Unsqueeze(d);
        var gk = keepDim ? g : g.Unsqueeze(d);
        var mask = MapBinary<EqualOp>(x, yk, op);
        return [gk * mask / mask.Sum(d, keepDim: true)];
    }, attributes: new DimAttributes(d, keepDim));

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
