namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// A copy of this tensor with <c>alpha · source</c> added at the rows <paramref name="index"/> names along
    /// <paramref name="dim"/>: <c>y[…, index[j], …] += alpha · source[…, j, …]</c> (PyTorch: <c>index_add</c>). The
    /// index is a 1-D Int64 tensor with one entry per row of source along dim, values in [0, size of dim); source has
    /// this tensor's shape outside dim. Repeated rows accumulate, in index order (deterministic). Works for every dtype
    /// (alpha must then be an integer; for Bool, 1, and the addition is a logical or). Gradients: g for this tensor,
    /// <c>alpha · g.IndexSelect(dim, index)</c> for source.
    /// </summary>
    public Tensor IndexAdd(int dim, Tensor index, Tensor source, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(source);
        int d = Shapes.WrapDim(dim, Rank, nameof(IndexAdd));
        if (index.DType != DType.Int64)
            throw new ArgumentException($"IndexAdd: the index must be an Int64 tensor; got {index.DType.ToTorchName()}.", nameof(index));
        if (index.Rank > 1)
            throw new ArgumentException($"IndexAdd: the index must be 1-D; got shape {Shapes.Format(index._shape)}.", nameof(index));
        if (source.DType != DType)
            throw new ArgumentException($"IndexAdd: source is {source.DType.ToTorchName()} but this tensor is {DType.ToTorchName()}; give both one dtype.", nameof(source));
        int size = Rank == 0 ? 1 : _shape[d];
        bool shapeOk = source.Rank == Rank && (Rank == 0 ? index.Numel == 1 : source._shape[d] == index.Numel);
        for (int k = 0; shapeOk && k < Rank; k++) shapeOk = k == d || source._shape[k] == _shape[k];
        if (!shapeOk)
            throw new ArgumentException($"IndexAdd: source has shape {Shapes.Format(source._shape)}; it needs this tensor's shape {Shapes.Format(_shape)} with dimension {d} replaced by the index length {index.Numel}.", nameof(source));
        if (!DType.IsFloatingPoint() && (alpha != Math.Floor(alpha) || (DType == DType.Bool && alpha != 1)))
            throw new ArgumentException($"IndexAdd: alpha {alpha} is not {(DType == DType.Bool ? "1" : "an integer")}, as a {DType.ToTorchName()} tensor needs.", nameof(alpha));
        var idx = index.Array<long>();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"IndexAdd: index {idx[i]} at position {i} is out of range for dimension {d} of size {size} (tensor shape {Shapes.Format(_shape)}).");

        var y = Uninitialized(_shape, DType);
        System.Array.Copy(Storage, y.Storage, Numel);
        var scaled = alpha == 1 || DType == DType.Bool ? source : source.ScaleAny(alpha);
        var (outer, _, inner) = Shapes.Split(_shape, d);
        DTypeDispatch.Any(DType, new AddRowsKernel(y, scaled, outer, size, idx.Length, inner, idx));
        if (!Autograd.ShouldRecord(this, source)) return y;
        return Autograd.Record(y, "IndexAddBackward", [this, source], g =>
        {
            Tensor? gs = null;
            if (source.RequiresGrad)
            {
                gs = g.IndexSelect(d, index);
                if (alpha != 1) gs *= alpha;
            }
            return [RequiresGrad ? g : null, gs];
        });
    }

    /// <summary><c>alpha · x</c> outside the tape, for any numeric dtype (the recorded product is built by the backward).</summary>
    private Tensor ScaleAny(double alpha)
    {
        using (Autograd.NoGrad())
        {
            if (DType.IsFloatingPoint()) return this * alpha;
            var r = Uninitialized(_shape, DType);
            var (src, dst) = (Array<long>(), r.Array<long>());
            for (int i = 0; i < src.Length; i++) dst[i] = src[i] * (long)alpha;
            return r;
        }
    }

    /// <summary>Row j of the (outer, count, inner) source is added to row index[j] of the (outer, size, inner) target.</summary>
    private readonly struct AddRowsKernel(Tensor y, Tensor source, int outer, int size, int count, int inner, long[] idx) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            Span<T> ys = y.Span<T>();
            ReadOnlySpan<T> ss = source.Span<T>();
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < count; j++)
                {
                    var from = ss.Slice((o * count + j) * inner, inner);
                    var to = ys.Slice((o * size + (int)idx[j]) * inner, inner);
                    for (int i = 0; i < inner; i++) to[i] = AddValues(to[i], from[i]);
                }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int IndexAdd = Register(nameof(IndexAdd), static c =>
    {
        var repeated = Tensor.FromArray(new long[] { 2, 0, 2 }, 3);
        c.Add("duplicates", x => x[0].IndexAdd(0, repeated, x[1]) * x[0], c.Normal(4, 2), c.Normal(3, 2));
        c.Add("dim 1, alpha", x => x[0].IndexAdd(1, Tensor.FromArray(new long[] { 1, 1 }, 2), x[1], alpha: -0.5), c.Normal(2, 3, 2), c.Normal(2, 2, 2));
    });
}
