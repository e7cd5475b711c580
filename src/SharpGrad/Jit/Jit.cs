namespace SharpGrad;

/// <summary>
/// Capture and replay of training steps (the idea of tinygrad's <c>TinyJit</c> and of CUDA graphs): a step that does
/// the same kernels on the same buffers every time is recorded once and then re-run as a flat list of kernel launches,
/// with no tape, no closures, no tensors and no allocation per call.
/// </summary>
public static class Jit
{
    /// <summary>
    /// Wraps <paramref name="step"/> (typically forward, loss, <see cref="Optim.Optimizer.ZeroGrad"/>,
    /// <see cref="Tensor.Backward()"/> and <see cref="Optim.Optimizer.Step"/>, written as for eager mode, returning the
    /// loss) into a <see cref="CompiledStep"/>. The first <paramref name="warmupCalls"/> calls for a given set of input
    /// shapes and dtypes run eagerly (so that lazily created state, such as an optimizer's moments, exists); the next one
    /// runs eagerly too while every kernel it launches is recorded; later calls with inputs of the same shapes and dtypes
    /// replay the record. See <see cref="CompiledStep"/> for what a step may and may not do.
    /// </summary>
    /// <param name="step">The step; it gets the tensors passed to <see cref="CompiledStep.Run"/> (same shapes, dtypes and values, not the same objects).</param>
    /// <param name="warmupCalls">Eager calls per input signature before the capture (≥ 0; default 1).</param>
    public static CompiledStep Compile(Func<Tensor[], Tensor> step, int warmupCalls = 1)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupCalls);
        return new CompiledStep(step, warmupCalls);
    }

    /// <summary>
    /// The one data-dependent branch a compiled step may take: whether the one-element tensor <paramref name="value"/>
    /// satisfies <paramref name="condition"/>, for an early exit such as
    /// <c>if (!Jit.Check(loss, double.IsFinite)) return loss;</c> before the backward pass and the update. Eagerly it
    /// reads the value and tests it. While a step is captured it does the same and records a guard: a replay tests the
    /// value it has just computed and, when the condition fails, stops there, so the launches after it (the backward pass,
    /// the optimizer step) are skipped exactly as the eager step's early return skips them. A capture in which the
    /// condition fails runs the step eagerly from then on (its plan would end at the exit). Outside a compiled step it is
    /// simply <c>condition(value.Item())</c>.
    /// </summary>
    /// <param name="value">A floating-point tensor of one element, computed by the step (e.g. the loss).</param>
    /// <param name="condition">The test; it must not allocate (a replay calls it once per step).</param>
    /// <returns>Whether the condition holds, i.e. whether the step should go on.</returns>
    public static bool Check(Tensor value, Func<double, bool> condition)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(condition);
        if (value.Numel != 1 || !value.DType.IsFloatingPoint())
            throw new ArgumentException($"Jit.Check: the value must be a floating-point tensor of one element, got {value.DType.ToTorchName()} of shape {Shapes.Format(value.ShapeRef)}.", nameof(value));
        if (Capture.Active is not { } capture) return condition(value.Item());
        bool holds = condition(GuardInstruction.Read(value.Storage));
        if (!capture.Recording) return holds;
        if (!holds)
        {
            capture.Fail("the step took its early exit (Jit.Check was false) in the call that was captured");
            return false;
        }
        capture.Launch("Jit.Check");
        capture.Reads(value);
        if (capture.Recording) capture.Add(new GuardInstruction(value.Storage, condition));
        return true;
    }
}

/// <summary>
/// A recorded <see cref="Jit.Check"/>: tests the value its step computed and, when the condition fails, ends the replay
/// (<see cref="Stop"/>, one preallocated exception caught by the plan, so a replay that goes on allocates nothing).
/// </summary>
internal sealed class GuardInstruction(Array storage, Func<double, bool> condition) : Instruction
{
    /// <summary>Thrown (the same instance every time) to end a replay at a failed guard.</summary>
    internal sealed class Stop : Exception
    {
        internal static readonly Stop Instance = new();
    }

