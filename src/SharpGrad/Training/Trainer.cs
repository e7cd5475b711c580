using System.Diagnostics;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Training;

/// <summary>The fit loop: mini-batch training with per-epoch metrics, validation-based model selection, early stopping,
/// and (through <see cref="RunAsync"/>) atomic checkpoints with exact resume.</summary>
public static partial class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> for <see cref="FitOptions.Epochs"/> epochs: for each batch, forward, loss, backward,
    /// optimizer step. After each epoch the validation set (if any) is evaluated and reported through
    /// <paramref name="progress"/>; the best epoch's weights are restored at the end when <see cref="FitOptions.RestoreBest"/>.
    /// A NaN or infinite loss throws <see cref="NonFiniteLossException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/> between batches (the step in progress finishes first).
    /// </summary>
    /// <remarks>
    /// Each step (and each evaluation batch) runs in a <see cref="TensorScope"/>, so its storage is reused by the next:
    /// a tensor the model or the loss makes during a step is unusable after it. A module that keeps one for later
    /// (say, the last activations for a plot) stores <c>t.Clone()</c> or registers it as a buffer; parameters, buffers,
    /// optimizer state and the gradients on the parameters are kept anyway.
    /// </remarks>
    public static Task<FitResult> FitAsync(Module model, Func<Tensor, Tensor, Tensor> loss, Optimizer optimizer, DataLoader train,
        IDataset? validation = null, FitOptions? options = null, IProgress<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        options ??= new FitOptions();
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be non-negative.");
        var opts = options;
        return Task.Run(() => Fit(model, loss, optimizer, train, validation, opts, TrainingRunOptions.None, progress, cancellationToken).Fit, cancellationToken);
    }

    /// <summary>
    /// <see cref="FitAsync"/> with checkpoints, resume, a learning-rate schedule and a step budget (see
    /// <see cref="TrainingRunOptions"/>). Training N steps straight, or k steps, stopping (or being killed) and resuming
    /// from the last checkpoint in a new process, gives bit-identical weights: the checkpoint holds the model, the
    /// optimizer state, the schedule's epoch, every generator's state, the epoch's example order and the position in it.
    /// Cancellation lets the step in progress finish, writes a checkpoint of that point (when
    /// <see cref="TrainingRunOptions.Checkpoints"/> is set and a step was taken since the last one), then throws
    /// <see cref="OperationCanceledException"/>; resuming from that checkpoint ends like a run never stopped.
    /// </summary>
    /// <exception cref="InvalidDataException"><see cref="TrainingRunOptions.ResumeFrom"/> does not fit this model, optimizer or data (checked before training starts).</exception>
    public static Task<TrainingRunResult> RunAsync(Module model, Func<Tensor, Tensor, Tensor> loss, Optimizer optimizer, DataLoader train,
        IDataset? validation, FitOptions? options, TrainingRunOptions run, IProgress<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(run);
        options ??= new FitOptions();
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be non-negative.");
        ArgumentOutOfRangeException.ThrowIfNegative(run.CheckpointEvery);
        if (run.ResumeFrom is not null) CheckResumable(run.ResumeFrom, model, optimizer, train, run);
        var opts = options;
        return Task.Run(() => Fit(model, loss, optimizer, train, validation, opts, run, progress, cancellationToken), cancellationToken);
    }

    private static TrainingRunResult Fit(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, DataLoader train,
        IDataset? validation, FitOptions options, TrainingRunOptions run, IProgress<EpochReport>? progress, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var st = new FitState();
        var dp = run.DataParallel is { WorldSize: > 1 } parallel ? parallel : null;
        if (run.ResumeFrom is not null) Restore(run.ResumeFrom, st, model, optimizer, train, run);
        // A checkpoint holds the sums over all processes; after a resume rank 0 alone carries them on.
        if (run.ResumeFrom is not null && dp is not null && dp.Rank != 0) (st.LossSum, st.Seen, st.Correct) = (0, 0, 0);
        string? lastCheckpoint = null;
        // The step the newest checkpoint holds (the resumed one's at first), so that a stop does not write it twice.
        long savedStep = run.ResumeFrom?.Step ?? 0;
        void Save()
        {
            var local = (st.LossSum, st.Seen, st.Correct);
            if (dp is not null) (st.LossSum, st.Seen, st.Correct) = GlobalSums(st, dp); // a collective: every process comes here
            try
            {
                if (run.Checkpoints is null) return;
                lastCheckpoint = run.Checkpoints.Save(Capture(st, model, optimizer, train, run));
                savedStep = optimizer.StepCount;
                run.CheckpointSaved?.Invoke(lastCheckpoint);
            }
            finally { (st.LossSum, st.Seen, st.Correct) = local; }
        }
        // Cancelled between steps: the step in progress has finished, so the state is whole and worth a checkpoint.
        void StopIfCancelled()
        {
            if (!ct.IsCancellationRequested) return;
            if (optimizer.StepCount != savedStep) Save();
            ct.ThrowIfCancellationRequested();
        }
        bool Budget() => run.MaxSteps is long max && optimizer.StepCount >= max;
        var names = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in model.NamedParameters()) names[p] = name;
        bool interrupted = false;
        while (st.Epoch <= options.Epochs && !st.StoppedEarly)
        {
            if (Budget()) { interrupted = true; break; }
            StopIfCancelled();
            var sw = Stopwatch.StartNew();
            model.Train();
            if (st.Order is null) st.StartEpoch(train.NextEpochOrder());
            double lr = optimizer.LearningRate;
            int batches = train.BatchCount;
            while (st.Batch < batches)
            {
                StopIfCancelled();
                var (value, n) = Step(model, lossFn, optimizer, train, st, names, run);
                st.LossSum += value * n;
                st.Seen += n;
                st.Batch++;
                options.BatchProgress?.Report(new BatchProgress(st.Epoch, st.Batch, batches, st.LossSum / st.Seen));
                // After the last batch the epoch-end checkpoint follows at once, so none is written here.
                if (st.Batch == batches) continue;
                bool stop = Budget();
                if (stop || (run.CheckpointEvery > 0 && optimizer.StepCount % run.CheckpointEvery == 0)) Save();
                if (stop) { interrupted = true; break; }
            }
            if (interrupted) break;
            double valLoss = double.NaN, valAcc = double.NaN;
            if (validation is not null && validation.Count > 0)
                (valLoss, valAcc) = EvaluateShared(model, lossFn, validation, options.EvaluationBatchSize, dp);
            var (lossSum, seen, correct) = GlobalSums(st, dp);
            var report = new EpochReport(st.Epoch, seen == 0 ? double.NaN : lossSum / seen, st.Classification && seen > 0 ? (double)correct / seen : double.NaN,
                valLoss, valAcc, lr, sw.Elapsed.TotalSeconds);
            st.History.Add(report);
            options.OnEpochEnd?.Invoke(report);
            progress?.Report(report);
            run.Scheduler?.Step();

            double score = double.IsNaN(valAcc) ? st.Epoch : valAcc; // without validation the last epoch is "best"
            if (score > st.Best)
            {
                (st.Best, st.BestEpoch, st.SinceBest) = (score, st.Epoch, 0);
                if (options.RestoreBest && validation is not null) st.BestState = model.StateDict();
            }
            else if (options.EarlyStoppingPatience is int patience && ++st.SinceBest >= patience) st.StoppedEarly = true;
            (st.Epoch, st.Batch, st.Order) = (st.Epoch + 1, 0, null);
            Save();
        }
        if (!interrupted)
        {
            if (st.BestState is not null && st.BestEpoch != st.History.Count) model.LoadStateDict(st.BestState);
            model.Eval();
        }
        double bestAcc = validation is null || st.History.Count == 0 ? double.NaN : st.History[st.BestEpoch - 1].ValidationAccuracy;
        var fit = new FitResult(st.History, st.BestEpoch, bestAcc, st.StoppedEarly, total.Elapsed.TotalSeconds);
        return new TrainingRunResult(fit, optimizer.StepCount, interrupted, lastCheckpoint);
    }

    /// <summary>
    /// One optimizer step on batch <c>st.Batch</c>, in a <see cref="TensorScope"/> of its own: the batch, activations and
    /// gradients are recycled for the next step. Counts the batch's correct predictions into <paramref name="st"/>;
    /// returns the loss and the batch size.
    /// </summary>
    private static (double Loss, int Count) Step(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, DataLoader train,
        FitState st, Dictionary<Tensor, string> names, TrainingRunOptions run)
    {
        using var scope = new TensorScope();
        var (x, y) = LocalBatch(train, st.Order!, st.Batch, run.DataParallel);
        var output = model.Forward(x);
        var loss = lossFn(output, y);
        double value = loss.Item();
        if (!double.IsFinite(value)) throw new NonFiniteLossException(st.Epoch, optimizer.StepCount + 1, value, st.LastFinite);
        if (double.IsNaN(st.FirstLoss)) st.FirstLoss = value;
        // Relative to at least 1, so that a first loss of (nearly) zero cannot make every later loss look divergent.
        if (run.DivergenceFactor is double factor && Math.Abs(value) > factor * Math.Max(Math.Abs(st.FirstLoss), 1.0))
            throw TrainingDivergedException.LossGrew(st.Epoch, optimizer.StepCount + 1, value, st.FirstLoss, factor);
        st.LastFinite = value;
        optimizer.ZeroGrad();
        loss.Backward();
        optimizer.Step();
        CheckParameters(optimizer, names, st, value);
        if (st.Classification && IsClassification(output, y)) st.Correct += CountCorrect(output, y);
        else st.Classification = false;
        return (value, x.ShapeRef[0]);
    }

    /// <summary>A step that made a parameter NaN or infinite stops training before those weights can be used or saved.</summary>
    private static void CheckParameters(Optimizer optimizer, Dictionary<Tensor, string> names, FitState st, double loss)
    {
        for (int i = 0; i < optimizer.Parameters.Count; i++)
        {
            var p = optimizer.Parameters[i];
            int bad = p.DType == DType.Float32 ? FirstNonFinite(p.Span<float>()) : FirstNonFinite(p.Span<double>());
            if (bad >= 0)
                throw TrainingDivergedException.ParameterNotFinite(st.Epoch, optimizer.StepCount, loss, st.FirstLoss,
                    names.TryGetValue(p, out var name) ? $"'{name}'" : $"{i} (shape {Shapes.Format(p.ShapeRef)})", p.GetDouble(bad));
        }
    }

    private static int FirstNonFinite<T>(ReadOnlySpan<T> values) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++) if (!T.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>Mean loss and accuracy of <paramref name="model"/> on <paramref name="data"/>, in evaluation mode and without the tape.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, Func<Tensor, Tensor, Tensor> loss, IDataset data, int batchSize = 250)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            double lossSum = 0;
            long correct = 0, seen = 0;
            bool classification = true;
            foreach (var (x, y) in new DataLoader(data, batchSize).Epoch())
            {
                using var scope = new TensorScope(); // nothing of a batch is needed after its counts
                var output = model.Forward(x);
                int n = x.ShapeRef[0];
                lossSum += loss(output, y).Item() * n;
                if (classification && IsClassification(output, y)) correct += CountCorrect(output, y);
                else classification = false;
                seen += n;
            }
            return (seen == 0 ? double.NaN : lossSum / seen, classification && seen > 0 ? (double)correct / seen : double.NaN);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="data"/> (argmax of the outputs against Int64 labels).</summary>
    public static double Accuracy(Module model, IDataset data, int batchSize = 250) =>
        Evaluate(model, (o, y) => Tensor.Scalar(0), data, batchSize).Accuracy;

    private static bool IsClassification(Tensor output, Tensor target) =>
        target.DType == DType.Int64 && output.Rank == 2 && target.Rank == 1 && output.ShapeRef[0] == target.ShapeRef[0];

    private static long CountCorrect(Tensor output, Tensor target)
    {
        var pred = output.ArgMax(1).Array<long>();
        var y = target.Array<long>();
        long c = 0;
        for (int i = 0; i < y.Length; i++) if (pred[i] == y[i]) c++;
        return c;
    }
}
