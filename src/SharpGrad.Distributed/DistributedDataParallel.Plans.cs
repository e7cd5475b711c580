using SharpGrad.Optim;

namespace SharpGrad.Distributed;

// Compiled (replayed) steps: the recorded hook and end-of-pass instructions, and the wiring that lets a plan write
// gradients straight into their bucket slots and run the sharded step on the shared window.
public sealed unsafe partial class DistributedDataParallel
{
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
            // Unless the stores are ordinary, a product that would write values another process reads in the slot keeps its array
            // (an ordinary store there waits for that process's core to give the line up; the hook's copy streams them).
            if (WindowStores != WindowStores.Ordinary && !hook.Bucket.InOwnChunk(hook.Offset)) continue;
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
        private bool _deferOthersMeans, _awaitOthers = true;
        private bool[][]? _stepReadsWindow;
        private (bool[] Later, int[] Index)[]? _stepSums;
        private WindowSums? _sums;

        public DistributedDataParallel Owner => owner;

        public void PlanLowered(Instruction[] plan, Array? result)
        {
            owner.WireGradientProductsToSlots(plan, result);
            _deferOthersMeans = owner.MeansReadOnlyByShardedStep(this, plan, result);
            if (_deferOthersMeans) _stepReadsWindow = owner.WireShardedStepToWindow(this, plan, out _stepSums, out _sums);
            _awaitOthers = _stepReadsWindow is null || !owner.LeanSync;
        }

