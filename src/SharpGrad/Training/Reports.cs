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
    double LearningRate, double Seconds)
{
    /// <summary>
    /// The validation value of every metric of <see cref="FitOptions.Metrics"/>, by name (empty without metrics or
    /// validation data; not kept in checkpoints, so the epochs before a resume have none).
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = EmptyMetrics;

    internal static readonly IReadOnlyDictionary<string, double> EmptyMetrics = new Dictionary<string, double>();
}

/// <summary>Progress inside an epoch, for progress bars.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="RunningLoss">Mean loss over the batches done so far.</param>
public sealed record BatchProgress(int Epoch, int Batch, int Batches, double RunningLoss)
{
    /// <summary>This batch's loss.</summary>
    public double Loss { get; init; } = double.NaN;

    /// <summary>The gradients' total 2-norm before clipping when <see cref="FitOptions.ClipGradNorm"/> is set, else NaN.</summary>
    public double GradNorm { get; init; } = double.NaN;
}

/// <summary>
/// What <see cref="FitOptions.AfterBackward"/> sees: the gradients of this batch are on the parameters and the
/// optimizer has not stepped yet, so this is where they can be read, clipped or changed.
/// </summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">0-based batch number in the epoch.</param>
/// <param name="Step">The optimizer step about to be taken (1-based, over the whole run).</param>
/// <param name="Loss">This batch's loss.</param>
/// <param name="Model">The model being trained.</param>
/// <param name="Optimizer">Its optimizer; <see cref="Optim.Optimizer.Parameters"/> holds the gradients.</param>
public sealed record BackwardContext(int Epoch, int Batch, long Step, double Loss, NN.Module Model, Optim.Optimizer Optimizer);

/// <summary>The outcome of a fit.</summary>
/// <param name="History">One report per completed epoch.</param>
/// <param name="BestEpoch">Epoch with the best value of the monitored quantity (<see cref="Monitor"/>; the last epoch when nothing is monitored).</param>
/// <param name="BestValidationAccuracy">That epoch's validation accuracy, or NaN without validation data or for a task without accuracy.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run.</param>
/// <param name="Seconds">Total wall time.</param>
public sealed record FitResult(IReadOnlyList<EpochReport> History, int BestEpoch, double BestValidationAccuracy, bool StoppedEarly, double Seconds)
{
    /// <summary>
    /// Why the training steps ran eagerly although <see cref="FitOptions.Compile"/> was set (see there), or null (compiled
    /// steps were used, or compilation was off).
    /// </summary>
    public string? CompileFallbackReason { get; init; }

    /// <summary>The number of training steps that replayed a compiled plan (0 when every step ran eagerly).</summary>
    public long ReplayedSteps { get; init; }

    /// <summary>The quantity that chose <see cref="FitResult.BestEpoch"/> and drove early stopping (e.g. <c>val_loss</c>), or null when nothing was monitored (no validation data).</summary>
    public string? Monitor { get; init; }

    /// <summary>Whether smaller or larger values of <see cref="Monitor"/> counted as better.</summary>
    public MonitorMode Mode { get; init; }

    /// <summary>The monitored quantity's value at <see cref="FitResult.BestEpoch"/>, or NaN when nothing was monitored.</summary>
    public double BestMonitorValue { get; init; } = double.NaN;

    /// <summary>
    /// True when cancellation ended <see cref="Trainer.FitAsync"/>: the history holds the epochs completed before it,
    /// and the best epoch's weights were restored (as at a normal end) with the model in evaluation mode.
    /// </summary>
    public bool Cancelled { get; init; }
}

/// <summary>Settings of <see cref="Trainer.FitAsync"/>.</summary>
public sealed record FitOptions
{
    /// <summary>Epochs to train (at most, with early stopping).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Restore the weights of the epoch with the best value of <see cref="Monitor"/> at the end (validation-based model selection).</summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>Stop after this many epochs without a better value of <see cref="Monitor"/>; null to never stop early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>
    /// The quantity that picks the best epoch and drives early stopping: <c>val_loss</c>, <c>val_accuracy</c>,
    /// <c>train_loss</c>, <c>train_accuracy</c>, or the name of one of <see cref="Metrics"/> (alone or as
    /// <c>val_NAME</c>). Null (the default): <c>val_accuracy</c> when the task is classification (Int64 class targets
    /// against [N, C] outputs), else <c>val_loss</c>; with no validation data nothing is monitored and the last epoch
    /// is kept. A name that is unknown, needs validation data that was not given, or is NaN for this task (accuracy of
    /// a regression) is an error naming it.
    /// </summary>
    public string? Monitor { get; init; }

    /// <summary>Whether smaller or larger values of <see cref="Monitor"/> are better; null infers it (losses: min; accuracies and metrics: their own mode).</summary>
    public MonitorMode? Mode { get; init; }

    /// <summary>Metrics computed on the whole validation set after every epoch (see <see cref="Metric"/>); they appear in <see cref="EpochReport.Metrics"/>.</summary>
    public IReadOnlyList<Metric> Metrics { get; init; } = [];

    /// <summary>
    /// Clip the gradients' total 2-norm to this value after every backward pass, before the optimizer step
    /// (<see cref="NN.Utils.ClipGradNorm"/>); null: no clipping. The norm before clipping is in <see cref="BatchProgress.GradNorm"/>.
    /// </summary>
    public double? ClipGradNorm { get; init; }

    /// <summary>Clamp every gradient element to [−value, value] after every backward pass, before the optimizer step (<see cref="NN.Utils.ClipGradValue"/>); null: no clamping.</summary>
    public double? ClipGradValue { get; init; }

    /// <summary>
    /// Called after every backward pass, before the gradient clipping of <see cref="ClipGradValue"/> and
    /// <see cref="ClipGradNorm"/> and the optimizer step: the place to inspect or change gradients.
    /// </summary>
    public Action<BackwardContext>? AfterBackward { get; init; }

    /// <summary>Called after every batch (on the training thread, in order).</summary>
    public Action<BatchProgress>? OnBatchEnd { get; init; }

    /// <summary>Batch size used to evaluate the validation set.</summary>
    public int EvaluationBatchSize { get; init; } = 250;

    /// <summary>Called after every epoch (on the training thread, in order), e.g. to step a learning-rate schedule.</summary>
    public Action<EpochReport>? OnEpochEnd { get; init; }

    /// <summary>Progress reports inside each epoch, delivered in order (see <see cref="Trainer.FitAsync"/>).</summary>
    public IProgress<BatchProgress>? BatchProgress { get; init; }

    /// <summary>
    /// Run the training step as a compiled step (<see cref="Jit.Compile"/>; default true): the first batch of each shape
    /// runs eagerly, the next is captured, later ones replay the captured kernels with no tape and no allocation; the
    /// weights are bit-identical to eager training. Steps run eagerly instead (with the reason in
    /// <see cref="FitResult.CompileFallbackReason"/>) under data-parallel training, with <see cref="AfterBackward"/> or
    /// <see cref="ClipGradNorm"/> set, or when the model or loss uses an op a plan cannot replay. A batch whose loss
    /// stops the fit (not finite, or diverging) skips its backward pass and update, as in eager mode. One difference from
    /// eager steps: after a replayed step the parameters' <see cref="Tensor.Grad"/> may not hold this batch's gradient (a plan writes its own
    /// gradient buffers; read gradients in <see cref="AfterBackward"/>, which makes the steps eager).
    /// </summary>
    public bool Compile { get; init; } = true;
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
