using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SharpGrad.Distributed;

/// <summary>How <see cref="ProcessGroup.AllReduce(Tensor, ReduceOp)"/> combines the processes' values.</summary>
public enum ReduceOp
{
    /// <summary>The element-wise sum over the processes.</summary>
    Sum,
    /// <summary>The element-wise mean over the processes (the sum divided by <see cref="ProcessGroup.WorldSize"/>).</summary>
    Avg,
}

/// <summary>
/// The processes of one training job and the collective operations between them (PyTorch:
/// <c>torch.distributed</c>'s default process group). <see cref="InitMpi"/> joins the job that <c>mpirun</c> started,
/// through Open MPI; without <c>mpirun</c> the group is this process alone and every collective is the identity.
/// </summary>
/// <remarks>
/// Every process must call the same collectives in the same order (an MPI rule). Collectives are issued non-blocking
/// and waited for with a deadline, <see cref="Timeout"/>: a peer that died or hung makes the others throw
/// <see cref="DistributedTimeoutException"/> instead of waiting forever. Calls are serialised by a lock, so any one
/// thread at a time may use the group.
/// </remarks>
public sealed unsafe class ProcessGroup : IDisposable, SharpGrad.Training.IDataParallel
{
    private static ProcessGroup? s_mpi;
    private static readonly object s_initLock = new();
    private readonly object _lock = new();
    private bool _finalized;
    private nint _ringComm;
    private nint _nodeComm;
    private int _nodeSize = 1;
    private readonly List<nint> _windows = [];
    private readonly List<Action> _beforeWindowsFree = [];

    private ProcessGroup(int rank, int worldSize, bool isMpi) => (Rank, WorldSize, IsMpi) = (rank, worldSize, isMpi);

    /// <summary>A group that only claims a rank and size (no collectives may be called): for testing what depends on them alone.</summary>
    internal static ProcessGroup Pretend(int rank, int worldSize) => new(rank, worldSize, isMpi: false);

    /// <summary>A group of this process alone (rank 0 of 1): collectives copy nothing and return at once.</summary>
    public static ProcessGroup Single() => new(0, 1, isMpi: false);

    /// <summary>Whether this process was started by Open MPI's <c>mpirun</c>/<c>mpiexec</c> (it sets <c>OMPI_COMM_WORLD_SIZE</c>).</summary>
    public static bool LaunchedByMpi => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is { Length: > 0 };

