using System.Text.Json;
using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.IO;
using SharpGrad.Tests.Optim;
using SharpGrad.Tests.Reliability;
using SharpGrad.Training;

namespace SharpGrad.Tests.Training;

/// <summary>
/// Every schedule inside <see cref="Trainer.RunAsync"/>: stepped where a PyTorch loop steps it (per batch for OneCycleLR,
/// per epoch with the monitored value for ReduceLROnPlateau, per epoch otherwise), so that the rate used at each optimizer
/// step follows PyTorch 1.13's trajectory (tests/golden/sched/schedules.json, tools/golden/make_sched.py); and a run
/// interrupted twice and resumed from its checkpoints in fresh objects uses exactly the same rates as one never stopped.
/// </summary>
public sealed class TrainerSchedulerTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-sched-trainer");

    public void Dispose() => _dir.Dispose();

    private const int BatchSize = 4;

    /// <summary>One training setup built from a golden case; each call builds fresh objects, as a new process would.</summary>
    private sealed class Setup
    {
        public required Module Model { get; init; }
        public required Optimizer Optimizer { get; init; }
        public required LRScheduler Scheduler { get; init; }
        public required DataLoader Loader { get; init; }
        public required FitOptions Options { get; init; }
        public required int TotalSteps { get; init; }
        public required int BatchesPerEpoch { get; init; }
        /// <summary>Each group's rate (and momentum or β₁) at every optimizer step this object took, in order.</summary>
        public List<double[]> Rates { get; } = [];
        public List<double[]> Momenta { get; } = [];
        public int Epoch { get; set; }

        public Task<TrainingRunResult> RunAsync(TrainingRunOptions run) =>
            Trainer.RunAsync(Model, TinyTask.Loss, Optimizer, Loader, TinyTask.Blobs(12, 2), Options, run with { Scheduler = Scheduler });
    }

    private static bool PerBatch(string name) => name.StartsWith("onecycle", StringComparison.Ordinal);

    private static Setup Create(string name)
    {
        var c = SchedulerGoldenTests.Case("schedules", name);
        double[] lrs = c.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        int steps = c.GetProperty("steps").GetInt32();
        // Per-batch schedules: the golden steps spread over epochs of a few batches; per-epoch ones: one golden step per epoch of 2 batches.
        int batches = PerBatch(name) ? new[] { 5, 4, 6, 3, 2 }.First(b => steps % b == 0) : 2;
        int epochs = PerBatch(name) ? steps / batches : steps;
        var g = new Generator(11);
        var model = new Sequential(new Linear(6, 5, generator: g), new Tanh(), new Linear(5, 3, generator: g));
        var layers = model.NamedParameters().GroupBy(p => p.Key[..p.Key.IndexOf('.', StringComparison.Ordinal)]).Select(grp => grp.Select(p => p.Value).ToArray()).ToArray();
        ParamGroup[] groups = lrs.Length == 1
            ? [new ParamGroup(layers.SelectMany(l => l)) { Lr = lrs[0] }]
            : [new ParamGroup(layers[0]) { Lr = lrs[0] }, new ParamGroup(layers[1]) { Lr = lrs[1] }];
        Optimizer opt = c.GetProperty("optimizer").GetString() == "adam"
            ? new Adam(groups)
            : new Sgd(groups, momentum: c.TryGetProperty("optimizer_args", out var oa) && oa.TryGetProperty("momentum", out var mo) ? mo.GetDouble() : 0);
        double[]? metrics = c.TryGetProperty("metrics", out var m) ? m.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
        var args = c.GetProperty("args");
        bool max = args.TryGetProperty("mode", out var mode) && mode.GetString() == "max";
        // Plateau schedules are made without a mode: they must take the monitor's direction (max for the "max" case).
        LRScheduler sched = name.StartsWith("plateau", StringComparison.Ordinal)
            ? new ReduceLROnPlateau(opt, mode: null, factor: args.TryGetProperty("factor", out var f) ? f.GetDouble() : 0.1,
                patience: args.GetProperty("patience").GetInt32(), threshold: args.TryGetProperty("threshold", out var t) ? t.GetDouble() : 1e-4,
                thresholdMode: args.TryGetProperty("threshold_mode", out var tm) && tm.GetString() == "abs" ? ThresholdMode.Abs : ThresholdMode.Rel,
                cooldown: args.TryGetProperty("cooldown", out var cd) ? cd.GetInt32() : 0, minLr: args.TryGetProperty("min_lr", out var ml) ? ml.GetDouble() : 0)
            : SchedulerGoldenTests.Build(name, opt, args);
        Setup? s = null;
        var options = new FitOptions
        {
            Epochs = epochs,
            AfterBackward = ctx =>
            {
                s!.Epoch = ctx.Epoch;
                s.Rates.Add(ctx.Optimizer.ParamGroups.Select(p => p.Lr!.Value).ToArray());
                s.Momenta.Add(ctx.Optimizer.ParamGroups.Select(p => p.Beta1 ?? p.Momentum ?? double.NaN).ToArray());
            },
            // The plateau cases follow the golden metric sequence: epoch e's monitored value is metrics[e - 1].
            Metrics = metrics is null ? [] : [new Metric("golden", (o, y) => metrics[s!.Epoch - 1], max ? MonitorMode.Max : MonitorMode.Min)],
            Monitor = metrics is null ? null : "golden",
        };
        s = new Setup
        {
            Model = model, Optimizer = opt, Scheduler = sched, Options = options, TotalSteps = epochs * batches, BatchesPerEpoch = batches,
            Loader = new DataLoader(TinyTask.Blobs(batches * BatchSize, 1), BatchSize, shuffle: true, generator: new Generator(7)),
        };
        return s;
    }

    public static IEnumerable<object[]> Cases() => SchedulerGoldenTests.ScheduleCases();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ResumedRunsFollowTheUninterruptedRunAndPyTorch(string name)
    {
        var straight = Create(name);
        await straight.RunAsync(new TrainingRunOptions());
        Assert.Equal(straight.TotalSteps, straight.Rates.Count);

        // Stopped twice, one step into an epoch and at an epoch's end, each time resumed in fresh objects from the latest checkpoint.
        var dir = new CheckpointDirectory(_dir.File(name), 2);
        int total = straight.TotalSteps, b = straight.BatchesPerEpoch;
        long[] stops = [total / 3 / b * b + 1, 2 * total / 3 / b * b];
        var rates = new List<double[]>();
        var momenta = new List<double[]>();
        Checkpoint? resume = null;
        Setup last = null!;
        foreach (long stop in stops.Append(long.MaxValue))
        {
            last = Create(name);
            var result = await last.RunAsync(new TrainingRunOptions { Checkpoints = dir, ResumeFrom = resume, MaxSteps = stop == long.MaxValue ? null : stop });
            rates.AddRange(last.Rates);
            momenta.AddRange(last.Momenta);
            resume = dir.FindLatest().Checkpoint!;
            Assert.Equal(Math.Min(stop, total), result.Steps);
        }
        Assert.Equal(total, rates.Count);
        for (int i = 0; i < total; i++)
        {
            Assert.True(straight.Rates[i].SequenceEqual(rates[i]), $"{name}: step {i + 1}: resumed rates [{string.Join(", ", rates[i])}], uninterrupted [{string.Join(", ", straight.Rates[i])}]");
            Assert.True(straight.Momenta[i].SequenceEqual(momenta[i]), $"{name}: step {i + 1}: resumed momenta differ");
        }
        Assert.Equal(straight.Optimizer.ParamGroups.Select(g => g.Lr), last.Optimizer.ParamGroups.Select(g => g.Lr));

        // Against PyTorch: the rate used at step i is row i of a per-batch trajectory, row (i / batches) of a per-epoch one;
        // after the run the rate is the last row.
        var rows = SchedulerGoldenTests.Case("schedules", name).GetProperty("trajectory").EnumerateArray().ToArray();
        void Check(double[] actual, JsonElement row, string key, string where)
        {
            if (!row.TryGetProperty(key, out var e)) return;
            var expected = e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (int g = 0; g < expected.Length; g++)
                Assert.True(Math.Abs(actual[g] - expected[g]) <= 1e-12 * Math.Abs(expected[g]) + 1e-15,
                    $"{name}: {where}: group {g} {key} {actual[g]:R}, PyTorch {expected[g]:R}");
        }
        for (int i = 0; i < total; i++)
        {
            var row = rows[PerBatch(name) ? i : i / straight.BatchesPerEpoch];
            Check(rates[i], row, "lr", $"step {i + 1}");
            if (last.Scheduler is OneCycleLR { CycleMomentum: true }) Check(momenta[i], row, "momentum", $"step {i + 1}");
        }
        Check(last.Optimizer.ParamGroups.Select(g => g.Lr!.Value).ToArray(), rows[^1], "lr", "after the run");
    }

    [Fact]
    public async Task PlateauFollowsTheMonitorsDirectionUnlessGivenOne()
    {
        // The default monitor of a classification task is validation accuracy (max): a mode-less plateau takes it.
        var task = TinyTask.Create("sgd", schedule: false);
        var plateau = new ReduceLROnPlateau(task.Optimizer, patience: 1);
        await Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, task.Validation, new FitOptions { Epochs = 1 },
            new TrainingRunOptions { Scheduler = plateau });
        Assert.Equal(PlateauMode.Max, plateau.Mode);
        Assert.Equal(1, plateau.Epoch);

        // A given mode that contradicts the monitor is an error naming both.
        task = TinyTask.Create("sgd", schedule: false);
        var given = new ReduceLROnPlateau(task.Optimizer, mode: PlateauMode.Max);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, task.Validation,
            new FitOptions { Epochs = 1, Monitor = "val_loss" }, new TrainingRunOptions { Scheduler = given }));
        Assert.Contains("val_loss", e.Message);
        Assert.Contains("Max", e.Message);

        // Without validation data or a monitor there is nothing to step on: refused before training.
        task = TinyTask.Create("sgd", schedule: false);
        var a = Assert.Throws<ArgumentException>(() => { _ = Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, null,
            new FitOptions { Epochs = 1 }, new TrainingRunOptions { Scheduler = new ReduceLROnPlateau(task.Optimizer) }); });
        Assert.Contains("ReduceLROnPlateau", a.Message);
        Assert.Contains("FitOptions.Monitor", a.Message);

        // A schedule of another optimizer would silently do nothing to this one.
        task = TinyTask.Create("sgd", schedule: false);
        var other = new Sgd([TestUtil.Leaf([0.0], 1)], 0.1);
        a = Assert.Throws<ArgumentException>(() => { _ = Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, task.Validation,
            new FitOptions { Epochs = 1 }, new TrainingRunOptions { Scheduler = new StepLR(other, 1) }); });
        Assert.Contains("another optimizer", a.Message);
    }

    [Fact]
    public async Task APerBatchWarmUpStepsAfterEveryOptimizerStep()
    {
        // LinearLR counted in steps: Interval = Batch; 12 batches per epoch, warm-up over 10 steps from 0.1 x.
        var task = TinyTask.Create("sgd", schedule: false);
        var warm = new LinearLR(task.Optimizer, startFactor: 0.1, totalIters: 10) { Interval = SchedulerInterval.Batch };
        var seen = new List<double>();
        await Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, task.Validation,
            new FitOptions { Epochs = 1, AfterBackward = ctx => seen.Add(ctx.Optimizer.LearningRate) }, new TrainingRunOptions { Scheduler = warm });
        Assert.Equal(12, seen.Count);
        for (int i = 0; i < seen.Count; i++) Assert.Equal(0.05 * (0.1 + 0.9 * Math.Min(i, 10) / 10.0), seen[i], 15);
    }

    private async Task<(Checkpoint Checkpoint, TinyTask Task)> MidRunCheckpoint(string sub, Func<Optimizer, LRScheduler> schedule)
    {
        var task = TinyTask.Create("sgd", schedule: false);
        var dir = new CheckpointDirectory(_dir.File(sub), 2);
        await Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader, task.Validation, new FitOptions { Epochs = 3 },
            new TrainingRunOptions { Checkpoints = dir, MaxSteps = 17, Scheduler = schedule(task.Optimizer) });
        return (dir.FindLatest().Checkpoint!, task);
    }

    private static Checkpoint WithMetadata(Checkpoint ck, string key, string? value)
    {
        var meta = ck.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (value is null) meta.Remove(key);
        else meta[key] = value;
        return new Checkpoint
        {
            Model = ck.Model, Optimizer = ck.Optimizer, BestModel = ck.BestModel, Generators = ck.Generators, DataOrder = ck.DataOrder,
            Epoch = ck.Epoch, Batch = ck.Batch, Step = ck.Step, SchedulerEpoch = ck.SchedulerEpoch, Metadata = meta, Source = ck.Source,
        };
    }

    [Fact]
    public async Task ABadOrMismatchingScheduleStateIsRefusedNamingWhatIsWrong()
    {
        var (ck, _) = await MidRunCheckpoint("onecycle", o => new OneCycleLR(o, 0.1, totalSteps: 36));
        Assert.Equal("OneCycleLR", ck.Metadata["trainer.scheduler"]);
        var fresh = TinyTask.Create("sgd", schedule: false);
        void Refused(Checkpoint c, LRScheduler s, params string[] words)
        {
            var e = Assert.Throws<InvalidDataException>(() => Trainer.CheckResumable(c, fresh.Model, fresh.Optimizer, fresh.Loader, new TrainingRunOptions { Scheduler = s }));
            foreach (var w in words) Assert.Contains(w, e.Message);
        }
        Refused(ck, new StepLR(fresh.Optimizer, 2), "OneCycleLR", "StepLR");
        Refused(ck, new OneCycleLR(fresh.Optimizer, 0.1, totalSteps: 50), "total_steps", "36", "50");
        Refused(WithMetadata(ck, "trainer.scheduler_state", "last_epoch=seventeen;total_steps=36"), new OneCycleLR(fresh.Optimizer, 0.1, totalSteps: 36),
            "trainer.scheduler_state", "last_epoch=seventeen");
        Refused(WithMetadata(ck, "trainer.scheduler_state", "last_epoch=17;total_steps=36;warmup=2"), new OneCycleLR(fresh.Optimizer, 0.1, totalSteps: 36), "warmup");
        Refused(WithMetadata(ck, "trainer.scheduler_state", "last_epoch=16;total_steps=36"), new OneCycleLR(fresh.Optimizer, 0.1, totalSteps: 36), "scheduler_epoch", "16");
        Refused(WithMetadata(ck, "trainer.scheduler", null), new OneCycleLR(fresh.Optimizer, 0.1, totalSteps: 36), "trainer.scheduler");

        var (pk, _) = await MidRunCheckpoint("plateau", o => new ReduceLROnPlateau(o, patience: 1));
        Assert.Contains("num_bad_epochs=", pk.Metadata["trainer.scheduler_state"]);
        var state = pk.Metadata["trainer.scheduler_state"];
        Refused(WithMetadata(pk, "trainer.scheduler_state", string.Join(';', state.Split(';').Select(kv => kv.StartsWith("num_bad_epochs=", StringComparison.Ordinal) ? "num_bad_epochs=1.5" : kv))),
            new ReduceLROnPlateau(fresh.Optimizer, patience: 1), "num_bad_epochs");
        Refused(WithMetadata(pk, "trainer.scheduler_state", state + ";lr.1=0.1"), new ReduceLROnPlateau(fresh.Optimizer, patience: 1), "2 parameter groups", "has 1");
        Refused(pk, new ReduceLROnPlateau(fresh.Optimizer, mode: PlateauMode.Min, patience: 1), "mode is Max", "Min");

        var seq = new SequentialLR(fresh.Optimizer, [new LinearLR(fresh.Optimizer), new ExponentialLR(fresh.Optimizer, 0.9)], [2]);
        var (sk, _) = await MidRunCheckpoint("seq", o => new SequentialLR(o, [new LinearLR(o), new StepLR(o, 2)], [2]));
        Assert.Equal("SequentialLR[LinearLR,StepLR]", sk.Metadata["trainer.scheduler"]);
        Refused(sk, seq, "SequentialLR[LinearLR,StepLR]", "SequentialLR[LinearLR,ExponentialLR]");
    }

    [Fact]
    public async Task ACheckpointWithOnlyTheScheduleEpochStillResumes()
    {
        // Written before schedules saved their state: 'scheduler_epoch' alone. StepLR resumes at that epoch, exactly.
        var straight = TinyTask.Create("sgd");
        await straight.RunAsync(3, straight.Options());
        var (ck, _) = await MidRunCheckpoint("old", o => new StepLR(o, 2, 0.5));
        var old = WithMetadata(WithMetadata(ck, "trainer.scheduler", null), "trainer.scheduler_state", null);
        Assert.Equal(1, old.SchedulerEpoch);
        var resumed = TinyTask.Create("sgd");
        await resumed.RunAsync(3, resumed.Options(resume: old));
        Assert.Equal(straight.Hash, resumed.Hash);
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
    }
}
