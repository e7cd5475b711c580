namespace SharpGrad.Kernels;

/// <summary>
/// Whether two byte ranges are equal, compared in two halves on the worker pool (one per core when the pool is free).
/// </summary>
internal sealed unsafe class BitCompare : ParallelWork
{
    [ThreadStatic] private static BitCompare? t_job;

    private byte* _a, _b;
    private nint _length;
    private int _differs;

    /// <summary>
    /// Whether the <paramref name="length"/> bytes at <paramref name="a"/> and <paramref name="b"/> are the same, in two
    /// parts on at most <see cref="Gemm.MaxThreads"/> threads.
    /// </summary>
    public static bool Equal(byte* a, byte* b, nint length)
    {
        var job = t_job ??= new BitCompare();
        job._a = a;
        job._b = b;
        job._length = length;
        job._differs = 0;
        try { WorkerPool.Run(job, 2, Gemm.MaxThreads); }
        finally { job._a = job._b = null; }
        return job._differs == 0;
    }

    public override void Execute(int index, int count)
    {
        nint start = _length / count * index, end = index == count - 1 ? _length : _length / count * (index + 1);
        // Span lengths are ints: compare in pieces of at most 1 GB.
        for (nint p = start; p < end; p += 1 << 30)
        {
            int n = (int)Math.Min(1 << 30, end - p);
            if (!new ReadOnlySpan<byte>(_a + p, n).SequenceEqual(new ReadOnlySpan<byte>(_b + p, n)))
            {
                Volatile.Write(ref _differs, 1);
                return;
            }
        }
    }
}
