using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>Block copies shared by the shape ops that cut a tensor into rows along one dimension and put them back.</summary>
internal static class Layout
{
    /// <summary>
    /// Copies the (outer, size, inner) block x into rows [start, start + size) of the (outer, total, inner) block y
    /// (the forward of Concat and the backward of Narrow).
    /// </summary>
    public static void Place<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> y, int total, int start) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice(o * run, run).CopyTo(y.Slice((o * total + start) * inner, run));
    }

    /// <summary>Copies rows [start, start + size) of the (outer, total, inner) block x into y (the forward of Narrow).</summary>
    public static void Slice<T>(ReadOnlySpan<T> x, int outer, int total, int inner, int start, int size, Span<T> y) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice((o * total + start) * inner, run).CopyTo(y.Slice(o * run, run));
    }

    /// <summary>
    /// Elements of an output below which <see cref="Shift{T}"/> and <see cref="PermuteRows{T}"/> stay on the calling thread
    /// (waking the other costs more than half the copy).
    /// </summary>
    private const long SharedElements = 1 << 16;

    /// <summary>Elements per part at least (whole cache lines of either float type; a part's cost is a claim and a call).</summary>
    private const int PartElements = 4096;

    /// <summary>
    /// The (outer, yRows, inner) block y from the (outer, xRows, inner) block x: row r of y is row r + <paramref name="offset"/>
    /// of x where that row exists, else zeros. Narrow's forward is offset = start (every row exists); its backward, PadInto,
    /// is offset = −start, writing each element of y once (the slice or a zero) rather than clearing y and then copying.
    /// Large outputs are cut into contiguous ranges on the worker pool with <see cref="StepPaths.SharedRows"/>; a copy
    /// either way, so the same bits.
    /// </summary>
    public static void Shift<T>(Tensor x, int xRows, Tensor y, int yRows, int outer, int inner, int offset) where T : unmanaged
    {
        long n = (long)outer * yRows * inner;
        int parts = !StepPaths.SharedRows || n < SharedElements ? 1 : ReplayParts.For((int)(n / PartElements));
        if (parts <= 1) { ShiftRange<T>(x.Span<T>(), xRows, y.Span<T>(), yRows, inner, offset, 0, n); return; }
        var job = ShiftJob<T>.t_job ??= new ShiftJob<T>();
        (job.X, job.Y, job.XRows, job.YRows, job.Inner, job.Offset) = (x, y, xRows, yRows, inner, offset);
        try { WorkerPool.Run(job, parts); }
        finally { job.X = job.Y = null; }
    }

    /// <summary>Elements [first, last) of <see cref="Shift{T}"/>'s y, one run of a row's part at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShiftRange<T>(ReadOnlySpan<T> x, int xRows, Span<T> y, int yRows, int inner, int offset, long first, long last) where T : unmanaged
    {
        while (first < last)
        {
            long row = first / inner; // a row of y, counted over all the outer blocks
            long o = row / yRows;
            int r = (int)(row - o * yRows), within = (int)(first - row * inner), source = r + offset;
            bool copy = source >= 0 && source < xRows;
            // The rows of this outer block from r on that are in the same state (copied, or zeros before or after the slice).
            int rows = copy ? Math.Min(yRows - r, xRows - source) : source < 0 ? Math.Min(yRows - r, -source) : yRows - r;
            int run = (int)Math.Min((long)rows * inner - within, last - first);
            if (copy) x.Slice((int)((o * xRows + source) * inner + within), run).CopyTo(y.Slice((int)first, run));
            else y.Slice((int)first, run).Clear();
            first += run;
        }
    }

    private sealed class ShiftJob<T> : ParallelWork where T : unmanaged
    {
        [ThreadStatic] internal static ShiftJob<T>? t_job;

        internal Tensor? X, Y;
        internal int XRows, YRows, Inner, Offset;

        public override bool HasHomes => true;

        public override void Execute(int index, int count)
        {
            long n = Y!.Numel, units = (n + 15) / 16;
            long first = Math.Min(n, units * index / count * 16), last = Math.Min(n, units * (index + 1) / count * 16);
            ShiftRange<T>(X!.Span<T>(), XRows, Y.Span<T>(), YRows, Inner, Offset, first, last);
        }
    }

    /// <summary>
    /// The permute of x (shape <paramref name="shape"/>) by <paramref name="perm"/> into y, one run of y's last dimension
    /// at a time: a block copy when that dimension is also x's innermost, else a strided gather. With
    /// <paramref name="shared"/>, large outputs are cut into ranges of runs on the worker pool; a copy either way, so the
    /// same bits.
    /// </summary>
    public static void Permute<T>(Tensor x, int[] shape, int[] perm, Tensor y, bool shared) where T : unmanaged
    {
        long n = y.Numel;
        int rank = shape.Length, runs = (int)(n / shape[perm[rank - 1]]);
        int parts = !shared || n < SharedElements ? 1 : ReplayParts.For(Math.Min(runs, (int)(n / PartElements)));
        if (parts <= 1) { PermuteRows<T>(x.Span<T>(), shape, perm, y.Span<T>(), 0, runs); return; }
        var job = PermuteJob<T>.t_job ??= new PermuteJob<T>();
        (job.X, job.Y, job.Shape, job.Perm, job.Runs) = (x, y, shape, perm, runs);
        try { WorkerPool.Run(job, parts); }
        finally { job.X = job.Y = null; job.Shape = job.Perm = null; }
    }

    /// <summary>Runs [first, last) of y's last dimension of <see cref="Permute{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PermuteRows<T>(ReadOnlySpan<T> xs, int[] shape, int[] perm, Span<T> ys, int first, int last) where T : unmanaged
    {
        int rank = shape.Length;
        // The strides and the index on the stack (not Shapes.ContiguousStrides' array): a compiled step's replay allocates nothing.
        Span<int> inStrides = stackalloc int[rank];
        for (int i = rank - 1, stride = 1; i >= 0; stride *= Math.Max(shape[i], 1), i--) inStrides[i] = stride;
        Span<int> outShape = stackalloc int[rank];
        Span<int> strides = stackalloc int[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[perm[i]]; strides[i] = inStrides[perm[i]]; }
        Span<int> index = stackalloc int[rank];
        int innerSize = outShape[rank - 1], innerStride = strides[rank - 1];
        // The index of run `first` (y's dimensions but the last, row-major).
        for (int k = rank - 2, rest = first; k >= 0; k--) { index[k] = rest % outShape[k]; rest /= outShape[k]; }
        index[rank - 1] = 0;
        for (int o = first, dOff = first * innerSize; o < last; o++, dOff += innerSize)
        {
            int src = 0;
            for (int k = 0; k < rank - 1; k++) src += index[k] * strides[k];
            if (innerStride == 1) xs.Slice(src, innerSize).CopyTo(ys.Slice(dOff, innerSize));
            else for (int j = 0; j < innerSize; j++) ys[dOff + j] = xs[src + j * innerStride];
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < outShape[k]) break;
                index[k] = 0;
            }
        }
    }

    private sealed class PermuteJob<T> : ParallelWork where T : unmanaged
    {
        [ThreadStatic] internal static PermuteJob<T>? t_job;

        internal Tensor? X, Y;
        internal int[]? Shape, Perm;
        internal int Runs;

        public override bool HasHomes => true;

        public override void Execute(int index, int count)
        {
            int first = (int)((long)Runs * index / count), last = (int)((long)Runs * (index + 1) / count);
            if (first < last) PermuteRows<T>(X!.Span<T>(), Shape!, Perm!, Y!.Span<T>(), first, last);
        }
    }
}