    /// <summary>
    /// Joins the MPI job this process belongs to (PyTorch: <c>init_process_group("mpi")</c>) and returns its group; the
    /// same group on every call. A process not started by <c>mpirun</c> gets <see cref="Single"/> without loading MPI.
    /// </summary>
    /// <exception cref="DllNotFoundException">Started by mpirun, but Open MPI's libmpi cannot be loaded; the message names the package.</exception>
    /// <exception cref="MpiException">MPI could not be initialised.</exception>
    public static ProcessGroup InitMpi()
    {
        if (!LaunchedByMpi) return Single();
        lock (s_initLock)
        {
            if (s_mpi is not null) return s_mpi;
            MpiNative.Load();
            int initialized = 0, provided = 0, rank = 0, size = 0;
            Check(MpiNative.MPI_Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0)
                Check(MpiNative.MPI_Init_thread(null, null, MpiNative.MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
            else provided = MpiNative.MPI_THREAD_SERIALIZED;
            if (provided < MpiNative.MPI_THREAD_SERIALIZED)
                throw new MpiException($"MPI: this Open MPI build gives thread level {provided}; SharpGrad needs MPI_THREAD_SERIALIZED ({MpiNative.MPI_THREAD_SERIALIZED}) because training runs off the main thread.");
            // Errors come back as codes (and become exceptions naming the call) instead of aborting inside libmpi.
            Check(MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
            Check(MpiNative.MPI_Comm_rank(MpiNative.CommWorld, &rank), "MPI_Comm_rank");
            Check(MpiNative.MPI_Comm_size(MpiNative.CommWorld, &size), "MPI_Comm_size");
            // Point-to-point traffic of the gradient ring gets its own communicator, so that its messages can never be
            // matched by anything else a program sends on MPI_COMM_WORLD.
            nint ring = 0;
            Check(MpiNative.MPI_Comm_dup(MpiNative.CommWorld, &ring), "MPI_Comm_dup");
            Check(MpiNative.MPI_Comm_set_errhandler(ring, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
            // The processes on this machine (ranked as in the world), for reductions through shared memory.
            nint node = 0;
            int nodeSize = 0;
            Check(MpiNative.MPI_Comm_split_type(MpiNative.CommWorld, MpiNative.MPI_COMM_TYPE_SHARED, rank, MpiNative.InfoNull, &node), "MPI_Comm_split_type");
            Check(MpiNative.MPI_Comm_set_errhandler(node, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
            Check(MpiNative.MPI_Comm_size(node, &nodeSize), "MPI_Comm_size");
            return s_mpi = new ProcessGroup(rank, size, isMpi: true) { _ringComm = ring, _nodeComm = node, _nodeSize = nodeSize };
        }
    }

    /// <summary>This process's number in the group, 0 to <see cref="WorldSize"/> - 1 (PyTorch: <c>get_rank()</c>).</summary>
    public int Rank { get; }

    /// <summary>Number of processes in the group (PyTorch: <c>get_world_size()</c>).</summary>
    public int WorldSize { get; }

    /// <summary>True when the group is an MPI job, false for <see cref="Single"/>.</summary>
    public bool IsMpi { get; }

    /// <summary>
    /// Whether every process of the group runs on this machine (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED puts them all
    /// in one communicator), so that they can exchange data through shared memory; true for a group of one.
    /// </summary>
    public bool SharesOneMachine => _nodeSize == WorldSize;

    /// <summary>
    /// How long a collective may wait for the other processes before this one gives up with
    /// <see cref="DistributedTimeoutException"/> (default 120 s; the environment variable
    /// <c>SHARPGRAD_COLLECTIVE_TIMEOUT</c>, in seconds, overrides it).
    /// </summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout();

    /// <summary>
    /// Reduce in a fixed order: gather every process's values and add them in rank order on each process, so the result
    /// is bit-identical on every process and from run to run whatever algorithm MPI picks (at the cost of N times the
    /// traffic of a ring all-reduce). Off by default.
    /// </summary>
    public bool DeterministicReduction { get; set; }

    private static TimeSpan DefaultTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("SHARPGRAD_COLLECTIVE_TIMEOUT"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0 ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(120);

    /// <summary>
    /// Combines <paramref name="tensor"/> over the processes in place: afterwards every process holds the sum (or mean)
    /// (PyTorch: <c>all_reduce</c>). Float32 and Float64 tensors.
    /// </summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        switch (tensor.Storage)
        {
            case float[] f: AllReduce(f.AsSpan(), op); break;
            case double[] d: AllReduce(d.AsSpan(), op); break;
            default: throw new ArgumentException($"AllReduce: the tensor is {tensor.DType.ToTorchName()}; only float32 and float64 tensors can be reduced.", nameof(tensor));
        }
    }

    /// <summary>Sums (or averages) <paramref name="values"/> over the processes, in place.</summary>
    public void AllReduce(Span<float> values, ReduceOp op = ReduceOp.Sum)
    {
        if (WorldSize > 1)
            fixed (float* p = values) Reduce(p, values.Length, MpiNative.Float, sizeof(float), "AllReduce");
        if (op == ReduceOp.Avg && WorldSize > 1) TensorPrimitives.Divide(values, (float)WorldSize, values);
    }

    /// <summary>Sums (or averages) <paramref name="values"/> over the processes, in place.</summary>
    public void AllReduce(Span<double> values, ReduceOp op = ReduceOp.Sum)
    {
        if (WorldSize > 1)
            fixed (double* p = values) Reduce(p, values.Length, MpiNative.Double, sizeof(double), "AllReduce");
        if (op == ReduceOp.Avg && WorldSize > 1) TensorPrimitives.Divide(values, (double)WorldSize, values);
    }

    void SharpGrad.Training.IDataParallel.AllReduceSum(Span<double> values) => AllReduce(values, ReduceOp.Sum);

    /// <summary>The sum over the processes, into <paramref name="buffer"/>; waits for it.</summary>
    private void Reduce(void* buffer, int count, nint datatype, int elementSize, string what)
    {
        byte[]? gathered = null;
        var request = StartSum(buffer, count, datatype, elementSize, ref gathered);
        Wait(ref request, what);
        FinishSum(buffer, count, datatype, gathered);
    }

    /// <summary>
    /// Starts summing <paramref name="buffer"/> over the processes without waiting (it must stay fixed until
    /// <see cref="Wait"/> returns; then <see cref="FinishSum"/>). In deterministic mode this gathers every process's copy
    /// into <paramref name="gathered"/> instead (a pinned array, reused when it is large enough, else replaced), for
    /// <see cref="FinishSum"/> to add in rank order.
    /// </summary>
    internal nint StartSum(void* buffer, int count, nint datatype, int elementSize, ref byte[]? gathered)
    {
        nint request = 0;
        lock (_lock)
        {
            ThrowIfFinalized();
            if (DeterministicReduction)
            {
                int bytes = checked(count * elementSize * WorldSize);
                if (gathered is null || gathered.Length < bytes) gathered = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
                fixed (byte* g = gathered)
                    Check(MpiNative.MPI_Iallgather(buffer, count, datatype, g, count, datatype, MpiNative.CommWorld, &request), "MPI_Iallgather");
            }
            else Check(MpiNative.MPI_Iallreduce(MpiNative.InPlace, buffer, count, datatype, MpiNative.Sum, MpiNative.CommWorld, &request), "MPI_Iallreduce");
        }
        return request;
    }

    /// <summary>After <see cref="StartSum"/>'s request completed: in deterministic mode, the rank-ordered sum into the buffer.</summary>
    internal void FinishSum(void* buffer, int count, nint datatype, byte[]? gathered)
    {
        if (gathered is null) return;
        fixed (byte* g = gathered)
        {
            if (datatype == MpiNative.Float) SumInRankOrder(new Span<float>(buffer, count), new ReadOnlySpan<float>(g, count * WorldSize));
            else SumInRankOrder(new Span<double>(buffer, count), new ReadOnlySpan<double>(g, count * WorldSize));
        }
    }

    private static void SumInRankOrder<T>(Span<T> destination, ReadOnlySpan<T> all) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = destination.Length;
        all[..n].CopyTo(destination);
        for (int r = n; r < all.Length; r += n) TensorPrimitives.Add(destination, all.Slice(r, n), destination);
    }

    /// <summary>Copies <paramref name="tensor"/> from process <paramref name="root"/> to every other one, in place (PyTorch: <c>broadcast</c>); any dtype.</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        if (WorldSize == 1) return;
        var handle = GCHandle.Alloc(tensor.Storage, GCHandleType.Pinned);
        try
        {
            long bytes = (long)tensor.Numel * tensor.DType.ElementSize();
            if (bytes > int.MaxValue) throw new ArgumentException($"Broadcast: the tensor has {bytes} bytes; at most {int.MaxValue} go in one call.", nameof(tensor));
            nint request = 0;
            lock (_lock)
            {
                ThrowIfFinalized();
                Check(MpiNative.MPI_Ibcast((void*)handle.AddrOfPinnedObject(), (int)bytes, MpiNative.Byte, root, MpiNative.CommWorld, &request), "MPI_Ibcast");
            }
            Wait(ref request, "Broadcast");
        }
        finally { handle.Free(); }
    }

    /// <summary>
    /// Every process's <paramref name="tensor"/>, stacked in rank order: shape [WorldSize, ...tensor's shape]
    /// (PyTorch: <c>all_gather</c>, as one tensor); any dtype, the same shape on every process.
    /// </summary>
    public Tensor AllGather(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var result = Tensor.Zeros([WorldSize, .. tensor.Shape], tensor.DType);
        int bytes = checked(tensor.Numel * tensor.DType.ElementSize());
        var source = GCHandle.Alloc(tensor.Storage, GCHandleType.Pinned);
        var target = GCHandle.Alloc(result.Storage, GCHandleType.Pinned);
        try
        {
            if (WorldSize == 1)
            {
                new ReadOnlySpan<byte>((void*)source.AddrOfPinnedObject(), bytes).CopyTo(new Span<byte>((void*)target.AddrOfPinnedObject(), bytes));
                return result;
            }
            nint request = 0;
            lock (_lock)
            {
                ThrowIfFinalized();
                Check(MpiNative.MPI_Iallgather((void*)source.AddrOfPinnedObject(), bytes, MpiNative.Byte, (void*)target.AddrOfPinnedObject(), bytes, MpiNative.Byte,
                    MpiNative.CommWorld, &request), "MPI_Iallgather");
            }
            Wait(ref request, "AllGather");
            return result;
        }
        finally { source.Free(); target.Free(); }
    }

    /// <summary>Returns once every process has called it (PyTorch: <c>barrier</c>).</summary>
    public void Barrier()
    {
        if (WorldSize == 1) return;
        nint request = 0;
        lock (_lock)
        {
            ThrowIfFinalized();
            Check(MpiNative.MPI_Ibarrier(MpiNative.CommWorld, &request), "MPI_Ibarrier");
        }
        Wait(ref request, "Barrier");
    }

    /// <summary>Starts sending <paramref name="count"/> elements at <paramref name="buffer"/> to <paramref name="destination"/> (the ring's communicator); the buffer must stay fixed until the request completes.</summary>
    internal nint StartSend(void* buffer, int count, nint datatype, int destination, int tag)
    {
        nint request = 0;
        lock (_lock)
        {
            ThrowIfFinalized();
            Check(MpiNative.MPI_Isend(buffer, count, datatype, destination, tag, _ringComm, &request), "MPI_Isend");
        }
        return request;
    }

    /// <summary>Starts receiving <paramref name="count"/> elements from <paramref name="source"/> into <paramref name="buffer"/> (the ring's communicator).</summary>
    internal nint StartReceive(void* buffer, int count, nint datatype, int source, int tag)
    {
        nint request = 0;
        lock (_lock)
        {
            ThrowIfFinalized();
            Check(MpiNative.MPI_Irecv(buffer, count, datatype, source, tag, _ringComm, &request), "MPI_Irecv");
        }
        return request;
    }

    /// <summary>Runs <paramref name="action"/> in <see cref="Dispose"/> before the shared-memory windows are freed (e.g. to copy out what is still read from them).</summary>
    internal void BeforeWindowsFree(Action action)
    {
        lock (_lock) _beforeWindowsFree.Add(action);
    }

    /// <summary>
    /// Allocates an MPI-3 shared-memory window of <paramref name="bytesPerProcess"/> bytes on every process (a collective:
    /// every process must call it, with the same size) and returns each process's segment, by rank, mapped into this
    /// process. Only for a group that <see cref="SharesOneMachine"/>; the window lives until <see cref="Dispose"/>. The
    /// contents start undefined.
    /// </summary>
    internal byte*[] AllocateSharedWindow(long bytesPerProcess)
    {
        if (!SharesOneMachine) throw new InvalidOperationException($"A shared-memory window needs every process on one machine; {_nodeSize} of the {WorldSize} processes share this one.");
        // Whole pages per process, so that no two processes' segments share a cache line.
        long size = (Math.Max(bytesPerProcess, 1) + 4095) & ~4095L;
        var segments = new byte*[WorldSize];
        lock (_lock)
        {
            ThrowIfFinalized();
            void* mine = null;
            nint window = 0;
            Check(MpiNative.MPI_Win_allocate_shared((nint)size, 1, MpiNative.InfoNull, _nodeComm, &mine, &window), "MPI_Win_allocate_shared");
            _windows.Add(window);
            for (int r = 0; r < WorldSize; r++)
            {
                nint bytes = 0;
                int unit = 0;
                void* address = null;
                Check(MpiNative.MPI_Win_shared_query(window, r, &bytes, &unit, &address), "MPI_Win_shared_query");
                if (bytes < size) throw new MpiException($"MPI: rank {r}'s shared segment has {bytes} bytes; {size} were asked for.");
                segments[r] = (byte*)address;
            }
        }
        return segments;
    }

    /// <summary>Whether the request has completed; a test also lets MPI make progress on every pending collective.</summary>
    internal bool Test(ref nint request)
    {
        if (request == 0) return true;
        int flag = 0;
        lock (_lock)
            fixed (nint* r = &request) Check(MpiNative.MPI_Test(r, &flag, null), "MPI_Test");
        return flag != 0;
    }

    /// <summary>
    /// Waits for a request, polling (Open MPI moves data only inside MPI calls, and a blocking wait would hold the lock)
    /// and yielding the core between polls; past <see cref="Timeout"/> it throws.
    /// </summary>
    internal void Wait(ref nint request, string what)
    {
        if (Test(ref request)) return;
        long start = Stopwatch.GetTimestamp();
        long limit = (long)(Timeout.TotalSeconds * Stopwatch.Frequency), patient = Stopwatch.Frequency / 500;
        for (int spin = 0; !Test(ref request); spin++)
        {
            // Poll hard at first (a collective between ready peers takes microseconds), then yield the core, and after
            // 2 ms (the peer is busy, or the machine oversubscribed) sleep between polls so as not to take its CPU.
            if (spin > 100)
            {
                if (Stopwatch.GetTimestamp() - start > patient) Thread.Sleep(1);
                else Thread.Yield();
            }
            if ((spin & 63) == 63 && Stopwatch.GetTimestamp() - start > limit)
                throw new DistributedTimeoutException(
                    $"{what} on rank {Rank} of {WorldSize} did not complete within {Timeout.TotalSeconds:0.#} s: another process has probably died or hung. " +
                    "Stopping; restart the job with --resume to continue from the last checkpoint.");
        }
    }

    /// <summary>
    /// <see cref="Wait"/>'s polling and deadline for a condition that tests requests itself (<paramref name="done"/> makes
    /// MPI progress and returns true once the operation is complete).
    /// </summary>
    internal void WaitUntil(Func<bool> done, string what)
    {
        long arrive = WaitTimeline.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (done())
        {
            if (arrive != 0) WaitTimeline.Record(what, arrive, arrive);
            return;
        }
        long cpu0 = WaitClock?.Invoke() ?? 0;
        try { WaitUntilCore(done, what); }
        finally
        {
            if (WaitClock is { } clock) WaitClockTicks += clock() - cpu0;
            if (arrive != 0) WaitTimeline.Record(what, arrive, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>
    /// For measurements (the bench sets it): a clock read around every wait of <see cref="WaitUntil"/> that did not
    /// return at once, e.g. the thread's CPU time, so that the time spent polling for other processes can be told
    /// from work; the sum is in <see cref="WaitClockTicks"/>.
    /// </summary>
    internal static Func<long>? WaitClock { get; set; }

    /// <summary>The sum of <see cref="WaitClock"/>'s readings over the waits (in its unit).</summary>
    internal static long WaitClockTicks { get; set; }

    private void WaitUntilCore(Func<bool> done, string what)
    {
        long start = Stopwatch.GetTimestamp();
        long limit = (long)(Timeout.TotalSeconds * Stopwatch.Frequency), patient = Stopwatch.Frequency / 500;
        for (int spin = 0; !done(); spin++)
        {
            if (spin > 100)
            {
                if (Stopwatch.GetTimestamp() - start > patient) Thread.Sleep(1);
                else Thread.Yield();
            }
            if ((spin & 63) == 63 && Stopwatch.GetTimestamp() - start > limit)
                throw new DistributedTimeoutException(
                    $"{what} on rank {Rank} of {WorldSize} did not complete within {Timeout.TotalSeconds:0.#} s: another process has probably died or hung. " +
                    "Stopping; restart the job with --resume to continue from the last checkpoint.");
        }
    }

    /// <summary>
    /// Ends the whole job at once, every process of it (PyTorch: none; MPI_Abort): what a process does when it cannot go
    /// on and the others might otherwise wait for it. Does nothing in a <see cref="Single"/> group.
    /// </summary>
    public void Abort(int errorCode = 1)
    {
        if (IsMpi) MpiNative.MPI_Abort(MpiNative.CommWorld, errorCode);
    }

    /// <summary>Leaves the MPI job (MPI_Finalize); every process must call it, after its last collective.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!IsMpi || _finalized) return;
            _finalized = true;
            foreach (var action in _beforeWindowsFree) action();
            _beforeWindowsFree.Clear();
            foreach (var w in _windows)
            {
                nint window = w;
                MpiNative.MPI_Win_free(&window);
            }
            _windows.Clear();
            MpiNative.MPI_Finalize();
        }
    }

    private void ThrowIfFinalized()
    {
        if (!IsMpi) throw new InvalidOperationException($"This group (rank {Rank} of {WorldSize}) is not an MPI job; it cannot run collectives.");
        if (_finalized) throw new ObjectDisposedException(nameof(ProcessGroup), "The MPI process group has been finalized.");
    }

    private static void Check(int code, string call)
    {
        if (code != MpiNative.MPI_SUCCESS) throw new MpiException($"MPI: {call} failed: {MpiNative.ErrorString(code)}.");
    }
}

/// <summary>An MPI call failed; the message names the call and Open MPI's reason.</summary>
public sealed class MpiException(string message) : Exception(message);

/// <summary>A collective waited longer than <see cref="ProcessGroup.Timeout"/>: another process has died or hung.</summary>
public sealed class DistributedTimeoutException(string message) : TimeoutException(message);
