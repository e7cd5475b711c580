using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Training;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad train</c>: one model on Fashion-MNIST, with per-epoch metrics, curves and weights.</summary>
internal static class TrainCommand
{
    internal sealed class CommonOptions
    {
        public Option<string> Model { get; } = new("--model") { Description = "perceptron, logreg, mlp or cnn.", DefaultValueFactory = _ => "mlp" };
        public Option<string> Hidden { get; } = new("--hidden") { Description = "Hidden layer sizes of the MLP, e.g. 256,128.", DefaultValueFactory = _ => "256,128" };
        public Option<string> Activation { get; } = new("--activation") { Description = "relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
        public Option<double> Dropout { get; } = new("--dropout") { Description = "Dropout probability after each hidden layer (0 = none)." };
        public Option<string> Optimizer { get; } = new("--optimizer") { Description = "sgd, adam, adamw or rmsprop.", DefaultValueFactory = _ => "adam" };
        public Option<double> Momentum { get; } = new("--momentum") { Description = "Momentum (sgd, rmsprop)." };
        public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "Weight decay." };
        public Option<int> Epochs { get; } = new("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => 10 };
        public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
        public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed (weights, shuffling, dropout)." };
        public Option<string?> Data { get; } = new("--data") { Description = "Directory with the Fashion-MNIST IDX files (default: $SHARPGRAD_DATA or /usr/share/datasets/fashion-mnist)." };
        public Option<string?> Out { get; } = new("--out") { Description = "Directory for history.csv, loss.svg, accuracy.svg and the final weights, model.safetensors and model.npz, with model.json (the model's configuration, for sharpgrad export)." };
        public Option<int?> Limit { get; } = new("--limit") { Description = "Train on only the first N training images (quick runs)." };
        public Option<bool> Json { get; } = new("--json") { Description = "Print one JSON object at the end instead of tables." };
        public Option<int> ConvPadding { get; } = new("--conv-padding") { Description = "Zero padding of both convolutions of the CNN (0 to (k-1)/2; 2 with 5x5 or 1 with 3x3 kernels keeps 28x28, a 3136-feature classifier)." };
        public Option<int> ConvKernel { get; } = new("--conv-kernel") { Description = "Kernel size of both convolutions of the CNN: 5 (default) or 3.", DefaultValueFactory = _ => 5 };
        public Option<double> LabelSmoothing { get; } = new("--label-smoothing") { Description = "Label smoothing of the cross-entropy loss, in [0, 1) (0 = none)." };
        public Option<string?> ConvStages { get; } = new("--conv-stages") { Description = "A VGG-style CNN instead of the two 5x5 blocks: 3x3 convolutions (padding 1, batch norm, activation) per stage, stages separated by '/', channel counts by ',', a 2x2 max pool after each stage; e.g. 32/64,64." };
        public Option<bool> HorizontalFlip { get; } = new("--hflip") { Description = "Mirror each training image left to right with probability 0.5 (augmentation; validation and test images are not flipped)." };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { Model, Hidden, Activation, Dropout, Optimizer, Momentum, WeightDecay, Epochs, BatchSize, Seed, Data, Out, Limit, Json, ConvPadding, ConvKernel, ConvStages, HorizontalFlip, LabelSmoothing })
                cmd.Add(o);
        }

