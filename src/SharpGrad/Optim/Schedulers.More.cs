using System.Globalization;

namespace SharpGrad.Optim;

/// <summary>η_e = η₀ γ^e (PyTorch: <c>ExponentialLR</c>).</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Creates the schedule.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "ExponentialLR: gamma must be a finite value > 0.");
        Gamma = gamma;
        SetEpoch(0);
    }

    /// <summary>Decay factor per epoch.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group) => BaseLearningRates[group] * Math.Pow(Gamma, epoch);
}

/// <summary>
/// Linear warm-up (or decay) of the factor: η_e = η₀ (s + (t − s) min(e, T) / T) with start factor s, end factor t and
/// T = totalIters (PyTorch: <c>LinearLR</c>, defaults s = 1/3, t = 1, T = 5).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Creates the schedule; the factors must lie in (0, 1] (start) and [0, 1] (end), as in PyTorch.</summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "LinearLR: startFactor must be in (0, 1].");
        if (!(endFactor >= 0 && endFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "LinearLR: endFactor must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalIters);
        (StartFactor, EndFactor, TotalIters) = (startFactor, endFactor, totalIters);
        SetEpoch(0);
    }

    /// <summary>The factor at epoch 0.</summary>
    public double StartFactor { get; }
    /// <summary>The factor from epoch <see cref="TotalIters"/> on.</summary>
    public double EndFactor { get; }
    /// <summary>Epochs of the linear ramp.</summary>
    public int TotalIters { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group) =>
        BaseLearningRates[group] * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, epoch) / TotalIters);
}

/// <summary>η_e = η₀ λ(e) for a function λ per group (PyTorch: <c>LambdaLR</c>).</summary>
public sealed class LambdaLR : LRScheduler
{
    private readonly Func<int, double>[] _lambdas;

    /// <summary>Creates the schedule with one factor function for every group.</summary>
    public LambdaLR(Optimizer optimizer, Func<int, double> lrLambda)
        : this(optimizer, Enumerable.Repeat(lrLambda ?? throw new ArgumentNullException(nameof(lrLambda)), optimizer?.ParamGroups.Count ?? 0).ToArray()) { }

    /// <summary>Creates the schedule with one factor function per group, in group order.</summary>
    public LambdaLR(Optimizer optimizer, IReadOnlyList<Func<int, double>> lrLambdas) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lrLambdas);
        if (lrLambdas.Count != optimizer.ParamGroups.Count)
            throw new ArgumentException($"LambdaLR: {lrLambdas.Count} functions for {optimizer.ParamGroups.Count} parameter groups; give one per group.", nameof(lrLambdas));
        _lambdas = [.. lrLambdas];
        for (int g = 0; g < _lambdas.Length; g++)
            if (_lambdas[g] is null) throw new ArgumentNullException(nameof(lrLambdas), $"LambdaLR: the function of group {g} is null.");
        SetEpoch(0);
    }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group)
    {
        double f = _lambdas[group](epoch);
        if (!double.IsFinite(f))
            throw new InvalidOperationException($"LambdaLR: the function of group {group} returned {f.ToString(CultureInfo.InvariantCulture)} at epoch {epoch}; expected a finite factor.");
        return BaseLearningRates[group] * f;
    }
}

