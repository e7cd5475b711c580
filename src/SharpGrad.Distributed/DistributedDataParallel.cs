using System.Diagnostics;
using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Distributed;

/// <summary>
/// Data-parallel training (PyTorch: <c>DistributedDataParallel</c>): every process holds a replica of
/// <see cref="Module"/>, trains it on its own shard of each batch, and after every backward pass the gradients are the
/// mean over the processes, so every replica takes the same optimizer step and the replicas stay identical.
/// </summary>
/// <remarks>
/// <para>At construction rank 0's parameters and buffers are copied to every process. The parameters' gradients are
/// grouped into buckets of about <c>bucketCapBytes</c>, in reverse registration order (the order a backward pass
/// produces them). A hook on each parameter (<see cref="Tensor.RegisterPostAccumulateGradHook"/>) copies its gradient
/// into its bucket as soon as the backward pass has finished it; a full bucket's all-reduce (a ring of point-to-point
/// messages that leaves the mean in the bucket) starts at once, while the backward pass goes on. Buckets start strictly
/// in bucket order on every process, and each ring has a fixed schedule, so the result does not depend on timing. When
/// the pass ends the remaining buckets start (a parameter the pass did not reach counts as a zero gradient), all are
/// waited for, and each parameter's <see cref="Tensor.Grad"/> becomes the mean (the engine's own gradient tensor goes
/// back to the open <see cref="TensorScope"/>, as <c>ZeroGrad</c> would send it). <see cref="Timings"/> says where the
/// time went.</para>
/// <para>BatchNorm normalises with each process's own batch statistics, as PyTorch's DDP does by default; its running
/// statistics (buffers) are rank 0's, broadcast after every backward pass (PyTorch broadcasts them before every
/// forward, which gives the same values).</para>
/// <para>Because the work happens in hooks, calling <see cref="Module"/>'s Forward directly is equivalent to calling this
/// wrapper's; the state dict of the wrapper has the prefix <c>module.</c>, as PyTorch's has.</para>
/// </remarks>
public sealed unsafe partial class DistributedDataParallel : Module, IDisposable
{
    private readonly Bucket[] _buckets;
    private readonly Dictionary<Tensor, (Bucket Bucket, int Offset)> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly List<IDisposable> _hooks = [];
    private OptimizerShard? _shard;
    private bool _passActive;
    private int _nextToStart;
    private long _hookTicks, _waitTicks, _finishTicks;
    private int _passes;

