using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Reports;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Cli.Commands;

/// <summary>Builds, trains and evaluates one configuration on Fashion-MNIST.</summary>
internal static class TrainRunner
{
    public static readonly string[] ModelNames = ["perceptron", "logreg", "mlp", "cnn"];

    public static Module BuildModel(TrainConfig c, Generator g) => c.Model switch
    {
        "logreg" => Models.LogisticRegression(784, 10, g),
        "mlp" => Models.Mlp(784, c.Hidden, 10, c.Activation, c.Dropout, g),
        "cnn" when c.ConvStages is not null => Models.StagedCnn(c.ConvStages, 10, c.Dropout, c.BatchNorm, c.Activation, g),
        "cnn" => Models.Cnn(10, c.Dropout, c.BatchNorm, c.Activation, g, c.ConvPadding, c.ConvKernel),
        _ => throw new ArgumentException($"unknown model '{c.Model}' (expected {string.Join(", ", ModelNames)})."),
    };

    public static Optimizer BuildOptimizer(TrainConfig c, IEnumerable<Tensor> parameters) => c.Optimizer switch
    {
        "sgd" => new Sgd(parameters, c.Lr, c.Momentum, weightDecay: c.WeightDecay),
        "adam" => new Adam(parameters, c.Lr, weightDecay: c.WeightDecay),
        "adamw" => new AdamW(parameters, c.Lr, weightDecay: c.WeightDecay),
        "rmsprop" => new RmsProp(parameters, c.Lr, weightDecay: c.WeightDecay, momentum: c.Momentum),
        _ => throw new ArgumentException($"unknown optimizer '{c.Optimizer}' (expected sgd, adam, adamw or rmsprop)."),
    };

    /// <summary>What --schedule accepts, for its help text and errors.</summary>
    public const string ScheduleForms = "none, cosine, step:N[:GAMMA], exponential:GAMMA, linear:ITERS[:START[:END]], warmup-cosine:N, onecycle[:MAX_LR] or plateau[:PATIENCE[:FACTOR]]";