/// <summary>
/// Runs schedules one after another (PyTorch: <c>SequentialLR</c>): schedule i is in force from milestone i − 1 (0 for
/// the first) and counts its own epochs from there, e.g. a <see cref="LinearLR"/> warm-up for 5 epochs, then
/// <see cref="CosineAnnealingLR"/>: <c>new SequentialLR(opt, [warmup, cosine], [5])</c>. The schedules must belong to
/// the same optimizer and compute from the same base rates.
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Creates the sequence; there is one milestone fewer than schedules, strictly increasing.</summary>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0) throw new ArgumentException("SequentialLR: no schedules given.", nameof(schedulers));
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException($"SequentialLR: {schedulers.Count} schedules need {schedulers.Count - 1} milestones; got {milestones.Count}.", nameof(milestones));
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null) throw new ArgumentNullException(nameof(schedulers), $"SequentialLR: schedule {i} is null.");
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"SequentialLR: schedule {i} ({schedulers[i].GetType().Name}) belongs to another optimizer.", nameof(schedulers));
            if (schedulers[i] is ReduceLROnPlateau)
                throw new ArgumentException("SequentialLR: ReduceLROnPlateau follows a metric, not the epoch count, and cannot be sequenced.", nameof(schedulers));
        }
        for (int i = 0; i < milestones.Count; i++)
            if (milestones[i] <= 0 || (i > 0 && milestones[i] <= milestones[i - 1]))
                throw new ArgumentException($"SequentialLR: milestones [{string.Join(", ", milestones)}] must be positive and strictly increasing.", nameof(milestones));
        (_schedulers, _milestones) = ([.. schedulers], [.. milestones]);
        // A sequence of step-counted schedules (say a per-batch warm-up, then OneCycleLR) is itself stepped per batch.
        Interval = _schedulers.All(x => x.Interval == SchedulerInterval.Batch) ? SchedulerInterval.Batch : SchedulerInterval.Epoch;
        SetEpoch(0);
    }

    /// <summary>The schedules, in order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;
    /// <summary>The epochs at which the next schedule takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    private (LRScheduler Scheduler, int Epoch) Active(int epoch)
    {
        int i = 0;
        while (i < _milestones.Length && _milestones[i] <= epoch) i++;
        return (_schedulers[i], i == 0 ? epoch : epoch - _milestones[i - 1]);
    }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group)
    {
        var (s, e) = Active(epoch);
        return s.RateAt(e, group);
    }

    /// <inheritdoc/>
    protected override void Apply()
    {
        var (s, e) = Active(Epoch);
        s.SetEpoch(e); // the active schedule sets the rates (and whatever else it schedules, e.g. OneCycleLR's momentum)
    }

    /// <inheritdoc/>
    public override string Kind => $"SequentialLR[{string.Join(",", _schedulers.Select(x => x.Kind))}]";

    /// <summary><c>last_epoch</c>, and each schedule's state as <c>schedulers.{i}.{key}</c>.</summary>
    public override OrderedDictionary<string, double> StateDict()
    {
        var d = base.StateDict();
        for (int i = 0; i < _schedulers.Length; i++)
            foreach (var (k, v) in _schedulers[i].StateDict()) d[string.Create(CultureInfo.InvariantCulture, $"schedulers.{i}.{k}")] = v;
        return d;
    }

    /// <inheritdoc/>
    protected override void LoadState(IReadOnlyDictionary<string, double> state, bool apply)
    {
        var own = new Dictionary<string, double>(StringComparer.Ordinal);
        var children = new Dictionary<string, double>[_schedulers.Length];
        for (int i = 0; i < children.Length; i++) children[i] = new(StringComparer.Ordinal);
        foreach (var (k, v) in state)
        {
            if (!k.StartsWith("schedulers.", StringComparison.Ordinal)) { own[k] = v; continue; }
            int dot = k.IndexOf('.', "schedulers.".Length);
            if (dot < 0 || !int.TryParse(k.AsSpan("schedulers.".Length, dot - "schedulers.".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                || i >= children.Length)
                throw new ArgumentException($"SequentialLR state: unexpected key '{k}'; this sequence has {children.Length} schedules (schedulers.0 to schedulers.{children.Length - 1}).", nameof(state));
            children[i][k[(dot + 1)..]] = v;
        }
        base.LoadState(own, apply: false);
        // A state with no child keys (only last_epoch) is accepted: the children's states follow from the sequence's epoch.
        bool withChildren = children.Any(c => c.Count > 0);
        for (int i = 0; withChildren && i < children.Length; i++)
        {
            if (children[i].Count == 0) throw new ArgumentException($"SequentialLR state: schedule {i} ({_schedulers[i].Kind}) has no state (schedulers.{i}.*).", nameof(state));
            string? error = _schedulers[i].CheckStateDict(children[i]);
            if (error is not null) throw new ArgumentException($"SequentialLR state: schedule {i}: {error}", nameof(state));
        }
        if (!apply) return;
        for (int i = 0; withChildren && i < children.Length; i++) _schedulers[i].LoadStateDict(children[i]);
        base.LoadState(own, apply: true); // last: the active schedule sets the rates for the sequence's epoch
    }
}

/// <summary>How <see cref="OneCycleLR"/> moves between its phase end points.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine: end + (start − end)(1 + cos πp) / 2.</summary>
    Cos,
    /// <summary>A straight line: start + (end − start) p.</summary>
    Linear,
}

