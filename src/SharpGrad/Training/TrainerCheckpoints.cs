using System.Globalization;
using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Training;

/// <summary>Everything the fit loop carries from batch to batch, so that a checkpoint can capture it and a resume restore it.</summary>
internal sealed class FitState
{
    public int Epoch = 1, Batch, BestEpoch, SinceBest;
    public int[]? Order;
    public double LossSum, LastFinite = double.NaN, FirstLoss = double.NaN, Best = double.NegativeInfinity;
    public long Seen, Correct;
    public bool Classification = true, StoppedEarly;
    public List<EpochReport> History = [];
    public OrderedDictionary<string, Tensor>? BestState;

    public void StartEpoch(int[] order) => (Order, Batch, LossSum, Seen, Correct, Classification) = (order, 0, 0, 0, 0, true);
}

// Checkpoint capture, validation and restore for the fit loop.
public static partial class Trainer
{
    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every generator whose state a checkpoint holds, by name: the loader's, <see cref="Generator.Default"/>, each Dropout's, and the extra ones.</summary>
    private static List<KeyValuePair<string, Generator>> Generators(Module model, DataLoader train, TrainingRunOptions run)
    {
        var list = new List<KeyValuePair<string, Generator>> { new("loader", train.Generator), new("default", Generator.Default) };
        void Visit(Module m, string path)
        {
            if (m is Dropout d) list.Add(new(path, d.Generator));
            foreach (var (name, child) in m.NamedChildren()) Visit(child, path + "." + name);
        }
        Visit(model, "model");
        if (run.Generators is not null) list.AddRange(run.Generators);
        return list;
    }

