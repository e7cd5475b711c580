using System.Globalization;

namespace SharpGrad.Optim;

/// <summary>
/// A learning-rate schedule: call <see cref="Step"/> once per epoch (or per batch for <see cref="OneCycleLR"/>), after
/// the optimizer's steps (PyTorch: <c>lr_scheduler</c>). Each parameter group's rate is computed in closed form from the
/// epoch count and the group's <see cref="ParamGroup.InitialLr"/>, so a restored schedule is exact; creating a schedule
/// applies its epoch-0 rate, as PyTorch does.
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
    /// The schedule's state as numbers, for a checkpoint (PyTorch: <c>state_dict()</c>): <c>last_epoch</c>, and for
    /// stateful schedules (<see cref="ReduceLROnPlateau"/>) what they track. The learning rates themselves are in the
    /// optimizer's state.
    /// </summary>
    public virtual OrderedDictionary<string, double> StateDict() => new() { ["last_epoch"] = Epoch };

    /// <summary>Restores a state from <see cref="StateDict"/>; unknown or missing keys are an error naming them.</summary>
    public virtual void LoadStateDict(IEnumerable<KeyValuePair<string, double>> state)
    {
        var d = ToDictionary(state, ["last_epoch"]);
        SetEpoch(EpochFrom(d["last_epoch"]));
    }

    /// <summary>The state as a dictionary after checking that it has exactly the expected keys.</summary>
    protected Dictionary<string, double> ToDictionary(IEnumerable<KeyValuePair<string, double>> state, string[] keys)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(keys);
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in state)
        {
            if (Array.IndexOf(keys, k) < 0) throw new ArgumentException($"{GetType().Name} state: unexpected key '{k}' (expected {string.Join(", ", keys)}).", nameof(state));
            d[k] = v;
        }
        foreach (var k in keys)
            if (!d.ContainsKey(k)) throw new ArgumentException($"{GetType().Name} state: '{k}' is missing.", nameof(state));
        return d;
    }

    /// <summary>An epoch count from a state value; an error unless it is a whole number in [0, int.MaxValue].</summary>
    protected int EpochFrom(double value) => value >= 0 && value <= int.MaxValue && Math.Floor(value) == value ? (int)value
        : throw new ArgumentException($"{GetType().Name} state: last_epoch {value.ToString(CultureInfo.InvariantCulture)} is not an epoch count.");
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
