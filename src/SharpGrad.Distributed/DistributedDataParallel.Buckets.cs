using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SharpGrad.Optim;

namespace SharpGrad.Distributed;

// The buckets the gradients are reduced in, and the sharded optimizer step over this process's chunk of them.
public sealed unsafe partial class DistributedDataParallel
{
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

        private void Gather(bool[][]? ownWritten = null, ParameterImage?[][]? images = null)
        {
            for (int k = 0; k < _owner._buckets.Length; k++)
                _owner._buckets[k].Gather(_owner._buckets[k].Parameters, ref _waitTicks, ownWritten?[k], images?[k]);
        }

        /// <summary>The recorded gather of the updated parameters after a sharded optimizer step.</summary>
        public sealed class GatherInstruction(OptimizerShard shard) : Instruction
        {
            public OptimizerShard Shard => shard;

            /// <summary>Per bucket and parameter: whether the replayed step already wrote its own chunk into the gather area (<see cref="WireShardedStepToWindow"/>).</summary>
            public bool[][]? OwnWritten { get; set; }

            /// <summary>
            /// Per bucket (null: none) and parameter: its image, where every process's replayed step wrote its updated chunk
            /// (<see cref="ParameterImages"/>), so the gather copies nothing for it and makes the image current.
            /// </summary>
            public ParameterImage?[][]? Images { get; set; }

            public override void Run() => shard.Gather(OwnWritten, Images);
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
                // A replay whose end of the pass left the others' sums to the gather's wait (LeanSync): they are written
                // once the gather has run, which the replay does before anything reads a gradient; waited for otherwise.
                long ignored = 0;
                bucket._sharedFloat?.AwaitResults(ref ignored);
                bucket._sharedDouble?.AwaitResults(ref ignored);
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

        /// <summary>Whether the parameter at <paramref name="offset"/> lies wholly in this process's own chunk (no other process reads its values in the slot).</summary>
        public bool InOwnChunk(int offset) =>
            OwnChunk.Start <= offset && offset + Parameters[System.Array.IndexOf(Offsets, offset)].Numel <= OwnChunk.End;

        /// <summary>Through shared memory: the addresses of the parameter at <paramref name="offset"/>'s element 0 in this process's result area and gather area.</summary>
        public (nint Mean, nint Gathered) WindowAddresses(int offset) =>
            _sharedFloat is { } f ? (f.MeanAddress(offset), f.GatheredAddress(offset)) :
            _sharedDouble is { } d ? (d.MeanAddress(offset), d.GatheredAddress(offset)) : (0, 0);

        /// <summary>Through shared memory with two processes: the addresses of the parameter at <paramref name="offset"/>'s element 0 in this process's image area and the other process's (0 otherwise).</summary>
        public (nint Own, nint Other) ImageAddresses(int offset) =>
            _group.WorldSize != 2 ? (0, 0) :
            _sharedFloat is { } f ? (f.ImageAddress(_group.Rank, offset), f.ImageAddress(1 - _group.Rank, offset)) :
            _sharedDouble is { } d ? (d.ImageAddress(_group.Rank, offset), d.ImageAddress(1 - _group.Rank, offset)) : (0, 0);

        /// <summary>Through shared memory with two processes: the address of the parameter at <paramref name="offset"/>'s element 0 in the other process's slot (0 otherwise).</summary>
        public nint OtherSlotAddress(int offset) =>
            _group.WorldSize != 2 ? 0 :
            _sharedFloat is { } f ? f.SlotAddress(1 - _group.Rank, offset) :
            _sharedDouble is { } d ? d.SlotAddress(1 - _group.Rank, offset) : 0;

        /// <summary>The values [Start, End) of the bucket this process reduces (all of them without shared memory).</summary>
        public (int Start, int End) OwnChunk => _sharedFloat?.OwnChunk ?? _sharedDouble?.OwnChunk ?? (0, _count);

        /// <summary>
        /// Gives every process the others' chunks of <paramref name="tensors"/> (laid out as the bucket's parameters;
        /// null: skipped), each process's own chunk being the one it holds current: a collective, through shared memory.
        /// </summary>
        /// <param name="tensors">The tensors, laid out as the bucket's parameters (null: skipped).</param>
        /// <param name="waitTicks">Adds the time spent waiting for the other processes.</param>
        /// <param name="ownWritten">Per tensor (null: none): its own chunk is already in this process's gather area.</param>
        /// <param name="images">Per tensor (null: none): its image, which the replayed step of every process wrote its chunk into (<see cref="ParameterImages"/>): nothing to copy, the image becomes current.</param>
        public void Gather(Tensor?[] tensors, ref long waitTicks, bool[]? ownWritten = null, ParameterImage?[]? images = null)
        {
            if (_sharedFloat is not null) Gather(_sharedFloat, tensors, ref waitTicks, ownWritten, images);
            else if (_sharedDouble is not null) Gather(_sharedDouble, tensors, ref waitTicks, ownWritten, images);
        }

