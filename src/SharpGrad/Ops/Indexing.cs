using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    private long[] CheckIndex(Tensor index, int size, string op, string what)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.DType != DType.Int64)
            throw new ArgumentException($"{op}: the index must be an Int64 tensor; got {index.DType.ToTorchName()}.", nameof(index));
        var idx = index.Array<long>();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < -size || idx[i] >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {idx[i]} at position {i} is out of range for {what} of size {size} (tensor shape {Shapes.Format(_shape)}).");
        return idx;
    }

    /// <summary>
    /// Selects the entries <paramref name="index"/> (a 1-D Int64 tensor) along <paramref name="dim"/>
    /// (PyTorch: <c>index_select</c>). An index may repeat; the backward then adds the gradients.
    /// </summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(IndexSelect));
        if (index.Rank > 1) throw new ArgumentException($"IndexSelect: the index must be 1-D; got shape {Shapes.Format(index._shape)}.", nameof(index));
        var idx = CheckIndex(index, _shape[d], nameof(IndexSelect), $"dimension {d}");
        var outShape = Shapes.WithDim(_shape, d, idx.Length);
        var (outer, size, inner) = Shapes.Split(_shape, d);
        var y = Empty(outShape, DType);
        switch (Storage)
        {
            case float[] f: SelectRows<float>(f, y.Span<float>(), outer, size, inner, idx); break;
            case double[] db: SelectRows<double>(db, y.Span<double>(), outer, size, inner, idx); break;
            case long[] l: SelectRows<long>(l, y.Span<long>(), outer, size, inner, idx); break;
            case bool[] b: SelectRows<bool>(b, y.Span<bool>(), outer, size, inner, idx); break;
        }
        return Autograd.ShouldRecord(this) ? RecordIndexSelect(y, this, d, index) : y;
    }

    private static Tensor RecordIndexSelect(Tensor y, Tensor x, int d, Tensor index) =>
        Autograd.Record(y, "IndexSelectBackward", [x], g => [g.IndexAddInto(x._shape, d, index)]);

    private static void SelectRows<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int size, int inner, long[] idx) where T : unmanaged
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
            {
                long r = idx[j] < 0 ? idx[j] + size : idx[j];
                x.Slice((o * size + (int)r) * inner, inner).CopyTo(y.Slice((o * idx.Length + j) * inner, inner));
            }
    }

    /// <summary>Backward of IndexSelect: zeros of <paramref name="fullShape"/> with this tensor's rows added at the indices.</summary>
    internal Tensor IndexAddInto(int[] fullShape, int dim, Tensor index)
    {
        var idx = index.Array<long>();
        var y = Empty(fullShape, DType);
        var (outer, size, inner) = Shapes.Split(fullShape, dim);
        if (DType == DType.Float32) AddRows<float>(Span<float>(), y.Span<float>(), outer, size, inner, idx);
        else AddRows<double>(Span<double>(), y.Span<double>(), outer, size, inner, idx);
        return Autograd.ShouldRecord(this) ? RecordIndexAdd(y, this, dim, index) : y;
    }

    private static Tensor RecordIndexAdd(Tensor y, Tensor x, int dim, Tensor index) =>
        Autograd.Record(y, "IndexAddBackward", [x], g => [g.IndexSelect(dim, index)]);

    private static void AddRows<T>(ReadOnlySpan<T> g, Span<T> y, int outer, int size, int inner, long[] idx) where T : unmanaged, INumber<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < idx.Length; j++)
            {
                long r = idx[j] < 0 ? idx[j] + size : idx[j];
                var src = g.Slice((o * idx.Length + j) * inner, inner);
                var dst = y.Slice((o * size + (int)r) * inner, inner);
                for (int i = 0; i < inner; i++) dst[i] += src[i];
            }
    }

    /// <summary>
    /// Picks values along <paramref name="dim"/> by <paramref name="index"/> (Int64, same rank, each other dimension no
    /// larger than this tensor's): out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (PyTorch: <c>gather</c>).
    /// </summary>
    public Tensor Gather(int dim, Tensor index)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(Gather));
        ArgumentNullException.ThrowIfNull(index);
        if (index.Rank != Rank)
            throw new ArgumentException($"Gather: the index has shape {Shapes.Format(index._shape)} but the input has shape {Shapes.Format(_shape)}; they need the same rank.", nameof(index));
        for (int i = 0; i < Rank; i++)
            if (i != d && index._shape[i] > _shape[i])
                throw new ArgumentException($"Gather: index shape {Shapes.Format(index._shape)} exceeds input shape {Shapes.Format(_shape)} in dimension {i}.", nameof(index));
        var idx = CheckIndex(index, _shape[d], nameof(Gather), $"dimension {d}");
        var y = Empty(index._shape, DType);
        switch (Storage)
        {
            case float[] f: GatherScatter<float>(f, y.Span<float>(), _shape, index._shape, d, idx, scatter: false); break;
            case double[] db: GatherScatter<double>(db, y.Span<double>(), _shape, index._shape, d, idx, scatter: false); break;
            case long[] l: GatherScatter<long>(l, y.Span<long>(), _shape, index._shape, d, idx, scatter: false); break;
            case bool[] b: GatherScatter<byte>(System.Runtime.InteropServices.MemoryMarshal.Cast<bool, byte>(b.AsSpan()), System.Runtime.InteropServices.MemoryMarshal.Cast<bool, byte>(y.Span<bool>()), _shape, index._shape, d, idx, scatter: false); break;
        }
        return Autograd.ShouldRecord(this) ? RecordGather(y, this, d, index) : y;
    }

    private static Tensor RecordGather(Tensor y, Tensor x, int d, Tensor index) =>
        Autograd.Record(y, "GatherBackward", [x], g => [g.ScatterAddInto(x._shape, d, index)]);

    /// <summary>Backward of Gather: zeros of <paramref name="fullShape"/> with this tensor's values added at the gathered positions.</summary>
    internal Tensor ScatterAddInto(int[] fullShape, int dim, Tensor index)
    {
        var y = Empty(fullShape, DType);
        var idx = index.Array<long>();
        if (DType == DType.Float32) GatherScatter<float>(y.Span<float>(), Span<float>(), fullShape, index._shape, dim, idx, scatter: true);
        else GatherScatter<double>(y.Span<double>(), Span<double>(), fullShape, index._shape, dim, idx, scatter: true);
        return Autograd.ShouldRecord(this) ? RecordScatterAdd(y, this, dim, index) : y;
    }

    private static Tensor RecordScatterAdd(Tensor y, Tensor x, int dim, Tensor index) =>
        Autograd.Record(y, "ScatterAddBackward", [x], g => [g.Gather(dim, index)]);

    /// <summary>
    /// Walks every position p of the index shape; the full-tensor position is p with p[dim] replaced by index[p].
    /// Gather copies full → small; scatter adds small → full.
    /// </summary>
    private static void GatherScatter<T>(Span<T> full, Span<T> small, int[] fullShape, int[] indexShape, int dim, long[] idx, bool scatter)
        where T : unmanaged, INumber<T>
    {
        int rank = fullShape.Length;
        if (idx.Length == 0) return;
        int[] strides = Shapes.ContiguousStrides(fullShape);
        Span<int> pos = stackalloc int[Math.Max(rank, 1)];
        pos.Clear();
        for (int n = 0; n < idx.Length; n++)
        {
            int off = 0;
            for (int k = 0; k < rank; k++) if (k != dim) off += pos[k] * strides[k];
            long r = idx[n] < 0 ? idx[n] + fullShape[dim] : idx[n];
            off += (int)r * (rank == 0 ? 0 : strides[dim]);
            if (scatter) full[off] += small[n];
            else small[n] = full[off];
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++pos[k] < indexShape[k]) break;
                pos[k] = 0;
            }
        }
    }
}
