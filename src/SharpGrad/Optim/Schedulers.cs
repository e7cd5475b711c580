using System.Globalization;

namespace SharpGrad.Optim;

/// <summary>When a training loop steps a <see cref="LRScheduler"/> (see <see cref="LRScheduler.Interval"/>).</summary>
public enum SchedulerInterval
{
    /// <summary>Once after every epoch (PyTorch's usual place for <c>scheduler.step()</c>).</summary>
    Epoch,
    /// <summary>Once after every optimizer step, i.e. every batch (PyTorch: <c>OneCycleLR</c>, step-based warm-ups).</summary>
    Batch,
}

/// <summary>
/// A learning-rate schedule: call <see cref="Step"/> once per epoch (or per batch for <see cref="OneCycleLR"/>), after
/// the optimizer's steps (PyTorch: <c>lr_scheduler</c>). Each parameter group's rate is computed in closed form from the
/// epoch count and the group's <see cref="ParamGroup.InitialLr"/>, so a restored schedule is exact; creating a schedule
/// applies its epoch-0 rate, as PyTorch does. <see cref="Interval"/> tells <c>Trainer.RunAsync</c> when to step it;
/// <see cref="StateDict"/> holds everything needed to continue its trajectory exactly.
/// </summary>
public abstract class LRScheduler
{
    private readonly double[] _baseRates;