        public TrainConfig Config(ParseResult p, double lr)
        {
            string model = p.GetValue(Model)!.ToLowerInvariant();
            if (!TrainRunner.ModelNames.Contains(model)) throw new ArgumentException($"--model: unknown model '{model}' (expected {string.Join(", ", TrainRunner.ModelNames)}).");
            int epochs = p.GetValue(Epochs), batch = p.GetValue(BatchSize);
            if (epochs < 1) throw new ArgumentException($"--epochs must be at least 1 (got {epochs}).");
            if (batch < 1) throw new ArgumentException($"--batch-size must be at least 1 (got {batch}).");
            int padding = p.GetValue(ConvPadding), kernel = p.GetValue(ConvKernel);
            if (kernel is not (3 or 5)) throw new ArgumentException($"--conv-kernel must be 3 or 5 (got {kernel}).");
            if (padding < 0 || 2 * padding > kernel - 1) throw new ArgumentException($"--conv-padding must be 0 to {(kernel - 1) / 2} with {kernel}x{kernel} kernels (got {padding}).");
            int[][]? stages = p.GetValue(ConvStages) is string st ? ParseStages(st) : null;
            if (stages is not null && model != "cnn") throw new ArgumentException($"--conv-stages is for --model cnn (got --model {model}).");
            if (stages is not null && (padding != 0 || kernel != 5))
                throw new ArgumentException("--conv-stages builds 3x3 convolutions with padding 1; leave out --conv-kernel and --conv-padding.");
            CheckLearningRate(lr, "--lr");
            double dropout = p.GetValue(Dropout), momentum = p.GetValue(Momentum), decay = p.GetValue(WeightDecay);
            if (!(dropout >= 0 && dropout < 1)) throw new ArgumentException($"--dropout must be in [0, 1) (got {Text(dropout)}).");
            if (!(momentum >= 0 && momentum < 1)) throw new ArgumentException($"--momentum must be in [0, 1) (got {Text(momentum)}).");
            if (!(decay >= 0) || double.IsInfinity(decay)) throw new ArgumentException($"--weight-decay must be a finite number >= 0 (got {Text(decay)}).");
            if (p.GetValue(Limit) is int limit && limit < 1) throw new ArgumentException($"--limit must be at least 1 (got {limit}); leave it out to train on every image.");
            double smoothing = p.GetValue(LabelSmoothing);
            if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentException($"--label-smoothing must be in [0, 1) (got {smoothing.ToString(CultureInfo.InvariantCulture)}).");
            return new TrainConfig
            {
                Model = model, Hidden = ParseInts(p.GetValue(Hidden)!, "--hidden"), Activation = ParseActivation(p.GetValue(Activation)!),
                Dropout = dropout, Optimizer = p.GetValue(Optimizer)!.ToLowerInvariant(), Lr = lr, Momentum = momentum,
                WeightDecay = decay, Epochs = epochs, BatchSize = batch, Seed = p.GetValue(Seed), TrainLimit = p.GetValue(Limit),
                ConvPadding = padding, ConvKernel = kernel, ConvStages = stages, HorizontalFlip = p.GetValue(HorizontalFlip), LabelSmoothing = smoothing,
            };
        }
    }

    private static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A learning rate must be a finite number above 0.</summary>
    public static void CheckLearningRate(double lr, string option)
    {
        if (!(lr > 0) || double.IsInfinity(lr)) throw new ArgumentException($"{option} must be a finite number above 0 (got {Text(lr)}).");
    }

    public static int[] ParseInts(string text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new ArgumentException($"{option}: '{s}' is not a positive integer.")).ToArray();
    }

    /// <summary>Reads <c>--conv-stages</c>: stages separated by '/', positive channel counts by ','.</summary>
    public static int[][] ParseStages(string text)
    {
        var stages = text.Split('/', StringSplitOptions.TrimEntries);
        if (stages.Length == 0 || stages.Any(string.IsNullOrEmpty))
            throw new ArgumentException($"--conv-stages: '{text}' has an empty stage (expected e.g. 32/64,64).");
        var parsed = stages.Select(s => ParseInts(s, "--conv-stages")).ToArray();
        if (parsed.Length > 4) throw new ArgumentException($"--conv-stages: {parsed.Length} stages would pool a 28x28 image below 2x2 (at most 4).");
        return parsed;
    }

    public static double[] ParseDoubles(string text, string option) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v : throw new ArgumentException($"{option}: '{s}' is not a number.")).ToArray();

    public static Activation ParseActivation(string s) => s.ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "identity" or "linear" => Activation.Identity,
        _ => throw new ArgumentException($"--activation: unknown activation '{s}' (expected relu, tanh or sigmoid)."),
    };

    /// <summary>The options only <c>train</c> has: checkpoints, resume, a step budget, a schedule and synthetic data.</summary>
    private sealed class RunOptions
    {
        public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "Directory for checkpoints (model, optimizer, schedule, RNG states, data position; atomic and checksummed)." };
        public Option<int> Every { get; } = new("--checkpoint-every") { Description = "Also write a checkpoint every STEPS optimizer steps (default: at epoch ends only)." };
        public Option<int> Keep { get; } = new("--checkpoint-keep") { Description = "How many of the newest checkpoints to keep.", DefaultValueFactory = _ => 3 };
        public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the newest valid checkpoint in --checkpoint DIR (or start from the beginning when there is none)." };
        public Option<long?> MaxSteps { get; } = new("--max-steps") { Description = "Stop after this many optimizer steps in total, writing a checkpoint; --resume continues." };
        public Option<string> Schedule { get; } = new("--schedule") { Description = "Learning-rate schedule: " + TrainRunner.ScheduleForms + " (onecycle steps per batch, plateau follows the validation accuracy, the rest per epoch).", DefaultValueFactory = _ => "none" };
        public Option<double> Divergence { get; } = new("--divergence-factor") { Description = "Stop when the loss exceeds this many times the first loss (0: only on NaN or infinity).", DefaultValueFactory = _ => 1e6 };
        public Option<int?> Synthetic { get; } = new("--synthetic") { Description = "Train on N synthetic 28x28 images of 10 classes instead of Fashion-MNIST (no files needed)." };
        public Option<bool> NoCompile { get; } = new("--no-compile") { Description = "Run every training step eagerly instead of replaying a compiled step (same weights; for comparison and debugging)." };
        public Option<bool> NoShardOptimizer { get; } = new("--no-shard-optimizer") { Description = "Data-parallel: every process takes the whole optimizer step (by default, on one machine, each process updates 1/N of the parameters and reads the others' through shared memory: ZeRO-1, the same weights)." };
        public Option<bool> Distributed { get; } = new("--distributed") { Description = "Data-parallel training over MPI: run under mpirun -np N (implied when mpirun started the process); --batch-size is the global batch, rank 0 alone writes output and checkpoints." };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { Checkpoint, Every, Keep, Resume, MaxSteps, Schedule, Divergence, Synthetic, Distributed, NoShardOptimizer, NoCompile }) cmd.Add(o);
        }

        public CheckpointPlan? Plan(ParseResult p)
        {
            string? dir = p.GetValue(Checkpoint);
            int every = p.GetValue(Every), keep = p.GetValue(Keep);
            if (every < 0) throw new ArgumentException($"--checkpoint-every must be 0 or more (got {every}).");
            if (keep < 1) throw new ArgumentException($"--checkpoint-keep must be at least 1 (got {keep}).");
            if (dir is null)
            {
                if (p.GetValue(Resume)) throw new ArgumentException("--resume needs --checkpoint DIR.");
                return null;
            }
            return new CheckpointPlan(dir, every, keep, p.GetValue(Resume));
        }
    }

    public static Command Create()
    {
        var common = new CommonOptions();
        var run = new RunOptions();
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-3 };
        var cmd = new Command("train", "Train a perceptron, logistic regression, MLP or CNN on Fashion-MNIST.");
        common.AddTo(cmd);
        cmd.Add(lr);
        run.AddTo(cmd);
        cmd.SetAction((p, ct) => p.GetValue(run.Distributed) || ProcessGroup.LaunchedByMpi
            ? DistributedTrain.RunAsync(p, ct, group => RunAsync(common, run, p, p.GetValue(lr), ct, group))
            : RunAsync(common, run, p, p.GetValue(lr), ct));
        return cmd;
    }

    /// <summary>The configuration that <c>train</c> with these arguments would train (for checking printed commands).</summary>
    internal static TrainConfig ParseConfig(IReadOnlyList<string> args)
    {
        var common = new CommonOptions();
        var run = new RunOptions();
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-3 };
        var cmd = new Command("train");
        common.AddTo(cmd);
        cmd.Add(lr);
        run.AddTo(cmd);
        var p = cmd.Parse(args);
        if (p.Errors.Count > 0) throw new ArgumentException(string.Join("; ", p.Errors.Select(e => e.Message)));
        return common.Config(p, p.GetValue(lr)) with { Schedule = p.GetValue(run.Schedule)!, Synthetic = p.GetValue(run.Synthetic), MaxSteps = p.GetValue(run.MaxSteps) };
    }

    private static async Task<int> RunAsync(CommonOptions o, RunOptions r, ParseResult p, double lr, CancellationToken ct, ProcessGroup? group = null)
    {
        long? maxSteps = p.GetValue(r.MaxSteps);
        if (maxSteps < 0) throw new ArgumentException($"--max-steps must be 0 or more (got {maxSteps}).");
        double divergence = p.GetValue(r.Divergence);
        if (!(divergence >= 0)) throw new ArgumentException($"--divergence-factor must be 0 or more (got {divergence}).");
        var config = o.Config(p, lr) with { Schedule = p.GetValue(r.Schedule)!, Synthetic = p.GetValue(r.Synthetic), MaxSteps = maxSteps, DivergenceFactor = divergence,
            Compile = !p.GetValue(r.NoCompile), ShardOptimizer = !p.GetValue(r.NoShardOptimizer) };
        TrainRunner.CheckSchedule(config);
        var plan = r.Plan(p);
        bool json = p.GetValue(o.Json);
        // Checked before the data is read and anything is trained, so that no run ends unable to save its work (rank 0
        // alone writes, so it alone checks).
        string? outDir = p.GetValue(o.Out);
        if (group is not { Rank: > 0 })
        {
            if (outDir is not null) TrainRunner.CheckWritable(outDir, "--out");
            if (plan is not null) TrainRunner.CheckWritable(plan.Directory, "--checkpoint");
        }
        if (group is { Rank: > 0 })
        {
            // The other processes train their share silently: rank 0 prints, logs and writes --out.
            await TrainRunner.RunAsync(config, config.Synthetic is int m ? TrainRunner.SyntheticData(m) : FashionMnist.Load(p.GetValue(o.Data)), null, null, ct, plan, null, group);
            return 0;
        }
        var data = config.Synthetic is int n ? TrainRunner.SyntheticData(n) : FashionMnist.Load(p.GetValue(o.Data));
        string source = config.Synthetic is null ? "Fashion-MNIST" : "synthetic data";
        // In --json mode stdout holds the one JSON object, so notes about checkpoints go to stderr.
        Action<string> log = json ? m => Console.Error.WriteLine($"sharpgrad: {m}") : m => AnsiConsole.MarkupLine(Markup.Escape(m));
        TrainOutcome outcome;
        if (group is { WorldSize: > 1 }) log($"data-parallel over {group.WorldSize} processes (MPI); global batch {config.BatchSize}, {config.BatchSize / group.WorldSize} or so per process");
        if (json) outcome = await TrainRunner.RunAsync(config, data, null, null, ct, plan, log, group);
        else
        {
            AnsiConsole.MarkupLine($"[bold]Training[/] {Markup.Escape(config.Describe())} on {source}: {data.Train.Count:N0} training, {data.Validation.Count:N0} validation, {data.Test.Count:N0} test images");
            outcome = await WithProgress(config, data, ct, plan, log, group);
        }
        if (outDir is not null) TrainRunner.WriteOutputsOrFallBack(outDir, outcome);
        string? hash = outcome.Model is null ? null : StateDictIO.Sha256(outcome.Model);
        if (json)
        {
            var obj = ToJson(outcome);
            obj["steps"] = outcome.Steps;
            obj["interrupted"] = outcome.Interrupted;
            obj["resumed_from"] = outcome.ResumedFrom;
            obj["checkpoint"] = outcome.LastCheckpoint;
            obj["replayed_steps"] = outcome.ReplayedSteps;
            obj["compile_fallback"] = outcome.CompileFallbackReason;
            obj["weights_sha256"] = hash;
            obj["processes"] = group?.WorldSize ?? 1;
            Json.Print(obj);
            return 0;
        }
        PrintHistory(outcome);
        if (outcome.Interrupted) AnsiConsole.MarkupLine($"stopped after {outcome.Steps:N0} steps (--max-steps); continue with --resume");
        AnsiConsole.MarkupLine($"best epoch {outcome.BestEpoch}: validation accuracy [bold]{outcome.ValidationAccuracy:P2}[/], test accuracy [bold]{outcome.TestAccuracy:P2}[/] " +
            $"({outcome.Parameters:N0} parameters, {outcome.Seconds:F1} s)");
        if (outcome.LastCheckpoint is not null) AnsiConsole.MarkupLine($"last checkpoint: {Markup.Escape(outcome.LastCheckpoint)}");
        if (outcome.CompileFallbackReason is string eager) AnsiConsole.MarkupLine($"training steps ran eagerly (not compiled): {Markup.Escape(eager)}");
        if (hash is not null) AnsiConsole.MarkupLine($"weights sha256 {hash}");
        if (outDir is not null) AnsiConsole.MarkupLine($"wrote history.csv, loss.svg, accuracy.svg{(outcome.Model is null ? "" : ", model.safetensors, model.npz")} to {Markup.Escape(outDir)}");
        return 0;
    }

    internal static async Task<TrainOutcome> WithProgress(TrainConfig config, FashionMnistData data, CancellationToken ct, CheckpointPlan? plan = null, Action<string>? log = null, ProcessGroup? group = null)
    {
        TrainOutcome? outcome = null;
        await AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<int, ProgressTask>();
                ProgressTask Task(int epoch) => tasks.TryGetValue(epoch, out var t) ? t : tasks[epoch] = ctx.AddTask($"epoch {epoch}/{config.Epochs}");
                var batch = new Progress<BatchProgress>(b => { var t = Task(b.Epoch); t.MaxValue = b.Batches; t.Value = b.Batch; t.Description = $"epoch {b.Epoch}/{config.Epochs} loss {b.RunningLoss:F4}"; });
                var epoch = new Progress<EpochReport>(r => { var t = Task(r.Epoch); t.Value = t.MaxValue; t.Description = $"epoch {r.Epoch}/{config.Epochs} loss {r.TrainLoss:F4} val {r.ValidationAccuracy:P1}"; });
                outcome = await TrainRunner.RunAsync(config, data, batch, epoch, ct, plan, log, group);
            });
        return outcome!;
    }

    internal static void PrintHistory(TrainOutcome o)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(o.Config.Describe()));
        foreach (var c in new[] { "epoch", "train loss", "train acc.", "val. acc.", "seconds" }) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var r in o.History)
            table.AddRow((r.Epoch == o.BestEpoch ? "*" : "") + r.Epoch, r.TrainLoss.ToString("F4", CultureInfo.InvariantCulture),
                r.TrainAccuracy.ToString("P2", CultureInfo.InvariantCulture), r.ValidationAccuracy.ToString("P2", CultureInfo.InvariantCulture),
                r.Seconds.ToString("F1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
    }

    internal static JsonObject ToJson(TrainOutcome o)
    {
        var history = new JsonArray();
        foreach (var r in o.History)
            history.Add((JsonNode)new JsonObject
            {
                ["epoch"] = r.Epoch, ["train_loss"] = Json.Number(r.TrainLoss), ["train_accuracy"] = Json.Number(r.TrainAccuracy),
                ["val_accuracy"] = Json.Number(r.ValidationAccuracy), ["lr"] = Json.Number(r.LearningRate), ["seconds"] = Json.Number(r.Seconds),
            });
        return new JsonObject
        {
            ["model"] = o.Config.Model, ["description"] = o.Config.Describe(), ["params"] = o.Parameters, ["epochs"] = o.History.Count,
            ["best_epoch"] = o.BestEpoch, ["val_accuracy"] = Json.Number(o.ValidationAccuracy), ["test_accuracy"] = Json.Number(o.TestAccuracy),
            ["train_seconds"] = Json.Number(o.Seconds), ["history"] = history,
        };
    }
}