        public override void Run()
        {
            owner.FinishPassCore(buffers, _deferOthersMeans, _stepReadsWindow, _awaitOthers, _stepSums, _sums);
            if (_stepReadsWindow is not null) owner.PrepareImages();
        }
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
    /// window for it (null: the plan is not of that shape and nothing changes). With <see cref="SumInStep"/> (two
    /// processes, <see cref="LeanSync"/>) the step also forms those means itself (<paramref name="sums"/>, set on the
    /// step; <paramref name="stepSums"/>: per bucket, which parameters' sums the end of the pass leaves to it and their
    /// index in the step), so the end of the pass sums only the others.
    /// </summary>
    private bool[][]? WireShardedStepToWindow(FinishPassInstruction self, Instruction[] plan, out (bool[] Later, int[] Index)[]? stepSums, out WindowSums? sums)
    {
        (stepSums, sums) = (null, null);
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
        bool fuse = SumInStep && LeanSync && Group.WorldSize == 2;
        var mine = new nint[parameters.Count];
        var other = new nint[parameters.Count];
        var later = _buckets.Select(b => (Later: new bool[b.Parameters.Length], Index: Enumerable.Repeat(-1, b.Parameters.Length).ToArray())).ToArray();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!_slots.TryGetValue(parameters[i], out var slot) || step.Gradients[i] is not { } g) continue;
            int k = System.Array.IndexOf(_buckets, slot.Bucket), j = System.Array.IndexOf(slot.Bucket.Offsets, slot.Offset);
            if (!ReferenceEquals(slot.Bucket.Gradients[j].Storage, g) || step.Ranges[i] != _shard.Range(i)) continue;
            (means[i], updated[i]) = slot.Bucket.WindowAddresses(slot.Offset);
            reads[k][j] = true;
            if (!fuse || (other[i] = slot.Bucket.OtherSlotAddress(slot.Offset)) == 0) continue;
            mine[i] = slot.Bucket.SlotAddress(slot.Offset);
            (later[k].Later[j], later[k].Index[j]) = (true, i);
        }
        step.Window = (means, updated);
        step.Stores = WindowStores switch { WindowStores.Ordinary => null, WindowStores.Streaming => StoreChooser.Always, _ => _stores };
        if (fuse)
        {
            step.Sums = sums = new WindowSums(mine, other, Group.Rank == 0);
            stepSums = later;
            StepSumPlans++;
        }
        gather.OwnWritten = reads;
        if (ParameterImages && LeanSync && Group.WorldSize == 2) WireParameterImages(plan, stepAt, gatherAt, reads, updated);
        WindowedStepPlans++;
        return reads;
    }

    /// <summary>
    /// <see cref="ParameterImages"/>: for each parameter the wired step updates in the window (<paramref name="reads"/>)
    /// whose array the plan reads only as the B operand of matrix products (a Linear's weight in its forward and input-gradient
    /// products) that run before the pass's last gradient hook, besides the step and its gather: the step updates its
    /// range in this process's image of the parameter and writes it into the other process's image
    /// (<paramref name="updated"/> is pointed there), the other process does the same, the gather copies nothing for it
    /// (it only makes the image current) and the products read the image. The parameter's array is written from the image
    /// when anything outside the plan asks for the tensor's storage (<see cref="ParameterImage"/>). Safe because the other
    /// process writes this process's image only in its step, after this process has published the pass's inputs, and
    /// so after this process's products of the pass have read it; and this process reads it again only after the gather.
    /// </summary>
    private void WireParameterImages(Instruction[] plan, int stepAt, int gatherAt, bool[][] reads, nint[] updated)
    {
        var step = (ShardedStepInstruction)plan[stepAt];
        var gather = (OptimizerShard.GatherInstruction)plan[gatherAt];
        int lastHook = -1;
        for (int k = 0; k < plan.Length; k++)
            if (plan[k] is GradientReadyInstruction h && ReferenceEquals(h.Owner, this)) lastHook = k;
        var parameters = _shard!.Optimizer.Parameters;
        var images = new nint[parameters.Count];
        var byBucket = new ParameterImage?[_buckets.Length][];
        var products = new List<Instruction>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (!_slots.TryGetValue(p, out var slot)) continue;
            int b = System.Array.IndexOf(_buckets, slot.Bucket), j = System.Array.IndexOf(slot.Bucket.Offsets, slot.Offset);
            if (!reads[b][j] || updated[i] == 0) continue;
            var array = p.Storage;
            products.Clear();
            bool alone = true;
            for (int k = 0; k < plan.Length && alone; k++)
            {
                bool r = System.Array.IndexOf(plan[k].ReadSet, array) >= 0, w = System.Array.IndexOf(plan[k].WriteSet, array) >= 0;
                if (!r && !w || k == stepAt || k == gatherAt) continue;
                bool product = plan[k] switch
                {
                    GemmInstruction<float> g => g.CanRedirectInputB(array),
                    GemmInstruction<double> g => g.CanRedirectInputB(array),
                    _ => false,
                };
                if (product && !w && k < lastHook) products.Add(plan[k]);
                else alone = false;
            }
            if (!alone || products.Count == 0) continue;
            var (own, other) = slot.Bucket.ImageAddresses(slot.Offset);
            if (own == 0) continue;
            if (!_images.TryGetValue(p, out var image)) _images[p] = image = new ParameterImage(p, array, own);
            foreach (var product in products)
                _ = product switch
                {
                    GemmInstruction<float> g => g.RedirectInputB(array, image),
                    GemmInstruction<double> g => g.RedirectInputB(array, image),
                    _ => false,
                };
            images[i] = own;
            updated[i] = other;
            (byBucket[b] ??= new ParameterImage?[slot.Bucket.Parameters.Length])[j] = image;
            ImagedParameters++;
        }
        if (System.Array.TrueForAll(images, a => a == 0)) return;
        step.Images = images;
        gather.Images = byBucket;
        _stepImages = [.. _images.Values];
    }

    /// <summary>
    /// Before a wired step (<see cref="WireParameterImages"/>): where an image is not current (the array was asked for
    /// since the last step, or no step wrote the image yet), this process's range of the parameter goes from the array
    /// into the image, where the step updates it.
    /// </summary>
    private void PrepareImages()
    {
        foreach (var image in _stepImages)
        {
            if (image.Current) continue;
            var p = image.Tensor;
            var slot = _slots[p];
            var (start, end) = slot.Bucket.OwnChunk;
            int a = Math.Max(start, slot.Offset), b = Math.Min(end, slot.Offset + p.Numel);
            if (a >= b) continue;
            if (image.Array is float[] f) f.AsSpan(a - slot.Offset, b - a).CopyTo(new Span<float>((float*)image.Address + (a - slot.Offset), b - a));
            else ((double[])image.Array).AsSpan(a - slot.Offset, b - a).CopyTo(new Span<double>((double*)image.Address + (a - slot.Offset), b - a));
        }
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

    /// <summary>
    /// <see cref="WindowStores.Adaptive"/>: in cycles of <see cref="Cycle"/> replayed sharded steps, the first
    /// <see cref="Probe"/> with non-temporal stores, the next <see cref="Probe"/> with ordinary ones, the rest with the
    /// kind whose fastest update of its probe was faster (the update writes this process's chunk of the parameters into
    /// the window, so it shows which stores cost less where the processes run now; the fastest of several, as other
    /// work on the machine only adds time). The hooks of a pass use the kind of the update before. A process's choice
    /// changes no value and nothing another process waits for, so the processes need not agree.
    /// </summary>
    private sealed class StoreChooser : IWindowStoreChooser
    {
        private const int Probe = 8, Cycle = 520;
        private long _bestStreaming = long.MaxValue, _bestOrdinary = long.MaxValue;
        private int _at;

        /// <summary>A chooser that always streams (<see cref="WindowStores.Streaming"/>).</summary>
        public static readonly IWindowStoreChooser Always = new Fixed();

        public bool Stream { get; private set; } = true;

        /// <summary>How many updates observed ran with non-temporal stores (for measurements).</summary>
        public long Streamed { get; private set; }

        public void Observe(long ticks)
        {
            if (Stream) Streamed++;
            if (_at < Probe) _bestStreaming = Math.Min(_bestStreaming, ticks);
            else if (_at < 2 * Probe) _bestOrdinary = Math.Min(_bestOrdinary, ticks);
            if (++_at == Cycle) (_at, _bestStreaming, _bestOrdinary) = (0, long.MaxValue, long.MaxValue);
            Stream = _at < Probe || (_at >= 2 * Probe && _bestStreaming <= _bestOrdinary);
        }

        private sealed class Fixed : IWindowStoreChooser
        {
            public bool Stream => true;

            public void Observe(long ticks) { }
        }
    }
}
