namespace SharpGrad.Optim;

/// <summary>
/// A learning-rate schedule: call <see cref="Step"/> once per epoch, after the optimizer's steps (PyTorch:
/// <c>lr_scheduler</c>). The rate is computed in closed form from the epoch count, so a restored schedule is exact.
/// </summary>
public abstract class LRScheduler
{
    /// <summary>Attaches to an optimizer and applies the rate of epoch 0.</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        BaseLearningRate = optimizer.InitialLearningRate;
    }

    /// <summary>The optimizer whose learning rate is set.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The rate at epoch 0.</summary>
    public double BaseLearningRate { get; }

    /// <summary>Completed epochs.</summary>
    public int Epoch { get; private set; }

    /// <summary>The learning rate for <paramref name="epoch"/>.</summary>
    public abstract double RateAt(int epoch);

    /// <summary>Advances one epoch and sets the optimizer's learning rate.</summary>
    public void Step()
    {
        Epoch++;
        Optimizer.LearningRate = RateAt(Epoch);
    }

    /// <summary>Jumps to <paramref name="epoch"/> (for resuming) and sets the rate.</summary>
    public void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        Epoch = epoch;
        Optimizer.LearningRate = RateAt(epoch);
    }
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
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch) => BaseLearningRate * Math.Pow(Gamma, epoch / StepSize);
}

/// <summary>η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max)) / 2 (PyTorch: <c>CosineAnnealingLR</c>, closed form).</summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tMax);
        (TMax, EtaMin) = (tMax, etaMin);
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }
    /// <summary>Minimum rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double RateAt(int epoch) => EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}