/// <summary>
/// The one-cycle policy (Smith and Topin, 2019; PyTorch: <c>OneCycleLR</c>), stepped once per batch: the rate climbs
/// from maxLr / divFactor to maxLr over the first pctStart of <c>totalSteps</c>, then anneals to
/// maxLr / (divFactor · finalDivFactor); with cycleMomentum the momentum (Sgd, RmsProp) or β₁ (Adam) moves the
/// opposite way between maxMomentum and baseMomentum. threePhase uses PyTorch's three-phase variant. Stepping past
/// totalSteps is an error, as in PyTorch.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    private readonly double[] _maxLr, _initialLr, _minLr;
    private readonly (double End, int StartLr, int EndLr, bool MomentumUp)[] _phases;
    private readonly bool _beta1;

    /// <summary>Creates the schedule with the same peak rate for every group.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false)
        : this(optimizer, Enumerable.Repeat(maxLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), totalSteps, pctStart, annealStrategy, cycleMomentum,
            baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase) { }

    /// <summary>Creates the schedule with one peak rate per group.</summary>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(maxLr);
        var groups = optimizer.ParamGroups;
        if (maxLr.Count != groups.Count)
            throw new ArgumentException($"OneCycleLR: {maxLr.Count} peak rates for {groups.Count} parameter groups.", nameof(maxLr));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "OneCycleLR: pctStart must be in [0, 1].");
        if (!(divFactor > 0) || !(finalDivFactor > 0)) throw new ArgumentOutOfRangeException(nameof(divFactor), "OneCycleLR: divFactor and finalDivFactor must be positive.");
        if (cycleMomentum && groups.Any(g => g.Beta1 is null && g.Momentum is null))
            throw new ArgumentException($"OneCycleLR: cycleMomentum needs an optimizer with momentum or β₁; {optimizer.GetType().Name} has neither (pass cycleMomentum: false).", nameof(cycleMomentum));
        (TotalSteps, PctStart, Strategy, CycleMomentum, BaseMomentum, MaxMomentum) = (totalSteps, pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum);
        _maxLr = [.. maxLr];
        _initialLr = new double[groups.Count];
        _minLr = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            if (!(_maxLr[g] >= 0) || double.IsInfinity(_maxLr[g])) throw new ArgumentOutOfRangeException(nameof(maxLr), _maxLr[g], $"OneCycleLR: the peak rate of group {g} must be finite and ≥ 0.");
            _initialLr[g] = _maxLr[g] / divFactor;
            _minLr[g] = _initialLr[g] / finalDivFactor;
            groups[g].InitialLr = _initialLr[g];
        }
        _beta1 = groups[0].Beta1 is not null;
        Interval = SchedulerInterval.Batch;
        // Phase end steps as PyTorch computes them (in floating point); rates: 0 initial, 1 max, 2 min.
        _phases = threePhase
            ? [(pctStart * totalSteps - 1, 0, 1, false), (2 * pctStart * totalSteps - 2, 1, 0, true), (totalSteps - 1, 0, 2, true)]
            : [(pctStart * totalSteps - 1, 0, 1, false), (totalSteps - 1, 1, 2, true)];
        SetEpoch(0);
    }

    /// <summary>Steps of the whole cycle.</summary>
    public int TotalSteps { get; }
    /// <summary>Fraction of the cycle spent increasing the rate.</summary>
    public double PctStart { get; }
    /// <summary>How the rate moves within a phase.</summary>
    public AnnealStrategy Strategy { get; }
    /// <summary>Whether momentum (or β₁) is cycled inversely to the rate.</summary>
    public bool CycleMomentum { get; }
    /// <summary>The momentum at the peak rate.</summary>
    public double BaseMomentum { get; }
    /// <summary>The momentum at the start and end.</summary>
    public double MaxMomentum { get; }

    private double Anneal(double start, double end, double pct) => Strategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    private (double Lr, double Momentum) At(int step, int group)
    {
        if (step > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR: stepped {step + 1} times; the cycle has {TotalSteps} steps (totalSteps).");
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var (end, startLr, endLr, up) = _phases[i];
            if (step <= end || i == _phases.Length - 1)
            {
                double pct = (step - start) / (end - start);
                double lr = Anneal(Rate(startLr, group), Rate(endLr, group), pct);
                // The momentum moves against the rate: max → base while the rate rises, base → max after the peak,
                // and stays at max in the third phase of the three-phase form.
                double m = i == 2 ? MaxMomentum : up ? Anneal(BaseMomentum, MaxMomentum, pct) : Anneal(MaxMomentum, BaseMomentum, pct);
                return (lr, m);
            }
            start = end;
        }
        throw new InvalidOperationException("unreachable");
    }

    private double Rate(int which, int group) => which switch { 0 => _initialLr[group], 1 => _maxLr[group], _ => _minLr[group] };

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group) => At(epoch, group).Lr;

    /// <summary>The momentum (or β₁) of group <paramref name="group"/> at step <paramref name="step"/>.</summary>
    public double MomentumAt(int step, int group = 0) => At(step, group).Momentum;

    /// <summary><c>last_epoch</c> (steps taken) and <c>total_steps</c>, so that a state is not loaded into a cycle of another length.</summary>
    public override OrderedDictionary<string, double> StateDict() => new() { ["last_epoch"] = Epoch, ["total_steps"] = TotalSteps };

    /// <inheritdoc/>
    protected override void LoadState(IReadOnlyDictionary<string, double> state, bool apply)
    {
        Expect(state, ["last_epoch"], ["total_steps"]);
        if (state.TryGetValue("total_steps", out double total) && total != TotalSteps)
            throw new ArgumentException($"OneCycleLR state: total_steps is {total.ToString(CultureInfo.InvariantCulture)} but this schedule's cycle has {TotalSteps} steps.", nameof(state));
        int epoch = EpochFrom(state["last_epoch"]);
        if (epoch > TotalSteps)
            throw new ArgumentException($"OneCycleLR state: last_epoch {epoch} is past the cycle's {TotalSteps} steps.", nameof(state));
        if (apply) SetEpoch(epoch);
    }

    /// <inheritdoc/>
    protected override void Apply()
    {
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++)
        {
            var (lr, m) = At(Epoch, g);
            groups[g].Lr = lr;
            if (!CycleMomentum) continue;
            if (_beta1) groups[g].Beta1 = m;
            else groups[g].Momentum = m;
        }
    }
}

