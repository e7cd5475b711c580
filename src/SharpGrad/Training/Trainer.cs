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
    /// <see cref="FitOptions.AfterBackward"/>, gradient clipping, optimizer step. After each epoch the validation set (if
    /// any) is evaluated with <see cref="FitOptions.Metrics"/> and reported through <paramref name="progress"/>; the
    /// epoch with the best value of <see cref="FitOptions.Monitor"/> (validation accuracy for classification, validation
    /// loss otherwise) drives early stopping, and its weights are restored at the end when <see cref="FitOptions.RestoreBest"/>.
    /// A NaN or infinite loss throws <see cref="NonFiniteLossException"/>. Cancellation stops between batches (the step in
    /// progress finishes first) and returns the result so far with <see cref="FitResult.Cancelled"/> set, the best
    /// weights restored and the model in evaluation mode, as at a normal end.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Each step (and each evaluation batch) runs in a <see cref="TensorScope"/>, so its storage is reused by the next:
    /// every tensor the model or the loss makes during a step, whatever its size, is unusable after it (reading one
    /// throws <see cref="ObjectDisposedException"/>). A module that keeps one for later (say, the last activations for a
    /// plot) stores <c>t.Clone()</c> or registers it as a buffer; parameters, buffers, optimizer state and the gradients
    /// on the parameters are kept anyway.
    /// </para>
    /// <para>
    /// By default (<see cref="FitOptions.Compile"/>) the step is compiled (<see cref="Jit.Compile"/>): after one eager call
    /// per batch shape it is captured, and later batches of that shape replay the captured kernels on the plan's own
    /// buffers, with the same results bit for bit. A batch whose loss stops the fit (not finite, or diverging) ends its
    /// step before the backward pass, as an eager step does, so the weights are never updated with it. <see cref="FitOptions.AfterBackward"/>, <see cref="FitOptions.ClipGradNorm"/> and
    /// data-parallel training keep the steps eager, as does a model or loss with an op a plan cannot replay;
    /// <see cref="FitResult.CompileFallbackReason"/> says which. The tensors a captured step makes belong to its plan
    /// rather than to a scope: they stay readable, and each replay overwrites them with its batch's values (C# code in a
    /// module's <c>Forward</c>, such as keeping a tensor in a field, runs only in the eager and captured calls).
    /// </para>
    /// <para>
    /// Reports reach <paramref name="progress"/> and <see cref="FitOptions.BatchProgress"/> in order, and the returned task
    /// completes only after the last has been handled. A <see cref="Progress{T}"/> gets each report once its handler has
    /// finished the previous one (see <see cref="Progress{T}.ProgressChanged"/>), so a handler that throws, or a thread
    /// that blocks on the task while the handlers need it, stops the deliveries.
    /// </para>
    /// </remarks>
    public static Task<FitResult> FitAsync(Module model, Func<Tensor, Tensor, Tensor> loss, Optimizer optimizer, DataLoader train,
        IDataset? validation = null, FitOptions? options = null, IProgress<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        options ??= new FitOptions();
        CheckOptions(options, validation, TrainingRunOptions.None);
        return Ordered(options, progress, (opts, p) => Fit(model, loss, optimizer, train, validation, opts, TrainingRunOptions.None, p, cancellationToken, returnOnCancel: true).Fit);
    }

    /// <summary>Runs the fit loop on the thread pool with its progress reports sequenced, finishing after the last is handled.</summary>
    private static async Task<T> Ordered<T>(FitOptions options, IProgress<EpochReport>? progress, Func<FitOptions, IProgress<EpochReport>?, T> fit)
    {
        var epochs = OrderedProgress<EpochReport>.Wrap(progress);
        var batches = OrderedProgress<BatchProgress>.Wrap(options.BatchProgress);
        var opts = batches is null ? options : options with { BatchProgress = batches };
        try
        {
            return await Task.Run(() => fit(opts, epochs)).ConfigureAwait(false);
        }
        finally
        {
            if (epochs is not null) await epochs.DrainAsync().ConfigureAwait(false);
            if (batches is not null) await batches.DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Checks the options before any work, so that a misspelt monitor fails at once rather than after an epoch.</summary>
    private static void CheckOptions(FitOptions options, IDataset? validation, TrainingRunOptions run)
    {
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be non-negative.");
        if (options.EarlyStoppingPatience is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.EarlyStoppingPatience, "FitOptions.EarlyStoppingPatience must be at least 1 (or null).");
        if (options.ClipGradNorm is double n && !(n >= 0)) throw new ArgumentOutOfRangeException(nameof(options), n, "FitOptions.ClipGradNorm must be a non-negative number.");
        if (options.ClipGradValue is double v && !(v >= 0)) throw new ArgumentOutOfRangeException(nameof(options), v, "FitOptions.ClipGradValue must be a non-negative number.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in options.Metrics)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(options));
            if (!names.Add(m.Name)) throw new ArgumentException($"FitOptions.Metrics has two metrics named '{m.Name}'.", nameof(options));
        }
        if (options.Metrics.Count > 0 && run.DataParallel is { WorldSize: > 1 })
            throw new ArgumentException("FitOptions.Metrics are not computed in data-parallel training; evaluate them on one process after the fit.", nameof(options));
        bool hasValidation = validation is not null && validation.Count > 0;
        if (options.Monitor is string monitor)
        {
            var known = KnownMonitor(monitor, options);
            if (known is null)
                throw new ArgumentException($"FitOptions.Monitor '{monitor}' is not a known quantity; use val_loss, val_accuracy, train_loss, train_accuracy" +
                    (options.Metrics.Count > 0 ? " or a metric: " + string.Join(", ", options.Metrics.Select(m => m.Name)) : " (or add a metric to FitOptions.Metrics)") + ".", nameof(options));
            if (known.Value.Validation && !hasValidation)
                throw new ArgumentException($"FitOptions.Monitor '{monitor}' is measured on validation data, and none was given; pass a validation set or monitor 'train_loss'.", nameof(options));
        }
        else if (!hasValidation && options.EarlyStoppingPatience is not null)
            throw new ArgumentException("FitOptions.EarlyStoppingPatience needs a quantity to monitor: pass a validation set, or set FitOptions.Monitor to 'train_loss'.", nameof(options));
    }

    /// <summary>
    /// <see cref="FitAsync"/> with checkpoints, resume, a learning-rate schedule and a step budget (see
    /// <see cref="TrainingRunOptions"/>). The schedule is stepped as in a PyTorch loop: after every optimizer step when
    /// its <see cref="LRScheduler.Interval"/> is <see cref="SchedulerInterval.Batch"/> (<see cref="OneCycleLR"/>), else after
    /// every epoch; <see cref="ReduceLROnPlateau"/> after every epoch with the value of <see cref="FitOptions.Monitor"/>. Training N steps straight, or k steps, stopping (or being killed) and resuming
    /// from the last checkpoint in a new process, gives bit-identical weights: the checkpoint holds the model, the
    /// optimizer state, the schedule's epoch, every generator's state, the epoch's example order and the position in it.
    /// Cancellation lets the step in progress finish, writes a checkpoint of that point (when
    /// <see cref="TrainingRunOptions.Checkpoints"/> is set and a step was taken since the last one), puts the model in
    /// evaluation mode, then throws <see cref="OperationCanceledException"/>; resuming from that checkpoint ends like a
    /// run never stopped.
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
        CheckOptions(options, validation, run);
        CheckScheduler(run.Scheduler, optimizer, options, validation);
        ArgumentOutOfRangeException.ThrowIfNegative(run.CheckpointEvery);
        if (run.ResumeFrom is not null) CheckResumable(run.ResumeFrom, model, optimizer, train, run);
        return Ordered(options, progress, (opts, p) => Fit(model, loss, optimizer, train, validation, opts, run, p, cancellationToken, returnOnCancel: false));
    }

    private static TrainingRunResult Fit(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, DataLoader train,
        IDataset? validation, FitOptions options, TrainingRunOptions run, IProgress<EpochReport>? progress, CancellationToken ct, bool returnOnCancel)
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
            // A step sharded over the processes left each one the current state of its own ranges only.
            if (dp is not null) optimizer.Shard?.GatherState();
            try
            {
                if (run.Checkpoints is null) return;
                lastCheckpoint = run.Checkpoints.Save(Capture(st, model, optimizer, train, run));
                savedStep = optimizer.StepCount;
                run.CheckpointSaved?.Invoke(lastCheckpoint);
            }
            finally { (st.LossSum, st.Seen, st.Correct) = local; }
        }
        bool cancelled = false;
        // Cancelled between steps: the step in progress has finished, so the state is whole and worth a checkpoint.
        // FitAsync returns what it has; RunAsync, whose callers resume from the checkpoint, throws.
        bool Cancelled()
        {
            if (!ct.IsCancellationRequested) return false;
            if (returnOnCancel) return cancelled = true;
            if (optimizer.StepCount != savedStep) Save();
            model.Eval();
            ct.ThrowIfCancellationRequested();
            return false;
        }
        bool Budget() => run.MaxSteps is long max && optimizer.StepCount >= max;
        var names = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in model.NamedParameters()) names[p] = name;
        bool hasValidation = validation is not null && validation.Count > 0;
        MonitorSpec? monitor = null;
        bool interrupted = false;
        // Made after a resume has restored the model and optimizer: a plan binds their buffers as they are now.
        string? eagerReason = options.Compile ? EagerReason(options, run) : null;
        var compiled = options.Compile && eagerReason is null ? new CompiledTrainStep(model, lossFn, optimizer, options, run.DivergenceFactor) : null;
        while (st.Epoch <= options.Epochs && !st.StoppedEarly)
        {
            if (Budget()) { interrupted = true; break; }
            if (Cancelled()) break;
            var sw = Stopwatch.StartNew();
            model.Train();
            if (st.Order is null) st.StartEpoch(train.NextEpochOrder());
            double lr = optimizer.LearningRate;
            int batches = train.BatchCount;
            while (st.Batch < batches)
            {
                if (Cancelled()) break;
                var (value, n, gradNorm) = compiled is not null
                    ? CompiledStepOn(compiled, optimizer, train, st, names, run)
                    : Step(model, lossFn, optimizer, train, st, names, options, run);
                st.LossSum += value * n;
                st.Seen += n;
                st.Batch++;
                if (options.BatchProgress is not null || options.OnBatchEnd is not null)
                {
                    var report = new BatchProgress(st.Epoch, st.Batch, batches, st.LossSum / st.Seen) { Loss = value, GradNorm = gradNorm };
                    options.OnBatchEnd?.Invoke(report);
                    options.BatchProgress?.Report(report);
                }
                // After the last batch the epoch-end checkpoint follows at once, so none is written here.
                if (st.Batch == batches) continue;
                bool stop = Budget();
                if (stop || (run.CheckpointEvery > 0 && optimizer.StepCount % run.CheckpointEvery == 0)) Save();
                if (stop) { interrupted = true; break; }
            }
            if (interrupted || cancelled) break;
            double valLoss = double.NaN, valAcc = double.NaN;
            IReadOnlyDictionary<string, double> metrics = EpochReport.EmptyMetrics;
            if (hasValidation)
            {
                if (options.Metrics.Count > 0) (valLoss, valAcc, metrics) = EvaluateMetrics(model, lossFn, validation!, options.EvaluationBatchSize, options.Metrics);
                else (valLoss, valAcc) = EvaluateShared(model, lossFn, validation!, options.EvaluationBatchSize, dp);
            }
            var (lossSum, seen, correct) = GlobalSums(st, dp);
            var epochReport = new EpochReport(st.Epoch, seen == 0 ? double.NaN : lossSum / seen, st.Classification && seen > 0 ? (double)correct / seen : double.NaN,
                valLoss, valAcc, lr, sw.Elapsed.TotalSeconds) { Metrics = metrics };
            st.History.Add(epochReport);
            options.OnEpochEnd?.Invoke(epochReport);
            progress?.Report(epochReport);
            monitor ??= MonitorSpec.Resolve(options, hasValidation, epochReport);
            if (run.Scheduler is ReduceLROnPlateau plateau)
            {
                plateau.FollowMode(monitor!.Mode == MonitorMode.Min ? PlateauMode.Min : PlateauMode.Max, monitor.Name);
                plateau.Step(monitor.Value(epochReport));
            }
            else if (run.Scheduler is { Interval: SchedulerInterval.Epoch } perEpoch) perEpoch.Step();

            // Without a monitored quantity the last epoch is "best" and nothing stops early.
            double score = monitor is null ? st.Epoch : monitor.Score(epochReport);
            if (score > st.Best)
            {
                (st.Best, st.BestEpoch, st.SinceBest) = (score, st.Epoch, 0);
                if (options.RestoreBest && monitor is not null) st.BestState = model.StateDict();
            }
            else if (options.EarlyStoppingPatience is int patience && ++st.SinceBest >= patience) st.StoppedEarly = true;
            (st.Epoch, st.Batch, st.Order) = (st.Epoch + 1, 0, null);
            Save();
        }
        if (!interrupted)
        {
            if (st.BestState is not null && st.BestEpoch != st.History.Count) model.LoadStateDict(st.BestState);
            else if (cancelled && st.BestState is not null && st.Batch > 0) model.LoadStateDict(st.BestState); // a part-trained epoch is not the best one
            model.Eval();
        }
        monitor ??= st.History.Count > 0 ? MonitorSpec.Resolve(options, hasValidation, st.History[0]) : null;
        var best = st.BestEpoch >= 1 && st.BestEpoch <= st.History.Count ? st.History[st.BestEpoch - 1] : null;
        double bestAcc = validation is null || best is null ? double.NaN : best.ValidationAccuracy;
        var fit = new FitResult(st.History, st.BestEpoch, bestAcc, st.StoppedEarly, total.Elapsed.TotalSeconds)
        {
            Monitor = monitor?.Name, Mode = monitor?.Mode ?? MonitorMode.Max,
            BestMonitorValue = monitor is null || best is null ? double.NaN : monitor.Value(best), Cancelled = cancelled,
            CompileFallbackReason = eagerReason ?? compiled?.FallbackReason, ReplayedSteps = compiled?.Replayed ?? 0,
        };
        return new TrainingRunResult(fit, optimizer.StepCount, interrupted, lastCheckpoint);
    }

    /// <summary>
    /// One optimizer step on batch <c>st.Batch</c>, in a <see cref="TensorScope"/> of its own: the batch, activations and
    /// gradients are recycled for the next step. Counts the batch's correct predictions into <paramref name="st"/>;
    /// returns the loss, the batch size and the gradient norm before clipping (NaN unless clipped by norm).
    /// </summary>
    private static (double Loss, int Count, double GradNorm) Step(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, DataLoader train,
        FitState st, Dictionary<Tensor, string> names, FitOptions options, TrainingRunOptions run)
    {
        using var scope = new TensorScope();
        var (x, y) = LocalBatch(train, st.Order!, st.Batch, run.DataParallel);
        var output = model.Forward(x);
        var loss = lossFn(output, y);
        double value = loss.Item();
        AcceptLoss(value, st, optimizer, run);
        optimizer.ZeroGrad();
        loss.Backward();
        options.AfterBackward?.Invoke(new BackwardContext(st.Epoch, st.Batch, optimizer.StepCount + 1, value, model, optimizer));
        if (options.ClipGradValue is double clipValue) Utils.ClipGradValue(optimizer.Parameters, clipValue);
        double gradNorm = options.ClipGradNorm is double maxNorm ? Utils.ClipGradNorm(optimizer.Parameters, maxNorm) : double.NaN;
        optimizer.Step();
        CheckParameters(optimizer, names, st, value);
        if (run.Scheduler is { Interval: SchedulerInterval.Batch } perBatch) perBatch.Step();
        if (st.Classification && IsClassification(output, y)) st.Correct += CountCorrect(output, y);
        else st.Classification = false;
        return (value, x.ShapeRef[0], gradNorm);
    }

    /// <summary>
    /// <see cref="Step"/> through the compiled step: the same step, with the loss read after it. A loss that stops the fit
    /// (<see cref="StopsTraining"/>) made the step end before its backward pass and update (<see cref="Jit.Check"/>), so
    /// the weights and optimizer state are those the eager step leaves.
    /// </summary>
    private static (double Loss, int Count, double GradNorm) CompiledStepOn(CompiledTrainStep compiled, Optimizer optimizer, DataLoader train,
        FitState st, Dictionary<Tensor, string> names, TrainingRunOptions run)
    {
        using var scope = new TensorScope();
        var (x, y) = LocalBatch(train, st.Order!, st.Batch, run.DataParallel);
        compiled.FirstLoss = st.FirstLoss;
        var (output, loss) = compiled.Run(x, y);
        double value = loss.Item();
        // A loss AcceptLoss refuses made the step skip its backward pass and update (Jit.Check in the step), as in the
        // eager loop.
        AcceptLoss(value, st, optimizer, run);
        CheckParameters(optimizer, names, st, value);
        if (run.Scheduler is { Interval: SchedulerInterval.Batch } perBatch) perBatch.Step();
        if (st.Classification && IsClassification(output, y)) st.Correct += CountCorrect(output, y);
        else st.Classification = false;
        return (value, x.ShapeRef[0], double.NaN);
    }

    /// <summary>
    /// Takes a batch's loss before its update counts: throws when it stops the fit (<see cref="StopsTraining"/>; the step
    /// named is the one about to be made, whose update has not been applied), else records it as the last finite loss
    /// (and as the first, on the fit's first batch).
    /// </summary>
    private static void AcceptLoss(double value, FitState st, Optimizer optimizer, TrainingRunOptions run)
    {
        if (!double.IsFinite(value)) throw new NonFiniteLossException(st.Epoch, optimizer.StepCount + 1, value, st.LastFinite);
        if (double.IsNaN(st.FirstLoss)) st.FirstLoss = value;
        if (run.DivergenceFactor is double factor && StopsTraining(value, st.FirstLoss, factor))
            throw TrainingDivergedException.LossGrew(st.Epoch, optimizer.StepCount + 1, value, st.FirstLoss, factor);
        st.LastFinite = value;
    }

    /// <summary>
    /// Whether a batch's loss stops the fit: not finite, or more than <paramref name="factor"/> times the first loss
    /// (relative to at least 1, so that a first loss of (nearly) zero cannot make every later loss look divergent; no
    /// test while the first loss is not known yet).
    /// </summary>
    private static bool StopsTraining(double value, double firstLoss, double? factor) =>
        !double.IsFinite(value) || (factor is double f && !double.IsNaN(firstLoss) && Math.Abs(value) > f * Math.Max(Math.Abs(firstLoss), 1.0));

    /// <summary>Checks that the schedule can be stepped by this run: it sets this optimizer's rates, and a plateau schedule has a quantity to follow.</summary>
    private static void CheckScheduler(LRScheduler? scheduler, Optimizer optimizer, FitOptions options, IDataset? validation)
    {
        if (scheduler is null) return;
        if (!ReferenceEquals(scheduler.Optimizer, optimizer))
            throw new ArgumentException($"TrainingRunOptions.Scheduler ({scheduler.Kind}) sets the rates of another optimizer than the one being trained.", nameof(options));
        if (scheduler is not ReduceLROnPlateau) return;
        if (scheduler.Interval == SchedulerInterval.Batch)
            throw new ArgumentException("TrainingRunOptions.Scheduler: ReduceLROnPlateau steps on an epoch's monitored value; its Interval must be Epoch, not Batch.", nameof(options));
        if (options.Monitor is null && (validation is null || validation.Count == 0))
            throw new ArgumentException("TrainingRunOptions.Scheduler: ReduceLROnPlateau steps on the monitored quantity, and there is none; pass a validation set " +
                "(it then follows the validation loss or accuracy) or set FitOptions.Monitor (e.g. 'train_loss').", nameof(options));
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
