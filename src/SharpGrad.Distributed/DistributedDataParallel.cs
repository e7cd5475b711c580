using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
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
public sealed unsafe class DistributedDataParallel : Module, IDisposable
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
        bucket.Put(source, offset, inSlot);
        if (bucket.Pending == 0)
        {
            StartReadyBuckets();
            BucketsStartedDuringBackward = _nextToStart;
        }
        // Let MPI move the data of buckets already started (Open MPI progresses only inside MPI calls).
        for (int i = 0; i < _nextToStart; i++) _buckets[i].Progress();
        _hookTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>A recorded gradient hook (see <see cref="OnGradientReady"/>).</summary>
    private sealed class GradientReadyInstruction(DistributedDataParallel owner, Bucket bucket, int offset, Array source) : Instruction
    {
        public DistributedDataParallel Owner => owner;

        public Bucket Bucket => bucket;

        public int Offset => offset;

        public Array Source => source;

        /// <summary>Whether the product that makes the gradient writes it straight into the bucket's slot (<see cref="WireGradientProductsToSlots"/>).</summary>
        public bool InSlot { get; set; }

        public override void Run() => owner.GradientReady(bucket, offset, source, replay: true, InSlot);
    }

    /// <summary>
    /// Gradients as views of their bucket (PyTorch: <c>gradient_as_bucket_view</c>), for the gradients a plan makes with
    /// one instruction that can write them elsewhere (<see cref="IRedirectableOutput"/>: a Linear's weight gradient, a
    /// matrix product; a convolution's weight and bias gradients): when the product's output array is written by nothing else and
    /// read by nothing but the gradient hook, the product writes into the parameter's place in this process's slot of
    /// the shared window, and the hook copies nothing (this process's own chunk is then summed from the slot too). The
    /// array the product wrote before is left alone: nothing in the plan reads it, and the parameter's gradient after
    /// the pass is the bucket's mean tensor anyway. Safe as the hook's copy is: the product runs after this process
    /// left the pass before, when no process reads the slot any more, and before this process publishes the bucket.
    /// </summary>
    private void WireGradientProductsToSlots(Instruction[] plan, Array? result)
    {
        if (Reduction != GradientReduction.SharedMemory || Group.WorldSize == 1) return;
        for (int h = 0; h < plan.Length; h++)
        {
            if (plan[h] is not GradientReadyInstruction hook || !ReferenceEquals(hook.Owner, this) || hook.InSlot) continue;
            var source = hook.Source;
            if (ReferenceEquals(source, result)) continue;
            int writer = -1;
            bool alone = true;
            for (int k = 0; k < plan.Length && alone; k++)
            {
                if (k == h) continue;
                bool writes = System.Array.IndexOf(plan[k].WriteSet, source) >= 0, reads = System.Array.IndexOf(plan[k].ReadSet, source) >= 0;
                if (writes && writer < 0 && k < h) writer = k;
                else if (writes || reads || plan[k] is GradientReadyInstruction other && ReferenceEquals(other.Source, source)) alone = false;
            }
            if (!alone || writer < 0) continue;
            nint slot = hook.Bucket.SlotAddress(hook.Offset);
            if (slot == 0 || plan[writer] is not IRedirectableOutput product || !product.RedirectOutput(source, slot)) continue;
            hook.InSlot = true;
            GradientProductsInSlots++;
        }
    }

    /// <summary>
    /// The recorded end of a backward pass: the remaining buckets start, every reduction is waited for and the means are
    /// written into the gradients the optimizer step reads (the buckets' own tensors, bound at capture).
    /// </summary>
    private sealed class FinishPassInstruction(DistributedDataParallel owner, Tensor[] buffers) : Instruction, IPlanObserver
    {
        private bool _deferOthersMeans;
        private bool[][]? _stepReadsWindow;

        public DistributedDataParallel Owner => owner;

        public void PlanLowered(Instruction[] plan, Array? result)
        {
            owner.WireGradientProductsToSlots(plan, result);
            _deferOthersMeans = owner.MeansReadOnlyByShardedStep(this, plan, result);
            if (_deferOthersMeans) _stepReadsWindow = owner.WireShardedStepToWindow(this, plan);
        }

        public override void Run() => owner.FinishPassCore(buffers, _deferOthersMeans, _stepReadsWindow);
    }

    /// <summary>
    /// Where a plan's one sharded step follows this end of the pass and is followed at once by its gather (the order
    /// <see cref="Optimizer.Step"/> records them in), points the step at the window: it reads its range of each mean in
    /// this process's result area, where the reduction leaves it, and copies its updated range of each parameter into
    /// this process's gather area as it goes, so that the gather only publishes it and reads the others'. That saves the
    /// copy of the own chunk of the means into the gradients and the gather's re-read of the updated chunk. Safe because
    /// the step runs after the reduction has seen every process's inputs of the pass (no process reads the gather area
    /// from the step before any more) and before this process publishes again (its result area stays as it is); the own
    /// chunk of such a gradient is then deferred too. Returns, per bucket and parameter, whether the step reads the
    /// window for it (null: the plan is not of that shape and nothing changes).
    /// </summary>
    private bool[][]? WireShardedStepToWindow(FinishPassInstruction self, Instruction[] plan)
    {
        if (_shard is null) return null;
        int finish = -1, stepAt = -1, gatherAt = -1;
        for (int k = 0; k < plan.Length; k++)
        {
            switch (plan[k])
            {
                case FinishPassInstruction f when ReferenceEquals(f.Owner, this):
                    if (finish >= 0 || !ReferenceEquals(f, self)) return null;
                    finish = k;
                    break;
                case ShardedStepInstruction s when ReferenceEquals(s.Optimizer, _shard.Optimizer):
                    if (stepAt >= 0) return null;
                    stepAt = k;
                    break;
                case OptimizerShard.GatherInstruction g when ReferenceEquals(g.Shard, _shard):
                    if (gatherAt >= 0) return null;
                    gatherAt = k;
                    break;
            }
        }
        if (finish < 0 || stepAt <= finish || gatherAt != stepAt + 1) return null;
        var step = (ShardedStepInstruction)plan[stepAt];
        var gather = (OptimizerShard.GatherInstruction)plan[gatherAt];
        var parameters = _shard.Optimizer.Parameters;
        var means = new nint[parameters.Count];
        var updated = new nint[parameters.Count];
        var reads = _buckets.Select(b => new bool[b.Parameters.Length]).ToArray();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!_slots.TryGetValue(parameters[i], out var slot) || step.Gradients[i] is not { } g) continue;
            int k = System.Array.IndexOf(_buckets, slot.Bucket), j = System.Array.IndexOf(slot.Bucket.Offsets, slot.Offset);
            if (!ReferenceEquals(slot.Bucket.Gradients[j].Storage, g) || step.Ranges[i] != _shard.Range(i)) continue;
            (means[i], updated[i]) = slot.Bucket.WindowAddresses(slot.Offset);
            reads[k][j] = true;
        }
        step.Window = (means, updated);
        gather.OwnWritten = reads;
        WindowedStepPlans++;
        return reads;
    }

    /// <summary>
    /// Whether, in <paramref name="plan"/>, the gradients the end of the pass writes are read only by the sharded
    /// optimizer step, which reads only this process's chunk of them: a replay may then copy just that chunk of the
    /// means and leave the others' chunks in the window until the parameter's <see cref="Tensor.Grad"/> is read (the
    /// same values; one pass over the other processes' half of the gradients fewer per step). Not with a guard in the
    /// plan (a replay could stop between the pass and the step) nor when the step's result is a gradient.
    /// </summary>
    private bool MeansReadOnlyByShardedStep(Instruction self, Instruction[] plan, Array? result)
    {
        if (_shard is null || Reduction != GradientReduction.SharedMemory || Array.Exists(plan, i => i is GuardInstruction)) return false;
        foreach (var bucket in _buckets)
            foreach (var g in bucket.Gradients)
            {
                var d = g.Storage;
                if (ReferenceEquals(d, result)) return false;
                foreach (var other in plan)
                {
                    if (ReferenceEquals(other, self) || other is ShardedStepInstruction step && ReferenceEquals(step.Optimizer, _shard.Optimizer)) continue;
                    if (Array.IndexOf(other.ReadSet, d) >= 0 || Array.IndexOf(other.WriteSet, d) >= 0) return false;
                }
            }
        return true;
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

    private void FinishPassCore(Tensor[] buffers, bool deferOthersMeans = false, bool[][]? stepReadsWindow = null)
    {
        long t0 = Stopwatch.GetTimestamp();
        _passActive = false;
        foreach (var bucket in _buckets) bucket.FillMissing();
        StartReadyBuckets();
        for (int k = 0; k < _buckets.Length; k++) _buckets[k].Complete(ref _waitTicks, deferOthersMeans, stepReadsWindow?[k]);
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

    /// <summary>
    /// The sharded step's ranges (per optimizer parameter: its overlap with this process's chunk of its bucket) and the
    /// gathers that complete it.
    /// </summary>
    private sealed class OptimizerShard : IOptimizerShard
    {
        private readonly DistributedDataParallel _owner;
        private readonly (int Start, int Count)[] _ranges;
        private readonly Tensor?[][] _stateOf; // per bucket, per bucket parameter: scratch for GatherState
        private readonly int[][] _indexOf;     // per bucket, per bucket parameter: its index in the optimizer, or -1
        private long _waitTicks;

        public OptimizerShard(DistributedDataParallel owner, Optimizer optimizer)
        {
            (_owner, Optimizer) = (owner, optimizer);
            var index = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < optimizer.Parameters.Count; i++) index[optimizer.Parameters[i]] = i;
            _ranges = new (int, int)[optimizer.Parameters.Count];
            for (int i = 0; i < _ranges.Length; i++)
            {
                var p = optimizer.Parameters[i];
                if (!owner._slots.TryGetValue(p, out var slot)) { _ranges[i] = (0, p.Numel); continue; }
                var (start, end) = slot.Bucket.OwnChunk;
                int a = Math.Max(start, slot.Offset), b = Math.Min(end, slot.Offset + p.Numel);
                _ranges[i] = a < b ? (a - slot.Offset, b - a) : (0, 0);
            }
            _indexOf = [.. owner._buckets.Select(b => b.Parameters.Select(p => index.TryGetValue(p, out int i) ? i : -1).ToArray())];
            _stateOf = [.. owner._buckets.Select(b => new Tensor?[b.Parameters.Length])];
        }

        public Optimizer Optimizer { get; }

        public (int Start, int Count) Range(int index) => _ranges[index];

        public void AfterStep()
        {
            // In a compiled step the gather is recorded after the sharded update, as one instruction.
            if (Capture.Active is { Recording: true } capture)
            {
                capture.Launch("DistributedDataParallel parameter gather");
                foreach (var bucket in _owner._buckets)
                    foreach (var p in bucket.Parameters) { capture.Reads(p); capture.Writes(p); }
                if (capture.Recording) capture.Add(new GatherInstruction(this));
            }
            Gather();
        }

        private void Gather(bool[][]? ownWritten = null)
        {
            for (int k = 0; k < _owner._buckets.Length; k++)
                _owner._buckets[k].Gather(_owner._buckets[k].Parameters, ref _waitTicks, ownWritten?[k]);
        }

        /// <summary>The recorded gather of the updated parameters after a sharded optimizer step.</summary>
        public sealed class GatherInstruction(OptimizerShard shard) : Instruction
        {
            public OptimizerShard Shard => shard;

            /// <summary>Per bucket and parameter: whether the replayed step already wrote its own chunk into the gather area (<see cref="WireShardedStepToWindow"/>).</summary>
            public bool[][]? OwnWritten { get; set; }

            public override void Run() => shard.Gather(OwnWritten);
        }

        public void GatherState()
        {
            for (int k = 0; k < _owner._buckets.Length; k++)
            {
                var bucket = _owner._buckets[k];
                // Every process took every parameter's update (an empty range included), so they all hold the same
                // state entries and run the same gathers.
                var names = _indexOf[k].Where(i => i >= 0).SelectMany(Optimizer.StateNames).Distinct().Order(StringComparer.Ordinal).ToList();
                foreach (var name in names)
                {
                    var tensors = _stateOf[k];
                    for (int j = 0; j < tensors.Length; j++)
                    {
                        int i = _indexOf[k][j];
                        tensors[j] = i >= 0 && Optimizer.StateNames(i).Contains(name) ? Optimizer.StateTensor(i, name) : null;
                    }
                    bucket.Gather(tensors, ref _waitTicks);
                    System.Array.Clear(tensors);
                }
            }
        }
    }

    /// <summary>
    /// A run of same-dtype gradients reduced together: a flat buffer at a fixed address, reduced either through shared
    /// memory (<see cref="SharedMemoryAllReduce{T}"/>: the buffer is this process's slot of the window) or by a
    /// <see cref="RingAllReduce{T}"/> (a pinned array; with <see cref="ProcessGroup.DeterministicReduction"/>, an all-gather
    /// summed in rank order instead), and, per parameter, its offset and the gradient tensor it receives the mean in.
    /// </summary>
    private sealed class Bucket
    {
        public readonly Tensor[] Parameters;
        public readonly int[] Offsets;
        private readonly Tensor[] _gradients;
        private readonly DeferredMean[] _deferred;
        private readonly Array?[] _sources; // through shared memory: per parameter, the array its gradient came from this pass, or null
        private readonly bool[] _arrived;
        private readonly DType _dtype;
        private readonly void* _data;
        private readonly int _count;
        private readonly ProcessGroup _group;
        private readonly RingAllReduce<float>? _ringFloat;
        private readonly RingAllReduce<double>? _ringDouble;
        private readonly SharedMemoryAllReduce<float>? _sharedFloat;
        private readonly SharedMemoryAllReduce<double>? _sharedDouble;
        private readonly Func<bool> _progress;
        public int Pending;
        private nint _request;
        private byte[]? _gathered;
        private bool _inFlight, _deterministic;

        public Bucket(List<Tensor> parameters, DType dtype, ProcessGroup group, int tag, GradientReduction reduction)
        {
            Parameters = [.. parameters];
            Offsets = new int[Parameters.Length];
            _gradients = new Tensor[Parameters.Length];
            _deferred = new DeferredMean[Parameters.Length];
            _sources = new Array?[Parameters.Length];
            _arrived = new bool[Parameters.Length];
            _dtype = dtype;
            _group = group;
            for (int i = 0; i < Parameters.Length; i++)
            {
                Offsets[i] = _count;
                _count = checked(_count + Parameters[i].Numel);
                _gradients[i] = Tensor.Zeros(Parameters[i].Shape, dtype);
                _deferred[i] = new DeferredMean(this, i);
            }
            bool shared = group.WorldSize > 1 && reduction == GradientReduction.SharedMemory;
            if (dtype == DType.Float32) (_sharedFloat, _ringFloat) = Reduction<float>(group, shared, MpiNative.Float, tag, out _data);
            else (_sharedDouble, _ringDouble) = Reduction<double>(group, shared, MpiNative.Double, tag, out _data);
            _progress = Progress;
            Pending = Parameters.Length;
        }

        /// <summary>
        /// The bucket's reduction for element type <typeparamref name="T"/>: a shared-memory window (its slot is the
        /// bucket's buffer), or a pinned buffer with a ring of messages (none for a single process).
        /// </summary>
        private (SharedMemoryAllReduce<T>?, RingAllReduce<T>?) Reduction<T>(ProcessGroup group, bool shared, nint datatype, int tag, out void* data)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (shared)
            {
                var window = new SharedMemoryAllReduce<T>(group, _count);
                fixed (T* p = window.Input) data = p; // the window's memory is native: the address stays valid
                return (window, null);
            }
            var buffer = GC.AllocateArray<T>(_count, pinned: true);
            data = (void*)Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
            return (null, group.WorldSize > 1 ? new RingAllReduce<T>(group, buffer, datatype, tag) : null);
        }

        private bool Shared => _sharedFloat is not null || _sharedDouble is not null;

        /// <summary>Writes the deferred chunks of the means still pending (<see cref="DeferredMean"/>).</summary>
        public void WriteDeferredMeans()
        {
            foreach (var d in _deferred) d.Write();
        }

        /// <summary>The tensors the parameters' gradients become at the end of each pass (the means).</summary>
        public Tensor[] Gradients => _gradients;

        /// <summary>
        /// The other processes' chunks of parameter <c>index</c>'s mean, left in the window by a replay that copied only
        /// this process's chunk; written when the parameter's <see cref="Tensor.Grad"/> is read, if that happens before
        /// this process publishes its next pass (after which the others may overwrite their means, and the next pass
        /// writes a new mean anyway: nothing in a replay reads the gradient in between).
        /// </summary>
        private sealed class DeferredMean(Bucket bucket, int index) : IDeferredGradient
        {
            public bool Pending;
            public bool Whole; // this process's chunk too (the sharded step read it in the window)

            public void Write()
            {
                if (!Pending) return;
                Pending = false;
                var g = bucket._gradients[index];
                if (bucket._sharedFloat is { } f)
                {
                    if (Whole) f.CopyMean(bucket.Offsets[index], g.Span<float>());
                    else f.CopyOthersMean(bucket.Offsets[index], g.Span<float>());
                }
                else if (Whole) bucket._sharedDouble!.CopyMean(bucket.Offsets[index], g.Span<double>());
                else bucket._sharedDouble!.CopyOthersMean(bucket.Offsets[index], g.Span<double>());
            }
        }

        /// <summary>Through shared memory: the address of the parameter at <paramref name="offset"/>'s element 0 in this process's slot (0 otherwise).</summary>
        public nint SlotAddress(int offset) => Shared ? (nint)((byte*)_data + (long)offset * _dtype.ElementSize()) : 0;

        /// <summary>Through shared memory: the addresses of the parameter at <paramref name="offset"/>'s element 0 in this process's result area and gather area.</summary>
        public (nint Mean, nint Gathered) WindowAddresses(int offset) =>
            _sharedFloat is { } f ? (f.MeanAddress(offset), f.GatheredAddress(offset)) :
            _sharedDouble is { } d ? (d.MeanAddress(offset), d.GatheredAddress(offset)) : (0, 0);

        /// <summary>The values [Start, End) of the bucket this process reduces (all of them without shared memory).</summary>
        public (int Start, int End) OwnChunk => _sharedFloat?.OwnChunk ?? _sharedDouble?.OwnChunk ?? (0, _count);

        /// <summary>
        /// Gives every process the others' chunks of <paramref name="tensors"/> (laid out as the bucket's parameters;
        /// null: skipped), each process's own chunk being the one it holds current: a collective, through shared memory.
        /// </summary>
        /// <param name="tensors">The tensors, laid out as the bucket's parameters (null: skipped).</param>
        /// <param name="waitTicks">Adds the time spent waiting for the other processes.</param>
        /// <param name="ownWritten">Per tensor (null: none): its own chunk is already in this process's gather area.</param>
        public void Gather(Tensor?[] tensors, ref long waitTicks, bool[]? ownWritten = null)
        {
            if (_sharedFloat is not null) Gather(_sharedFloat, tensors, ref waitTicks, ownWritten);
            else if (_sharedDouble is not null) Gather(_sharedDouble, tensors, ref waitTicks, ownWritten);
        }

        private void Gather<T>(SharedMemoryAllReduce<T> shared, Tensor?[] tensors, ref long waitTicks, bool[]? ownWritten) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var (start, end) = shared.OwnChunk;
            var own = shared.BeginGather(ref waitTicks);
            for (int i = 0; i < tensors.Length; i++)
            {
                if (tensors[i] is not { } t || ownWritten is not null && ownWritten[i]) continue;
                int a = Math.Max(start, Offsets[i]), b = Math.Min(end, Offsets[i] + t.Numel);
                if (a < b) t.Span<T>().Slice(a - Offsets[i], b - a).CopyTo(own[(a - start)..]);
            }
            shared.EndGather(ref waitTicks);
            for (int i = 0; i < tensors.Length; i++)
                if (tensors[i] is { } t) shared.CopyGathered(Offsets[i], t.Span<T>());
        }

        private Span<float> Floats => new(_data, _count);

        private Span<double> Doubles => new(_data, _count);

        private nint Datatype => _dtype == DType.Float32 ? MpiNative.Float : MpiNative.Double;

        /// <summary>
        /// Copies the gradient in <paramref name="source"/> (the parameter's elements) into the bucket at
        /// <paramref name="offset"/>. Through shared memory only the values the other processes sum are copied: this
        /// process sums its own chunk reading <paramref name="source"/> itself, which the pass leaves as it is until then.
        /// </summary>
        /// <param name="source">The gradient's elements.</param>
        /// <param name="offset">The parameter's offset in the bucket.</param>
        /// <param name="inSlot">The gradient is already in this process's slot (its product wrote it there): nothing to copy.</param>
        public void Put(Array source, int offset, bool inSlot = false)
        {
            int i = System.Array.IndexOf(Offsets, offset);
            int end = offset + Parameters[i].Numel;
            if (inSlot) _sources[i] = null; // the own chunk is summed from the slot
            else if (Shared)
            {
                _sources[i] = source;
                var (ownStart, ownEnd) = OwnChunk;
                CopyRange(source, offset, offset, Math.Min(end, ownStart));
                CopyRange(source, offset, Math.Max(offset, ownEnd), end);
            }
            else CopyRange(source, offset, offset, end);
            if (!_arrived[i]) { _arrived[i] = true; Pending--; }
        }

        /// <summary>Copies bucket values [from, to) from <paramref name="source"/>, which holds the values from <paramref name="offset"/> on.</summary>
        private void CopyRange(Array source, int offset, int from, int to)
        {
            if (from >= to) return;
            if (_dtype == DType.Float32) ((float[])source).AsSpan(from - offset, to - from).CopyTo(Floats[from..to]);
            else ((double[])source).AsSpan(from - offset, to - from).CopyTo(Doubles[from..to]);
        }

        /// <summary>Declares to a capture the gradient tensors <see cref="Complete"/> writes the means into.</summary>
        public void DeclareGradients(Capture capture)
        {
            foreach (var g in _gradients) capture.Writes(g);
        }

        /// <summary>Zeros for the parameters the pass sent no gradient to, so that the bucket can be reduced.</summary>
        public void FillMissing()
        {
            for (int i = 0; i < Parameters.Length; i++)
            {
                if (_arrived[i]) continue;
                if (_dtype == DType.Float32) Floats.Slice(Offsets[i], Parameters[i].Numel).Clear();
                else Doubles.Slice(Offsets[i], Parameters[i].Numel).Clear();
                _sources[i] = null; // the zeros are in the slot, this process's chunk too
                _arrived[i] = true;
                Pending--;
            }
        }

        public void Start()
        {
            if (_group.WorldSize == 1) return;
            _inFlight = true;
            if (Shared)
            {
                foreach (var d in _deferred) d.Pending = false; // the others may overwrite their means once this pass is published
                // The reduction itself runs at the end of the pass: with one process per core there is no idle core
                // for it to overlap with, and summing needs every process's values anyway.
                _sharedFloat?.Publish();
                _sharedDouble?.Publish();
                return;
            }
            _deterministic = _group.DeterministicReduction;
            if (_deterministic) _request = _group.StartSum(_data, _count, Datatype, _dtype.ElementSize(), ref _gathered);
            else if (_ringFloat is not null) _ringFloat.Start();
            else _ringDouble!.Start();
        }

        /// <summary>Lets MPI move this bucket's data; true once its reduction is complete (or none is in flight, or it goes through shared memory).</summary>
        public bool Progress()
        {
            if (!_inFlight || Shared) return true;
            if (_deterministic) return _group.Test(ref _request);
            return _ringFloat?.Progress() ?? _ringDouble!.Progress();
        }

        /// <summary>Waits for the reduction, then sets every parameter's gradient to the mean; ready for the next pass.</summary>
        /// <param name="waitTicks">Adds the time spent waiting for the other processes.</param>
        /// <param name="deferOthersMeans">Through shared memory: copy only this process's chunk of each mean now and the rest when the parameter's <see cref="Tensor.Grad"/> is read (<see cref="DeferredMean"/>).</param>
        /// <param name="stepReadsWindow">Per parameter (null: none), with <paramref name="deferOthersMeans"/>: the replayed sharded step reads this process's chunk of the mean in the window, so none of it is copied now (all of it is deferred).</param>
        public void Complete(ref long waitTicks, bool deferOthersMeans, bool[]? stepReadsWindow = null)
        {
            bool divide = false;
            if (_inFlight)
            {
                if (Shared)
                {
                    _sharedFloat?.Reduce(ref waitTicks, Offsets, _sources);
                    _sharedDouble?.Reduce(ref waitTicks, Offsets, _sources);
                }
                else
                {
                    long t0 = Stopwatch.GetTimestamp();
                    _group.WaitUntil(_progress, "the gradient all-reduce");
                    waitTicks += Stopwatch.GetTimestamp() - t0;
                    if (_deterministic)
                    {
                        _group.FinishSum(_data, _count, Datatype, _gathered);
                        divide = true; // the rank-ordered sum; the ring's result is already the mean
                    }
                }
            }
            for (int i = 0; i < Parameters.Length; i++)
            {
                var g = _gradients[i];
                if (_dtype == DType.Float32)
                {
                    var slice = Floats.Slice(Offsets[i], g.Numel);
                    if (!_inFlight) slice.CopyTo(g.Span<float>());
                    else if (_sharedFloat is not null && deferOthersMeans) { if (stepReadsWindow?[i] != true) _sharedFloat.CopyOwnMean(Offsets[i], g.Span<float>()); }
                    else if (_sharedFloat is not null) _sharedFloat.CopyMean(Offsets[i], g.Span<float>());
                    else if (divide) TensorPrimitives.Divide(slice, (float)_group.WorldSize, g.Span<float>());
                    else slice.CopyTo(g.Span<float>());
                }
                else
                {
                    var slice = Doubles.Slice(Offsets[i], g.Numel);
                    if (!_inFlight) slice.CopyTo(g.Span<double>());
                    else if (_sharedDouble is not null && deferOthersMeans) { if (stepReadsWindow?[i] != true) _sharedDouble.CopyOwnMean(Offsets[i], g.Span<double>()); }
                    else if (_sharedDouble is not null) _sharedDouble.CopyMean(Offsets[i], g.Span<double>());
                    else if (divide) TensorPrimitives.Divide(slice, (double)_group.WorldSize, g.Span<double>());
                    else slice.CopyTo(g.Span<double>());
                }
                // The engine's gradient goes back to the step's pool instead of to the garbage collector, as ZeroGrad
                // would have sent it: an MLP's first-layer gradient is a large-object-heap array, one per step otherwise.
                var old = Parameters[i].Grad;
                if (!ReferenceEquals(old, g)) TensorScope.Adopt(old);
                Parameters[i].Grad = g;
                _sources[i] = null;
                if (_inFlight && Shared && deferOthersMeans)
                {
                    _deferred[i].Pending = true;
                    _deferred[i].Whole = stepReadsWindow?[i] == true;
                    Parameters[i].DeferGradient(_deferred[i]);
                }
                _arrived[i] = false;
            }
            _inFlight = false;
            Pending = Parameters.Length;
        }
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