/// <summary>Whether <see cref="ReduceLROnPlateau"/> looks for a falling (loss) or rising (accuracy) metric.</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> decides that a metric improved on the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>By a relative margin: below best·(1 − threshold) for Min, above best·(1 + threshold) for Max.</summary>
    Rel,
    /// <summary>By an absolute margin: below best − threshold for Min, above best + threshold for Max.</summary>
    Abs,
}

/// <summary>
/// Divides the learning rates by 1/factor when a metric has not improved for more than <c>patience</c> epochs
/// (PyTorch: <c>ReduceLROnPlateau</c>): call <see cref="Step(double)"/> with the epoch's metric (validation loss, say).
/// After a reduction, <c>cooldown</c> epochs pass before bad epochs count again; no rate goes below its group's minLr,
/// and a change smaller than eps is not made. Its state (best, bad epochs, cooldown, mode, rates) is in <see cref="StateDict"/>.
/// In <c>Trainer.RunAsync</c> it is stepped after each epoch with the value of <c>FitOptions.Monitor</c>, and, unless a
/// mode is given here, takes the monitor's direction (min for losses, max for accuracies).
/// </summary>
public sealed class ReduceLROnPlateau : LRScheduler
{
    private readonly double[] _minLr;

    /// <summary>Creates the schedule with the same floor for every group.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode? mode = null, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : this(optimizer, Enumerable.Repeat(minLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), mode, factor, patience, threshold, thresholdMode, cooldown, eps) { }

