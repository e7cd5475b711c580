using System.Globalization;
using SharpGrad.NN;
using SharpGrad.Training;

namespace SharpGrad.Cli.Commands;

/// <summary>One training configuration, as the train and sweep commands take it.</summary>
internal sealed record TrainConfig
{
    public string Model { get; init; } = "mlp";
    public int[] Hidden { get; init; } = [256, 128];
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; }
    public string Optimizer { get; init; } = "adam";
    public double Lr { get; init; } = 1e-3;
    public double Momentum { get; init; }
    public double WeightDecay { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public ulong Seed { get; init; }
    public bool BatchNorm { get; init; } = true;
    /// <summary>Zero padding of the CNN's convolutions.</summary>
    public int ConvPadding { get; init; }
    /// <summary>Kernel size of the CNN's convolutions (3 or 5).</summary>
    public int ConvKernel { get; init; } = 5;
    /// <summary>Channel counts of a VGG-style CNN's 3x3 convolutions per stage (null: the two 5x5 blocks).</summary>
    public int[][]? ConvStages { get; init; }
    /// <summary>Mirror each training image left to right with probability 0.5 (augmentation).</summary>
    public bool HorizontalFlip { get; init; }
    /// <summary>Label smoothing of the cross-entropy loss (0 = none).</summary>
    public double LabelSmoothing { get; init; }
    public int? TrainLimit { get; init; }
    /// <summary>A learning-rate schedule (<see cref="TrainRunner.ScheduleForms"/>); see <see cref="TrainRunner.BuildScheduler"/>.</summary>
    public string Schedule { get; init; } = "none";
    /// <summary>Train on this many synthetic images instead of Fashion-MNIST.</summary>
    public int? Synthetic { get; init; }
    /// <summary>Stop after this many optimizer steps in total (to be resumed).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Run the training step as a compiled step (train's --no-compile turns it off); the weights are the same either way.</summary>
    public bool Compile { get; init; } = true;
    /// <summary>Data-parallel: shard the optimizer step over the processes where DDP can (the default; train's <c>--no-shard-optimizer</c> turns it off).</summary>
    public bool ShardOptimizer { get; init; } = true;
    /// <summary>Stop when the loss exceeds this many times the first loss; 0 (as sweep runs) only stops on NaN or infinity. train's --divergence-factor sets it (default 1e6).</summary>
    public double DivergenceFactor { get; init; }

    /// <summary>
    /// Everything that determines the weights a run ends with, except the number of epochs (a run may be resumed to
    /// train longer): checkpoints record it and a resume with other options is refused.
    /// </summary>
    public string Fingerprint()
    {
        string text = string.Create(CultureInfo.InvariantCulture,
            $"model={Model} hidden={string.Join(',', Hidden)} activation={Activation} dropout={Dropout:R} optimizer={Optimizer} lr={Lr:R} momentum={Momentum:R} weight_decay={WeightDecay:R} batch={BatchSize} seed={Seed} batchnorm={BatchNorm} limit={TrainLimit} synthetic={Synthetic} schedule={Schedule}");
        if (ConvPadding != 0) text += " conv_padding=" + ConvPadding.ToString(CultureInfo.InvariantCulture);
        if (ConvKernel != 5) text += " conv_kernel=" + ConvKernel.ToString(CultureInfo.InvariantCulture);
        if (ConvStages is not null) text += " conv_stages=" + StagesText(ConvStages);
        if (HorizontalFlip) text += " hflip=0.5";
        if (LabelSmoothing != 0) text += " label_smoothing=" + LabelSmoothing.ToString("R", CultureInfo.InvariantCulture);
        // Schedules that span the whole run depend on its length: a resume with other --epochs is another run.
        return Schedule is "cosine" or "onecycle" || Schedule.StartsWith("onecycle:", StringComparison.Ordinal) || Schedule.StartsWith("warmup-cosine:", StringComparison.Ordinal)
            ? text + " t_max=" + Epochs.ToString(CultureInfo.InvariantCulture) : text;
    }

    /// <summary>The stages as --conv-stages writes them, e.g. 32/64,64.</summary>
    public static string StagesText(int[][] stages) => string.Join('/', stages.Select(s => string.Join(',', s)));

    public string Describe() => Model switch
    {
        "mlp" => $"mlp {string.Join('-', Hidden)} {Activation.ToString().ToLowerInvariant()}",
        "cnn" when ConvStages is not null => $"cnn {StagesText(ConvStages)}{(BatchNorm ? " +bn" : "")}",
        "cnn" => $"cnn{(ConvKernel != 5 ? $" {ConvKernel}x{ConvKernel}" : "")}{(BatchNorm ? " +bn" : "")}{(ConvPadding != 0 ? $" pad {ConvPadding}" : "")}",
        _ => Model,
    } + (HorizontalFlip ? " +hflip" : "") + (LabelSmoothing != 0 ? $" ls={LabelSmoothing.ToString(CultureInfo.InvariantCulture)}" : "") + (Model == "perceptron" ? "" : $" {Optimizer}") + $" lr={Lr.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>The outcome of one configuration.</summary>
internal sealed record TrainOutcome(TrainConfig Config, long Parameters, IReadOnlyList<EpochReport> History, int BestEpoch,
    double ValidationAccuracy, double TestAccuracy, double Seconds, Module? Model)
{
    /// <summary>Optimizer steps taken in total (resumed ones included).</summary>
    public long Steps { get; init; }
    /// <summary>Whether --max-steps stopped the run before its last epoch.</summary>
    public bool Interrupted { get; init; }
    /// <summary>The checkpoint the run resumed from, if any.</summary>
    public string? ResumedFrom { get; init; }
    /// <summary>The last checkpoint written, if any.</summary>
    public string? LastCheckpoint { get; init; }
    /// <summary>Training steps that replayed a compiled plan.</summary>
    public long ReplayedSteps { get; init; }
    /// <summary>Why the training steps ran eagerly although compilation was on, or null.</summary>
    public string? CompileFallbackReason { get; init; }
}

/// <summary>A signal stopped training; the message is the rest of the one line that says so (steps, checkpoint).</summary>
internal sealed class RunStoppedException(string detail) : OperationCanceledException(detail);

/// <summary>Where and how often <c>sharpgrad train</c> writes checkpoints, and whether it resumes.</summary>
internal sealed record CheckpointPlan(string Directory, int Every, int Keep, bool Resume);
