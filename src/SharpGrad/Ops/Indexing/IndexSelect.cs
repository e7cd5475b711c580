using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Selects the entries <paramref name="index"/> (a 1-D Int64 tensor; negative entries count from the end) along
    /// <paramref name="dim"/> (PyTorch: <c>index_select</c>), for every dtype. An index may repeat; the backward then adds
    /// the gradients.
    /// </summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(IndexSelect));
        ArgumentNullException.ThrowIfNull(index);
        if (index.Rank > 1) throw new ArgumentException($"IndexSelect: the index must be 1-D; got shape {Shapes.Format(index._shape)}.", nameof(index));
        var idx = CheckIndex(index, _shape[d], nameof(IndexSelect), $"dimension {d}");
        var (outer, size, inner) = Shapes.Split(_shape, d);
        var y = Uninitialized(Shapes.WithDim(_shape, d, idx.Length), DType);
        DTypeDispatch.Any(DType, new SelectRowsKernel(this, y, outer, size, inner, index));
        return Autograd.ShouldRecord(this) ? RecordIndexSelect(y, this, d, index) : y;
    }

    /// <summary>The index as an array, each entry checked to lie in [−size, size) (negative ones count from the end).</summary>
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

    /// <summary>The index's entries, each checked to lie in [−size, size), without a message built unless one is out of range.</summary>
    private static long[] CheckedIndex(Tensor index, int size, string op)
    {
        var idx = index.Array<long>();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < -size || idx[i] >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {idx[i]} at position {i} is out of range for size {size}.");
        return idx;
    }

    private static Tensor RecordIndexSelect(Tensor y, Tensor x, int d, Tensor index) =>
        Autograd.Record(y, "IndexSelectBackward", [x], g => [g.IndexAddInto(x._shape, d, index)]);

    /// <summary>
    /// The backward of IndexSelect as an op of its own: zeros of <paramref name="fullShape"/> with this tensor's rows
    /// added at the indices. Its gradient is IndexSelect again, so both differentiate any number of times.
    /// </summary>
    internal Tensor IndexAddInto(int[] fullShape, int dim, Tensor index)
    {
        var y = Uninitialized(fullShape, DType); // cleared by the kernel, so that a replay starts from zeros too
        var (outer, size, inner) = Shapes.Split(fullShape, dim);
        DTypeDispatch.Float(DType, new IndexAddIntoKernel(this, y, outer, size, inner, index), nameof(IndexSelect));
        return Autograd.ShouldRecord(this) ? RecordIndexAddInto(y, this, dim, index) : y;
    }

    private static Tensor RecordIndexAddInto(Tensor y, Tensor x, int dim, Tensor index) =>
        Autograd.Record(y, "IndexAddBackward", [x], g => [g.IndexSelect(dim, index)]);

    /// <summary>
    /// y[o, j, :] = x[o, idx[j], :], one row copy per index entry. A compiled step replays it on the index tensor's
    /// values of that step, so the kernel checks each entry itself (the op's checks ran on the captured call's values).
    /// </summary>
    private readonly struct SelectRowsKernel(Tensor x, Tensor y, int outer, int size, int inner, Tensor index) : IAnyKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => Capture.Buffers(capture, [x, index], [y]);

        public void Run<T>() where T : unmanaged
        {
            long[] idx = CheckedIndex(index, size, nameof(IndexSelect));
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<T> ys = y.Span<T>();
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < idx.Length; j++)
                {
                    long r = idx[j] < 0 ? idx[j] + size : idx[j];
                    xs.Slice((o * size + (int)r) * inner, inner).CopyTo(ys.Slice((o * idx.Length + j) * inner, inner));
                }
        }
    }

    /// <summary>y = 0, then y[o, idx[j], :] += g[o, j, :], in index order (deterministic when an index repeats).</summary>
    private readonly struct IndexAddIntoKernel(Tensor g, Tensor y, int outer, int size, int inner, Tensor index) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => Capture.Buffers(capture, [g, index], [y]);

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            long[] idx = CheckedIndex(index, size, nameof(IndexSelect));
            ReadOnlySpan<T> gs = g.Span<T>();
            Span<T> ys = y.Span<T>();
            ys.Clear();
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < idx.Length; j++)
                {
                    long r = idx[j] < 0 ? idx[j] + size : idx[j];
                    var src = gs.Slice((o * idx.Length + j) * inner, inner);
                    var dst = ys.Slice((o * size + (int)r) * inner, inner);
                    if (inner >= 16) System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
                    else for (int i = 0; i < inner; i++) dst[i] += src[i];
                }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int IndexSelect = Register(nameof(IndexSelect), static c =>
    {
        foreach (var (s, dim) in ReductionDims)
            c.Add($"dim {dim}", x => x[0].IndexSelect(dim, Tensor.FromArray(new long[] { 0, x[0].Size(dim) - 1, 0 })), c.Normal(s));
        c.Add("negative", x => x[0].IndexSelect(1, Tensor.FromArray(new long[] { -1, 2, -3, -1 })), c.Normal(2, 3));
        c.Add("second order", x => Gradient(t => (t.IndexSelect(0, Tensor.FromArray(new long[] { 1, 1, 0 })).Pow(2)).Sum(), x[0]), c.Normal(2, 3));
    });
}