    /// <summary>Creates the schedule with one floor per group.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, IReadOnlyList<double> minLr, PlateauMode? mode = null, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double eps = 1e-8) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(minLr);
        if (minLr.Count != optimizer.ParamGroups.Count)
            throw new ArgumentException($"ReduceLROnPlateau: {minLr.Count} minimum rates for {optimizer.ParamGroups.Count} parameter groups.", nameof(minLr));
        if (!(factor >= 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau: factor must be in [0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(threshold >= 0) || double.IsInfinity(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "ReduceLROnPlateau: threshold must be finite and ≥ 0.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "ReduceLROnPlateau: eps must be ≥ 0.");
        _minLr = [.. minLr];
        foreach (double m in _minLr)
            if (!(m >= 0)) throw new ArgumentOutOfRangeException(nameof(minLr), m, "ReduceLROnPlateau: minimum rates must be ≥ 0.");
        (Mode, ModeGiven, Factor, Patience, Threshold, ThresholdMode, Cooldown, Eps) =
            (mode ?? PlateauMode.Min, mode is not null, factor, patience, threshold, thresholdMode, cooldown, eps);
        Best = Worst;
    }

    /// <summary>Whether lower or higher is better: the mode given, else <see cref="PlateauMode.Min"/> (in the Trainer, the monitor's direction).</summary>
    public PlateauMode Mode { get; private set; }

    /// <summary>Whether the mode was given to the constructor (else it follows a Trainer's monitor).</summary>
    public bool ModeGiven { get; }
    /// <summary>The factor a rate is multiplied by on a plateau.</summary>
    public double Factor { get; }
    /// <summary>Epochs without improvement tolerated before a reduction.</summary>
    public int Patience { get; }
    /// <summary>The margin an improvement must clear.</summary>
    public double Threshold { get; }
    /// <summary>Whether the margin is relative or absolute.</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>Epochs after a reduction during which bad epochs are not counted.</summary>
    public int Cooldown { get; }
    /// <summary>The smallest change of a rate that is made.</summary>
    public double Eps { get; }
    /// <summary>The best metric so far (±∞ before the first step).</summary>
    public double Best { get; private set; }
    /// <summary>Consecutive epochs without improvement.</summary>
    public int BadEpochs { get; private set; }
    /// <summary>Epochs of cooldown left.</summary>
    public int CooldownCounter { get; private set; }

    private double Worst => Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    private bool IsBetter(double a) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < Best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < Best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > Best * (1 + Threshold),
        _ => a > Best + Threshold,
    };

    /// <summary>Not available: this schedule needs the metric; call <see cref="Step(double)"/>.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Step() =>
        throw new InvalidOperationException("ReduceLROnPlateau steps on a metric: call Step(metric) with the epoch's monitored value (e.g. the validation loss).");

    /// <summary>Records the epoch's metric and reduces the rates if it has not improved for more than <see cref="Patience"/> epochs.</summary>
    public void Step(double metric)
    {
        SetEpochCount(Epoch + 1);
        if (IsBetter(metric))
        {
            Best = metric;
            BadEpochs = 0;
        }
        else BadEpochs++;
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            BadEpochs = 0; // bad epochs during the cooldown do not count
        }
        if (BadEpochs > Patience)
        {
            var groups = Optimizer.ParamGroups;
            for (int g = 0; g < groups.Count; g++)
            {
                double old = groups[g].Lr!.Value, updated = Math.Max(old * Factor, _minLr[g]);
                if (old - updated > Eps) groups[g].Lr = updated;
            }
            CooldownCounter = Cooldown;
            BadEpochs = 0;
        }
    }

    /// <summary>
    /// Takes the direction of the quantity a training loop monitors, when no mode was given. Before the first step the
    /// mode simply changes; afterwards (e.g. resumed from a state of the other mode) that is an error, since
    /// <see cref="Best"/> was kept for the other direction.
    /// </summary>
    /// <exception cref="InvalidOperationException">The mode was given and differs, or steps were taken in the other mode.</exception>
    public void FollowMode(PlateauMode mode, string monitor)
    {
        if (mode == Mode) return;
        if (ModeGiven)
            throw new InvalidOperationException($"ReduceLROnPlateau: mode {Mode} was given, but the monitored '{monitor}' is better when {(mode == PlateauMode.Min ? "lower" : "higher")}; " +
                "pass the matching mode (or none, to follow the monitor).");
        if (Epoch > 0 || BadEpochs > 0 || !double.IsInfinity(Best))
            throw new InvalidOperationException($"ReduceLROnPlateau: its state is for mode {Mode} (best {Best.ToString(CultureInfo.InvariantCulture)} after {Epoch} steps), " +
                $"but the monitored '{monitor}' is better when {(mode == PlateauMode.Min ? "lower" : "higher")}; resume with the same FitOptions.Monitor and Mode.");
        Mode = mode;
        Best = Worst;
    }

    /// <summary>Not available: the rate depends on the metrics seen; read the optimizer's <see cref="Optimizer.ParamGroups"/>.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override double RateAt(int epoch, int group) =>
        throw new NotSupportedException("ReduceLROnPlateau has no closed form: its rate depends on the metrics seen; read Optimizer.ParamGroups[g].Lr.");

    /// <summary>Sets the epoch counter only: the rates come back with the optimizer's state and the rest with <see cref="LRScheduler.LoadStateDict"/>.</summary>
    public override void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        SetEpochCount(epoch);
    }

