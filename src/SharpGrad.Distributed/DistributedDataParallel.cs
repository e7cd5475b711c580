using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SharpGrad.NN;

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
    private bool _passActive;
    private int _nextToStart;
    private long _hookTicks, _waitTicks, _finishTicks;
    private int _passes;

    /// <summary>Wraps <paramref name="module"/> for data-parallel training over <paramref name="group"/>.</summary>
    /// <param name="module">The model; its parameters and buffers are overwritten with rank 0's.</param>
    /// <param name="group">The processes (from <see cref="ProcessGroup.InitMpi"/>).</param>
    /// <param name="bucketCapBytes">Gradient bytes per all-reduce (PyTorch: <c>bucket_cap_mb</c>); smaller buckets start earlier, larger ones cost fewer messages.</param>
    /// <param name="broadcastBuffers">Copy rank 0's buffers (BatchNorm running statistics) to every process after each backward pass (PyTorch's default).</param>
    public DistributedDataParallel(Module module, ProcessGroup group, int bucketCapBytes = 1 << 20, bool broadcastBuffers = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketCapBytes);
        Module = RegisterModule("module", module);
        Group = group;
        BroadcastBuffers = broadcastBuffers;

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
                    buckets.Add(new Bucket(current, dtype, group, buckets.Count));
                    (current, bytes) = ([], 0);
                }
                current.Add(p);
                bytes += (long)p.Numel * dtype.ElementSize();
            }
            if (current.Count > 0) buckets.Add(new Bucket(current, dtype, group, buckets.Count));
        }
        _buckets = [.. buckets];
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
        long t0 = Stopwatch.GetTimestamp();
        OnGradientReadyCore(parameter);
        _hookTicks += Stopwatch.GetTimestamp() - t0;
    }

    private void OnGradientReadyCore(Tensor parameter)
    {
        if (!_passActive)
        {
            _passActive = true;
            _nextToStart = 0;
            BucketsStartedDuringBackward = 0;
            Autograd.QueueCallback(FinishPass);
        }
        var (bucket, offset) = _slots[parameter];
        bucket.Put(parameter, offset);
        if (bucket.Pending == 0)
        {
            StartReadyBuckets();
            BucketsStartedDuringBackward = _nextToStart;
        }
        // Let MPI move the data of buckets already started (Open MPI progresses only inside MPI calls).
        for (int i = 0; i < _nextToStart; i++) _buckets[i].Progress();
    }

    /// <summary>Starts, in bucket order, every bucket whose gradients are all in.</summary>
    private void StartReadyBuckets()
    {
        while (_nextToStart < _buckets.Length && _buckets[_nextToStart].Pending == 0)
            _buckets[_nextToStart++].Start();
    }

    private void FinishPass()
    {
        long t0 = Stopwatch.GetTimestamp();
        _passActive = false;
        foreach (var bucket in _buckets) bucket.FillMissing();
        StartReadyBuckets();
        foreach (var bucket in _buckets) bucket.Complete(ref _waitTicks);
        if (BroadcastBuffers && Group.WorldSize > 1)
            foreach (var (_, b) in Module.NamedBuffers()) Group.Broadcast(b, 0);
        _passes++;
        _finishTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>Removes the gradient hooks: the module trains alone again.</summary>
    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
    }

    /// <summary>
    /// A run of same-dtype gradients reduced together: a pinned flat buffer (it stays at one address while MPI works on
    /// it), reduced by a <see cref="RingAllReduce{T}"/> (or, with <see cref="ProcessGroup.DeterministicReduction"/>, by an
    /// all-gather summed in rank order), and, per parameter, its offset and the gradient tensor it receives the mean in.
    /// </summary>
    private sealed class Bucket
    {
        public readonly Tensor[] Parameters;
        public readonly int[] Offsets;
        private readonly Tensor[] _gradients;
        private readonly bool[] _arrived;
        private readonly DType _dtype;
        private readonly Array _buffer;
        private readonly int _count;
        private readonly ProcessGroup _group;
        private readonly RingAllReduce<float>? _ringFloat;
        private readonly RingAllReduce<double>? _ringDouble;
        private readonly Func<bool> _progress;
        public int Pending;
        private nint _request;
        private byte[]? _gathered;
        private bool _inFlight, _deterministic;

        public Bucket(List<Tensor> parameters, DType dtype, ProcessGroup group, int tag)
        {
            Parameters = [.. parameters];
            Offsets = new int[Parameters.Length];
            _gradients = new Tensor[Parameters.Length];
            _arrived = new bool[Parameters.Length];
            _dtype = dtype;
            _group = group;
            for (int i = 0; i < Parameters.Length; i++)
            {
                Offsets[i] = _count;
                _count = checked(_count + Parameters[i].Numel);
                _gradients[i] = Tensor.Zeros(Parameters[i].Shape, dtype);
            }
            if (dtype == DType.Float32)
            {
                var buffer = GC.AllocateArray<float>(_count, pinned: true);
                _buffer = buffer;
                if (group.WorldSize > 1) _ringFloat = new RingAllReduce<float>(group, buffer, MpiNative.Float, tag);
            }
            else
            {
                var buffer = GC.AllocateArray<double>(_count, pinned: true);
                _buffer = buffer;
                if (group.WorldSize > 1) _ringDouble = new RingAllReduce<double>(group, buffer, MpiNative.Double, tag);
            }
            _progress = Progress;
            Pending = Parameters.Length;
        }

        private void* Address => (void*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);

        private nint Datatype => _dtype == DType.Float32 ? MpiNative.Float : MpiNative.Double;

        public void Put(Tensor parameter, int offset)
        {
            int i = System.Array.IndexOf(Offsets, offset);
            var grad = parameter.Grad!;
            if (_dtype == DType.Float32) grad.Span<float>().CopyTo(((float[])_buffer).AsSpan(offset));
            else grad.Span<double>().CopyTo(((double[])_buffer).AsSpan(offset));
            if (!_arrived[i]) { _arrived[i] = true; Pending--; }
        }

        /// <summary>Zeros for the parameters the pass sent no gradient to, so that the bucket can be reduced.</summary>
        public void FillMissing()
        {
            for (int i = 0; i < Parameters.Length; i++)
            {
                if (_arrived[i]) continue;
                if (_dtype == DType.Float32) ((float[])_buffer).AsSpan(Offsets[i], Parameters[i].Numel).Clear();
                else ((double[])_buffer).AsSpan(Offsets[i], Parameters[i].Numel).Clear();
                _arrived[i] = true;
                Pending--;
            }
        }

        public void Start()
        {
            if (_group.WorldSize == 1) return;
            _inFlight = true;
            _deterministic = _group.DeterministicReduction;
            if (_deterministic) _request = _group.StartSum(Address, _count, Datatype, _dtype.ElementSize(), ref _gathered);
            else if (_ringFloat is not null) _ringFloat.Start();
            else _ringDouble!.Start();
        }

        /// <summary>Lets MPI move this bucket's data; true once its reduction is complete (or none is in flight).</summary>
        public bool Progress()
        {
            if (!_inFlight) return true;
            if (_deterministic) return _group.Test(ref _request);
            return _ringFloat?.Progress() ?? _ringDouble!.Progress();
        }

        /// <summary>Waits for the reduction, then sets every parameter's gradient to the mean; ready for the next pass.</summary>
        public void Complete(ref long waitTicks)
        {
            bool divide = false;
            if (_inFlight)
            {
                long t0 = Stopwatch.GetTimestamp();
                _group.WaitUntil(_progress, "the gradient all-reduce");
                waitTicks += Stopwatch.GetTimestamp() - t0;
                _inFlight = false;
                if (_deterministic)
                {
                    _group.FinishSum(Address, _count, Datatype, _gathered);
                    divide = true; // the rank-ordered sum; the ring's result is already the mean
                }
            }
            for (int i = 0; i < Parameters.Length; i++)
            {
                var g = _gradients[i];
                if (_dtype == DType.Float32)
                {
                    var slice = ((float[])_buffer).AsSpan(Offsets[i], g.Numel);
                    if (divide) TensorPrimitives.Divide(slice, (float)_group.WorldSize, g.Span<float>());
                    else slice.CopyTo(g.Span<float>());
                }
                else
                {
                    var slice = ((double[])_buffer).AsSpan(Offsets[i], g.Numel);
                    if (divide) TensorPrimitives.Divide(slice, (double)_group.WorldSize, g.Span<double>());
                    else slice.CopyTo(g.Span<double>());
                }
                // The engine's gradient goes back to the step's pool instead of to the garbage collector, as ZeroGrad
                // would have sent it: an MLP's first-layer gradient is a large-object-heap array, one per step otherwise.
                var old = Parameters[i].Grad;
                if (!ReferenceEquals(old, g)) TensorScope.Adopt(old);
                Parameters[i].Grad = g;
                _arrived[i] = false;
            }
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
