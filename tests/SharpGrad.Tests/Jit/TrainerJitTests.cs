using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// The Trainer's compiled step (<see cref="FitOptions.Compile"/>) against the same fit run eagerly from the same initial
/// state: the replays run the same kernels on the same values in the same order, and draw the same dropout masks from
/// the same generators, so every weight, buffer and loss must be bit-identical.
/// </summary>
// In the collection of the tests that change the kernels' thread limit (Gemm.MaxThreads, a process-wide setting):
// a limit changed by a test running alongside would send a replay down another path mid-measurement, and the
// 0-bytes-per-replay checks would count that path's first-use allocations.
[Collection(GemmCollection.Name)]
public class TrainerJitTests
{
    /// <summary>Ten classes of noisy <paramref name="side"/>x<paramref name="side"/> grey images (class c: a bright row c mod side).</summary>
    private static TensorDataset Images(int n, int side, ulong seed)
    {
        var g = new Generator(seed);
        var x = new float[n * side * side];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            int c = g.NextInt(10);
            y[i] = c;
            for (int k = 0; k < side * side; k++) x[i * side * side + k] = (float)(0.3 * g.NextNormal() + (k / side == c % side ? 1.0 : 0.0) + (c >= side ? 0.5 : 0.0));
        }
        return new TensorDataset(Tensor.FromArray(x, n, 1, side, side), Tensor.FromArray(y));
    }

    private static Sequential SmallCnn(int seed, double dropout)
    {
        var g = new Generator((ulong)seed);
        return new Sequential(
            new Conv2d(1, 4, 3, padding: 1, generator: g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
            new Conv2d(4, 6, 3, generator: g), new BatchNorm2d(6), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Dropout(dropout, new Generator((ulong)seed + 100)), new SharpGrad.NN.Linear(6 * 2 * 2, 10, generator: g));
    }

    /// <summary>Parameters and buffers (BatchNorm running statistics and batch counts), by name.</summary>
    private static Dictionary<string, double[]> State(Module m) =>
        m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<double>());

    private static void AssertSameState(Module expected, Module actual)
    {
        var e = State(expected);
        var a = State(actual);
        Assert.Equal(e.Keys, a.Keys);
        foreach (var key in e.Keys) Assert.True(e[key].SequenceEqual(a[key]), $"{key} differs between the eager and the compiled fit");
    }

    private static ulong[] DropoutStates(Module m) =>
        m.Modules().OfType<Dropout>().SelectMany(d => d.Generator.GetState()).ToArray();

    private static async Task<(FitResult Fit, Module Model)> Fit(Func<Module> build, Func<Module, Optimizer> optimizer, bool compile, int epochs,
        IDataset data, int batch, FitOptions? extra = null, Func<Optimizer, LRScheduler>? scheduler = null, Func<Tensor, Tensor, Tensor>? loss = null)
    {
        var model = build();
        var opt = optimizer(model);
        var options = (extra ?? new FitOptions()) with { Epochs = epochs, Compile = compile, RestoreBest = false };
        var run = new TrainingRunOptions { Scheduler = scheduler?.Invoke(opt) };
        var result = await Trainer.RunAsync(model, loss ?? ((o, y) => F.CrossEntropy(o, y)), opt,
            new DataLoader(data, batch, shuffle: true, generator: new Generator(5)), null, options, run);
        return (result.Fit, model);
    }

    private static async Task<FitResult> AssertCompiledEqualsEager(Func<Module> build, Func<Module, Optimizer> optimizer, int epochs, IDataset data, int batch,
        FitOptions? extra = null, Func<Optimizer, LRScheduler>? scheduler = null, Func<Tensor, Tensor, Tensor>? loss = null)
    {
        var (eager, eagerModel) = await Fit(build, optimizer, compile: false, epochs, data, batch, extra, scheduler, loss);
        var (compiled, model) = await Fit(build, optimizer, compile: true, epochs, data, batch, extra, scheduler, loss);
        Assert.Equal(0, eager.ReplayedSteps);
        Assert.Equal(eager.History.Select(h => h.TrainLoss), compiled.History.Select(h => h.TrainLoss));
        Assert.Equal(eager.History.Select(h => h.TrainAccuracy), compiled.History.Select(h => h.TrainAccuracy));
        AssertSameState(eagerModel, model);
        Assert.Equal(DropoutStates(eagerModel), DropoutStates(model));
        return compiled;
    }

    [Fact]
    public async Task MlpWithDropoutFitIsBitIdenticalToEager()
    {
        // 100 examples at batch 16: six full batches (one plan) and a last one of 4 (another plan) per epoch.
        var data = Images(100, 6, 1);
        var fit = await AssertCompiledEqualsEager(() => Models.Mlp(36, [24, 12], 10, dropout: 0.25, generator: new Generator(2)),
            m => new Adam(m.Parameters(), 3e-3), epochs: 3, data, batch: 16);
        Assert.Null(fit.CompileFallbackReason);
        // Per epoch 7 steps; the first full batch warms up, the second is captured; the partial batch warms up in epoch 1
        // and is captured in epoch 2: 21 steps - 4 eager = 17 replays.
        Assert.Equal(17, fit.ReplayedSteps);
        Assert.True(fit.History[^1].TrainLoss < fit.History[0].TrainLoss);
    }

    [Fact]
    public async Task CnnWithBatchNormAndDropoutFitIsBitIdenticalToEager()
    {
        var data = Images(90, 12, 3);
        var fit = await AssertCompiledEqualsEager(() => SmallCnn(4, 0.3), m => new Adam(m.Parameters(), 2e-3), epochs: 3, data, batch: 16,
            scheduler: o => new StepLR(o, 1, 0.5));
        Assert.Null(fit.CompileFallbackReason);
        Assert.True(fit.ReplayedSteps > 10, $"only {fit.ReplayedSteps} steps replayed");
    }

    [Fact]
    public async Task StagedCnnFitWithSgdMomentumAndOneCycleIsBitIdenticalToEager()
    {
        var data = Images(64, 8, 5);
        var fit = await AssertCompiledEqualsEager(() => Models.StagedCnn([[4], [6, 6]], dropout: 0.2, generator: new Generator(6), inputSize: 8),
            m => new Sgd(m.Parameters(), 0.05, momentum: 0.9), epochs: 3, data, batch: 16,
            scheduler: o => new OneCycleLR(o, 0.1, totalSteps: 12));
        Assert.Null(fit.CompileFallbackReason);
        Assert.Equal(10, fit.ReplayedSteps);
    }

    [Fact]
    public async Task AdamWWithGradientValueClippingIsBitIdenticalToEager()
    {
        var data = Images(64, 8, 7);
        var fit = await AssertCompiledEqualsEager(() => SmallCnnFor8(8), m => new AdamW(m.Parameters(), 1e-2, weightDecay: 0.1), epochs: 2, data, batch: 16,
            extra: new FitOptions { ClipGradValue = 1e-3 });
        Assert.Null(fit.CompileFallbackReason);
        Assert.Equal(6, fit.ReplayedSteps);
    }

    private static Sequential SmallCnnFor8(int seed)
    {
        var g = new Generator((ulong)seed);
        return new Sequential(new Conv2d(1, 3, 3, padding: 1, generator: g), new BatchNorm2d(3), new ReLU(), new MaxPool2d(2),
            new Flatten(), new SharpGrad.NN.Linear(3 * 4 * 4, 10, generator: g));
    }

    [Fact]
    public async Task AnOpWithoutARecordedFormRunsEagerlyWithTheReason()
    {
        // Softplus (composed of ops with no recorded form) in the loss: the fit must fall back, say why, and stay exact.
        static Tensor Loss(Tensor o, Tensor y) => F.CrossEntropy(F.Softplus(o), y);
        var data = Images(48, 6, 9);
        var fit = await AssertCompiledEqualsEager(() => Models.Mlp(36, [16], 10, generator: new Generator(10)), m => new Adam(m.Parameters(), 1e-2),
            epochs: 2, data, batch: 16, loss: Loss);
        Assert.NotNull(fit.CompileFallbackReason);
        Assert.Contains("no recorded form", fit.CompileFallbackReason);
        Assert.Equal(0, fit.ReplayedSteps);
    }

    [Fact]
    public async Task AfterBackwardAndClipGradNormKeepTheStepsEagerAndSaySo()
    {
        var data = Images(48, 6, 11);
        int calls = 0;
        var withCallback = await AssertCompiledEqualsEager(() => Models.Mlp(36, [16], 10, generator: new Generator(12)), m => new Adam(m.Parameters(), 1e-2),
            epochs: 2, data, batch: 16, extra: new FitOptions { AfterBackward = _ => calls++ });
        Assert.Contains("AfterBackward", withCallback.CompileFallbackReason);
        Assert.Equal(12, calls); // 3 batches x 2 epochs x (eager fit + compiled fit)
        var clipped = await AssertCompiledEqualsEager(() => Models.Mlp(36, [16], 10, generator: new Generator(12)), m => new Adam(m.Parameters(), 1e-2),
            epochs: 2, data, batch: 16, extra: new FitOptions { ClipGradNorm = 0.5 });
        Assert.Contains("ClipGradNorm", clipped.CompileFallbackReason);
        Assert.Equal(0, clipped.ReplayedSteps);
    }

    [Fact]
    public void ClipGradNormInsideACompiledStepFallsBack()
    {
        // Its norm is a C# value the step could branch on: a plan must not replay it.
        var g = new Generator(13);
        var w = Tensor.Randn([3, 2], g, requiresGrad: true);
        var opt = new Sgd([w], 0.1);
        var x = Tensor.Randn([4, 3], g);
        var step = SharpGrad.Jit.Compile(t =>
        {
            var loss = t[0].MatMul(w).Square().Mean(); // Mean's backward expands the gradient: a recorded kernel
            opt.ZeroGrad();
            loss.Backward();
            Utils.ClipGradNorm([w], 0.1);
            opt.Step();
            return loss;
        });
        for (int i = 0; i < 4; i++) step.Run(x);
        Assert.Contains("ClipGradNorm", step.FallbackReason);
        Assert.False(step.LastRunReplayed);
    }

    /// <summary>The CNN step (conv, batch norm, ReLU, max pool, dropout, linear, cross-entropy, Adam), replayed 1,000 times.</summary>
    [Fact]
    public void ReplayedCnnStepWithBatchNormAndDropoutAllocatesNothing()
    {
        var data = Images(8, 12, 15);
        var model = SmallCnn(16, 0.3);
        model.Train();
        var opt = new Adam(model.Parameters(), 1e-3);
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        var (x, y) = data.GetBatch([0, 1, 2, 3, 4, 5, 6, 7]);
        for (int i = 0; i < 10; i++) step.Run(x, y);
        Assert.Null(step.FallbackReason);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) step.Run(x, y);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(step.LastRunReplayed);
        Assert.Equal(0, allocated);
        Assert.Equal(1010, opt.StepCount);
        Assert.Equal(1010, model.Modules().OfType<BatchNorm2d>().First().NumBatchesTracked.Item());
    }

    [Fact]
    public void ReplayedMlpAdamStepAllocatesNothing()
    {
        var data = Images(16, 6, 17);
        var model = Models.Mlp(36, [32, 16], 10, dropout: 0.1, generator: new Generator(18));
        var opt = new AdamW(model.Parameters(), 1e-3);
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        var (x, y) = data.GetBatch(Enumerable.Range(0, 16).ToArray());
        for (int i = 0; i < 10; i++) step.Run(x, y);
        Assert.Null(step.FallbackReason);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) step.Run(x, y);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // ---- The fused LSTM sequence op ---------------------------------------------------------------------------------

    private sealed class LstmModel
    {
        public readonly Tensor WIh, BIh, WHh, BHh, WOut;
        public readonly Adam Opt;
        public const int Input = 5, Hidden = 6, Seq = 4, Batch = 3;

        public LstmModel()
        {
            var g = new Generator(21);
            WIh = (Tensor.Randn([Input, 4 * Hidden], g) * 0.3).Detach();
            BIh = (Tensor.Randn([4 * Hidden], g) * 0.1).Detach();
            WHh = (Tensor.Randn([4 * Hidden, Hidden], g) * 0.3).Detach();
            BHh = (Tensor.Randn([4 * Hidden], g) * 0.1).Detach();
            WOut = (Tensor.Randn([Hidden, 1], g) * 0.3).Detach();
            foreach (var p in new[] { WIh, BIh, WHh, BHh, WOut }) p.RequiresGrad = true;
            Opt = new Adam([WIh, BIh, WHh, BHh, WOut], 1e-2);
        }

        // x [seq·batch, input], h0 and c0 [batch, hidden], target [2·seq·batch, 1] (for every h_t, then every c_t).
        public Tensor Step(Tensor x, Tensor h0, Tensor c0, Tensor target)
        {
            var proj = x.MatMul(WIh).Add(BIh).Reshape(Seq, Batch, 4 * Hidden);
            var y = F.LstmSequence(proj, h0, c0, WHh, BHh, reverse: false); // [2, seq, batch, hidden]
            var h = y.Reshape(2 * Seq * Batch, Hidden).MatMul(WOut);
            var loss = F.MseLoss(h, target);
            Opt.ZeroGrad();
            loss.Backward();
            Opt.Step();
            return loss;
        }

        public double[] Parameters() => new[] { WIh, BIh, WHh, BHh, WOut }.SelectMany(p => p.ToArray<double>()).ToArray();
    }

    [Fact]
    public void LstmSequenceStepReplayIsBitIdenticalAndAllocatesNothing()
    {
        var g = new Generator(22);
        var x = Tensor.Randn([LstmModel.Seq * LstmModel.Batch, LstmModel.Input], g);
        var h0 = Tensor.Randn([LstmModel.Batch, LstmModel.Hidden], g) * 0.5;
        var c0 = Tensor.Randn([LstmModel.Batch, LstmModel.Hidden], g) * 0.5;
        var target = Tensor.Randn([2 * LstmModel.Seq * LstmModel.Batch, 1], g);
        var eager = new LstmModel();
        var eagerLosses = Enumerable.Range(0, 30).Select(_ => eager.Step(x, h0, c0, target).Item()).ToArray();
        var compiled = new LstmModel();
        var step = SharpGrad.Jit.Compile(t => compiled.Step(t[0], t[1], t[2], t[3]));
        var losses = Enumerable.Range(0, 30).Select(_ => step.Run(x, h0, c0, target).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) step.Run(x, h0, c0, target);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// A batch whose loss stops the fit, met in a replayed step (batch 4 of the first epoch, unshuffled: batch 0 warms
    /// up, batch 1 is captured): the eager step stops before its backward pass and update, so the compiled one must
    /// too, leaving every weight and the optimizer's step count as eager mode leaves them. "nan": one image holds a NaN
    /// (NaN loss); "huge": one image scaled by 1e4 (a finite loss far above 10x the first: the divergence rule).
    /// </summary>
    [Theory]
    [InlineData("nan")]
    [InlineData("huge")]
    public async Task ALossThatStopsTheFitInAReplayedStepLeavesTheWeightsAsEagerModeDoes(string kind)
    {
        var clean = Images(100, 6, 3);
        var x = clean.Inputs.ToArray<float>();
        for (int k = 0; k < 36; k++) x[70 * 36 + k] = kind == "nan" ? (k == 5 ? float.NaN : x[70 * 36 + k]) : x[70 * 36 + k] * 1e4f;
        var data = new TensorDataset(Tensor.FromArray(x, 100, 1, 6, 6), clean.Targets);

        async Task<(Exception Error, Module Model, long Steps)> Run(bool compile)
        {
            var model = Models.Mlp(36, [24, 12], 10, generator: new Generator(2));
            var opt = new Adam(model.Parameters(), 3e-3);
            var run = new TrainingRunOptions { DivergenceFactor = 10 };
            var error = await Assert.ThrowsAnyAsync<Exception>(() => Trainer.RunAsync(model, (o, y) => F.CrossEntropy(o, y), opt,
                new DataLoader(data, 16, shuffle: false), null, new FitOptions { Epochs = 2, Compile = compile, RestoreBest = false }, run));
            return (error, model, opt.StepCount);
        }

        var eager = await Run(compile: false);
        var compiled = await Run(compile: true);
        Assert.IsType(kind == "nan" ? typeof(NonFiniteLossException) : typeof(TrainingDivergedException), eager.Error);
        Assert.IsType(eager.Error.GetType(), compiled.Error);
        Assert.Equal(eager.Error.Message, compiled.Error.Message);
        Assert.Equal(4, eager.Steps);
        Assert.Equal(eager.Steps, compiled.Steps);
        AssertSameState(eager.Model, compiled.Model);
        Assert.All(State(compiled.Model).Values, v => Assert.All(v, d => Assert.True(double.IsFinite(d))));
    }
}