    /// <summary>
    /// <c>last_epoch</c>, <c>best</c>, <c>num_bad_epochs</c>, <c>cooldown_counter</c>, <c>mode</c> (0 min, 1 max) and each
    /// group's current rate as <c>lr.{g}</c> (the rates are the schedule's doing, so they are part of its state).
    /// </summary>
    public override OrderedDictionary<string, double> StateDict()
    {
        var d = new OrderedDictionary<string, double>
        {
            ["last_epoch"] = Epoch, ["best"] = Best, ["num_bad_epochs"] = BadEpochs, ["cooldown_counter"] = CooldownCounter,
            ["mode"] = Mode == PlateauMode.Min ? 0 : 1,
        };
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++) d[LrKey(g)] = groups[g].Lr!.Value;
        return d;
    }

    private static string LrKey(int g) => string.Create(CultureInfo.InvariantCulture, $"lr.{g}");

    /// <summary>
    /// Restores a state from <see cref="StateDict"/>. <c>mode</c> and the <c>lr.{g}</c> rates may be absent (the rates
    /// then stay as the optimizer's); a <c>mode</c> other than a given one, or rates for another number of groups, is an error.
    /// </summary>
    protected override void LoadState(IReadOnlyDictionary<string, double> state, bool apply)
    {
        var groups = Optimizer.ParamGroups;
        var lrKeys = Enumerable.Range(0, groups.Count).Select(LrKey).ToArray();
        int lrCount = state.Keys.Count(k => k.StartsWith("lr.", StringComparison.Ordinal));
        if (lrCount > 0 && (lrCount != groups.Count || lrKeys.Any(k => !state.ContainsKey(k))))
            throw new ArgumentException($"ReduceLROnPlateau state: it has rates for {lrCount} parameter groups ({string.Join(", ", state.Keys.Where(k => k.StartsWith("lr.", StringComparison.Ordinal)))}); the optimizer has {groups.Count}.", nameof(state));
        Expect(state, ["last_epoch", "best", "num_bad_epochs", "cooldown_counter"], ["mode", .. lrKeys]);
        int epoch = EpochFrom(state["last_epoch"]), bad = EpochFrom(state["num_bad_epochs"], "num_bad_epochs"), cooldown = EpochFrom(state["cooldown_counter"], "cooldown_counter");
        double best = state["best"];
        if (double.IsNaN(best)) throw new ArgumentException("ReduceLROnPlateau state: best is NaN.", nameof(state));
        var mode = Mode;
        if (state.TryGetValue("mode", out double m))
        {
            mode = m switch
            {
                0 => PlateauMode.Min,
                1 => PlateauMode.Max,
                _ => throw new ArgumentException($"ReduceLROnPlateau state: mode {m.ToString(CultureInfo.InvariantCulture)} is not 0 (min) or 1 (max).", nameof(state)),
            };
            if (ModeGiven && mode != Mode)
                throw new ArgumentException($"ReduceLROnPlateau state: its mode is {mode} but this schedule's is {Mode}.", nameof(state));
        }
        if (lrCount > 0)
            foreach (var k in lrKeys)
                if (!(state[k] >= 0) || double.IsInfinity(state[k]))
                    throw new ArgumentException($"ReduceLROnPlateau state: {k} is {state[k].ToString(CultureInfo.InvariantCulture)}; expected a finite rate >= 0.", nameof(state));
        if (!apply) return;
        (Mode, Best, BadEpochs, CooldownCounter) = (mode, best, bad, cooldown);
        SetEpochCount(epoch);
        if (lrCount > 0) for (int g = 0; g < groups.Count; g++) groups[g].Lr = state[lrKeys[g]];
    }
}
