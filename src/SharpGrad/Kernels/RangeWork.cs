namespace SharpGrad.Kernels;

/// <summary>
/// Splits [0, total) into one contiguous range per core and runs a body on each range through the
/// <see cref="WorkerPool"/>; for memory-bound kernels over independent planes or channels (pooling, normalisation).
/// The split depends only on <c>total</c> and the thread limit, so results do not depend on timing.
/// </summary>
internal sealed class RangeWork(int total, Action<int, int> body) : ParallelWork
{
    /// <summary>Below this many elements touched, one thread does it all: waking the other costs more.</summary>
    public const long ParallelThreshold = 1 << 16;

    private readonly int _total = total;
    private readonly Action<int, int> _body = body;

    /// <summary>Ranges are independent; part t takes the t-th share of [0, total).</summary>
    public override bool HasHomes => true;

    public override void Execute(int index, int count)
    {
        int first = (int)((long)_total * index / count), last = (int)((long)_total * (index + 1) / count);
        if (first < last) _body(first, last);
    }

    /// <summary>Runs <paramref name="body"/>(first, last) over a partition of [0, <paramref name="total"/>).</summary>
    /// <param name="total">Number of independent items (planes, channels).</param>
    /// <param name="elements">Elements the whole job touches, to decide whether a second thread pays.</param>
    /// <param name="body">Processes items [first, last); ranges never overlap.</param>
    public static void Run(int total, long elements, Action<int, int> body)
    {
        int parts = Parts(total, elements);
        if (parts <= 1) { if (total > 0) body(0, total); return; }
        WorkerPool.Run(new RangeWork(total, body), parts);
    }

    /// <summary>
    /// <see cref="Run(int, long, Action{int, int})"/> with the work object made once and kept by the caller (a kernel
    /// that a compiled step replays makes it on its first run, so that the replays allocate nothing).
    /// </summary>
    public static void Run(RangeWork work, long elements)
    {
        int parts = Parts(work._total, elements);
        if (parts <= 1) { if (work._total > 0) work._body(0, work._total); return; }
        WorkerPool.Run(work, parts);
    }

    private static int Parts(int total, long elements) =>
        elements < ParallelThreshold || total < 2 ? 1 : Math.Min(total, Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism));
}

/// <summary>
/// A kernel launch's <see cref="RangeWork"/> objects, made on its first run: a struct kernel holds one of these (made
/// with the kernel), so a compiled step's replays of the launch reuse the delegates of the captured run.
/// </summary>
internal sealed class RangeWorkCache
{
    public RangeWork? First;
    public RangeWork? Second;
}