        private void Gather<T>(SharedMemoryAllReduce<T> shared, Tensor?[] tensors, ref long waitTicks, bool[]? ownWritten,
            ParameterImage?[]? images) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var (start, end) = shared.OwnChunk;
            var own = shared.BeginGather(ref waitTicks);
            for (int i = 0; i < tensors.Length; i++)
            {
                if (tensors[i] is not { } t || ownWritten is not null && ownWritten[i]) continue;
                int a = Math.Max(start, Offsets[i]), b = Math.Min(end, Offsets[i] + t.Numel);
                if (a < b) t.Span<T>().Slice(a - Offsets[i], b - a).CopyTo(own[(a - start)..]);
            }
            if (images is not null) shared.MarkImagesWritten();
            shared.EndGather(ref waitTicks);
            // Every process must have written its chunk where this one reads it (all wired to images, or none).
            if (shared.OthersWroteImages() != (images is not null))
                throw new InvalidOperationException("DistributedDataParallel: the processes' steps disagree on where the parameters go (ParameterImages): " +
                    "every process must replay the same plan.");
            for (int i = 0; i < tensors.Length; i++)
            {
                if (images?[i] is { } image) image.MarkCurrent();
                else if (tensors[i] is { } t) shared.CopyGathered(Offsets[i], t.Span<T>());
            }
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
        /// <param name="stream">Through shared memory: copy with non-temporal stores (<see cref="Kernels.StreamingCopy"/>).</param>
        public void Put(Array source, int offset, bool inSlot = false, bool stream = false)
        {
            int i = System.Array.IndexOf(Offsets, offset);
            int end = offset + Parameters[i].Numel;
            if (inSlot) _sources[i] = null; // the own chunk is summed from the slot
            else if (Shared)
            {
                _sources[i] = source;
                var (ownStart, ownEnd) = OwnChunk;
                CopyRange(source, offset, offset, Math.Min(end, ownStart), stream);
                CopyRange(source, offset, Math.Max(offset, ownEnd), end, stream);
            }
            else CopyRange(source, offset, offset, end);
            if (!_arrived[i]) { _arrived[i] = true; Pending--; }
        }

        /// <summary>Copies bucket values [from, to) from <paramref name="source"/>, which holds the values from <paramref name="offset"/> on.</summary>
        private void CopyRange(Array source, int offset, int from, int to, bool stream = false)
        {
            if (from >= to) return;
            if (stream && _dtype == DType.Float32) Kernels.StreamingCopy.Copy<float>(((float[])source).AsSpan(from - offset, to - from), (float*)_data + from);
            else if (stream) Kernels.StreamingCopy.Copy<double>(((double[])source).AsSpan(from - offset, to - from), (double*)_data + from);
            else if (_dtype == DType.Float32) ((float[])source).AsSpan(from - offset, to - from).CopyTo(Floats[from..to]);
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
        /// <param name="awaitOthers">Through shared memory (default true): wait for the other processes' chunks of the means; false only with
        /// <paramref name="deferOthersMeans"/> when a gather right after the pass waits for them (LeanSync).</param>
        /// <param name="stepSums">Per parameter (null: none), with <paramref name="stepReadsWindow"/> and not <paramref name="awaitOthers"/>: the
        /// index, in <paramref name="sums"/>, of the optimizer parameter whose replayed sharded step forms this process's chunk of the mean itself
        /// (-1: summed here); its operands are left where they are, and <paramref name="sums"/> told where this process's are.</param>
        /// <param name="sums">The step's operands (<see cref="ShardedStepInstruction.Sums"/>), with <paramref name="stepSums"/>.</param>
        public void Complete(ref long waitTicks, bool deferOthersMeans, bool[]? stepReadsWindow = null, bool awaitOthers = true,
            (bool[] Later, int[] Index)? stepSums = null, WindowSums? sums = null)
        {
            bool divide = false;
            if (_inFlight)
            {
                if (Shared)
                {
                    bool wait = awaitOthers || !deferOthersMeans;
                    var later = wait ? null : stepSums?.Later;
                    _sharedFloat?.Reduce(ref waitTicks, Offsets, _sources, wait, later);
                    _sharedDouble?.Reduce(ref waitTicks, Offsets, _sources, wait, later);
                    if (later is not null)
                        for (int i = 0; i < later.Length; i++)
                            if (later[i]) sums!.MineArrays[stepSums!.Value.Index[i]] = _sources[i];
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
