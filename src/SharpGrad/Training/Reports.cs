namespace SharpGrad.Training;

/// <summary>What one epoch of <see cref="Trainer.FitAsync"/> measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches (weighted by batch size).</param>
/// <param name="TrainAccuracy">Fraction of training examples classified correctly during the epoch (NaN for non-classification targets).</param>
/// <param name="ValidationLoss">Mean loss on the validation set after the epoch, or NaN without one.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set after the epoch, or NaN without one.</param>
/// <param name="LearningRate">The learning rate used during the epoch.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
public sealed record EpochReport(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy,
    double LearningRate, double Seconds);

/// <summary>Progress inside an epoch, for progress bars.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="RunningLoss">Mean loss over the batches done so far.</param>
public sealed record BatchProgress(int Epoch, int Batch, int Batches, double RunningLoss);

/// <summary>The outcome of a fit.</summary>
/// <param name="History">One report per completed epoch.</param>
/// <param name="BestEpoch">Epoch with the best validation accuracy (the last epoch without validation data).</param>
/// <param name="BestValidationAccuracy">That accuracy, or NaN without validation data.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run.</param>
/// <param name="Seconds">Total wall time.</param>
public sealed record FitResult(IReadOnlyList<EpochReport> History, int BestEpoch, double BestValidationAccuracy, bool StoppedEarly, double Seconds);

/// <summary>Settings of <see cref="Trainer.FitAsync"/>.</summary>
public sealed record FitOptions
{
    /// <summary>Epochs to train (at most, with early stopping).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Restore the weights of the epoch with the best validation accuracy at the end (validation-based model selection).</summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>Stop after this many epochs without a better validation accuracy; null to never stop early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>Batch size used to evaluate the validation set.</summary>
    public int EvaluationBatchSize { get; init; } = 250;

    /// <summary>Called after every epoch, e.g. to step a learning-rate schedule.</summary>
    public Action<EpochReport>? OnEpochEnd { get; init; }

    /// <summary>Progress reports inside each epoch.</summary>
    public IProgress<BatchProgress>? BatchProgress { get; init; }
}

/// <summary>
/// Thrown when the loss becomes NaN or infinite: training stops at once rather than producing garbage weights. Names
/// the epoch, the step and the last finite loss so the cause (often a learning rate too high) can be found.
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(int epoch, long step, double loss, double lastFiniteLoss)
        : base($"The loss became {loss} at epoch {epoch}, step {step}; the last finite loss was {lastFiniteLoss}. Training stopped (try a lower learning rate).")
    {
        (Epoch, Step, Loss, LastFiniteLoss) = (epoch, step, loss, lastFiniteLoss);
    }

    /// <summary>1-based epoch in which it happened.</summary>
    public int Epoch { get; }
    /// <summary>Global optimizer step (1-based) whose loss was not finite.</summary>
    public long Step { get; }
    /// <summary>The non-finite value.</summary>
    public double Loss { get; }
    /// <summary>The last finite loss before it (NaN if the first step already failed).</summary>
    public double LastFiniteLoss { get; }
}
