using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// Compiled (captured and replayed) training steps against the same steps run eagerly from the same initial state: the
/// replay runs the same kernels on the same values in the same order, so parameters and losses must be bit-identical.
/// </summary>
// In the collection of the tests that change the kernels' thread limit (Gemm.MaxThreads, a process-wide setting):
// a limit changed by a test running alongside would send a replay down another path mid-measurement, and the
// 0-bytes-per-replay checks would count that path's first-use allocations.
[Collection(GemmCollection.Name)]
public class JitTests
{
    // ---- XOR 2-2-1 (tanh), full-batch gradient descent ---------------------------------------------------------------------

    private sealed class Xor
    {
        public readonly Tensor X, Y, U, B1, W, B2;
        public readonly Sgd Opt;

        public Xor(DType dtype)
        {
            X = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2).To(dtype);
            Y = Tensor.FromArray(new double[] { -1, 1, 1, -1 }, 4, 1).To(dtype);
            var g = new Generator(3);
            U = Tensor.Randn([2, 2], g, dtype, requiresGrad: true);
            B1 = Tensor.Zeros([2], dtype, requiresGrad: true);
            W = Tensor.Randn([2, 1], g, dtype, requiresGrad: true);
            B2 = Tensor.Zeros([1], dtype, requiresGrad: true);
            Opt = new Sgd([U, B1, W, B2], lr: 0.1);
        }

        public Tensor Step(Tensor x, Tensor y)
        {
            var loss = F.MseLoss(x.MatMul(U).Add(B1).Tanh().MatMul(W).Add(B2), y);
            Opt.ZeroGrad();
            loss.Backward();
            Opt.Step();
            return loss;
        }

        public double[] Parameters() => [.. U.ToArray<double>(), .. B1.ToArray<double>(), .. W.ToArray<double>(), .. B2.ToArray<double>()];
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void XorReplayIsBitIdenticalToEager(DType dtype)
    {
        const int steps = 200;
        var eager = new Xor(dtype);
        var eagerLosses = new double[steps];
        for (int i = 0; i < steps; i++) eagerLosses[i] = eager.Step(eager.X, eager.Y).Item();

        var compiled = new Xor(dtype);
        var step = SharpGrad.Jit.Compile(t => compiled.Step(t[0], t[1]));
        var losses = new double[steps];
        int replayed = 0;
        for (int i = 0; i < steps; i++)
        {
            losses[i] = step.Run(compiled.X, compiled.Y).Item();
            if (step.LastRunReplayed) replayed++;
        }
        Assert.Null(step.FallbackReason);
        Assert.Equal(1, step.PlanCount);
        Assert.Equal(steps - 2, replayed); // one warm-up call, one capture
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
        Assert.True(losses[^1] < losses[0], $"XOR did not train: loss {losses[0]} → {losses[^1]}");
    }

    // ---- Jit.Check: the early exit of a step ----------------------------------------------------------------------------

    /// <summary>XOR's step with an early exit before backward when the loss exceeds a bound.</summary>
    private static Tensor GuardedStep(Xor m, Tensor x, Tensor y, double bound)
    {
        var loss = F.MseLoss(x.MatMul(m.U).Add(m.B1).Tanh().MatMul(m.W).Add(m.B2), y);
        if (!SharpGrad.Jit.Check(loss, v => v <= bound)) return loss;
        m.Opt.ZeroGrad();
        loss.Backward();
        m.Opt.Step();
        return loss;
    }