    /// <summary>Attaches to an optimizer, taking each group's initial learning rate as its base rate.</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _baseRates = optimizer.ParamGroups.Select(g => g.InitialLr).ToArray();
    }

    /// <summary>The optimizer whose learning rates are set.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The first group's rate at epoch 0.</summary>
    public double BaseLearningRate => _baseRates[0];

    /// <summary>Each group's rate at epoch 0 (PyTorch: <c>base_lrs</c>).</summary>
    public IReadOnlyList<double> BaseLearningRates => _baseRates;

    /// <summary>Completed epochs (steps of the schedule).</summary>
    public int Epoch { get; private set; }

    /// <summary>The first group's learning rate for <paramref name="epoch"/>.</summary>
    public double RateAt(int epoch) => RateAt(epoch, 0);

    /// <summary>Group <paramref name="group"/>'s learning rate for <paramref name="epoch"/>.</summary>
    public abstract double RateAt(int epoch, int group);

    /// <summary>Advances one epoch and sets the optimizer's learning rates.</summary>
    public virtual void Step()
    {
        Epoch++;
        Apply();
    }

    /// <summary>Jumps to <paramref name="epoch"/> (for resuming) and sets the rates.</summary>
    public virtual void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        Epoch = epoch;
        Apply();
    }

    /// <summary>Sets the epoch counter only (for schedules whose state is more than the epoch).</summary>
    protected void SetEpochCount(int epoch) => Epoch = epoch;

    /// <summary>Sets every group's rate for the current <see cref="Epoch"/>.</summary>
    protected virtual void Apply()
    {
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++) groups[g].Lr = RateAt(Epoch, g);
    }

    /// <summary>
    /// When <c>Trainer.RunAsync</c> steps this schedule: <see cref="SchedulerInterval.Epoch"/> (the default; after each
    /// epoch) or <see cref="SchedulerInterval.Batch"/> (after each optimizer step, the default of <see cref="OneCycleLR"/>).
    /// Set it to <see cref="SchedulerInterval.Batch"/> for a schedule counted in steps, e.g. a <see cref="LinearLR"/>
    /// warm-up over the first 500 batches. A schedule driven by hand ignores it.
    /// </summary>
    public SchedulerInterval Interval { get; set; }

    /// <summary>
    /// The schedule's kind as written in checkpoints, so that a resume with a different kind is an error:
    /// the class name, and for <see cref="SequentialLR"/> the kinds of its schedules, e.g. <c>SequentialLR[LinearLR,CosineAnnealingLR]</c>.
    /// </summary>
    public virtual string Kind => GetType().Name;

    /// <summary>
    /// The schedule's state as numbers, for a checkpoint (PyTorch: <c>state_dict()</c>): <c>last_epoch</c> (steps taken),
    /// and whatever else the schedule needs to continue exactly: <see cref="ReduceLROnPlateau"/>'s best value, bad-epoch
    /// and cooldown counts, mode and current rates; <see cref="OneCycleLR"/>'s cycle length; <see cref="SequentialLR"/>'s
    /// schedules as <c>schedulers.{i}.{key}</c>.
    /// </summary>
    public virtual OrderedDictionary<string, double> StateDict() => new() { ["last_epoch"] = Epoch };

    /// <summary>What is wrong with <paramref name="state"/> as a state of this schedule, or null when <see cref="LoadStateDict"/> would take it.</summary>
    public string? CheckStateDict(IEnumerable<KeyValuePair<string, double>> state)
    {
        try
        {
            LoadState(Collect(state), apply: false);
            return null;
        }
        catch (ArgumentException e) { return e.Message; }
    }

    /// <summary>
    /// Restores a state from <see cref="StateDict"/> and sets the optimizer's rates; nothing changes if it does not fit.
    /// A state holding only <c>last_epoch</c> (written before schedules saved more) is taken as that many steps.
    /// </summary>
    /// <exception cref="ArgumentException">A key is unknown or missing, or a value does not fit this schedule; the message names it.</exception>
    public void LoadStateDict(IEnumerable<KeyValuePair<string, double>> state)
    {
        var d = Collect(state);
        LoadState(d, apply: false);
        LoadState(d, apply: true);
    }

    /// <summary>
    /// Checks <paramref name="state"/> (throwing <see cref="ArgumentException"/> naming what is wrong) and, when
    /// <paramref name="apply"/>, restores it. The base schedule's state is <c>last_epoch</c> alone.
    /// </summary>
    protected virtual void LoadState(IReadOnlyDictionary<string, double> state, bool apply)
    {
        Expect(state, ["last_epoch"]);
        int epoch = EpochFrom(state["last_epoch"]);
        if (apply) SetEpoch(epoch);
    }

    private Dictionary<string, double> Collect(IEnumerable<KeyValuePair<string, double>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in state)
            if (!d.TryAdd(k, v)) throw new ArgumentException($"{GetType().Name} state: key '{k}' appears twice.", nameof(state));
        return d;
    }

    /// <summary>Checks that <paramref name="state"/> has every key of <paramref name="required"/> and no key outside it and <paramref name="optional"/>.</summary>
    protected void Expect(IReadOnlyDictionary<string, double> state, string[] required, string[]? optional = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(required);
        optional ??= [];
        foreach (var k in state.Keys)
            if (Array.IndexOf(required, k) < 0 && Array.IndexOf(optional, k) < 0)
                throw new ArgumentException($"{GetType().Name} state: unexpected key '{k}' (expected {string.Join(", ", required.Concat(optional))}).", nameof(state));
        foreach (var k in required)
            if (!state.ContainsKey(k)) throw new ArgumentException($"{GetType().Name} state: '{k}' is missing.", nameof(state));
    }

    /// <summary>A count from state value <paramref name="key"/>; an error unless it is a whole number in [0, int.MaxValue].</summary>
    protected int EpochFrom(double value, string key = "last_epoch") => value >= 0 && value <= int.MaxValue && Math.Floor(value) == value ? (int)value
        : throw new ArgumentException($"{GetType().Name} state: {key} {value.ToString(CultureInfo.InvariantCulture)} is not a count (a whole number >= 0).");
}

/// <summary>η_e = η₀ γ^⌊e / stepSize⌋ (PyTorch: <c>StepLR</c>).</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the schedule.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "StepLR: gamma must be positive.");
        (StepSize, Gamma) = (stepSize, gamma);
        SetEpoch(0);
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group) => BaseLearningRates[group] * Math.Pow(Gamma, epoch / StepSize);
}

/// <summary>η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max)) / 2 (PyTorch: <c>CosineAnnealingLR</c>, closed form).</summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tMax);
        (TMax, EtaMin) = (tMax, etaMin);
        SetEpoch(0);
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }
    /// <summary>Minimum rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch, int group) => EtaMin + (BaseLearningRates[group] - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}