    /// <summary>Wraps <paramref name="module"/> for data-parallel training over <paramref name="group"/>.</summary>
    /// <param name="module">The model; its parameters and buffers are overwritten with rank 0's.</param>
    /// <param name="group">The processes (from <see cref="ProcessGroup.InitMpi"/>).</param>
    /// <param name="bucketCapBytes">Gradient bytes per all-reduce (PyTorch: <c>bucket_cap_mb</c>); smaller buckets start earlier, larger ones cost fewer messages.</param>
    /// <param name="broadcastBuffers">Copy rank 0's buffers (BatchNorm running statistics) to every process after each backward pass (PyTorch's default).</param>
    /// <param name="reduction">How the gradients are averaged: <see cref="GradientReduction.Auto"/> (shared memory when every process is on one machine, else the ring of messages) or one of them.</param>
    /// <exception cref="ArgumentException"><see cref="GradientReduction.SharedMemory"/> was asked for but the processes are not all on one machine.</exception>
    public DistributedDataParallel(Module module, ProcessGroup group, int bucketCapBytes = 1 << 20, bool broadcastBuffers = true,
        GradientReduction reduction = GradientReduction.Auto)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketCapBytes);
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "DistributedDataParallel: unknown gradient reduction.");
        if (reduction == GradientReduction.SharedMemory && !group.SharesOneMachine)
            throw new ArgumentException($"DistributedDataParallel: the shared-memory reduction needs every process on one machine, but the {group.WorldSize} processes run on several; use GradientReduction.Ring or Auto.", nameof(reduction));
        Module = RegisterModule("module", module);
        Group = group;
        BroadcastBuffers = broadcastBuffers;
        Reduction = reduction != GradientReduction.Auto ? reduction : group.SharesOneMachine ? GradientReduction.SharedMemory : GradientReduction.Ring;

        foreach (var (_, p) in module.NamedParameters()) group.Broadcast(p, 0);
        foreach (var (_, b) in module.NamedBuffers()) group.Broadcast(b, 0);

        var parameters = module.Parameters().Where(p => p.RequiresGrad).Reverse().ToList();
        var buckets = new List<Bucket>();
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var current = new List<Tensor>();
            long bytes = 0;
            foreach (var p in parameters.Where(p => p.DType == dtype))
            {
                if (current.Count > 0 && bytes + (long)p.Numel * dtype.ElementSize() > bucketCapBytes)
                {
                    buckets.Add(new Bucket(current, dtype, group, buckets.Count, Reduction));
                    (current, bytes) = ([], 0);
                }
                current.Add(p);
                bytes += (long)p.Numel * dtype.ElementSize();
            }
            if (current.Count > 0) buckets.Add(new Bucket(current, dtype, group, buckets.Count, Reduction));
        }
        _buckets = [.. buckets];
        if (Reduction == GradientReduction.SharedMemory && group.WorldSize > 1) group.BeforeWindowsFree(WriteDeferredMeans);
        foreach (var bucket in _buckets)
            for (int i = 0; i < bucket.Parameters.Length; i++)
            {
                _slots[bucket.Parameters[i]] = (bucket, bucket.Offsets[i]);
                _hooks.Add(bucket.Parameters[i].RegisterPostAccumulateGradHook(OnGradientReady));
            }
    }

    /// <summary>The wrapped model (PyTorch: <c>.module</c>).</summary>
    public Module Module { get; }

    /// <summary>The processes the gradients are averaged over.</summary>
    public ProcessGroup Group { get; }

    /// <summary>Whether rank 0's buffers are copied to every process after each backward pass.</summary>
    public bool BroadcastBuffers { get; }

    /// <summary>How the gradients are averaged (<see cref="GradientReduction.Auto"/> resolved: shared memory or the ring).</summary>
    public GradientReduction Reduction { get; }

    /// <summary>Number of gradient buckets (each one all-reduce per step).</summary>
    public int BucketCount => _buckets.Length;

    /// <summary>
    /// Through shared memory: how the values this process writes into the window for another process to read are
    /// stored (<see cref="Distributed.WindowStores"/>; default <see cref="WindowStores.Adaptive"/>). Except with
    /// <see cref="WindowStores.Ordinary"/>, a compiled step's gradient product writes straight into the slot only when
    /// the whole gradient is this process's own chunk (which no other process reads), the hook copying the other
    /// processes' part otherwise. The values are the same in every mode. Read by each pass and when a compiled step's
    /// plan is made: set it before the first step.
    /// </summary>
    public WindowStores WindowStores { get; set; } = WindowStores.Adaptive;

    private readonly StoreChooser _stores = new();

    /// <summary>Whether this pass writes the window with non-temporal stores.</summary>
    private bool StreamNow => WindowStores switch { WindowStores.Streaming => true, WindowStores.Ordinary => false, _ => _stores.Stream };

    /// <summary>
    /// Through shared memory, in a compiled sharded step wired to the window (default true): the end of the pass returns
    /// once this process's chunk of the means is summed, without waiting for the other processes' (the step reads only
    /// its own), and the gather after the step publishes without a wait of its own: one wait for the other processes per
    /// step after the pass's inputs instead of three (the sums, the start of the gather, its end), the last covering the
    /// other two. The values are the same either way. Read when a compiled step's plan is made: set it before the first step.
    /// </summary>
    public bool LeanSync { get; set; } = true;

    /// <summary>
    /// Through shared memory with two processes and <see cref="LeanSync"/>, in a compiled sharded step wired to the window
    /// (default true): the step forms this process's chunk of each mean itself, (rank 0's + rank 1's) · ½ read from both
    /// processes' slots as it updates (in registers for SGD and Adam), and writes it where the end of the pass wrote it
    /// before, instead of the end of the pass writing the means and the step reading them back. The values are the same
    /// either way, the gradients read after the step included. Read when a compiled step's plan is made: set it before
    /// the first step.
    /// </summary>
    public bool SumInStep { get; set; } = true;

    /// <summary>
    /// Through shared memory with two processes and <see cref="LeanSync"/>, in a compiled sharded step wired to the window
    /// (default true): a parameter the plan reads only in matrix products (a Linear's weight) is kept whole in an image
    /// in the window: each process's step updates its range there and writes it into the other process's image, and the
    /// products read the image, so the gather copies nothing for it (one pass over the other process's half fewer). The
    /// parameter's array is brought up to date from the image whenever anything outside the plan asks for it (reading its
    /// values, an eager step, another plan), so a parameter read after the step gives the same values either way. Every
    /// process must replay the same plans. Read when a compiled step's plan is made: set it before the first step.
    /// </summary>
    public bool ParameterImages { get; set; } = true;

    // Per parameter, its image when a plan wired one (ParameterImages); all of them, for the step's preparation.
    private readonly Dictionary<Tensor, ParameterImage> _images = new(ReferenceEqualityComparer.Instance);
    private ParameterImage[] _stepImages = [];

    /// <summary>How many buckets had started their all-reduce before the backward pass ended, in the last pass (a measure of overlap).</summary>
    public int BucketsStartedDuringBackward { get; private set; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Module.Forward(input);

    /// <summary>
    /// Where the data-parallel work of the backward passes so far went (wall-clock, summed over passes): the time to
    /// measure when two processes scale worse than they should.
    /// </summary>
    public DataParallelTimings Timings => new(_passes, Seconds(_hookTicks), Seconds(_waitTicks), Seconds(_finishTicks));

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    private void OnGradientReady(Tensor parameter)
    {
        var grad = parameter.Grad!;
        var (bucket, offset) = _slots[parameter];
        // In a compiled step (Jit.Compile) the hook is recorded where the backward pass runs it, bound to the gradient
        // array the pass writes: a replay copies that array into the bucket and starts the bucket's reduction at the
        // same point as the eager pass does, so the overlap with the rest of the backward pass is kept.
        if (Capture.Active is { Recording: true } capture)
        {
            capture.Launch("DistributedDataParallel gradient hook");
            capture.Reads(grad);
            if (capture.Recording) capture.Add(new GradientReadyInstruction(this, bucket, offset, grad.Storage));
        }
        GradientReady(bucket, offset, grad.Storage, replay: false);
    }

    /// <summary>
    /// The hook's work for the gradient in <paramref name="source"/> of the parameter at <paramref name="offset"/> of
    /// <paramref name="bucket"/>: eagerly, or replayed (the end of the pass is then a recorded instruction of its own
    /// instead of a queued callback).
    /// </summary>
    private void GradientReady(Bucket bucket, int offset, Array source, bool replay, bool inSlot = false)
    {
        long t0 = Stopwatch.GetTimestamp();
        if (!_passActive)
        {
            _passActive = true;
            _nextToStart = 0;
            BucketsStartedDuringBackward = 0;
            if (!replay) Autograd.QueueCallback(FinishPass);
        }
        bucket.Put(source, offset, inSlot, StreamNow);
        if (bucket.Pending == 0)
        {
            StartReadyBuckets();
            BucketsStartedDuringBackward = _nextToStart;
        }
        // Let MPI move the data of buckets already started (Open MPI progresses only inside MPI calls).
        for (int i = 0; i < _nextToStart; i++) _buckets[i].Progress();
        _hookTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>Starts, in bucket order, every bucket whose gradients are all in.</summary>
    private void StartReadyBuckets()
    {
        while (_nextToStart < _buckets.Length && _buckets[_nextToStart].Pending == 0)
            _buckets[_nextToStart++].Start();
    }

    private void FinishPass()
    {
        // The buffers broadcast after the pass, listed once per pass eagerly and once per plan when compiled.
        Tensor[] buffers = BroadcastBuffers && Group.WorldSize > 1 ? [.. Module.NamedBuffers().Select(b => b.Value)] : [];
        if (Capture.Active is { Recording: true } capture)
        {
            capture.Launch("DistributedDataParallel end of pass");
            foreach (var bucket in _buckets) bucket.DeclareGradients(capture);
            foreach (var b in buffers) { capture.Reads(b); capture.Writes(b); }
            if (capture.Recording) capture.Add(new FinishPassInstruction(this, buffers));
        }
        FinishPassCore(buffers);
    }

    private void FinishPassCore(Tensor[] buffers, bool deferOthersMeans = false, bool[][]? stepReadsWindow = null, bool awaitOthers = true,
        (bool[] Later, int[] Index)[]? stepSums = null, WindowSums? sums = null)
    {
        long t0 = Stopwatch.GetTimestamp();
        _passActive = false;
        foreach (var bucket in _buckets) bucket.FillMissing();
        StartReadyBuckets();
        for (int k = 0; k < _buckets.Length; k++) _buckets[k].Complete(ref _waitTicks, deferOthersMeans, stepReadsWindow?[k], awaitOthers, stepSums?[k], sums);
        foreach (var b in buffers) Group.Broadcast(b, 0);
        _passes++;
        _finishTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>
    /// Shards <paramref name="optimizer"/>'s step over the processes (ZeRO stage 1, as PyTorch's
    /// <c>ZeroRedundancyOptimizer</c>): each process updates only the 1/N of every gradient bucket whose mean it computes
    /// itself, and after <see cref="Optimizer.Step"/> every process reads the others' updated parameters. The update of
    /// an element is the same arithmetic wherever it runs, so the weights are those of the unsharded step exactly, and
    /// the step costs each process 1/N of the optimizer's work plus one copy of the others' parameters.
    /// </summary>
    /// <remarks>
    /// <para>It applies when the gradients go through shared memory (<see cref="GradientReduction.SharedMemory"/>, so
    /// every process on one machine) and the optimizer treats every element on its own (SGD, Adam, AdamW, RMSprop);
    /// otherwise it changes nothing and returns false, and every process takes the whole step as before. Parameters of
    /// the optimizer that this wrapper does not reduce are updated whole on every process.</para>
    /// <para>The gradients are still the whole mean on every process (gradient clipping sees them all). The optimizer's
    /// state is current only in each process's own ranges: its <see cref="Optimizer.StateDict"/> is whole only after
    /// <see cref="GatherOptimizerState"/>, a collective the Trainer calls on every process before each checkpoint.</para>
    /// </remarks>
    /// <returns>Whether the step is now sharded.</returns>
    public bool ShardOptimizerStep(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.Shard is not null) throw new InvalidOperationException("ShardOptimizerStep: this optimizer's step is already sharded.");
        if (Group.WorldSize == 1 || Reduction != GradientReduction.SharedMemory || !optimizer.UpdatesElementwise) return false;
        optimizer.Shard = _shard = new OptimizerShard(this, optimizer);
        return true;
    }

    /// <summary>How many compiled plans have their sharded step reading the means in the window and writing its updated parameters there (<see cref="WireShardedStepToWindow"/>).</summary>
    internal int WindowedStepPlans { get; private set; }

    /// <summary>How many compiled plans have their sharded step forming the means itself (<see cref="SumInStep"/>).</summary>
    internal int StepSumPlans { get; private set; }

    /// <summary>How many parameters of compiled plans are read by their products in their image (<see cref="ParameterImages"/>).</summary>
    internal int ImagedParameters { get; private set; }

    /// <summary>How many replayed sharded steps wrote the window with non-temporal stores under <see cref="WindowStores.Adaptive"/> (for measurements).</summary>
    internal long StreamedSteps => _stores.Streamed;

    /// <summary>How many gradients of compiled plans are written by their product straight into their bucket's slot (<see cref="WireGradientProductsToSlots"/>).</summary>
    internal int GradientProductsInSlots { get; private set; }

    /// <summary>Whether <see cref="ShardOptimizerStep"/> sharded an optimizer's step.</summary>
    public bool OptimizerStepSharded => _shard is not null;

    /// <summary>
    /// Gives every process the sharded optimizer's whole state, each range from the process that updated it (a
    /// collective: every process must call it); does nothing when no step is sharded. Call it before saving the
    /// optimizer's <see cref="Optimizer.StateDict"/>.
    /// </summary>
    public void GatherOptimizerState() => _shard?.GatherState();

    /// <summary>Writes the gradients whose other chunks a replay left in the shared window, while the window is there.</summary>
    private void WriteDeferredMeans()
    {
        foreach (var bucket in _buckets) bucket.WriteDeferredMeans();
        foreach (var image in _stepImages) image.WriteIntoArray();
    }

    /// <summary>Removes the gradient hooks: the module trains alone again.</summary>
    public void Dispose()
    {
        WriteDeferredMeans();
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
        if (_shard is not null && ReferenceEquals(_shard.Optimizer.Shard, _shard)) _shard.Optimizer.Shard = null;
        _shard = null;
    }
}

/// <summary>
/// Where <see cref="DistributedDataParallel"/>'s work went over the backward passes so far (wall-clock seconds, summed).
/// </summary>
/// <param name="Passes">Backward passes that reduced gradients.</param>
/// <param name="HookSeconds">Inside the gradient hooks during the passes: copying gradients into buckets, starting reductions and letting them progress.</param>
/// <param name="WaitSeconds">After each pass, waiting for the reductions still in flight (communication the backward pass did not hide, including time the other processes were still computing).</param>
/// <param name="FinishSeconds">The whole end-of-pass step: <paramref name="WaitSeconds"/>, writing the means into the gradients and broadcasting buffers.</param>
public readonly record struct DataParallelTimings(int Passes, double HookSeconds, double WaitSeconds, double FinishSeconds);

/// <summary>How <see cref="DistributedDataParallel"/> averages the gradients over the processes.</summary>
public enum GradientReduction
{
    /// <summary><see cref="SharedMemory"/> when every process runs on one machine, else <see cref="Ring"/>.</summary>
    Auto,
    /// <summary>
    /// A ring of point-to-point MPI messages (reduce-scatter, then all-gather): works across machines. With
    /// <see cref="ProcessGroup.DeterministicReduction"/>, an all-gather summed in rank order instead.
    /// </summary>
    Ring,
    /// <summary>
    /// Through an MPI-3 shared-memory window (processes on one machine only): each process writes its gradients once,
    /// sums its 1/N of everyone's in place and reads the others' means. The sum is in rank order (deterministic).
    /// </summary>
    SharedMemory,
}