    /// <summary>
    /// The schedule --schedule names, for <paramref name="optimizer"/> and <paramref name="batchesPerEpoch"/> batches an
    /// epoch: cosine over all epochs; step, exponential, linear (warm-up) per epoch; warmup-cosine: a linear warm-up from
    /// 0.1 x over N epochs, then cosine to 0; onecycle: per batch over the whole run, peak MAX_LR (default --lr), with
    /// momentum or beta1 cycled when the optimizer has it (adam, adamw, or --momentum above 0); plateau: x FACTOR (0.1)
    /// after PATIENCE (2) epochs without a better validation accuracy.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown form or a bad value; one line naming --schedule and the value.</exception>
    public static LRScheduler? BuildScheduler(TrainConfig c, Optimizer optimizer, int batchesPerEpoch)
    {
        string text = c.Schedule.Trim().ToLowerInvariant();
        var parts = text.Split(':');
        ArgumentException Bad(string why) => new($"--schedule '{c.Schedule}': {why}.");
        ArgumentException Form() => Bad("expected " + ScheduleForms);
        int Count(int i, string what, int min)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int n)) throw Bad($"{what} '{parts[i]}' is not a whole number");
            return n >= min ? n : throw Bad($"{what} must be at least {min} (got {n})");
        }
        double Number(int i, string what, Func<double, bool> ok, string range, double fallback)
        {
            if (i >= parts.Length) return fallback;
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)) throw Bad($"{what} '{parts[i]}' is not a number");
            return ok(v) ? v : throw Bad($"{what} must be {range} (got {parts[i]})");
        }
        void Arity(int min, int max) { if (parts.Length - 1 < min || parts.Length - 1 > max) throw Form(); }
        int epochs = Math.Max(1, c.Epochs);
        switch (parts[0])
        {
            case "none": Arity(0, 0); return null;
            case "cosine": Arity(0, 0); return new CosineAnnealingLR(optimizer, epochs);
            case "step":
                Arity(1, 2);
                return new StepLR(optimizer, Count(1, "N", 1), Number(2, "GAMMA", v => v > 0, "above 0", 0.1));
            case "exponential":
                Arity(1, 1);
                return new ExponentialLR(optimizer, Number(1, "GAMMA", v => v > 0, "above 0", double.NaN));
            case "linear":
                Arity(1, 3);
                return new LinearLR(optimizer, Number(2, "START", v => v > 0 && v <= 1, "in (0, 1]", 1.0 / 3), Number(3, "END", v => v >= 0 && v <= 1, "in [0, 1]", 1.0),
                    Count(1, "ITERS", 1));
            case "warmup-cosine":
            {
                Arity(1, 1);
                int n = Count(1, "N", 1);
                if (n >= epochs) throw Bad($"the warm-up of {n} epochs leaves none of the {epochs} epochs (--epochs) for the cosine");
                return new SequentialLR(optimizer, [new LinearLR(optimizer, 0.1, 1.0, n), new CosineAnnealingLR(optimizer, epochs - n)], [n]);
            }
            case "onecycle":
            {
                Arity(0, 1);
                double peak = Number(1, "MAX_LR", v => v > 0, "above 0", c.Lr);
                bool cycle = optimizer.ParamGroups.All(g => g.Beta1 is not null) || c.Momentum > 0;
                return new OneCycleLR(optimizer, peak, epochs * Math.Max(1, batchesPerEpoch), cycleMomentum: cycle);
            }
            case "plateau":
                Arity(0, 2);
                return new ReduceLROnPlateau(optimizer, factor: Number(2, "FACTOR", v => v >= 0 && v < 1, "in [0, 1)", 0.1), patience: parts.Length > 1 ? Count(1, "PATIENCE", 0) : 2);
            default: throw Form();
        }
    }

    /// <summary>Checks --schedule before any data is read, on a stand-in optimizer of the configured kind.</summary>
    public static void CheckSchedule(TrainConfig c)
    {
        var leaf = Tensor.Zeros(1);
        leaf.RequiresGrad = true;
        BuildScheduler(c, BuildOptimizer(c, [leaf]), 1);
    }

    public static async Task<TrainOutcome> RunAsync(TrainConfig c, FashionMnistData data, IProgress<BatchProgress>? batchProgress,
        IProgress<EpochReport>? epochProgress, CancellationToken ct, CheckpointPlan? plan = null, Action<string>? log = null, ProcessGroup? group = null)
    {
        var train = c.TrainLimit is int limit ? data.Train.Slice(0, Math.Min(limit, data.Train.Count)) : data.Train;
        if (c.Model == "perceptron")
        {
            if (plan is not null || c.MaxSteps is not null) throw new ArgumentException("--checkpoint, --resume and --max-steps are not supported for the perceptron.");
            if (c.HorizontalFlip || c.LabelSmoothing != 0) throw new ArgumentException("--hflip and --label-smoothing are not supported for the perceptron (it has no loss).");
            return RunPerceptron(c, train, data, epochProgress, ct);
        }
        var g = new Generator(c.Seed);
        var model = BuildModel(c, g);
        var optimizer = BuildOptimizer(c, model.Parameters());
        // Data-parallel (under mpirun): gradients are averaged by DDP's hooks, the fit loop shards each global batch.
        bool parallel = group is { WorldSize: > 1 };
        if (parallel && c.Model == "perceptron") throw new ArgumentException("--distributed: the perceptron has no gradients to average; use another --model.");
        using var ddp = parallel ? new DistributedDataParallel(model, group!) : null;
        // On one machine each process updates 1/N of the parameters (ZeRO-1; the same weights): measured faster than the
        // whole step on every process on the idle machine (DISTRIBUTED.md); --no-shard-optimizer turns it off.
        if (ddp is not null && c.ShardOptimizer) ddp.ShardOptimizerStep(optimizer);
        // Augmentation draws from its own generator (seed + 2), which checkpoints save beside the loader's.
        var flip = c.HorizontalFlip ? new RandomHorizontalFlip(train, 0.5, new Generator(c.Seed + 2)) : null;
        var loader = new DataLoader(flip ?? (IDataset)train, c.BatchSize, shuffle: true, generator: new Generator(c.Seed + 1));
        var run = new TrainingRunOptions
        {
            Scheduler = BuildScheduler(c, optimizer, loader.BatchCount), MaxSteps = c.MaxSteps, DivergenceFactor = c.DivergenceFactor > 0 ? c.DivergenceFactor : null,
            Generators = flip is null ? null : new Dictionary<string, Generator> { ["augment"] = flip.Generator },
            DataParallel = parallel ? group : null,
        };
        string? resumedFrom = null, lastSaved = null;
        run = run with { CheckpointSaved = path => lastSaved = path };
        if (plan is not null)
        {
            var dir = new CheckpointDirectory(plan.Directory, plan.Keep);
            string fingerprint = c.Fingerprint();
            // Every process reads checkpoints (to resume); rank 0 alone writes them.
            run = run with { Checkpoints = group is { Rank: > 0 } ? null : dir, CheckpointEvery = plan.Every, Metadata = new Dictionary<string, string> { ["sharpgrad.config"] = fingerprint } };
            if (!plan.Resume && dir.List() is [var newest, ..])
                throw new ArgumentException($"--checkpoint: {dir.Path} already holds checkpoints of a run (newest: {Path.GetFileName(newest)}); add --resume to continue it, or use an empty directory.");
            if (plan.Resume)
            {
                var found = dir.FindLatest(ck =>
                {
                    if (ck.Metadata.TryGetValue("sharpgrad.config", out var f) && f != fingerprint)
                        throw new ArgumentException($"{ck.Source}: this checkpoint was written with other options ({f}) than this run's ({fingerprint}); use the same options or another --checkpoint directory.");
                    Trainer.CheckResumable(ck, model, optimizer, loader, run);
                });
                // A checkpoint this run cannot read may be one another version (or the user) still needs: it is moved
                // aside, never deleted, and the note says where. Rotation would otherwise delete it as a later step.
                foreach (var r in found.Rejected)
                    log?.Invoke($"skipping {r.Path}: {r.Reason} (moved to {dir.SetAside(r.Path)})");
                if (found.Checkpoint is Checkpoint ck)
                {
                    log?.Invoke($"resuming from {found.Path} (epoch {ck.Epoch}, batch {ck.Batch}, step {ck.Step})");
                    (resumedFrom, run) = (found.Path, run with { ResumeFrom = ck });
                }
                else log?.Invoke($"no valid checkpoint in {dir.Path}; starting from the beginning");
            }
        }
        double smoothing = c.LabelSmoothing;
        if (parallel) group!.Barrier(); // every process has read the checkpoint directory before rank 0 writes to it
        TrainingRunResult result;
        try
        {
            result = await Trainer.RunAsync(model, (o, y) => F.CrossEntropy(o, y, labelSmoothing: smoothing), optimizer, loader, data.Validation,
                new FitOptions { Epochs = c.Epochs, BatchProgress = batchProgress, Compile = c.Compile }, run, epochProgress, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            string where = lastSaved is not null ? $"; checkpoint {lastSaved} written, continue with --resume"
                : plan is null ? " (no --checkpoint: nothing saved)" : "; no checkpoint written since the last one";
            throw new RunStoppedException($" after {optimizer.StepCount} steps{where}");
        }
        double test = group is { Rank: > 0 } ? double.NaN : Trainer.Accuracy(model, data.Test); // only rank 0 reports
        var fit = result.Fit;
        return new TrainOutcome(c, model.ParameterCount(), fit.History, fit.BestEpoch, fit.BestValidationAccuracy, test, fit.Seconds, model)
        {
            Steps = result.Steps, Interrupted = result.Interrupted, ResumedFrom = resumedFrom, LastCheckpoint = result.LastCheckpoint,
            ReplayedSteps = result.Fit.ReplayedSteps, CompileFallbackReason = result.Fit.CompileFallbackReason,
        };
    }

    /// <summary>
    /// A small stand-in for Fashion-MNIST that needs no files: <paramref name="count"/> training images (and a quarter
    /// as many for validation and for test) of 28x28 pixels in 10 classes, each class a fixed random pattern with 30%
    /// of its pixels replaced by noise. Always the same images (fixed seed), whatever --seed is.
    /// </summary>
    public static FashionMnistData SyntheticData(int count)
    {
        if (count < 1) throw new ArgumentException($"--synthetic must be at least 1 (got {count}).");
        const int Size = 28 * 28;
        var g = new Generator(20240601UL);
        var prototypes = new byte[10][];
        for (int c = 0; c < 10; c++)
        {
            prototypes[c] = new byte[Size];
            for (int k = 0; k < Size; k++) prototypes[c][k] = (byte)g.NextInt(256);
        }
        ImageDataset Make(int n)
        {
            var pixels = new byte[n * Size];
            var labels = new byte[n];
            for (int i = 0; i < n; i++)
            {
                int label = g.NextInt(10);
                labels[i] = (byte)label;
                for (int k = 0; k < Size; k++) pixels[i * Size + k] = g.NextDouble() < 0.7 ? prototypes[label][k] : (byte)g.NextInt(256);
            }
            return new ImageDataset(pixels, labels, 1, 28, 28);
        }
        int other = Math.Max(10, count / 4);
        return new FashionMnistData(Make(count), Make(other), Make(other));
    }

    private static TrainOutcome RunPerceptron(TrainConfig c, ImageDataset train, FashionMnistData data, IProgress<EpochReport>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var p = new SharpGrad.Theory.Perceptron(784, 10);
        var (xTrain, yTrain) = All(train);
        var (xVal, yVal) = All(data.Validation);
        var g = new Generator(c.Seed + 1);
        var history = new List<EpochReport>();
        double best = -1; int bestEpoch = 0;
        Tensor? bestW = null, bestB = null;
        for (int e = 1; e <= c.Epochs; e++)
        {
            ct.ThrowIfCancellationRequested();
            var epochSw = Stopwatch.StartNew();
            int mistakes = p.Epoch(xTrain, yTrain, g.Permutation(train.Count), c.Lr);
            double val = p.Accuracy(xVal, yVal);
            var r = new EpochReport(e, (double)mistakes / train.Count, 1 - (double)mistakes / train.Count, double.NaN, val, c.Lr, epochSw.Elapsed.TotalSeconds);
            history.Add(r);
            progress?.Report(r);
            if (val > best) { (best, bestEpoch, bestW, bestB) = (val, e, p.Weight, p.Bias); }
        }
        // Model selection by validation accuracy: evaluate the best epoch's weights on the test set.
        double test = EvaluatePerceptron(bestW!, bestB!, data.Test);
        return new TrainOutcome(c, 784 * 10 + 10, history, bestEpoch, best, test, sw.Elapsed.TotalSeconds, null);
    }

    private static double EvaluatePerceptron(Tensor w, Tensor b, ImageDataset test)
    {
        var (x, y) = All(test);
        var pred = x.To(DType.Float64).MatMul(w.Transpose(0, 1)).Add(b).ArgMax(1);
        return pred.Eq(y).To(DType.Float32).Mean().Item();
    }

    private static (Tensor X, Tensor Y) All(ImageDataset ds)
    {
        var (x, y) = ds.GetBatch(Enumerable.Range(0, ds.Count).ToArray());
        return (x.Reshape(ds.Count, -1), y);
    }

    /// <summary>
    /// Refuses, before any work, an output directory that cannot be written: <paramref name="option"/> names a file, or
    /// the directory cannot be created or a file cannot be made in it. Creates the directory.
    /// </summary>
    public static void CheckWritable(string dir, string option)
    {
        if (File.Exists(dir)) throw new ArgumentException($"{option}: '{dir}' is a file; expected a directory.");
        string probe = Path.Combine(dir, $".sharpgrad-write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(dir);
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option}: cannot write to '{dir}' ({e.Message.ReplaceLineEndings(" ")}); nothing was trained.", e);
        }
    }

    /// <summary>
    /// <see cref="WriteOutputs"/>, and when <paramref name="dir"/> cannot be written after all (it was checked before
    /// training, but may have changed since), the same files into a new temporary directory, so that a finished model is
    /// never lost; then one error naming both.
    /// </summary>
    public static void WriteOutputsOrFallBack(string dir, TrainOutcome o)
    {
        try { WriteOutputs(dir, o); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string temp = Directory.CreateTempSubdirectory("sharpgrad-out-").FullName;
            WriteOutputs(temp, o);
            throw new IOException($"--out: could not write to '{dir}' ({e.Message.ReplaceLineEndings(" ")}); the outputs{(o.Model is null ? "" : ", weights included,")} were written to {temp} instead.", e);
        }
    }

    /// <summary>Writes history.csv, loss.svg, accuracy.svg, the weights (model.safetensors and model.npz) and the model's configuration (model.json) into <paramref name="dir"/>.</summary>
    public static void WriteOutputs(string dir, TrainOutcome o)
    {
        Directory.CreateDirectory(dir);
        var csv = new StringBuilder("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
        foreach (var r in o.History)
            csv.Append(string.Create(CultureInfo.InvariantCulture, $"{r.Epoch},{r.TrainLoss:R},{r.TrainAccuracy:R},{r.ValidationLoss:R},{r.ValidationAccuracy:R},{r.LearningRate:R},{r.Seconds:F3}\n"));
        AtomicFile.WriteText(Path.Combine(dir, "history.csv"), csv.ToString());
        string lossLabel = o.Config.Model == "perceptron" ? "mistakes per example" : "cross-entropy";
        var loss = new LineChart($"Training loss — {o.Config.Describe()}", "epoch", lossLabel)
            .Add("training", o.History.Select(r => r.TrainLoss).ToArray());
        if (o.History.Any(r => double.IsFinite(r.ValidationLoss))) loss.Add("validation", o.History.Select(r => r.ValidationLoss).ToArray());
        AtomicFile.WriteText(Path.Combine(dir, "loss.svg"), loss.ToSvg());
        var acc = new LineChart($"Accuracy — {o.Config.Describe()}", "epoch", "accuracy")
            .Add("training", o.History.Select(r => r.TrainAccuracy).ToArray())
            .Add("validation", o.History.Select(r => r.ValidationAccuracy).ToArray());
        AtomicFile.WriteText(Path.Combine(dir, "accuracy.svg"), acc.ToSvg());
        if (o.Model is not null)
        {
            var state = o.Model.StateDict();
            Safetensors.Save(Path.Combine(dir, "model.safetensors"), state);
            Npy.SaveNpz(Path.Combine(dir, "model.npz"), state);
            ModelConfigFile.Write(dir, o.Config); // what `sharpgrad export` needs to rebuild the module
        }
    }
}
