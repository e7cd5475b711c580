using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// A replay splits large direct-loop GEMMs (batch-1 Linear, its outer-product weight gradient) and the updates of large
/// parameters over the worker threads. Each element gets the same operations in the same order whichever block holds
/// it, so the results must be bit-identical to the whole product and to eager steps, and a replay still allocates nothing.
/// </summary>
// In the collection of the tests that change the kernels' thread limit (Gemm.MaxThreads, a process-wide setting):
// a limit changed by a test running alongside would send a replay down another path mid-measurement, and the
// 0-bytes-per-replay checks would count that path's first-use allocations.
[Collection(GemmCollection.Name)]
public class JitParallelTests
{
    private static T[] Random<T>(Generator g, int n) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(2 * g.NextDouble() - 1);
        return a;
    }

    private static void SplitGemmMatchesWhole<T>(bool transA, bool transB, int m, int n, int k, bool bias, GemmActivation act)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var g = new Generator((ulong)(m * 7 + n * 3 + k));
        T[] a = Random<T>(g, m * k), b = Random<T>(g, k * n), bv = bias ? Random<T>(g, n) : null!;
        var whole = new T[m * n];
        var split = Random<T>(g, m * n); // garbage in C: beta 0 must overwrite it
        Gemm.Multiply(transA, transB, m, n, k, T.One, a, Math.Max(1, transA ? m : k), b, Math.Max(1, transB ? k : n), T.Zero, whole, n,
            bias ? bv : default, act);
        var s = GemmSplit<T>.For(transA, transB, m, n, k, a, b, split, bias ? bv : null, act);
        Assert.NotNull(s);
        s.Run();
        Assert.Equal(whole, split);
    }

    [Theory]
    [InlineData(false, true, 1, 256, 784, true, true)]   // batch-1 Linear forward: columns
    [InlineData(false, true, 2, 300, 500, false, false)]
    [InlineData(false, true, 13, 70, 100, true, false)]   // 4 x 4 dot tiles and a ragged last tile: rows
    [InlineData(true, false, 256, 784, 1, false, false)]  // batch-1 weight gradient (outer product): rows
    [InlineData(true, false, 130, 600, 2, false, false)]
    [InlineData(false, false, 1, 1000, 100, true, true)] // a row times a matrix: columns
    [InlineData(false, false, 1, 1001, 97, false, false)] // ragged last column block
    public void SplitGemmIsBitIdenticalToTheWholeProduct(bool transA, bool transB, int m, int n, int k, bool bias, bool relu)
    {
        var act = relu ? GemmActivation.Relu : GemmActivation.None;
        if (WorkerPool.MaxParallelism < 2) return; // no split on one core (For returns null by design)
        SplitGemmMatchesWhole<float>(transA, transB, m, n, k, bias, act);
        SplitGemmMatchesWhole<double>(transA, transB, m, n, k, bias, act);
    }

    [Fact]
    public void SmallOrPackedProductsAreNotSplit()
    {
        float[] x = new float[64 * 64 * 64];
        Assert.Null(GemmSplit<float>.For(false, true, 1, 10, 784, x, x, x, null, GemmActivation.None)); // too small to share
        Assert.Null(GemmSplit<float>.For(false, false, 64, 64, 64, x, x, x, null, GemmActivation.None)); // packed kernels
    }

    public static TheoryData<string, int> Optimizers => new()
    {
        { "sgd-momentum", 1 }, { "sgd-nesterov-decay", 2 }, { "adam", 1 }, { "adam-amsgrad-decay", 2 }, { "adamw", 1 }, { "rmsprop-centered-momentum", 2 },
    };

    private static Optimizer Make(string name, IEnumerable<Tensor> p) => name switch
    {
        "sgd-momentum" => new Sgd(p, lr: 0.01, momentum: 0.9),
        "sgd-nesterov-decay" => new Sgd(p, lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-3),
        "adam" => new Adam(p, 1e-3),
        "adam-amsgrad-decay" => new Adam(p, 1e-3, weightDecay: 1e-2, amsgrad: true),
        "adamw" => new AdamW(p, 1e-3),
        "rmsprop-centered-momentum" => new RmsProp(p, lr: 1e-3, momentum: 0.5, centered: true),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void SplitReplayIsBitIdenticalToEager(string optimizer, int batch)
    {
        const int steps = 6;
        var g = new Generator(21);
        var xs = Enumerable.Range(0, steps).Select(_ => Tensor.Rand([batch, 784], g)).ToArray();
        var ys = Enumerable.Range(0, steps).Select(i => Tensor.FromArray(Enumerable.Range(0, batch).Select(j => (long)((i + j) % 10)).ToArray())).ToArray();

        var eagerModel = JitTests.Linears(DType.Float32, 4, 784, 256, 10);
        var eagerOpt = Make(optimizer, eagerModel.Parameters());
        var eagerLosses = xs.Select((x, i) => JitTests.ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = JitTests.Linears(DType.Float32, 4, 784, 256, 10);
        var opt = Make(optimizer, model.Parameters());
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        var losses = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        if (WorkerPool.MaxParallelism > 1)
        {
            // The first layer's forward product is split; the rest are too small to share.
            Assert.Equal(1, step.PlanInstructions.OfType<GemmInstruction<float>>().Count(i => i.Split));
            Assert.True(step.PlanInstructions.OfType<OptimizerStepInstruction>().Single().Parallel);
        }
        // Both weight gradients are computed inside their updates (the biases' come from a reduction, not a GEMM).
        Assert.Equal(2, step.PlanInstructions.OfType<OptimizerStepInstruction>().Single().Fused);
        Assert.Equal(eagerLosses, losses);
        Assert.Equal(eagerModel.Parameters().SelectMany(p => p.ToArray<float>()), model.Parameters().SelectMany(p => p.ToArray<float>()));
    }

    [Fact]
    public void AGradientReadBeforeTheStepIsNotFused()
    {
        // The step returns Σ (∂L/∂W1)², computed from the gradient before the update: W1's gradient must then exist before
        // the optimizer step runs, so it stays an instruction of its own; W2's is still fused.
        static Tensor Body(Sequential m, Optimizer opt, Tensor x, Tensor y)
        {
            var loss = F.CrossEntropy(m.Forward(x), y);
            opt.ZeroGrad();
            loss.Backward();
            var w1 = m.Parameters().First();
            var norm = (w1.Grad! * w1.Grad!).Sum();
            opt.Step();
            return norm;
        }
        var g = new Generator(8);
        var xs = Enumerable.Range(0, 5).Select(_ => Tensor.Rand([1, 784], g)).ToArray();
        var ys = Enumerable.Range(0, 5).Select(i => Tensor.FromArray(new long[] { i })).ToArray();
        var eagerModel = JitTests.Linears(DType.Float32, 6, 784, 64, 10);
        var eagerOpt = new Sgd(eagerModel.Parameters(), lr: 0.05);
        var eagerNorms = xs.Select((x, i) => Body(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();
        var model = JitTests.Linears(DType.Float32, 6, 784, 64, 10);
        var opt = new Sgd(model.Parameters(), lr: 0.05);
        var step = SharpGrad.Jit.Compile(t => Body(model, opt, t[0], t[1]));
        var norms = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        Assert.Equal(1, step.PlanInstructions.OfType<OptimizerStepInstruction>().Single().Fused);
        Assert.Equal(eagerNorms, norms);
        Assert.Equal(eagerModel.Parameters().SelectMany(p => p.ToArray<float>()), model.Parameters().SelectMany(p => p.ToArray<float>()));
    }

    [Fact]
    public void FusedReplayLeavesTheSameGradients()
    {
        // The fused update still writes every gradient value: .Grad after a replay is .Grad after an eager step.
        var g = new Generator(9);
        var xs = Enumerable.Range(0, 4).Select(_ => Tensor.Rand([1, 784], g, DType.Float64)).ToArray();
        var y = Tensor.FromArray(new long[] { 7 });
        var eagerModel = JitTests.Linears(DType.Float64, 7, 784, 300, 10);
        var eagerOpt = new Adam(eagerModel.Parameters(), 1e-3);
        foreach (var x in xs) JitTests.ClassifierStep(eagerModel, eagerOpt, x, y);
        var model = JitTests.Linears(DType.Float64, 7, 784, 300, 10);
        var opt = new Adam(model.Parameters(), 1e-3);
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        foreach (var x in xs) step.Run(x, y);
        Assert.True(step.LastRunReplayed);
        Assert.Equal(2, step.PlanInstructions.OfType<OptimizerStepInstruction>().Single().Fused);
        Assert.Equal(eagerModel.Parameters().SelectMany(p => p.Grad!.ToArray<double>()), model.Parameters().SelectMany(p => p.Grad!.ToArray<double>()));
        Assert.Equal(eagerModel.Parameters().SelectMany(p => p.ToArray<double>()), model.Parameters().SelectMany(p => p.ToArray<double>()));
    }

    [Fact]
    public void SplitReplayAllocatesNothing()
    {
        var g = new Generator(3);
        var x = Tensor.Rand([1, 784], g);
        var y = Tensor.FromArray(new long[] { 4 });
        var model = JitTests.Linears(DType.Float32, 5, 784, 256, 128, 10);
        var opt = new Adam(model.Parameters(), 1e-3);
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        for (int i = 0; i < 10; i++) step.Run(x, y);
        Assert.Null(step.FallbackReason);
        ReplayAllocations.AssertNone(() => { for (int i = 0; i < 200; i++) step.Run(x, y); });
        Assert.True(step.LastRunReplayed);
    }
}
