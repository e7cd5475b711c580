using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// A reduction as an operator struct (the pattern of <see cref="IBinaryFunction"/>): how a whole
/// contiguous run reduces to one value, and how a run is folded element by element into an accumulator row. Sum, Max
/// and Min each define one in their op file; <see cref="Reduce.Dim{T, TOp}"/> is the one driver over (outer, size, inner).
/// </summary>
internal interface IReduceOperator
{
    /// <summary>The reduction of a whole run (non-empty unless the reduction has an identity, as Sum does).</summary>
    static abstract T All<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary><c>acc[i] = op(acc[i], row[i])</c>.</summary>
    static abstract void Fold<T>(Span<T> acc, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The driver of reductions over one dimension of a contiguous (outer, size, inner) block, and SumTo.</summary>
internal static class Reduce
{
    /// <summary>
    /// <c>d[o, i] = reduce_j x[o, j, i]</c>. With inner == 1 each row reduces in one vectorised call; otherwise whole
    /// rows of length inner are folded together (<see cref="Rows{T, TOp}"/>), which keeps the loop vectorised along the
    /// inner dimension. An empty reduced dimension gives zeros (the callers allow it only for sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Dim<T, TOp>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> d)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IReduceOperator
    {
        if (size == 0) { d.Clear(); return; }
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<T> block = x.Slice(o * size * inner, size * inner);
            Span<T> dst = d.Slice(o * inner, inner);
            if (inner == 1) { dst[0] = TOp.All(block); continue; }
            fixed (T* px = block, pd = dst)
            {
                int parts = ColumnParts(size, inner);
                if (parts > 1) ColumnSplit<T, TOp>.Run(px, size, inner, pd, parts);
                else Rows<T, TOp>(px, size, inner, pd);
            }
        }
    }

    /// <summary>Column blocks of <see cref="ColumnSplit{T, TOp}"/> start at multiples of this many elements (whole cache lines and vectors).</summary>
    private const int ColumnAlign = 64;

    /// <summary>The fewest columns per part of <see cref="ColumnSplit{T, TOp}"/>: each part runs the whole tree (a leaf call per pair of rows) on its columns.</summary>
    private const int ColumnPartMin = 256;

    /// <summary>
    /// How many parts <see cref="Dim{T, TOp}"/> cuts a (size, inner) block's columns into for the worker pool: 1 (the
    /// calling thread alone) when <see cref="StepPaths.SerialTails"/>, when one thread is allowed, or when the block is
    /// small or narrow; else up to several per thread (<see cref="ReplayParts"/>) of at least <see cref="ColumnPartMin"/>
    /// columns, so that a worker that wakes late leaves its unclaimed columns to the caller.
    /// </summary>
    private static int ColumnParts(int size, int inner)
    {
        if (StepPaths.SerialTails || (long)size * inner < RangeWork.ParallelThreshold || inner < 2 * ColumnPartMin) return 1;
        return ReplayParts.For(inner / ColumnPartMin);
    }

    /// <summary>
    /// <see cref="Rows{T, TOp}"/> over column blocks of a (size, inner) block on the worker pool: every column is reduced by
    /// the same tree of the same operations as in the whole (the fold works element by element), so the result does not
    /// depend on the split. One instance per thread and type, reused: a call allocates nothing.
    /// </summary>
    private sealed unsafe class ColumnSplit<T, TOp> : ParallelWork
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IReduceOperator
    {
        [ThreadStatic] private static ColumnSplit<T, TOp>? t_job;

        private T* _x, _d;
        private int _size, _inner;

        public static void Run(T* x, int size, int inner, T* d, int parts)
        {
            var job = t_job ??= new ColumnSplit<T, TOp>();
            job._x = x;
            job._d = d;
            job._size = size;
            job._inner = inner;
            try { WorkerPool.Run(job, parts); }
            finally { job._x = job._d = null; }
        }

        public override void Execute(int index, int count)
        {
            int blocks = (_inner + ColumnAlign - 1) / ColumnAlign;
            int first = (int)((long)blocks * index / count) * ColumnAlign;
            int last = Math.Min(_inner, (int)((long)blocks * (index + 1) / count) * ColumnAlign);
            if (first < last) RowBlock<T, TOp>(_x + first, _size, _inner, last - first, _d + first);
        }
    }

    /// <summary>
    /// <c>d[i] = reduce_j x[j, i]</c> over <paramref name="size"/> (&gt; 0) rows of <paramref name="inner"/> values, as
    /// <see cref="BatchTree"/>'s interleaved tree down to single rows: rows at even positions reduced, rows at odd
    /// positions reduced, the two folded (x₀ ⊕ x₂) ⊕ (x₁ ⊕ x₃) for four rows. A sum over a batch's rows (Linear's bias
    /// gradient) then gives bit for bit what its two interleaved halves give alone, folded: two data-parallel processes'
    /// sum (for every even batch). Max and min are exact in any order; a sum rounds as a pairwise sum does (an error
    /// bound of about log₂(size) roundings per element instead of size − 1 for a running sum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Rows<T, TOp>(T* x, int size, int inner, T* d)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IReduceOperator => RowBlock<T, TOp>(x, size, inner, inner, d);

    /// <summary>
    /// <see cref="Rows{T, TOp}"/> over the first <paramref name="width"/> values of rows
    /// <paramref name="stride"/> apart: <c>d[i] = reduce_j x[j·stride + i]</c> for i &lt; width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowBlock<T, TOp>(T* x, int size, int stride, int width, T* d)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IReduceOperator
    {
        var partials = Partials<T>.t_buffers ?? [];
        BatchTree.Sum(new RowLeaves<T, TOp>(x, stride, width), 0, 1, size, 2, d, width, ref partials);
        Partials<T>.t_buffers = partials;
    }

    /// <summary>The odd halves' reductions of <see cref="Rows{T, TOp}"/>, per thread.</summary>
    private static class Partials<T> where T : unmanaged
    {
        [ThreadStatic] internal static AlignedBuffer<T>[]? t_buffers;
    }

    /// <summary>
    /// A leaf of <see cref="RowBlock{T, TOp}"/>: <paramref name="width"/> values of one row (rows
    /// <paramref name="rowStride"/> apart), or of two folded (what leaves of one row and their fold give).
    /// </summary>
    private readonly unsafe struct RowLeaves<T, TOp>(T* x, int rowStride, int width) : IBatchLeaves<T>
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IReduceOperator
    {
        public void Leaf(int first, int stride, int count, T* dst)
        {
            var d = new Span<T>(dst, width);
            new ReadOnlySpan<T>(x + (nint)first * rowStride, width).CopyTo(d);
            if (count == 2) TOp.Fold(d, new ReadOnlySpan<T>(x + (nint)(first + stride) * rowStride, width));
        }

        public void Combine(T* dst, T* odd, int size) => TOp.Fold(new Span<T>(dst, size), new ReadOnlySpan<T>(odd, size));
    }

    /// <summary>
    /// <c>d += g</c> summed down to <paramref name="shape"/>, where <paramref name="gShape"/> is <paramref name="shape"/>
    /// broadcast (extra leading dimensions, or sizes 1 grown): every element of g is added to the element of d it was
    /// broadcast from. d must be zeroed by the caller. Trailing dimensions that d keeps (or broadcasts) together are
    /// merged into one run, which is added as a vector (or summed to one value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumTo<T>(ReadOnlySpan<T> g, int[] gShape, Span<T> d, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Length;
        if (n == 0) return;
        int rank = gShape.Length;
        if (d.Length == 1) { d[0] += Vec.Sum(g); return; }
        Span<int> ds = stackalloc int[rank];
        Elementwise.BroadcastStrides(shape, gShape, ds);
        int inner = gShape[rank - 1], di = ds[rank - 1], split = rank - 1;
        while (split > 0)
        {
            bool ok = di == 0 ? ds[split - 1] == 0 : ds[split - 1] == inner * di;
            if (!ok) break;
            inner *= gShape[split - 1];
            split--;
        }
        Span<int> index = stackalloc int[Math.Max(split, 1)];
        index.Clear();
        int outer = n / inner;
        for (int o = 0, gOff = 0; o < outer; o++, gOff += inner)
        {
            int dOff = 0;
            for (int k = 0; k < split; k++) dOff += index[k] * ds[k];
            ReadOnlySpan<T> run = g.Slice(gOff, inner);
            if (di != 0)
            {
                Span<T> dst = d.Slice(dOff, inner);
                if (inner < 8) for (int i = 0; i < inner; i++) dst[i] += run[i];
                else Vec.Add(dst, run, dst);
            }
            else d[dOff] += inner == 1 ? run[0] : Vec.Sum(run);
            for (int k = split - 1; k >= 0; k--)
            {
                if (++index[k] < gShape[k]) break;
                index[k] = 0;
            }
        }
    }
}
