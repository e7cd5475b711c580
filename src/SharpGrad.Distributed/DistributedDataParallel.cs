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
/// into its bucket as soon as the backward pass has finished it; a full bucket's all-reduce starts at once, while the
/// backward pass goes on. Buckets start strictly in bucket order on every process (MPI requires the same order), so the
/// reduction, and with <see cref="ProcessGroup.DeterministicReduction"/> its result, does not depend on timing. When the
/// pass ends the remaining buckets start (a parameter the pass did not reach counts as a zero gradient), all are waited
/// for, and each parameter's <see cref="Tensor.Grad"/> becomes the mean.</para>
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
                    buckets.Add(new Bucket(current, dtype));
                    (current, bytes) = ([], 0);
                }
                current.Add(p);
                bytes += (long)p.Numel * dtype.ElementSize();
            }
            if (current.Count > 0) buckets.Add(new Bucket(current, dtype));
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

    private void OnGradientReady(Tensor parameter)
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
        for (int i = 0; i < _nextToStart; i++) if (_buckets[i].Request != 0) Group.Test(ref _buckets[i].Request);
    }

    /// <summary>Starts, in bucket order, every bucket whose gradients are all in.</summary>
    private void StartReadyBuckets()
    {
        while (_nextToStart < _buckets.Length && _buckets[_nextToStart].Pending == 0)
            _buckets[_nextToStart++].Start(Group);
    }

    private void FinishPass()
    {
        _passActive = false;
        foreach (var bucket in _buckets) bucket.FillMissing();
        StartReadyBuckets();
        foreach (var bucket in _buckets) bucket.Complete(Group);
        if (BroadcastBuffers && Group.WorldSize > 1)
            foreach (var (_, b) in Module.NamedBuffers()) Group.Broadcast(b, 0);
    }

    /// <summary>Removes the gradient hooks: the module trains alone again.</summary>
    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
    }

    /// <summary>
    /// A run of same-dtype gradients reduced by one collective: a pinned flat buffer (it stays at one address while MPI
    /// works on it) and, per parameter, its offset and the gradient tensor it receives when the reduction is done.
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
        public int Pending;
        public nint Request;
        private byte[]? _gathered;

        public Bucket(List<Tensor> parameters, DType dtype)
        {
            Parameters = [.. parameters];
            Offsets = new int[Parameters.Length];
            _gradients = new Tensor[Parameters.Length];
            _arrived = new bool[Parameters.Length];
            _dtype = dtype;
            for (int i = 0; i < Parameters.Length; i++)
            {
                Offsets[i] = _count;
                _count = checked(_count + Parameters[i].Numel);
                _gradients[i] = Tensor.Zeros(Parameters[i].Shape, dtype);
            }
            _buffer = dtype == DType.Float32 ? GC.AllocateArray<float>(_count, pinned: true) : GC.AllocateArray<double>(_count, pinned: true);
            Pending = Parameters.Length;
        }

        private void* Address => (void*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);

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

        public void Start(ProcessGroup group)
        {
            if (group.WorldSize == 1) return;
            Request = group.StartSum(Address, _count, _dtype == DType.Float32 ? MpiNative.Float : MpiNative.Double, _dtype.ElementSize(), out _gathered);
        }

        /// <summary>Waits for the reduction, then sets every parameter's gradient to the mean; ready for the next pass.</summary>
        public void Complete(ProcessGroup group)
        {
            if (group.WorldSize > 1)
            {
                group.Wait(ref Request, "the gradient all-reduce");
                group.FinishSum(Address, _count, _dtype == DType.Float32 ? MpiNative.Float : MpiNative.Double, _gathered);
                _gathered = null;
            }
            for (int i = 0; i < Parameters.Length; i++)
            {
                var g = _gradients[i];
                if (_dtype == DType.Float32)
                    TensorPrimitives.Divide(((float[])_buffer).AsSpan(Offsets[i], g.Numel), (float)group.WorldSize, g.Span<float>());
                else TensorPrimitives.Divide(((double[])_buffer).AsSpan(Offsets[i], g.Numel), (double)group.WorldSize, g.Span<double>());
                Parameters[i].Grad = g;
                _arrived[i] = false;
            }
            Pending = Parameters.Length;
        }
    }
}