    internal static double Read(Array storage) => storage switch
    {
        float[] f => f[0],
        double[] d => d[0],
        _ => throw new ArgumentException("Jit.Check: the value must be float32 or float64."),
    };

    public override void Run()
    {
        if (!condition(Read(storage))) throw Stop.Instance;
    }
}

/// <summary>
/// A step compiled by <see cref="Jit.Compile"/>. <see cref="Run"/> replays the plan captured for the inputs' shapes
/// and dtypes (capturing one first if there is none), or runs the step eagerly.
/// </summary>
/// <remarks>
/// <para>
/// A plan replays exactly the kernels the captured call ran, on the same arrays: the parameters and optimizer state
/// (updated in place), the plan's own copies of the inputs (<see cref="Run"/> copies the inputs into them) and the
/// arrays the captured call allocated for its intermediate results and gradients (kept by the plan, never recycled).
/// The optimizer's learning rate and step count are read at every replay, so schedulers and Adam's bias correction
/// work as in eager mode.
/// </para>
/// <para>
/// Anything a replay could not reproduce is detected during the capture and makes the step run eagerly from then on,
/// with the reason in <see cref="FallbackReason"/>: an op that has no recorded form yet, reading tensor data inside the
/// step (<see cref="Tensor.Item"/>, <see cref="Tensor.ToArray{T}"/>: the step's work may depend on it), drawing random
/// numbers (dropout), <see cref="Tensor.FromArray(float[], int[])"/> inside the step, an input that requires a gradient,
/// or a backward pass that adds to a gradient left by an earlier call. What it cannot detect, and the step must not do:
/// compute with C# values that change between calls (<c>x * lr</c> with a changing <c>lr</c> is replayed with the value
/// of the captured call; pass such values as tensor inputs), or keep state across calls by rebinding a variable to a
/// new tensor (<c>h = h * 0.9 + x</c> with <c>h</c> outside the step; update state in place with
/// <see cref="Tensor.CopyFrom"/> instead).
/// </para>
/// <para>
/// A gradient that the replay applies in the optimizer's pass and that nothing in the step reads (a Linear's weight
/// gradient at batch 1) is written into the parameter's <see cref="Tensor.Grad"/> when that property is next read, with
/// the values an eager step leaves there; a reference to the gradient tensor kept from before a replay shows the
/// values of that later read, not of the replay.
/// </para>
/// </remarks>
public sealed class CompiledStep
{
    private readonly Func<Tensor[], Tensor> _step;
    private readonly int _warmupCalls;
    private readonly List<Plan> _plans = [];
    private readonly List<(Signature Signature, int Calls)> _eagerCalls = [];

    internal CompiledStep(Func<Tensor[], Tensor> step, int warmupCalls)
    {
        _step = step;
        _warmupCalls = warmupCalls;
    }

    /// <summary>
    /// Why the step is not replayed (set once, by the capture that found it; the step then runs eagerly on every call),
    /// or null.
    /// </summary>
    public string? FallbackReason { get; private set; }

    /// <summary>When false, every call runs the step eagerly (as if it had never been compiled). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The number of plans captured (one per input signature seen after its warm-up).</summary>
    public int PlanCount => _plans.Count;

    /// <summary>Whether the last <see cref="Run"/> replayed a plan (false: it ran the step eagerly, or captured).</summary>
    public bool LastRunReplayed { get; private set; }

    /// <summary>The number of recorded kernel launches in the plans, in all.</summary>
    public int InstructionCount
    {
        get
        {
            int n = 0;
            foreach (var p in _plans) n += p.Instructions.Length;
            return n;
        }
    }

