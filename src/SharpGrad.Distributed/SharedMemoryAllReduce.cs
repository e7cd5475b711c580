using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Distributed;

/// <summary>
/// The mean over the processes of one buffer, for processes on one machine, through an MPI-3 shared-memory window
/// instead of messages: every process writes its values once into its own slot of the window (<see cref="Input"/>),
/// then process r sums chunk r of every slot, in rank order, divides by N and writes the mean into its own result area,
/// and every process reads each chunk's mean where its owner wrote it.
/// </summary>
/// <remarks>
/// <para>Against the ring of messages (<see cref="RingAllReduce{T}"/>) this leaves out the transport's copies and every
/// message's matching and latency: a process reads (N − 1)/N of the other slots once, where it sums, and the means once,
/// where it copies them into its gradients. The sum is in rank order, so the result is the same on every process, from
/// run to run and whatever N is; with 2 processes it is (g₀ + g₁) / 2, the ring's result exactly.</para>
/// <para>The same window also gathers vectors the processes update in chunks (<see cref="BeginGather"/>: a sharded
/// optimizer step's parameters and state), each process's chunk going through a gather area of its own, so that the
/// means stay readable until the next pass (<see cref="CopyOthersMean"/>).</para>
/// <para>Two counters per process, each on its own cache line at the start of its segment, order the passes without a
/// barrier: <c>inputs</c> (this pass's values are in the slot) and <c>results</c> (this process's chunk of the mean is
/// written). A process starts a pass's sum only when every process has published the pass's inputs, so it never
/// overwrites a mean another process is still reading from the pass before; and it leaves a pass only when every
/// process has written its chunk, so nobody reads its slot any more when it writes the next pass's values there.
/// The counters are written with a full fence (<see cref="Interlocked.Exchange(ref long, long)"/>), so the values
/// written before are visible first.</para>
/// </remarks>
internal sealed unsafe class SharedMemoryAllReduce<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Header = 128; // the two counters, one cache line each

    private readonly ProcessGroup _group;
    private readonly byte*[] _segments;
    private readonly int _count;
    private readonly int[] _chunkStart;
    private readonly Func<bool> _inputsReady, _resultsReady;
    private long _pass;

    /// <param name="group">The processes; every one of them must construct this (a collective), with the same count.</param>
    /// <param name="count">Number of values.</param>
    public SharedMemoryAllReduce(ProcessGroup group, int count)
    {
        (_group, _count) = (group, count);
        int n = group.WorldSize;
        // Slot, result and gather areas; with two processes an image area too (ImageAddress: the parameter images are
        // wired only then), so larger groups do not map a copy of the model they never use.
        _segments = group.AllocateSharedWindow(Header + (n == 2 ? 4L : 3L) * count * sizeof(T));
        _chunkStart = new int[n + 1];
        for (int c = 0; c <= n; c++) _chunkStart[c] = (int)((long)count * c / n);
        Volatile.Write(ref *Inputs(group.Rank), 0);
        Interlocked.Exchange(ref *Results(group.Rank), 0);
        group.Barrier(); // nobody reads a counter before its owner has cleared it
        _inputsReady = () => AllAtLeast(0);
        _resultsReady = () => AllAtLeast(64);
    }

    /// <summary>This process's slot: the values to average, written before <see cref="Publish"/>.</summary>
    public Span<T> Input => new(Slot(_group.Rank), _count);

    private long* Inputs(int rank) => (long*)_segments[rank];

    private long* Results(int rank) => (long*)(_segments[rank] + 64);

    private T* Slot(int rank) => (T*)(_segments[rank] + Header);

    private T* Mean(int rank) => Slot(rank) + _count;

    private T* Gathered(int rank) => Slot(rank) + 2L * _count;

    private T* Image(int rank) => Slot(rank) + 3L * _count;

    // In the inputs counter's line (written only by its owner): the gather in which the owner last wrote its chunk into
    // the other processes' images (MarkImagesWritten).
    private long* ImagesWritten(int rank) => (long*)(_segments[rank] + 8);

    /// <summary>
    /// The address of value <paramref name="index"/> of process <paramref name="rank"/>'s image area: a vector (the
    /// parameters) every process keeps whole, each process writing its <see cref="OwnChunk"/> into every process's image
    /// in a gather's step (see <see cref="MarkImagesWritten"/>) instead of into its gather area.
    /// </summary>
    public nint ImageAddress(int rank, int index) =>
        _segments.Length == 2 ? (nint)(Image(rank) + index) : throw new InvalidOperationException("SharedMemoryAllReduce: images exist with two processes only.");

    /// <summary>
    /// Between <see cref="BeginGather"/> and <see cref="EndGather"/>: tells the other processes that this process wrote its
    /// chunk of the imaged values into their images in this gather (not into its gather area).
    /// </summary>
    public void MarkImagesWritten() => Volatile.Write(ref *ImagesWritten(_group.Rank), _pass);

    /// <summary>
    /// After <see cref="EndGather"/>: whether every other process wrote its chunk of the imaged values into the images in
    /// this gather (<see cref="MarkImagesWritten"/>); false if none did; throws if only some did.
    /// </summary>
    public bool OthersWroteImages()
    {
        int written = 0;
        for (int r = 0; r < _segments.Length; r++)
            if (r != _group.Rank && Volatile.Read(ref *ImagesWritten(r)) == _pass) written++;
        if (written != 0 && written != _segments.Length - 1)
            throw new InvalidOperationException("SharedMemoryAllReduce: the processes disagree on where their parameters go (images or gather areas).");
        return written != 0;
    }

    private bool AllAtLeast(int counter)
    {
        for (int r = 0; r < _segments.Length; r++)
            if (Volatile.Read(ref *(long*)(_segments[r] + counter)) < _pass) return false;
        return true;
    }

    /// <summary>Tells the other processes that this pass's values are in <see cref="Input"/>.</summary>
    public void Publish()
    {
        PublishResults();
        Kernels.StreamingCopy.Fence(); // values written with non-temporal stores are visible before the counter
        Interlocked.Exchange(ref *Inputs(_group.Rank), ++_pass);
    }

    /// <summary>
    /// Waits for every process's values, writes the mean of this process's chunk, waits for every chunk's mean; then
    /// <see cref="CopyMean"/> reads the result. Adds the time spent waiting to <paramref name="waitTicks"/>. With
    /// <paramref name="own"/>, this process's values of its own chunk are read from there instead of from its slot (which
    /// then needs only the values the other processes sum): <c>own[i]</c> holds values [offsets[i], offsets[i + 1]) (the
    /// last up to the count), or is null where they are in the slot. Without <paramref name="awaitResults"/> it returns
    /// once this process's chunk is written, without waiting for the others' (<see cref="AwaitResults"/>): for a caller
    /// that reads only its own chunk and then gathers right after this pass (<see cref="BeginGather"/>), whose wait
    /// covers the others' sums too. With <paramref name="later"/> (per value range of
    /// <paramref name="offsets"/>; only without <paramref name="awaitResults"/>), the ranges marked true are not summed:
    /// the caller writes their means itself (two processes: (rank 0's + rank 1's) · ½ where <see cref="MeanAddress"/>
    /// says) and then calls <see cref="PublishResults"/>, before this process's next operation through the window.
    /// </summary>
    public void Reduce(ref long waitTicks, int[]? offsets = null, Array?[]? own = null, bool awaitResults = true, bool[]? later = null)
    {
        long t0 = Stopwatch.GetTimestamp();
        _group.WaitUntil(_inputsReady, "the gradient all-reduce (shared memory)");
        long t1 = Stopwatch.GetTimestamp();
        int rank = _group.Rank, start = _chunkStart[rank], end = _chunkStart[rank + 1];
        bool deferred = false;
        if (offsets is null || own is null) Sum(start, end, default, useMine: false);
        else
            for (int i = 0; i < offsets.Length; i++)
            {
                int from = offsets[i], to = i + 1 < offsets.Length ? offsets[i + 1] : _count;
                int a = Math.Max(start, from), b = Math.Min(end, to);
                if (a >= b) continue;
                if (later?[i] == true) deferred = true;
                else if (own[i] is T[] values) Sum(a, b, values.AsSpan(a - from, b - a), useMine: true);
                else Sum(a, b, default, useMine: false);
            }
        waitTicks += t1 - t0;
        if (deferred)
        {
            if (awaitResults) throw new InvalidOperationException("SharedMemoryAllReduce: sums left to the caller cannot be awaited here.");
            _resultsPending = true;
            return;
        }
        Interlocked.Exchange(ref *Results(rank), _pass);
        if (awaitResults) AwaitResults(ref waitTicks);
    }

    private bool _resultsPending;

    /// <summary>
    /// After a <see cref="Reduce"/> that left sums to its caller, once the caller has written them: tells the other
    /// processes that this process's chunk of the mean is complete (<see cref="Publish"/> and <see cref="BeginGather"/> do it
    /// first if it is still due). Does nothing otherwise.
    /// </summary>
    public void PublishResults()
    {
        if (!_resultsPending) return;
        _resultsPending = false;
        Interlocked.Exchange(ref *Results(_group.Rank), _pass); // a full fence: the means written before are visible first
    }

    /// <summary>
    /// The address of value <paramref name="index"/> of process <paramref name="rank"/>'s slot: from the end of
    /// <see cref="Reduce"/> of a pass until this process publishes again, it holds that process's value of the pass (no
    /// process writes its slot before every process has written its chunk of the mean, see <see cref="PublishResults"/>).
    /// </summary>
    public nint SlotAddress(int rank, int index) => (nint)(Slot(rank) + index);

    /// <summary>
    /// Waits until every process has written its chunk of the mean of the pass (or of the gather) last published: what
    /// <see cref="Reduce"/> does at its end unless told not to. Immediate once a gather after the pass has ended.
    /// </summary>
    public void AwaitResults(ref long waitTicks)
    {
        long t0 = Stopwatch.GetTimestamp();
        _group.WaitUntil(_resultsReady, "the gradient all-reduce (shared memory)");
        waitTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>The mean of values [a, b) into this process's result area, this process's own values from <paramref name="mine"/> when <paramref name="useMine"/>.</summary>
    private void Sum(int a, int b, ReadOnlySpan<T> mine, bool useMine)
    {
        int n = _group.WorldSize, length = b - a;
        var mean = new Span<T>(Mean(_group.Rank) + a, length);
        // In rank order: ((g₀ + g₁) + g₂) + …, then / N (a product by 1/N when N is a power of two: the same, exactly).
        // Elementwise, so summing the chunk in pieces gives the same values as in one go.
        bool powerOfTwo = (n & (n - 1)) == 0;
        T scale = T.One / T.CreateTruncating(n);
        if (n == 2) TensorPrimitives.AddMultiply(Values(0, a, length, mine, useMine), Values(1, a, length, mine, useMine), scale, mean);
        else
        {
            TensorPrimitives.Add(Values(0, a, length, mine, useMine), Values(1, a, length, mine, useMine), mean);
            for (int r = 2; r < n; r++) TensorPrimitives.Add(mean, Values(r, a, length, mine, useMine), mean);
            if (powerOfTwo) TensorPrimitives.Multiply(mean, scale, mean);
            else TensorPrimitives.Divide(mean, T.CreateTruncating(n), mean);
        }
    }

    private ReadOnlySpan<T> Values(int rank, int a, int length, ReadOnlySpan<T> mine, bool useMine) =>
        useMine && rank == _group.Rank ? mine : new ReadOnlySpan<T>(Slot(rank) + a, length);

    /// <summary>Copies the mean of values [<paramref name="start"/>, start + destination's length) into <paramref name="destination"/>, from the processes that own them.</summary>
    public void CopyMean(int start, Span<T> destination) => CopyChunks(gathered: false, start, destination, own: true, others: true);

    /// <summary>As <see cref="CopyMean"/>, only the values of this process's own chunk (the rest of <paramref name="destination"/> is left as it is).</summary>
    public void CopyOwnMean(int start, Span<T> destination) => CopyChunks(gathered: false, start, destination, own: true, others: false);

    /// <summary>
    /// As <see cref="CopyMean"/>, only the values of the other processes' chunks. Valid from the end of
    /// <see cref="Reduce"/> until this process publishes its next pass (<see cref="Publish"/> or
    /// <see cref="BeginGather"/>): no process writes its means again before every process has published.
    /// </summary>
    public void CopyOthersMean(int start, Span<T> destination) => CopyChunks(gathered: false, start, destination, own: false, others: true);

    /// <summary>
    /// The address of value <paramref name="index"/> of this process's result area: from the end of <see cref="Reduce"/>
    /// until this process publishes its next pass it holds the mean there for the values of <see cref="OwnChunk"/>.
    /// </summary>
    public nint MeanAddress(int index) => (nint)(Mean(_group.Rank) + index);

    /// <summary>
    /// The address of value <paramref name="index"/> of this process's gather area. Its <see cref="OwnChunk"/> values
    /// may be written there before <see cref="BeginGather"/> once <see cref="Reduce"/> has seen every process's
    /// inputs of the pass (nobody reads the area from the gather before any more), if <see cref="BeginGather"/>'s caller
    /// then leaves them as they are.
    /// </summary>
    public nint GatheredAddress(int index) => (nint)(Gathered(_group.Rank) + index);

    /// <summary>The values [Start, End) this process owns: it sums them in <see cref="Reduce"/> and gives them in a gather.</summary>
    public (int Start, int End) OwnChunk => (_chunkStart[_group.Rank], _chunkStart[_group.Rank + 1]);

    /// <summary>
    /// Starts an all-gather of the owned chunks of some other vector of <c>count</c> values (the optimizer's updated
    /// parameters or its state): waits until every process is done with the previous operation, then returns the area
    /// where this process writes its chunk (values [OwnChunk.Start, OwnChunk.End)); then <see cref="EndGather"/>.
    /// Right after a <see cref="Reduce"/> that did not wait for the others' results, this wait also covers their sums of
    /// the pass.
    /// </summary>
    public Span<T> BeginGather(ref long waitTicks)
    {
        Publish();
        long t0 = Stopwatch.GetTimestamp();
        _group.WaitUntil(_inputsReady, "a gather through shared memory");
        waitTicks += Stopwatch.GetTimestamp() - t0;
        var (start, end) = OwnChunk;
        return new Span<T>(Gathered(_group.Rank) + start, end - start);
    }

    /// <summary>Publishes the chunk written since <see cref="BeginGather"/> and waits for every process's; then <see cref="CopyGathered"/>.</summary>
    public void EndGather(ref long waitTicks)
    {
        Kernels.StreamingCopy.Fence();
        Interlocked.Exchange(ref *Results(_group.Rank), _pass);
        long t0 = Stopwatch.GetTimestamp();
        _group.WaitUntil(_resultsReady, "a gather through shared memory");
        waitTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>After <see cref="EndGather"/>: the other processes' values of [<paramref name="start"/>, start + destination's length) into <paramref name="destination"/> (this process's own are left as they are).</summary>
    public void CopyGathered(int start, Span<T> destination) => CopyChunks(gathered: true, start, destination, own: false, others: true);

    private void CopyChunks(bool gathered, int start, Span<T> destination, bool own, bool others)
    {
        int at = start, end = start + destination.Length, owner = 0;
        while (at < end)
        {
            while (_chunkStart[owner + 1] <= at) owner++;
            int stop = Math.Min(end, _chunkStart[owner + 1]);
            if (owner == _group.Rank ? own : others) new ReadOnlySpan<T>((gathered ? Gathered(owner) : Mean(owner)) + at, stop - at).CopyTo(destination.Slice(at - start));
            at = stop;
        }
    }
}