    [Fact]
    public void AFailedCheckInAReplayEndsTheStepAsTheEagerEarlyExitDoes()
    {
        // Targets scaled by 100 give a loss far above the bound: that step must leave the parameters alone, replayed or not.
        var eager = new Xor(DType.Float64);
        var compiled = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => GuardedStep(compiled, t[0], t[1], 50));
        var far = (eager.Y * 100.0);
        for (int i = 0; i < 6; i++)
        {
            var y = i == 4 ? far : eager.Y; // calls 0 (warm-up) and 1 (capture) take the normal path; call 4 is a replay
            double expected = GuardedStep(eager, eager.X, y, 50).Item();
            double got = step.Run(compiled.X, y).Item();
            Assert.Equal(expected, got);
            Assert.Equal(eager.Parameters(), compiled.Parameters());
            if (i >= 2) Assert.True(step.LastRunReplayed, $"call {i} was not replayed");
        }
        Assert.Null(step.FallbackReason);
        Assert.Equal(5, eager.Opt.StepCount);
        Assert.Equal(5, compiled.Opt.StepCount);
    }

    [Fact]
    public void ACheckThatFailsInTheCapturedCallMakesTheStepEager()
    {
        var m = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => GuardedStep(m, t[0], t[1], 50), warmupCalls: 0);
        step.Run(m.X, (m.Y * 100.0)); // captured call: the exit is taken
        Assert.NotNull(step.FallbackReason);
        Assert.Contains("Jit.Check", step.FallbackReason);
        Assert.Equal(0, step.PlanCount);
        var before = m.Parameters();
        step.Run(m.X, m.Y);
        Assert.False(step.LastRunReplayed);
        Assert.NotEqual(before, m.Parameters());
    }

    [Fact]
    public void CheckRefusesAValueOfMoreThanOneElement()
    {
        var e = Assert.Throws<ArgumentException>(() => SharpGrad.Jit.Check(Tensor.Zeros([2]), double.IsFinite));
        Assert.Contains("one element", e.Message);
    }

    [Fact]
    public void ReplayAllocatesNothing()
    {
        var model = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => model.Step(t[0], t[1]));
        Tensor[] inputs = [model.X, model.Y];
        for (int i = 0; i < 10; i++) step.Run(inputs);
        Assert.Null(step.FallbackReason);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) step.Run(model.X, model.Y);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.True(step.LastRunReplayed);
    }

    // ---- Per-example logistic regression, SGD ------------------------------------------------------------------------

    private static (Tensor[] X, Tensor[] Y) Examples(int count, int features, int classes, DType dtype, int seed)
    {
        var g = new Generator((ulong)seed);
        var xs = new Tensor[count];
        var ys = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            xs[i] = Tensor.Rand([1, features], g, dtype);
            ys[i] = Tensor.FromArray(new long[] { g.NextInt(classes) });
        }
        return (xs, ys);
    }

    private static double[] Flat(Module m) => m.Parameters().SelectMany(p => p.ToArray<double>()).ToArray();

    /// <summary>
    /// Eager classifier steps on one model against a compiled step on a twin made the same way, one example batch each:
    /// the compiled step never falls back and replays its last call, and the losses, the optimizers' step counts and the
    /// parameters are the eager run's bit for bit.
    /// </summary>
    private static void AssertReplaysMatchEager(Func<Module> makeModel, Func<Module, Optimizer> makeOptimizer, Tensor[] xs, Tensor[] ys)
    {
        var eagerModel = makeModel();
        var eagerOpt = makeOptimizer(eagerModel);
        var eagerLosses = xs.Select((x, i) => ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = makeModel();
        var opt = makeOptimizer(model);
        var step = SharpGrad.Jit.Compile(t => ClassifierStep(model, opt, t[0], t[1]));
        var losses = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerOpt.StepCount, opt.StepCount);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(Flat(eagerModel), Flat(model));
    }

    internal static Sequential Linears(DType dtype, int seed, params int[] sizes)
    {
        var g = new Generator((ulong)seed);
        var seq = new Sequential(new Flatten());
        for (int i = 0; i + 1 < sizes.Length; i++)
        {
            seq.Add(new SharpGrad.NN.Linear(sizes[i], sizes[i + 1], generator: g, dtype: dtype));
            if (i + 2 < sizes.Length) seq.Add(new ReLU());
        }
        return seq;
    }

    internal static Tensor ClassifierStep(Module model, Optimizer opt, Tensor x, Tensor y)
    {
        var loss = F.CrossEntropy(model.Forward(x), y);
        opt.ZeroGrad();
        loss.Backward();
        opt.Step();
        return loss;
    }

    /// <summary>
    /// <see cref="CompiledStep.Prefetch"/> of the next example before each replay (the per-example loop's use): the same
    /// losses and parameters as eager steps, bit for bit, nothing allocated, and any tensor accepted (other dtypes, no
    /// elements, null entries skipped).
    /// </summary>
    [Fact]
    public void PrefetchingTheNextExampleChangesNothingAndAllocatesNothing()
    {
        var (xs, ys) = Examples(40, 784, 10, DType.Float32, 6);
        var eagerModel = Linears(DType.Float32, 0, 784, 10);
        var eagerOpt = new Sgd(eagerModel.Parameters(), lr: 0.01);
        var eagerLosses = xs.Select((x, i) => ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = Linears(DType.Float32, 0, 784, 10);
        var opt = new Sgd(model.Parameters(), lr: 0.01);
        var step = SharpGrad.Jit.Compile(t => ClassifierStep(model, opt, t[0], t[1]));
        var losses = new double[xs.Length];
        for (int i = 0; i < 3; i++) losses[i] = step.Run(xs[i], ys[i]).Item();
        for (int i = 3; i < xs.Length; i++)
        {
            if (i + 1 < xs.Length) step.Prefetch(xs[i + 1], ys[i + 1]);
            losses[i] = step.Run(xs[i], ys[i]).Item();
        }
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(Flat(eagerModel), Flat(model));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            step.Prefetch(xs[(i + 1) % xs.Length], ys[(i + 1) % xs.Length]);
            step.Run(xs[i % xs.Length], ys[i % xs.Length]);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        step.Prefetch(Tensor.Zeros([0]), Tensor.FromArray(new[] { true, false }), Tensor.FromArray(new double[] { 1, 2 }), null!);
    }

    /// <summary>
    /// <see cref="CompiledStep.PrefetchAhead"/> with the inputs <see cref="CompiledStep.PrefetchDistance"/> calls ahead
    /// (the shuffled per-example loop's use): the same losses and parameters as eager steps, bit for bit, nothing
    /// allocated once it has seen its largest set of inputs, and tensors whose scope has ended since they were given
    /// are skipped rather than read.
    /// </summary>
    [Fact]
    public void PrefetchingAheadChangesNothingAndAllocatesNothing()
    {
        var (xs, ys) = Examples(40, 784, 10, DType.Float32, 6);
        var eagerModel = Linears(DType.Float32, 0, 784, 10);
        var eagerOpt = new Sgd(eagerModel.Parameters(), lr: 0.01);
        var eagerLosses = xs.Select((x, i) => ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = Linears(DType.Float32, 0, 784, 10);
        var opt = new Sgd(model.Parameters(), lr: 0.01);
        var step = SharpGrad.Jit.Compile(t => ClassifierStep(model, opt, t[0], t[1]));
        int d = CompiledStep.PrefetchDistance;
        var losses = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            if (i + d < xs.Length) step.PrefetchAhead(xs[i + d], ys[i + d]);
            losses[i] = step.Run(xs[i], ys[i]).Item();
        }
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(Flat(eagerModel), Flat(model));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            step.PrefetchAhead(xs[(i + d) % xs.Length], ys[(i + d) % xs.Length]);
            step.Run(xs[i % xs.Length], ys[i % xs.Length]);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        Tensor scoped;
        using (new TensorScope()) scoped = Tensor.Ones(1000);
        step.PrefetchAhead(scoped, Tensor.FromArray(new[] { true, false }), Tensor.Zeros([0]), null!);
        step.PrefetchAhead();
        step.PrefetchAhead();
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LogisticRegressionSgdReplayIsBitIdentical(DType dtype)
    {
        var (xs, ys) = Examples(60, 784, 10, dtype, 5);
        AssertReplaysMatchEager(() => Linears(dtype, 0, 784, 10), m => new Sgd(m.Parameters(), lr: 0.01), xs, ys);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void MlpAdamReplayIsBitIdentical(DType dtype)
    {
        var (xs, ys) = Examples(12, 784, 10, dtype, 7);
        AssertReplaysMatchEager(() => Linears(dtype, 1, 784, 256, 128, 10), m => new Adam(m.Parameters(), 1e-3), xs, ys);
    }

    /// <summary>
    /// A GELU network (float32: the vector GELU and its backward, <see cref="GeluOneExp"/>; float64: the exact erf) replays
    /// bit-identically: the capture records the same elementwise kernels the eager ops ran. Batches of 3 rows of 37
    /// hidden units, so spans have vector bodies and scalar tails.
    /// </summary>
    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void GeluMlpReplayIsBitIdentical(DType dtype)
    {
        static Sequential Model(DType dtype)
        {
            var g = new Generator(5);
            return new Sequential(new SharpGrad.NN.Linear(20, 37, generator: g, dtype: dtype), new GELU(),
                new SharpGrad.NN.Linear(37, 4, generator: g, dtype: dtype));
        }
        var g = new Generator(9);
        var xs = Enumerable.Range(0, 10).Select(_ => Tensor.Randn([3, 20], g, dtype) * 3).ToArray();
        var ys = Enumerable.Range(0, 10).Select(_ => Tensor.FromArray(new long[] { g.NextInt(4), g.NextInt(4), g.NextInt(4) })).ToArray();
        AssertReplaysMatchEager(() => Model(dtype), m => new Adam(m.Parameters(), 1e-2), xs, ys);
    }

    // ---- Fallback, new shapes ----------------------------------------------------------------------------------------

    [Fact]
    public void ItemInsideTheStepFallsBackAndMatchesEager()
    {
        var eager = new Xor(DType.Float64);
        var compiled = new Xor(DType.Float64);
        double eagerSum = 0, sum = 0;
        for (int i = 0; i < 20; i++) eagerSum += eager.Step(eager.X, eager.Y).Item();
        var step = SharpGrad.Jit.Compile(t =>
        {
            var loss = compiled.Step(t[0], t[1]);
            sum += loss.Item(); // data read inside the step
            return loss;
        });
        for (int i = 0; i < 20; i++) step.Run(compiled.X, compiled.Y);
        Assert.NotNull(step.FallbackReason);
        Assert.Contains("Item()", step.FallbackReason);
        Assert.Equal(0, step.PlanCount);
        Assert.False(step.LastRunReplayed);
        Assert.Equal(eagerSum, sum);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
    }

    [Fact]
    public void UnsupportedOpFallsBackNamingItAndMatchesEager()
    {
        // Softplus is made of ops without a recorded form (yet): the capture must refuse, not replay stale values.
        static Tensor Body(Xor m, Tensor x, Tensor y)
        {
            var h = x.MatMul(m.U).Add(m.B1);
            var loss = F.MseLoss(F.Softplus(h).MatMul(m.W).Add(m.B2), y);
            m.Opt.ZeroGrad();
            loss.Backward();
            m.Opt.Step();
            return loss;
        }
        var eager = new Xor(DType.Float64);
        var eagerLosses = Enumerable.Range(0, 10).Select(_ => Body(eager, eager.X, eager.Y).Item()).ToArray();
        var compiled = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => Body(compiled, t[0], t[1]));
        var losses = Enumerable.Range(0, 10).Select(_ => step.Run(compiled.X, compiled.Y).Item()).ToArray();
        Assert.NotNull(step.FallbackReason);
        Assert.Contains("no recorded form", step.FallbackReason);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
    }

    [Fact]
    public void DropoutIsReplayedDrawingTheSameNumbersAsEager()
    {
        // The replayed mask kernel draws the next numbers of the same generator: the masks (and so the losses and the
        // weights) are those of eager steps, and the generator ends in the same state.
        static Tensor Body(Xor m, Generator g, Tensor x, Tensor y)
        {
            var h = F.Dropout(x.MatMul(m.U).Add(m.B1).Relu(), 0.5, training: true, generator: g);
            var loss = F.MseLoss(h.MatMul(m.W).Add(m.B2), y);
            m.Opt.ZeroGrad();
            loss.Backward();
            m.Opt.Step();
            return loss;
        }
        var eager = new Xor(DType.Float64);
        var ge = new Generator(11);
        var eagerLosses = Enumerable.Range(0, 10).Select(_ => Body(eager, ge, eager.X, eager.Y).Item()).ToArray();
        var compiled = new Xor(DType.Float64);
        var gc = new Generator(11);
        var step = SharpGrad.Jit.Compile(t => Body(compiled, gc, t[0], t[1]));
        var losses = Enumerable.Range(0, 10).Select(_ => step.Run(compiled.X, compiled.Y).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
        Assert.Equal(ge.NextUInt64(), gc.NextUInt64());
    }

    [Fact]
    public void RandomDrawsOutsideAKernelStillFallBack()
    {
        // Tensor.Randn inside the step draws in C#, not in a recorded kernel: a plan would replay the same numbers.
        var m = new Xor(DType.Float64);
        var g = new Generator(4);
        var step = SharpGrad.Jit.Compile(t => m.Step(t[0] + Tensor.Randn([4, 2], g, DType.Float64) * 0.01, t[1]));
        for (int i = 0; i < 4; i++) step.Run(m.X, m.Y);
        Assert.NotNull(step.FallbackReason);
        Assert.Contains("random", step.FallbackReason);
    }

    [Fact]
    public void NewInputShapeCapturesASecondPlanAndBothMatchEager()
    {
        // The logistic regression step on batches of 1 and of 3 examples, alternating.
        var (xs, ys) = Examples(40, 784, 10, DType.Float64, 9);
        Tensor Batch(int i) => i % 2 == 0 ? xs[i] : Tensor.Concat([xs[i], xs[(i + 1) % 40], xs[(i + 2) % 40]], 0);
        Tensor Targets(int i) => i % 2 == 0 ? ys[i] : Tensor.Concat([ys[i], ys[(i + 1) % 40], ys[(i + 2) % 40]], 0);
        var batches = Enumerable.Range(0, 40).Select(i => (Batch(i), Targets(i))).ToArray();

        var eagerModel = Linears(DType.Float64, 2, 784, 10);
        var eagerOpt = new Sgd(eagerModel.Parameters(), lr: 0.05);
        var eagerLosses = batches.Select(b => ClassifierStep(eagerModel, eagerOpt, b.Item1, b.Item2).Item()).ToArray();

        var model = Linears(DType.Float64, 2, 784, 10);
        var opt = new Sgd(model.Parameters(), lr: 0.05);
        var step = SharpGrad.Jit.Compile(t => ClassifierStep(model, opt, t[0], t[1]));
        var losses = batches.Select(b => step.Run(b.Item1, b.Item2).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.Equal(2, step.PlanCount);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(Flat(eagerModel), Flat(model));
    }

    [Fact]
    public void MissingZeroGradFallsBack()
    {
        // Without ZeroGrad each backward adds to the .Grad of the previous call: a plan would keep adding to the captured one.
        static Tensor Body(Xor m, Tensor x, Tensor y)
        {
            var loss = F.MseLoss(x.MatMul(m.U).Add(m.B1).Relu().MatMul(m.W).Add(m.B2), y);
            loss.Backward();
            m.Opt.Step();
            return loss;
        }
        var eager = new Xor(DType.Float64);
        var eagerLosses = Enumerable.Range(0, 8).Select(_ => Body(eager, eager.X, eager.Y).Item()).ToArray();
        var compiled = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => Body(compiled, t[0], t[1]));
        var losses = Enumerable.Range(0, 8).Select(_ => step.Run(compiled.X, compiled.Y).Item()).ToArray();
        Assert.NotNull(step.FallbackReason);
        Assert.Contains("ZeroGrad", step.FallbackReason);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eager.Parameters(), compiled.Parameters());
    }

    [Fact]
    public void DisabledRunsEagerly()
    {
        var model = new Xor(DType.Float64);
        var step = SharpGrad.Jit.Compile(t => model.Step(t[0], t[1]));
        step.Enabled = false;
        for (int i = 0; i < 5; i++) step.Run(model.X, model.Y);
        Assert.Equal(0, step.PlanCount);
        Assert.False(step.LastRunReplayed);
    }
}
