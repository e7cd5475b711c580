using SharpGrad.IO;
using SharpGrad.Optim;

namespace SharpGrad.Training;

/// <summary>
/// What <see cref="Trainer.RunAsync"/> adds to a fit: periodic atomic checkpoints, exact resume from one, a
/// learning-rate schedule stepped per epoch or per batch, and a step budget after which the run stops (to be resumed later).
/// </summary>
public sealed record TrainingRunOptions
{
    /// <summary>No checkpoints, no resume, no schedule, no step budget: a plain fit.</summary>
    public static TrainingRunOptions None { get; } = new();

    /// <summary>Where checkpoints are written: after every <see cref="CheckpointEvery"/> optimizer steps, at the end of every epoch, and when <see cref="MaxSteps"/> stops the run. Null: none.</summary>
    public CheckpointDirectory? Checkpoints { get; init; }

    /// <summary>Optimizer steps between checkpoints inside an epoch; 0 writes them at epoch ends only.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>
    /// A checkpoint to continue from (e.g. <see cref="CheckpointDirectory.FindLatest"/>'s): the model, optimizer,
    /// schedule, generators, data order and position, history and best weights are restored from it, so that the run
    /// ends with bit-identical weights to one that was never interrupted.
    /// </summary>
    public Checkpoint? ResumeFrom { get; init; }

    /// <summary>
    /// A learning-rate schedule of the optimizer being trained, stepped after every optimizer step when its
    /// <see cref="LRScheduler.Interval"/> is <see cref="SchedulerInterval.Batch"/> (the default of <see cref="OneCycleLR"/>),
    /// else after every epoch; a <see cref="ReduceLROnPlateau"/> is stepped after every epoch with the value of
    /// <see cref="FitOptions.Monitor"/> (so it needs a validation set or a monitor). Its whole state
    /// (<see cref="LRScheduler.StateDict"/>) is saved in checkpoints, so a resumed run continues the same rates.
    /// </summary>
    public LRScheduler? Scheduler { get; init; }

    /// <summary>Stop once the optimizer has taken this many steps in total (resumed ones included); a checkpoint is written first.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>
    /// Further generators whose state belongs in checkpoints, by name. The data loader's (<c>loader</c>), every
    /// Dropout's (<c>model.PATH</c>) and <see cref="Generator.Default"/> (<c>default</c>) are always included.
    /// </summary>
    public IReadOnlyDictionary<string, Generator>? Generators { get; init; }

    /// <summary>Extra metadata written into every checkpoint (e.g. the configuration), keys not beginning <c>trainer.</c>.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>
    /// Stop with <see cref="TrainingDivergedException"/> when a batch's loss exceeds this many times the first loss of the
    /// run, or of 1 if that is smaller (e.g. 1e6); null to stop only on a non-finite loss or parameter.
    /// </summary>
    public double? DivergenceFactor { get; init; }

    /// <summary>
    /// Data-parallel training: this process's place in the job (see <see cref="IDataParallel"/>). The loader's batch
    /// size is then the global batch, of which this process takes its share; epoch metrics are summed over the
    /// processes. Null: this process trains alone.
    /// </summary>
    public IDataParallel? DataParallel { get; init; }

    /// <summary>Called with the path of each checkpoint written.</summary>
    public Action<string>? CheckpointSaved { get; init; }
}

/// <summary>The outcome of <see cref="Trainer.RunAsync"/>.</summary>
/// <param name="Fit">The fit's history and model selection, over the whole run (resumed epochs included).</param>
/// <param name="Steps">Optimizer steps taken in total.</param>
/// <param name="Interrupted">True when <see cref="TrainingRunOptions.MaxSteps"/> stopped the run before its last epoch.</param>
/// <param name="LastCheckpoint">The last checkpoint file written by this run, or null.</param>
public sealed record TrainingRunResult(FitResult Fit, long Steps, bool Interrupted, string? LastCheckpoint);