    /// <summary>
    /// Runs the step on <paramref name="inputs"/>: replays the plan for their shapes and dtypes, else runs the step (and
    /// captures a plan when the warm-up for this signature is done). Returns the step's result; after a replay or a
    /// capture it is a tensor on the plan's buffer, overwritten by the next call with that signature (read it, or
    /// <see cref="Tensor.Clone"/> it, before). A replay allocates nothing.
    /// </summary>
    public Tensor Run(params ReadOnlySpan<Tensor> inputs)
    {
        LastRunReplayed = false;
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"CompiledStep.Run: input {i} is null.");
        if (Capture.Active is { } outer)
        {
            // Replayed kernels would escape the enclosing capture: run this step eagerly inside it instead.
            return _step(inputs.ToArray());
        }
        if (FallbackReason is null && Enabled)
        {
            foreach (var plan in _plans)
            {
                if (!plan.Signature.Matches(inputs)) continue;
                plan.Replay(inputs);
                LastRunReplayed = true;
                return plan.Result;
            }
            return CaptureOrWarmUp(inputs);
        }
        return _step(inputs.ToArray());
    }

    /// <summary>
    /// Hints that <paramref name="inputs"/> will be the next call's inputs: starts loading their shapes and elements into the
    /// cache (a software prefetch: no copy, no waiting, nothing allocated), so that the next <see cref="Run"/> finds them
    /// there. For loops over examples scattered in memory (one update per example, in a shuffled order), where the next
    /// example is known one step ahead: call it with the next example's tensors, then <see cref="Run"/> the current one.
    /// Results never depend on it.
    /// </summary>
    public void Prefetch(params ReadOnlySpan<Tensor> inputs)
    {
        foreach (var t in inputs)
        {
            if (t is null) continue;
            Kernels.CachePrefetch.Lines(t.ShapeRef);
            Kernels.CachePrefetch.Lines(t.Storage);
        }
    }

    /// <summary>How many calls ahead of the current one <see cref="PrefetchAhead"/> takes its inputs.</summary>
    public const int PrefetchDistance = 3;

    // The inputs given to the last two PrefetchAhead calls (the last first): the later stages of their prefetch.
    private Tensor?[] _ahead1 = [], _ahead2 = [];

    /// <summary>
    /// <see cref="Prefetch"/> for loops that know their inputs <see cref="PrefetchDistance"/> calls ahead (one update per
    /// example in a shuffled order): call it once before every <see cref="Run"/> with the inputs of the call
    /// <see cref="PrefetchDistance"/> calls later. Each call only asks the cache for things whose address it already
    /// has, so it never waits for memory itself: the tensor objects given now, the shape and element arrays' first
    /// lines of those given one call before (their objects are in cache by then), and every line of those given two
    /// calls before (their array headers, which hold the lengths, are in cache by then), the elements into L2 only, so
    /// that they take no L1 lines from the current call. Results never depend on it; it
    /// allocates only while its two rotating lists grow: in its first calls, and when a call passes more tensors than
    /// the lists hold.
    /// </summary>
    public void PrefetchAhead(params ReadOnlySpan<Tensor> inputs)
    {
        foreach (var t in _ahead2)
        {
            if (t is null) continue;
            Kernels.CachePrefetch.Lines(t.ShapeRef);
            // The elements into L2, not L1: they are the next call's, and this call's parameters may need every L1 line.
            if (t.StorageIfAlive is { } storage) Kernels.CachePrefetch.LinesToL2(storage);
        }
        foreach (var t in _ahead1)
        {
            if (t is null) continue;
            Kernels.CachePrefetch.Header(t.ShapeRef);
            Kernels.CachePrefetch.Header(t.StorageIfAlive);
        }
        foreach (var t in inputs) Kernels.CachePrefetch.Object(t);
        // The oldest set's array is reused for the new one.
        var next = _ahead2.Length >= inputs.Length ? _ahead2 : new Tensor?[inputs.Length];
        _ahead2 = _ahead1;
        _ahead1 = next;
        for (int i = 0; i < inputs.Length; i++) next[i] = inputs[i];
        next.AsSpan(inputs.Length).Clear();
    }

    /// <summary>Every recorded instruction of every plan, in order (for tests).</summary>
    internal IEnumerable<Instruction> PlanInstructions => _plans.SelectMany(p => p.Instructions);

    /// <summary>
    /// Replays the plan for <paramref name="inputs"/> <paramref name="reps"/> times and returns, per instruction, its
    /// name and its mean time in nanoseconds over its fastest block of 100 replays (the input copy first, as "inputs"):
    /// the bench runner's profile of a replay.
    /// The timestamps around each instruction add their own cost to every entry. <paramref name="clock"/>, when given, reads
    /// nanoseconds of another clock instead of the wall clock (the bench passes the thread's CPU clock: on a shared machine
    /// the wall clock counts the time the process was not scheduled).
    /// </summary>
    internal (string Name, double Nanoseconds)[] ProfileReplay(Tensor[] inputs, int reps, Func<long>? clock = null)
    {
        foreach (var plan in _plans)
            if (plan.Signature.Matches(inputs)) return plan.Profile(inputs, reps, clock);
        throw new InvalidOperationException("ProfileReplay: no plan for these inputs (run the step until it is captured first).");
    }

    private Tensor CaptureOrWarmUp(ReadOnlySpan<Tensor> inputs)
    {
        foreach (var t in inputs)
        {
            if (t.RequiresGrad)
            {
                FallbackReason = "an input requires a gradient (a plan computes no gradient for its inputs)";
                return _step(inputs.ToArray());
            }
        }
        var signature = Signature.Of(inputs);
        int index = _eagerCalls.FindIndex(e => e.Signature.Equals(signature));
        if (index < 0) { _eagerCalls.Add((signature, 0)); index = _eagerCalls.Count - 1; }
        if (_eagerCalls[index].Calls < _warmupCalls)
        {
            _eagerCalls[index] = (signature, _eagerCalls[index].Calls + 1);
            return _step(inputs.ToArray());
        }

        // The plan's own input buffers (made before the capture starts: a replay copies into them).
        var planInputs = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            planInputs[i] = Tensor.Unscoped((Array)inputs[i].Storage.Clone(), inputs[i].Shape, inputs[i].DType);
        var capture = new Capture();
        Tensor result;
        capture.Begin();
        try { result = _step(planInputs); }
        finally { capture.End(); }
        if (result is null) throw new InvalidOperationException("CompiledStep: the step returned null; it must return a tensor (e.g. the loss).");
        if (capture.Failure is null && !capture.Readable(result.Storage))
            capture.Fail($"the step's result (shape {Shapes.Format(result.ShapeRef)}) is made by an op that has no recorded form" +
                (result.GradFnName is { } n ? $" ({n})" : ""));
        if (capture.Failure is { } reason)
        {
            FallbackReason = reason;
            return result;
        }
        var plan = new Plan(signature, planInputs.Select(t => t.Storage).ToArray(), Fusion.Lower(capture.Instructions, result.Storage),
            Tensor.Unscoped(result.Storage, result.Shape, result.DType));
        _plans.Add(plan);
        return plan.Result;
    }

    /// <summary>The shapes and dtypes of a step's inputs.</summary>
    private sealed class Signature(int[][] shapes, DType[] dtypes) : IEquatable<Signature>
    {
        public static Signature Of(ReadOnlySpan<Tensor> inputs)
        {
            var shapes = new int[inputs.Length][];
            var dtypes = new DType[inputs.Length];
            for (int i = 0; i < inputs.Length; i++) (shapes[i], dtypes[i]) = (inputs[i].Shape, inputs[i].DType);
            return new Signature(shapes, dtypes);
        }

        public bool Matches(ReadOnlySpan<Tensor> inputs)
        {
            if (inputs.Length != shapes.Length) return false;
            for (int i = 0; i < inputs.Length; i++)
                if (inputs[i].DType != dtypes[i] || !SharpGrad.Shapes.Equal(inputs[i].ShapeRef, shapes[i])) return false;
            return true;
        }

        public bool Equals(Signature? other)
        {
            if (other is null || other.Shapes.Length != shapes.Length) return false;
            for (int i = 0; i < shapes.Length; i++)
                if (other.DTypes[i] != dtypes[i] || !SharpGrad.Shapes.Equal(other.Shapes[i], shapes[i])) return false;
            return true;
        }

        public override bool Equals(object? obj) => Equals(obj as Signature);

        public override int GetHashCode() => shapes.Length;

        public int[][] Shapes => shapes;

        public DType[] DTypes => dtypes;
    }

    /// <summary>One captured plan: its input buffers, the recorded launches in order and the result tensor.</summary>
    private sealed class Plan(Signature signature, Array[] inputs, Instruction[] instructions, Tensor result)
    {
        public Signature Signature { get; } = signature;

        public Instruction[] Instructions { get; } = instructions;

        public Tensor Result { get; } = result;

        // The parameter images this plan's products read (ParameterImage); other pending images are written into their
        // arrays before it runs, since the plan reads those arrays.
        private ParameterImage[]? _images;

        private void WriteOtherImages()
        {
            if (ParameterImage.PendingCount == 0) return;
            _images ??= [.. Instructions.Select(i => i switch { GemmInstruction<float> g => g.InputB, GemmInstruction<double> g => g.InputB, _ => null })
                .OfType<ParameterImage>().Distinct()];
            ParameterImage.WritePendingExcept(_images);
        }

        public void Replay(ReadOnlySpan<Tensor> values)
        {
            WriteOtherImages();
            for (int i = 0; i < inputs.Length; i++)
            {
                Array source = values[i].Storage, target = inputs[i];
                if (!ReferenceEquals(source, target)) Array.Copy(source, target, target.Length);
            }
            try
            {
                foreach (var instruction in Instructions) instruction.Run();
            }
            catch (GuardInstruction.Stop)
            {
                // A Jit.Check failed: the rest of the step is skipped, as in the eager step's early return.
            }
        }

        public (string Name, double Nanoseconds)[] Profile(Tensor[] values, int reps, Func<long>? clock)
        {
            Func<long> now = clock ?? System.Diagnostics.Stopwatch.GetTimestamp;
            // Per instruction, the fastest mean over blocks of replays: on a shared machine, the blocks that ran undisturbed.
            const int Block = 100;
            var ticks = new long[Instructions.Length + 1];
            var best = new long[Instructions.Length + 1];
            Array.Fill(best, long.MaxValue);
            int blockReps = Math.Min(Block, reps);
            WriteOtherImages();
            for (int r = 0; r < reps; r++)
            {
                long t0 = now();
                for (int i = 0; i < inputs.Length; i++)
                {
                    Array source = values[i].Storage, target = inputs[i];
                    if (!ReferenceEquals(source, target)) Array.Copy(source, target, target.Length);
                }
                long t1 = now();
                ticks[0] += t1 - t0;
                for (int i = 0; i < Instructions.Length; i++)
                {
                    t0 = t1;
                    Instructions[i].Run();
                    t1 = now();
                    ticks[i + 1] += t1 - t0;
                }
                if ((r + 1) % blockReps == 0)
                {
                    for (int i = 0; i < ticks.Length; i++) best[i] = Math.Min(best[i], ticks[i]);
                    Array.Clear(ticks);
                }
            }
            double scale = (clock is null ? 1e9 / System.Diagnostics.Stopwatch.Frequency : 1.0) / blockReps;
            var result = new (string, double)[ticks.Length];
            result[0] = ("inputs", best[0] * scale);
            for (int i = 0; i < Instructions.Length; i++) result[i + 1] = (Instructions[i].Describe(), best[i + 1] * scale);
            return result;
        }
    }
}