    private static Checkpoint Capture(FitState st, Module model, Optimizer optimizer, DataLoader train, TrainingRunOptions run)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["trainer.loss_sum"] = R(st.LossSum), ["trainer.seen"] = I(st.Seen), ["trainer.correct"] = I(st.Correct),
            ["trainer.classification"] = st.Classification ? "true" : "false", ["trainer.last_finite"] = R(st.LastFinite), ["trainer.first_loss"] = R(st.FirstLoss),
            ["trainer.best"] = R(st.Best), ["trainer.best_epoch"] = I(st.BestEpoch), ["trainer.since_best"] = I(st.SinceBest),
            ["trainer.stopped_early"] = st.StoppedEarly ? "true" : "false",
            ["trainer.history"] = string.Join(';', st.History.Select(r => string.Join(',', I(r.Epoch), R(r.TrainLoss), R(r.TrainAccuracy),
                R(r.ValidationLoss), R(r.ValidationAccuracy), R(r.LearningRate), R(r.Seconds)))),
        };
        if (run.Scheduler is not null)
        {
            meta["trainer.scheduler"] = run.Scheduler.Kind;
            meta["trainer.scheduler_state"] = string.Join(';', run.Scheduler.StateDict().Select(kv => kv.Key + "=" + R(kv.Value)));
        }
        if (run.Metadata is not null)
            foreach (var (k, v) in run.Metadata)
                meta[k.StartsWith("trainer.", StringComparison.Ordinal) ? throw new ArgumentException($"Metadata key '{k}' is reserved for the trainer.") : k] = v;
        var generators = new OrderedDictionary<string, ulong[]>(StringComparer.Ordinal);
        foreach (var (name, g) in Generators(model, train, run)) generators[name] = g.GetState();
        return new Checkpoint
        {
            Model = model.StateDict(), Optimizer = optimizer.StateDict(), BestModel = st.BestState, Generators = generators,
            DataOrder = st.Order, Epoch = st.Epoch, Batch = st.Batch, Step = optimizer.StepCount,
            SchedulerEpoch = run.Scheduler?.Epoch, Metadata = meta,
        };
    }

    /// <summary>
    /// Checks that <paramref name="checkpoint"/> can resume training of this model, optimizer and data without changing
    /// anything: the same state-dict names, shapes and dtypes, optimizer state for these parameters, the same generators,
    /// finite weights, a data order for this data set, a schedule exactly when one is used, and well-formed trainer metadata.
    /// </summary>
    /// <exception cref="InvalidDataException">It cannot; the message names the checkpoint file and the field.</exception>
    public static void CheckResumable(Checkpoint checkpoint, Module model, Optimizer optimizer, DataLoader train, TrainingRunOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        run ??= TrainingRunOptions.None;
        var ck = checkpoint;
        CheckState(ck, "model", ck.Model, model);
        if (ck.BestModel is not null) CheckState(ck, "best", ck.BestModel, model);
        CheckOptimizer(ck, optimizer);
        var expected = Generators(model, train, run).Select(g => g.Key).Distinct().Order(StringComparer.Ordinal);
        var actual = ck.Generators.Keys.Order(StringComparer.Ordinal);
        if (!expected.SequenceEqual(actual))
            throw Bad(ck, $"the generators are [{string.Join(", ", actual)}] but this run has [{string.Join(", ", expected)}]");
        if (ck.DataOrder is int[] order && order.Length != train.Dataset.Count)
            throw Bad(ck, $"'data.order' has {order.Length} examples but the training set has {train.Dataset.Count}");
        if (ck.Batch > train.BatchCount) throw Bad(ck, $"metadata 'batch' is {ck.Batch}, past the {train.BatchCount} batches of an epoch");
        if (ck.Batch > 0 && ck.DataOrder is null) throw Bad(ck, $"metadata 'batch' is {ck.Batch} but there is no 'data.order' to resume in");
        if (ck.SchedulerEpoch.HasValue != (run.Scheduler is not null))
            throw Bad(ck, ck.SchedulerEpoch.HasValue ? "it has a learning-rate schedule ('scheduler_epoch') but this run has none" : "this run has a learning-rate schedule but the checkpoint has no 'scheduler_epoch'");
        if (run.Scheduler is not null) SchedulerState(ck, run.Scheduler);
        ReadTrainerState(ck, new FitState());
    }

    private static void CheckState(Checkpoint ck, string section, OrderedDictionary<string, Tensor> state, Module model)
    {
        var own = model.NamedParameters().Concat(model.NamedBuffers()).ToList();
        var missing = own.Where(p => !state.ContainsKey(p.Key)).Select(p => p.Key).ToList();
        var names = own.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var unexpected = state.Keys.Where(k => !names.Contains(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw Bad(ck, $"the '{section}.' tensors do not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
        foreach (var (name, t) in own)
        {
            var s = state[name];
            if (s.DType != t.DType || !Shapes.Equal(s.ShapeRef, t.ShapeRef))
                throw Bad(ck, $"tensor '{section}.{name}' is {s.DType.ToTorchName()} {Shapes.Format(s.ShapeRef)}; the model's is {t.DType.ToTorchName()} {Shapes.Format(t.ShapeRef)}");
            // Training never saves a non-finite weight (a step that makes one stops the run), so one here was put there
            // by something else; named now rather than surfacing later as a NaN loss that names nothing.
            int bad = s.DType == DType.Float32 ? FirstNonFinite(s.Span<float>()) : s.DType == DType.Float64 ? FirstNonFinite(s.Span<double>()) : -1;
            if (bad >= 0)
                throw Bad(ck, $"tensor '{section}.{name}' holds {R(s.GetDouble(bad))} at index {bad}; a checkpoint's weights must be finite");
        }
    }

    private static void CheckOptimizer(Checkpoint ck, Optimizer optimizer)
    {
        foreach (var (key, t) in ck.Optimizer)
        {
            if (key is "step" or "lr")
            {
                if (t.Numel != 1) throw Bad(ck, $"tensor 'optimizer.{key}' has shape {Shapes.Format(t.ShapeRef)}; expected a single value");
                continue;
            }
            if (key.StartsWith(Optimizer.GroupKeyPrefix, StringComparison.Ordinal)) continue; // checked by the optimizer below
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || dot == key.Length - 1 || !int.TryParse(key.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= optimizer.Parameters.Count)
                throw Bad(ck, $"unexpected tensor 'optimizer.{key}'; expected step, lr or INDEX.NAME for {optimizer.Parameters.Count} parameters");
            if (!t.DType.IsFloatingPoint() || !Shapes.Equal(t.ShapeRef, optimizer.Parameters[i].ShapeRef))
                throw Bad(ck, $"tensor 'optimizer.{key}' is {t.DType.ToTorchName()} {Shapes.Format(t.ShapeRef)}; parameter {i} is {Shapes.Format(optimizer.Parameters[i].ShapeRef)}");
        }
        if (!ck.Optimizer.TryGetValue("step", out var step) || step.DType != DType.Int64 || step.Numel != 1 || (long)step.Item() != ck.Step)
            throw Bad(ck, $"tensor 'optimizer.step' must be an int64 equal to metadata 'step' ({ck.Step})");
        if (!ck.Optimizer.TryGetValue("lr", out var lr) || !(lr.Item() >= 0) || double.IsInfinity(lr.Item()))
            throw Bad(ck, "tensor 'optimizer.lr' must hold a finite learning rate >= 0");
        if (optimizer.CheckStateDict(ck.Optimizer) is string error) throw Bad(ck, "optimizer state: " + error.TrimEnd('.'));
    }

    /// <summary>Parses the trainer's metadata into <paramref name="st"/>; throws naming the field when one is malformed.</summary>
    private static void ReadTrainerState(Checkpoint ck, FitState st)
    {
        string Get(string key) => ck.Metadata.TryGetValue("trainer." + key, out var v) ? v : throw Bad(ck, $"metadata 'trainer.{key}' is missing");
        double D(string key, string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw Bad(ck, $"metadata 'trainer.{key}' holds '{text}'; expected a number");
        long L(string key, long max) => long.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v <= max ? v
            : throw Bad(ck, $"metadata 'trainer.{key}' is '{Get(key)}'; expected an integer in [0, {max}]");
        bool B(string key) => Get(key) switch { "true" => true, "false" => false, var s => throw Bad(ck, $"metadata 'trainer.{key}' is '{s}'; expected true or false") };

        (st.LossSum, st.LastFinite, st.Best) = (D("loss_sum", Get("loss_sum")), D("last_finite", Get("last_finite")), D("best", Get("best")));
        st.FirstLoss = D("first_loss", Get("first_loss"));
        (st.Seen, st.Correct) = (L("seen", long.MaxValue), L("correct", long.MaxValue));
        (st.Classification, st.StoppedEarly) = (B("classification"), B("stopped_early"));
        st.History = [];
        string history = Get("history");
        foreach (var line in history.Length == 0 ? [] : history.Split(';'))
        {
            var f = line.Split(',');
            if (f.Length != 7 || !int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || epoch != st.History.Count + 1)
                throw Bad(ck, $"metadata 'trainer.history' entry {st.History.Count + 1} is '{line}'; expected the epoch number and six numbers");
            st.History.Add(new EpochReport(epoch, D("history", f[1]), D("history", f[2]), D("history", f[3]), D("history", f[4]), D("history", f[5]), D("history", f[6])));
        }
        if (st.History.Count != ck.Epoch - 1)
            throw Bad(ck, $"metadata 'trainer.history' has {st.History.Count} epochs but metadata 'epoch' is {ck.Epoch}; expected {ck.Epoch - 1}");
        (st.BestEpoch, st.SinceBest) = ((int)L("best_epoch", st.History.Count), (int)L("since_best", int.MaxValue));
        if (st.History.Count > 0 && st.BestEpoch == 0) throw Bad(ck, "metadata 'trainer.best_epoch' is 0 after a completed epoch; expected 1 or more");
        (st.Epoch, st.Batch, st.Order, st.BestState) = (ck.Epoch, ck.Batch, ck.DataOrder, ck.BestModel);
    }

    /// <summary>Validates (changing nothing if that fails) and then restores every piece of state from <paramref name="ck"/>.</summary>
    private static void Restore(Checkpoint ck, FitState st, Module model, Optimizer optimizer, DataLoader train, TrainingRunOptions run)
    {
        CheckResumable(ck, model, optimizer, train, run);
        ReadTrainerState(ck, st);
        model.LoadStateDict(ck.Model);
        if (run.Scheduler is not null)
        {
            if (SchedulerState(ck, run.Scheduler) is { } state) run.Scheduler.LoadStateDict(state);
            else run.Scheduler.SetEpoch(ck.SchedulerEpoch!.Value);
        }
        optimizer.LoadStateDict(ck.Optimizer);
        foreach (var (name, g) in Generators(model, train, run)) g.SetState(ck.Generators[name]);
    }

    /// <summary>
    /// The schedule's state in <paramref name="ck"/> after checking that it is one <paramref name="scheduler"/> can load:
    /// the same kind, well-formed numbers, keys and values the schedule accepts, and the same step count as metadata
    /// 'scheduler_epoch'. Null for a checkpoint that holds 'scheduler_epoch' alone (written before schedules saved their
    /// state), which resumes at that step.
    /// </summary>
    private static List<KeyValuePair<string, double>>? SchedulerState(Checkpoint ck, LRScheduler scheduler)
    {
        bool hasKind = ck.Metadata.TryGetValue("trainer.scheduler", out var kind), hasState = ck.Metadata.TryGetValue("trainer.scheduler_state", out var text);
        if (!hasKind && !hasState) return null;
        if (!hasKind || !hasState) throw Bad(ck, $"metadata 'trainer.{(hasKind ? "scheduler_state" : "scheduler")}' is missing beside 'trainer.{(hasKind ? "scheduler" : "scheduler_state")}'");
        if (kind != scheduler.Kind) throw Bad(ck, $"its learning-rate schedule is {kind} but this run's is {scheduler.Kind}");
        var state = new List<KeyValuePair<string, double>>();
        foreach (var item in text!.Length == 0 ? [] : text.Split(';'))
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(item.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw Bad(ck, $"metadata 'trainer.scheduler_state' holds '{item}'; expected KEY=NUMBER");
            state.Add(new(item[..eq], v));
        }
        if (scheduler.CheckStateDict(state) is string error) throw Bad(ck, "scheduler state: " + error.TrimEnd('.'));
        var epoch = state.FirstOrDefault(kv => kv.Key == "last_epoch").Value;
        if (epoch != ck.SchedulerEpoch) throw Bad(ck, $"the schedule's last_epoch ({R(epoch)}) differs from metadata 'scheduler_epoch' ({ck.SchedulerEpoch})");
        return state;
    }

    private static InvalidDataException Bad(Checkpoint ck, string what) => new($"{ck.Source ?? "<checkpoint>"}: {what}.");
}
