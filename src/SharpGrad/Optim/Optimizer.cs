using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Optim;

/// <summary>
/// Base of the optimizers (PyTorch: <c>torch.optim.Optimizer</c>). It keeps the parameters in groups with their own
/// hyper-parameters (<see cref="ParamGroup"/>), the step count and the per-parameter state (created lazily on the first
/// step, exportable for checkpoints); a subclass writes only the update of one parameter.
/// </summary>
public abstract partial class Optimizer
{
    /// <summary>The prefix of the state-dict keys that hold the groups' settings: <c>param_groups.{group}.{setting}</c>.</summary>
    public const string GroupKeyPrefix = "param_groups.";

    private readonly Tensor[] _parameters;
    private readonly int[] _groupOf;
    private readonly ParamGroup[] _groups;
    private readonly Dictionary<string, Tensor>[] _state;

    /// <summary>Takes the parameters to optimise (each must require gradients) and the initial learning rate, as one group.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr) { }

    /// <summary>
    /// Takes parameter groups; a group that sets no learning rate gets <paramref name="lr"/>. The subclass fills and checks
    /// its other settings (<see cref="ConfigureGroups"/>).
    /// </summary>
    protected Optimizer(IEnumerable<ParamGroup> groups, double lr)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.ToArray();
        CheckNonNegative(lr, nameof(lr));
        var all = new List<Tensor>();
        var groupOf = new List<int>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g] ?? throw new ArgumentException($"Parameter group {g} is null.", nameof(groups));
            foreach (var p in group.Parameters)
            {
                int i = all.Count;
                if (p is null) throw new ArgumentException($"Parameter {i} (group {g}) is null.", nameof(groups));
                if (!p.RequiresGrad || !p.IsLeaf)
                    throw new ArgumentException($"Parameter {i} (shape {Shapes.Format(p.ShapeRef)}) is not a leaf that requires gradients.", nameof(groups));
                if (!seen.Add(p))
                    throw new ArgumentException($"Parameter {i} (group {g}, shape {Shapes.Format(p.ShapeRef)}) appears more than once; a parameter belongs to one group.", nameof(groups));
                all.Add(p);
                groupOf.Add(g);
            }
            group.Lr ??= lr;
            CheckNonNegative(group.Lr.Value, g, "lr");
            group.InitialLr = group.Lr.Value;
        }
        if (all.Count == 0) throw new ArgumentException("The optimizer got an empty parameter list.", nameof(groups));
        _parameters = [.. all];
        _groupOf = [.. groupOf];
        _state = new Dictionary<string, Tensor>[_parameters.Length];
        for (int i = 0; i < _state.Length; i++) _state[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
    }

    /// <summary>The parameters of every group, in order.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The parameter groups (PyTorch: <c>param_groups</c>); their settings may be changed between steps.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>
    /// The learning rate of the first group; setting it sets every group's (use <see cref="ParamGroups"/> for one group).
    /// </summary>
    public double LearningRate
    {
        get => _groups[0].Lr!.Value;
        set
        {
            foreach (var g in _groups) g.Lr = value;
        }
    }

    /// <summary>The first group's initial learning rate (schedules start from each group's <see cref="ParamGroup.InitialLr"/>).</summary>
    public double InitialLearningRate => _groups[0].InitialLr;

    /// <summary>
    /// Whether running averages that decay below the smallest normal floating-point number (about 1.2e-38 in float32)
    /// are stored as 0 (default true). A weight whose gradient stays 0 (an always-black pixel, say) has moments that
    /// shrink geometrically and turn subnormal after a few hundred steps; x86 computes on subnormals through slow
    /// microcode assists, which made an Adam step over such a model an order of magnitude slower. What is flushed
    /// would move a parameter by less than 1e-30, so the trajectory is unchanged for any parameter that is not itself
    /// nearly 0; set false for IEEE arithmetic throughout (PyTorch's default, <c>torch.set_flush_denormal(False)</c>).
    /// </summary>
    public bool FlushSubnormalState { get; set; } = true;

    /// <summary>Number of completed <see cref="Step"/> calls.</summary>
    public long StepCount { get; protected set; }

    /// <summary>The group of parameter <paramref name="index"/>, whose settings its update uses.</summary>
    protected ParamGroup GroupOf(int index) => _groups[_groupOf[index]];

    /// <summary>
    /// Fills each group's unset settings from the optimizer's arguments and checks them, for the constructor of a
    /// subclass. <paramref name="fill"/> sets the defaults; <see cref="CheckGroup"/> then validates the group, and a
    /// setting outside <paramref name="used"/> is an error naming it.
    /// </summary>
    protected void ConfigureGroups(string optimizer, string[] used, Action<ParamGroup> fill)
    {
        ArgumentNullException.ThrowIfNull(used);
        ArgumentNullException.ThrowIfNull(fill);
        for (int g = 0; g < _groups.Length; g++)
        {
            foreach (var (name, _) in _groups[g].Settings())
                if (name is not ("lr" or "initial_lr") && Array.IndexOf(used, name) < 0)
                    throw new ArgumentException($"Parameter group {g} sets {name}, which {optimizer} does not use (it uses {string.Join(", ", used)}).");
            fill(_groups[g]);
            CheckGroup(_groups[g], g);
        }
    }

    /// <summary>Validates a group's settings; throws an <see cref="ArgumentException"/> naming the group, the setting and the value.</summary>
    protected virtual void CheckGroup(ParamGroup group, int index)
    {
        ArgumentNullException.ThrowIfNull(group);
        CheckNonNegative(group.Lr ?? double.NaN, index, "lr");
    }

    /// <summary>Clears every parameter's gradient (PyTorch: <c>zero_grad(set_to_none=True)</c>).</summary>
    public virtual void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            TensorScope.Adopt(p.Grad);
            p.Grad = null;
        }
    }

    /// <summary>
    /// Updates every parameter that has a gradient, outside the tape (PyTorch: <c>step()</c>). Virtual so that a subclass
    /// can act around the update (e.g. unscale or clip gradients first, then call the base).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public virtual void Step()
    {
        StepCount++;
        using var _ = Autograd.NoGrad();
        // While a compiled step is captured, the update is recorded as one instruction over these gradient arrays.
        var capture = Capture.Active is { Recording: true } c ? c : null;
        var bound = capture is null ? null : new Array?[_parameters.Length];
        var ranges = capture is not null && Shard is not null ? new (int Start, int Count)[_parameters.Length] : null;
        if (capture is null && Shard is null && StepShared()) return;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.Grad is null) continue;
            if (!Shapes.Equal(p.Grad.ShapeRef, p.ShapeRef))
                throw new InvalidOperationException($"Parameter {i}: gradient shape {Shapes.Format(p.Grad.ShapeRef)} differs from the parameter's {Shapes.Format(p.ShapeRef)}.");
            var grad = p.Grad.DType == p.DType ? p.Grad : p.Grad.To(p.DType);
            if (Shard is { } shard)
            {
                // This process's range alone (possibly empty: the update still runs, so that every process creates the
                // same state entries and GatherState can match them).
                var (start, count) = shard.Range(i);
                if (capture is not null)
                {
                    capture.Launch(GetType().Name + ".Step (sharded)");
                    capture.Reads(grad);
                    capture.Writes(p);
                    bound![i] = grad.Storage;
                    ranges![i] = (start, count);
                }
                if (p.DType == DType.Float32) UpdateSlice(i, p.Span<float>(), grad.Span<float>(), start, count);
                else UpdateSlice(i, p.Span<double>(), grad.Span<double>(), start, count);
                continue;
            }
            if (capture is not null)
            {
                capture.Launch(GetType().Name + ".Step");
                capture.Reads(grad);
                capture.Writes(p);
                bound![i] = grad.Storage;
            }
            if (p.DType == DType.Float32) Update<float>(i, p.Span<float>(), grad.Span<float>());
            else Update<double>(i, p.Span<double>(), grad.Span<double>());
        }
        if (capture is not null) capture.Add(ranges is null ? new OptimizerStepInstruction(this, bound!) : new ShardedStepInstruction(this, bound!, ranges));
        Shard?.AfterStep();
    }

    /// <summary>
    /// Set by a data-parallel wrapper that shards the step (ZeRO stage 1): each process updates only its range of every
    /// parameter, then <see cref="IOptimizerShard.AfterStep"/> gives every process the others' updated ranges. Only for
    /// <see cref="UpdatesElementwise"/> optimizers. The state outside a process's ranges is stale until
    /// <see cref="IOptimizerShard.GatherState"/> (which the Trainer calls, on every process, before a checkpoint).
    /// </summary>
    internal IOptimizerShard? Shard { get; set; }

    /// <summary>The names of parameter <paramref name="index"/>'s state entries, in ordinal order.</summary>
    internal string[] StateNames(int index) => [.. _state[index].Keys.Order(StringComparer.Ordinal)];

    /// <summary>Parameter <paramref name="index"/>'s state entry <paramref name="name"/> (whole, not a range).</summary>
    internal Tensor StateTensor(int index, string name) => _state[index][name];

    /// <summary>
    /// <see cref="Step"/> as captured in a compiled step: the same updates on the gradient arrays the capture saw (null: no
    /// gradient then), with the settings and the step count of now. <paramref name="region"/>, when given, runs the
    /// updates it covers, all in one pool run, before the others.
    /// </summary>
    internal void ReplayStep(Array?[] gradients, IParameterUpdate?[]? parallel = null, UpdateRegion? region = null)
    {
        StepCount++;
        region?.Run();
        for (int i = 0; i < gradients.Length; i++)
        {
            if (region is not null && region.Covers[i]) continue;
            if (parallel?[i] is { } split)
            {
                split.Run();
                continue;
            }
            switch (gradients[i])
            {
                case float[] g: Update<float>(i, _parameters[i].Span<float>(), g); break;
                case double[] g: Update<double>(i, _parameters[i].Span<double>(), g); break;
            }
        }
    }

    /// <summary>
    /// The sharded <see cref="Step"/> as captured in a compiled step: this process's range of every parameter (as
    /// <see cref="IOptimizerShard.Range"/> gave it at capture) from the gradient arrays the capture saw; the shard's
    /// gather is an instruction of its own. With <paramref name="window"/> (<see cref="ShardedStepInstruction.Window"/>),
    /// the parameters it gives addresses for read their gradient there and copy their updated range there (with
    /// non-temporal stores when <paramref name="stream"/>, fenced before returning). With <paramref name="sums"/>
    /// (<see cref="ShardedStepInstruction.Sums"/>), the parameters it gives addresses for form their mean from the two
    /// processes' values as they update and write it at the window's mean address. With <paramref name="images"/>
    /// (<see cref="ShardedStepInstruction.Images"/>), the parameters it gives addresses for are updated there instead of
    /// in their arrays.
    /// </summary>
    internal void ReplayShardedStep(Array?[] gradients, (int Start, int Count)[] ranges, (nint[] Means, nint[] Updated)? window = null, bool stream = false,
        WindowSums? sums = null, nint[]? images = null)
    {
        StepCount++;
        for (int i = 0; i < gradients.Length; i++)
        {
            if (gradients[i] is not { } g) continue;
            var (start, count) = ranges[i];
            if (window is not { } w || (w.Means[i] == 0 && w.Updated[i] == 0)) UpdateRange(i, g, start, count);
            else if (g is float[] f) UpdateWindowed(i, f, start, count, w.Means[i], w.Updated[i], stream, sums, images?[i] ?? 0);
            else UpdateWindowed(i, (double[])g, start, count, w.Means[i], w.Updated[i], stream, sums, images?[i] ?? 0);
        }
        if (stream) Kernels.StreamingCopy.Fence();
    }

    /// <summary>
    /// <see cref="UpdateRange"/> with the gradient read at <paramref name="mean"/> (the address of element 0; 0: from
    /// <paramref name="gradient"/>) and each updated block of the parameter copied to <paramref name="updated"/> (the
    /// address of element 0; 0: not copied) while it is still in cache, with non-temporal stores when
    /// <paramref name="stream"/>. The update is element-wise, so updating the range in blocks gives its values exactly.
    /// When <paramref name="sums"/> gives the parameter's two operands, the gradient is their mean, formed block by block
    /// and written at <paramref name="mean"/> on the way (in registers by <see cref="UpdateMean"/> where the optimizer
    /// has it, else a block's mean first, then its update). A non-zero <paramref name="image"/> is the address of the
    /// parameter's element 0 where its current values are (<see cref="ParameterImage"/>), updated there in place.
    /// </summary>
    private unsafe void UpdateWindowed<T>(int index, T[] gradient, int start, int count, nint mean, nint updated, bool stream, WindowSums? sums, nint image)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Block = 8192; // elements: the block's parameter, gradient and two state slices stay in the core's L2
        var parameter = image != 0 ? new Span<T>((void*)image, gradient.Length) : _parameters[index].Span<T>();
        ReadOnlySpan<T> g = mean != 0 ? new ReadOnlySpan<T>((void*)mean, gradient.Length) : gradient;
        bool fused = sums is not null && mean != 0 && sums.Other[index] != 0;
        // This process's values: in its slot, or in the array its gradient came from this pass (pinned while the update runs).
        T[]? mineArray = fused ? sums!.MineArrays[index] as T[] : null;
        fixed (T* pinned = mineArray)
        {
            T* mine = mineArray is not null ? pinned : fused ? (T*)sums!.Mine[index] : null;
            T* x0 = fused && sums!.MineFirst ? mine : fused ? (T*)sums!.Other[index] : null;
            T* x1 = fused && sums!.MineFirst ? (T*)sums!.Other[index] : mine;
            T half = T.One / (T.One + T.One);
            int at = start, end = start + count;
            do
            {
                int n = Math.Min(Block, end - at);
                if (!fused) UpdateSlice(index, parameter, g, at, n);
                else if (!UpdateMeanSlice(index, parameter, x0, x1, (T*)mean, at, n))
                {
                    System.Numerics.Tensors.TensorPrimitives.AddMultiply(new ReadOnlySpan<T>(x0 + at, n), new ReadOnlySpan<T>(x1 + at, n), half, new Span<T>((T*)mean + at, n));
                    UpdateSlice(index, parameter, g, at, n);
                }
                if (updated != 0 && stream) Kernels.StreamingCopy.Copy<T>(parameter.Slice(at, n), (T*)updated + at);
                else if (updated != 0) parameter.Slice(at, n).CopyTo(new Span<T>((T*)updated + at, n));
                at += n;
            }
            while (at < end);
        }
    }

    /// <summary>
    /// <see cref="UpdateMean"/> of elements [start, start + count) (x0, x1 and mean point at element 0), with the state's
    /// same range; false (nothing done) when the optimizer has no such update for its current settings.
    /// </summary>
    private unsafe bool UpdateMeanSlice<T>(int index, Span<T> parameter, T* x0, T* x1, T* mean, int start, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        t_rangeStart = start;
        t_rangeCount = count;
        t_ranged = true;
        try { return UpdateMean(index, parameter.Slice(start, count), x0 + start, x1 + start, new Span<T>(mean + start, count)); }
        finally { t_ranged = false; }
    }

    /// <summary>
    /// <see cref="Update"/> whose gradient is the mean of two processes' values, <c>(x0[j] + x1[j]) · ½</c>
    /// (<see cref="Kernels.MeanOfTwo{T}"/>: the operations of <c>TensorPrimitives.AddMultiply</c>), formed in the update's
    /// pass and written to <paramref name="mean"/> on the way; <paramref name="x0"/> and <paramref name="x1"/> point at
    /// the span's element 0 and hold <c>parameter.Length</c> values. False (nothing done) when the optimizer has none for
    /// its current settings; the caller then writes the mean and calls <see cref="Update"/>.
    /// </summary>
    private protected virtual unsafe bool UpdateMean<T>(int index, Span<T> parameter, T* x0, T* x1, Span<T> mean)
        where T : unmanaged, IFloatingPointIeee754<T> => false;

    /// <summary>
    /// Whether <see cref="Update"/> treats every element on its own (the built-in SGD, Adam, AdamW and RMSprop: no norm,
    /// no sum over the parameter), so that a replay may update a large parameter in ranges on several threads with the
    /// same result. A subclass of them may override <see cref="Update"/>, so only these exact types qualify.
    /// </summary>
    internal bool UpdatesElementwise
    {
        get
        {
            var type = GetType();
            return type == typeof(Sgd) || type == typeof(Adam) || type == typeof(AdamW) || type == typeof(RmsProp);
        }
    }

    // The element range [start, start + count) that State returns while UpdateRange runs on this thread (t_ranged).
    [ThreadStatic] private static bool t_ranged;
    [ThreadStatic] private static int t_rangeStart;
    [ThreadStatic] private static int t_rangeCount;

    /// <summary>
    /// <see cref="Update"/> of elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of
    /// parameter <paramref name="index"/> alone, for <see cref="UpdatesElementwise"/> optimizers whose state exists
    /// (a replay's: the captured step made it). Safe to run for disjoint ranges on several threads at once.
    /// </summary>
    internal void UpdateRange(int index, Array gradient, int start, int count)
    {
        switch (gradient)
        {
            case float[] g: UpdateSlice<float>(index, _parameters[index].Span<float>(), g, start, count); break;
            case double[] g: UpdateSlice<double>(index, _parameters[index].Span<double>(), g, start, count); break;
        }
    }

    /// <summary><see cref="Update"/> of elements [start, start + count) of a parameter and its gradient (whole spans), with the state's same range.</summary>
    private void UpdateSlice<T>(int index, Span<T> parameter, ReadOnlySpan<T> gradient, int start, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        t_rangeStart = start;
        t_rangeCount = count;
        t_ranged = true;
        try { Update(index, parameter.Slice(start, count), gradient.Slice(start, count)); }
        finally { t_ranged = false; }
    }

    /// <summary>
    /// <see cref="UpdateRange"/> of rows [<paramref name="row"/>, <paramref name="row"/> + <paramref name="rows"/>) of
    /// parameter <paramref name="index"/> (<paramref name="columns"/> per row) whose gradient is the outer product
    /// <c>gradient[r, j] = a[r] · x[j]</c> (a Linear's weight gradient at batch 1), in one pass: each gradient element
    /// is computed, written to <paramref name="gradient"/> and applied at once, never read back. False (nothing done)
    /// when the optimizer has no such pass for its current settings; the caller then writes the gradient and calls
    /// <see cref="UpdateRange"/>. Without <paramref name="storeGradient"/> the gradient is applied but not written (the
    /// caller then writes it later, <see cref="Kernels.OuterProductRow{T}.Write"/>). Safe to run for disjoint row ranges on several
    /// threads at once.
    /// </summary>
    internal bool UpdateOuterRows(int index, Array gradient, int row, int rows, int columns, Array a, Array x, bool storeGradient = true)
    {
        int start = row * columns, count = rows * columns;
        t_rangeStart = start;
        t_rangeCount = count;
        t_ranged = true;
        try
        {
            return gradient switch
            {
                float[] g => UpdateOuter(index, _parameters[index].Span<float>().Slice(start, count), g.AsSpan(start, count), columns,
                    ((float[])a).AsSpan(row, rows), (float[])x, storeGradient),
                double[] g => UpdateOuter(index, _parameters[index].Span<double>().Slice(start, count), g.AsSpan(start, count), columns,
                    ((double[])a).AsSpan(row, rows), (double[])x, storeGradient),
                _ => false,
            };
        }
        finally { t_ranged = false; }
    }

    /// <summary>Whether <see cref="UpdateOuterRows"/> has a one-pass update for parameter <paramref name="index"/> with the current settings.</summary>
    internal virtual bool HasOuterUpdate(int index) => false;

    /// <summary>
    /// The one-pass update of <see cref="UpdateOuterRows"/> on the rows' spans (state from <see cref="State{T}"/> is
    /// sliced to them), or false. <paramref name="x"/> has at least <paramref name="columns"/> elements.
    /// </summary>
    private protected virtual bool UpdateOuter<T>(int index, Span<T> parameter, Span<T> gradient, int columns, ReadOnlySpan<T> a, T[] x, bool storeGradient)
        where T : unmanaged, IFloatingPointIeee754<T> => false;

    /// <summary>
    /// Updates parameter <paramref name="index"/> in place from its gradient. Called once per parameter per step, with
    /// spans of the parameter's own dtype; settings come from <see cref="GroupOf"/>, state from <see cref="State{T}"/>.
    /// </summary>
    protected abstract void Update<T>(int index, Span<T> parameter, ReadOnlySpan<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The named state buffer of a parameter, created as zeros (or as a copy of <paramref name="initial"/>) on first use.</summary>
    protected Span<T> State<T>(int index, string name, ReadOnlySpan<T> initial = default) where T : unmanaged
    {
        if (!_state[index].TryGetValue(name, out var t))
        {
            var p = _parameters[index];
            t = Tensor.Empty(p.ShapeRef, p.DType);
            TensorScope.Escape(t); // state lives as long as the optimizer
            if (!initial.IsEmpty) initial.CopyTo(t.Span<T>());
            _state[index][name] = t;
        }
        return t_ranged ? t.Span<T>().Slice(t_rangeStart, t_rangeCount) : t.Span<T>();
    }

    /// <summary>Whether a parameter already has the named state.</summary>
    protected bool HasState(int index, string name) => _state[index].ContainsKey(name);

    /// <summary>
    /// The optimizer's state as named tensors, copies in a fixed order: <c>step</c>, <c>lr</c> (the first group's), each
    /// group's settings as <c>param_groups.{g}.{setting}</c> (float64 scalars, e.g. <c>param_groups.1.weight_decay</c>)
    /// with its parameters' indices as <c>param_groups.{g}.params</c> (int64), and per parameter <c>{index}.{name}</c>
    /// (e.g. <c>0.exp_avg</c>). Together with the parameters it lets training resume exactly.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>
        {
            ["step"] = Tensor.FromArray(new[] { StepCount }).Reshape(),
            ["lr"] = Tensor.Scalar(LearningRate, DType.Float64),
        };
        for (int g = 0; g < _groups.Length; g++)
        {
            string prefix = string.Create(CultureInfo.InvariantCulture, $"{GroupKeyPrefix}{g}.");
            d[prefix + "params"] = Tensor.FromArray(GroupIndices(g));
            foreach (var (name, value) in _groups[g].Settings()) d[prefix + name] = Tensor.Scalar(value, DType.Float64);
        }
        for (int i = 0; i < _state.Length; i++)
            foreach (var (name, t) in _state[i].OrderBy(kv => kv.Key, StringComparer.Ordinal))
                d[string.Create(CultureInfo.InvariantCulture, $"{i}.{name}")] = t.Detach().Clone();
        return d;
    }

    private long[] GroupIndices(int g)
    {
        var list = new List<long>();
        for (int i = 0; i < _groupOf.Length; i++) if (_groupOf[i] == g) list.Add(i);
        return [.. list];
    }

    /// <summary>
    /// What is wrong with <paramref name="state"/> as a state of this optimizer (same parameters and groups, every
    /// setting valid), or null when <see cref="LoadStateDict"/> would take it. A state without <c>param_groups.</c> keys
    /// (written before groups existed) is accepted: its <c>lr</c> then applies to every group.
    /// </summary>
    public string? CheckStateDict(IEnumerable<KeyValuePair<string, Tensor>> state) => Parse(state, out _);

    /// <summary>Restores a state produced by <see cref="StateDict"/> for the same parameters and groups; nothing changes if it does not fit.</summary>
    /// <exception cref="ArgumentException">The state does not fit; the message names the key.</exception>
    public void LoadStateDict(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (Parse(state, out var parsed) is string error) throw new ArgumentException("Optimizer state: " + error, nameof(state));
        for (int i = 0; i < _state.Length; i++) _state[i] = parsed!.PerParameter[i];
        StepCount = parsed!.Step;
        if (parsed.Groups is null) LearningRate = parsed.Lr;
        else
            for (int g = 0; g < _groups.Length; g++)
                foreach (var (name, value) in parsed.Groups[g]) _groups[g].TrySet(name, value);
    }

    private sealed record ParsedState(long Step, double Lr, Dictionary<string, Tensor>[] PerParameter, Dictionary<string, double>[]? Groups);

    private string? Parse(IEnumerable<KeyValuePair<string, Tensor>> state, out ParsedState? parsed)
    {
        ArgumentNullException.ThrowIfNull(state);
        parsed = null;
        var fresh = new Dictionary<string, Tensor>[_state.Length];
        for (int i = 0; i < fresh.Length; i++) fresh[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Dictionary<string, double>[]? groups = null;
        var groupParams = new long[]?[_groups.Length];
        long step = 0; double lr = LearningRate;
        static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var (key, value) in state)
        {
            if (value is null) return $"'{key}' is null.";
            if (key is "step" or "lr")
            {
                if (value.Numel != 1) return $"'{key}' has shape {Shapes.Format(value.ShapeRef)}; expected a single value.";
                if (key == "step")
                {
                    if (value.DType != DType.Int64 || value.Item() < 0) return $"'step' must be an int64 ≥ 0.";
                    step = (long)value.Item();
                }
                else if (!(value.Item() >= 0) || double.IsInfinity(value.Item())) return $"'lr' is {Num(value.Item())}; expected a finite learning rate ≥ 0.";
                else lr = value.Item();
                continue;
            }
            if (key.StartsWith(GroupKeyPrefix, StringComparison.Ordinal))
            {
                var rest = key.AsSpan(GroupKeyPrefix.Length);
                int d = rest.IndexOf('.');
                if (d <= 0 || !int.TryParse(rest[..d], NumberStyles.None, CultureInfo.InvariantCulture, out int g) || g >= _groups.Length)
                    return $"unexpected key '{key}' for {_groups.Length} parameter group(s).";
                string name = rest[(d + 1)..].ToString();
                groups ??= Enumerable.Range(0, _groups.Length).Select(_ => new Dictionary<string, double>(StringComparer.Ordinal)).ToArray();
                if (name == "params")
                {
                    if (value.DType != DType.Int64 || value.Rank != 1) return $"'{key}' must be a 1-d int64 tensor of parameter indices.";
                    groupParams[g] = value.ToArray<long>();
                    continue;
                }
                if (value.Numel != 1 || !value.DType.IsFloatingPoint()) return $"'{key}' must be a single floating-point value.";
                double v = value.Item();
                if (!double.IsFinite(v)) return $"'{key}' is {Num(v)}; expected a finite value.";
                if (!new ParamGroup([]).TrySet(name, v)) return $"unexpected setting '{key}'.";
                groups[g][name] = v;
                continue;
            }
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || dot == key.Length - 1 || !int.TryParse(key.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= _parameters.Length)
                return $"unexpected key '{key}'; expected step, lr, {GroupKeyPrefix}GROUP.SETTING or INDEX.NAME for {_parameters.Length} parameters.";
            if (!value.DType.IsFloatingPoint() || !Shapes.Equal(value.ShapeRef, _parameters[i].ShapeRef))
                return $"'{key}' is {value.DType.ToTorchName()} {Shapes.Format(value.ShapeRef)} but parameter {i} is {Shapes.Format(_parameters[i].ShapeRef)}.";
            fresh[i][key[(dot + 1)..]] = value.To(_parameters[i].DType).Detach().Clone();
        }
        if (groups is not null)
        {
            for (int g = 0; g < _groups.Length; g++)
            {
                string prefix = string.Create(CultureInfo.InvariantCulture, $"{GroupKeyPrefix}{g}.");
                if (groupParams[g] is not long[] idx) return $"'{prefix}params' is missing.";
                if (!idx.AsSpan().SequenceEqual(GroupIndices(g)))
                    return $"'{prefix}params' lists parameters [{string.Join(", ", idx)}] but group {g} of this optimizer has [{string.Join(", ", GroupIndices(g))}].";
                if (!groups[g].ContainsKey("lr")) return $"'{prefix}lr' is missing.";
                // The settings must be ones this optimizer uses, with valid values: checked on a copy of the group.
                var copy = new ParamGroup([]);
                foreach (var (name, value) in _groups[g].Settings()) copy.TrySet(name, value);
                var own = _groups[g].Settings().Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
                foreach (var (name, value) in groups[g])
                {
                    if (!own.Contains(name)) return $"'{prefix}{name}' is a setting this optimizer's group {g} does not have.";
                    copy.TrySet(name, value);
                }
                try { CheckGroup(copy, g); }
                catch (ArgumentException e) { return $"'{prefix}*': {e.Message}"; }
            }
        }
        parsed = new ParsedState(step, lr, fresh, groups);
        return null;
    }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the group and setting unless the value is ≥ 0 and finite.</summary>
    protected void CheckNonNegative(double value, int group, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}{GroupName(group)}: {value.ToString(CultureInfo.InvariantCulture)} (must be a finite value ≥ 0).");
    }

    /// <summary>Throws unless 0 ≤ value &lt; 1, naming the group and setting.</summary>
    protected void CheckBeta(double value, int group, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}{GroupName(group)}: {value.ToString(CultureInfo.InvariantCulture)} (must be in [0, 1)).");
    }

    private string GroupName(int group) => _groups.Length > 1 ? string.Create(CultureInfo.InvariantCulture, $" of parameter group {group}") : "";

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the hyper-parameter unless it is ≥ 0 and finite.</summary>
    protected static void CheckNonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)} (must be a finite value ≥ 0).");
    }

    /// <summary>Throws unless 0 ≤ value &lt; 1.</summary>
    protected static void CheckBeta(double value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)} (must be in [0, 1)).");
    }
}

/// <summary>
/// How a data-parallel wrapper shards an optimizer's step over the processes (ZeRO stage 1), set on
/// <see cref="Optimizer"/> by the wrapper.
/// </summary>
internal interface IOptimizerShard
{
    /// <summary>The element range of parameter <paramref name="index"/> this process updates (count 0: none).</summary>
    (int Start, int Count) Range(int index);

    /// <summary>After this process's ranges are updated: every process gets the others' (a collective).</summary>
    void AfterStep();

    /// <summary>Every process gets the whole optimizer state, each range from the process that updates it (a collective).</summary>
    void GatherState();
}
