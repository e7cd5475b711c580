using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// At batch 1 a Linear's weight gradient is an outer product, which a replay computes inside the optimizer's update in
/// one pass (each element computed, stored and applied at once). The parameters and the gradients left in .Grad must be
/// bit-identical to eager steps, for layer widths that are not multiples of the vector width and for every optimizer
/// setting the pass covers; SGD with momentum takes the two-step form and must match too.
/// </summary>
public class JitOuterProductTests
{
    private static Optimizer Make(string name, IEnumerable<Tensor> p) => name switch
    {
        "sgd" => new Sgd(p, lr: 0.05),
        "sgd-decay" => new Sgd(p, lr: 0.05, weightDecay: 1e-2),
        "sgd-momentum" => new Sgd(p, lr: 0.05, momentum: 0.9),
        "adam" => new Adam(p, 1e-2),
        "adam-amsgrad-decay" => new Adam(p, 1e-2, weightDecay: 1e-2, amsgrad: true),
        "adamw" => new AdamW(p, 1e-2),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, DType> Cases()
    {
        var d = new TheoryData<string, DType>();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (var o in new[] { "sgd", "sgd-decay", "sgd-momentum", "adam", "adam-amsgrad-decay", "adamw" }) d.Add(o, dt);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnePassUpdateIsBitIdenticalToEager(string optimizer, DType dtype)
    {
        const int steps = 5;
        // 37 inputs, 29 then 10 outputs: rows that end in a partial vector; 300 x 37 is split over the threads.
        int[] sizes = [37, 300, 29, 10];
        var g = new Generator(31);
        // Exact zeros in the input (black pixels): their gradient column is 0 (+0, as the GEMM writes it).
        var xs = Enumerable.Range(0, steps).Select(_ =>
        {
            var v = Tensor.Randn([sizes[0]], g, DType.Float64).ToArray<double>();
            for (int j = 3; j < 8; j++) v[j] = 0;
            return Tensor.FromArray(v, 1, sizes[0]).To(dtype);
        }).ToArray();
        var ys = Enumerable.Range(0, steps).Select(i => Tensor.FromArray(new long[] { (3 * i) % 10 })).ToArray();

        var eagerModel = JitTests.Linears(dtype, 12, sizes);
        var eagerOpt = Make(optimizer, eagerModel.Parameters());
        var eagerLosses = xs.Select((x, i) => JitTests.ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = JitTests.Linears(dtype, 12, sizes);
        var opt = Make(optimizer, model.Parameters());
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        var losses = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        var update = step.PlanInstructions.OfType<OptimizerStepInstruction>().Single();
        Assert.Equal(3, update.Fused);
        Assert.Equal(optimizer == "sgd-momentum" ? 0 : 3, update.OnePass);

        Assert.Equal(eagerLosses, losses);
        foreach (var (e, r) in eagerModel.Parameters().Zip(model.Parameters()))
        {
            Assert.Equal(Bits(e), Bits(r));
            Assert.Equal(Bits(e.Grad!), Bits(r.Grad!));
        }
    }

    private static (Tensor[] X, Tensor[] Y) Batch1Examples(int steps, int features, DType dtype)
    {
        var g = new Generator(41);
        var xs = Enumerable.Range(0, steps).Select(_ => Tensor.Randn([1, features], g, dtype)).ToArray();
        var ys = Enumerable.Range(0, steps).Select(i => Tensor.FromArray(new long[] { (7 * i) % 10 })).ToArray();
        return (xs, ys);
    }

    /// <summary>
    /// A one-pass update whose gradient nothing else in the plan reads leaves the gradient array unwritten (sentinel
    /// values stay in it through replays) and writes it when <see cref="Tensor.Grad"/> is read: the same bits as eager
    /// steps then. An eager step afterwards (ZeroGrad, backward) gets its own gradient, not the deferred one.
    /// </summary>
    [Theory]
    [InlineData("adam", DType.Float32)]
    [InlineData("sgd", DType.Float64)]
    public void UnreadGradientIsWrittenWhenRead(string optimizer, DType dtype)
    {
        int[] sizes = [37, 300, 10];
        var (xs, ys) = Batch1Examples(6, sizes[0], dtype);
        var eagerModel = JitTests.Linears(dtype, 12, sizes);
        var eagerOpt = Make(optimizer, eagerModel.Parameters());
        foreach (var (x, y) in xs.Zip(ys)) JitTests.ClassifierStep(eagerModel, eagerOpt, x, y);

        var model = JitTests.Linears(dtype, 12, sizes);
        var opt = Make(optimizer, model.Parameters());
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        step.Run(xs[0], ys[0]);
        step.Run(xs[1], ys[1]); // captured
        var weight = model.Parameters().First(); // the first Linear's weight, 300 x 37
        Array stored = weight.Grad!.Storage;
        Fill(stored, double.NaN);
        for (int i = 2; i < xs.Length - 1; i++) step.Run(xs[i], ys[i]);
        Assert.True(step.LastRunReplayed);
        Assert.True(AllNaN(stored), "the replay wrote the gradient nobody read");
        Assert.Same(stored, weight.Grad!.Storage);

        // The last step eagerly on both sides: its gradients replace the deferred ones.
        step.Enabled = false;
        step.Run(xs[^1], ys[^1]);
        foreach (var (e, r) in eagerModel.Parameters().Zip(model.Parameters()))
        {
            Assert.Equal(Bits(e), Bits(r));
            Assert.Equal(Bits(e.Grad!), Bits(r.Grad!));
        }
    }

    /// <summary>After replays, reading .Grad gives the last replay's gradient, bit-identical to the eager step's.</summary>
    [Fact]
    public void DeferredGradientMatchesEagerWhenReadAfterReplays()
    {
        int[] sizes = [37, 300, 10];
        var (xs, ys) = Batch1Examples(5, sizes[0], DType.Float32);
        var eagerModel = JitTests.Linears(DType.Float32, 12, sizes);
        var eagerOpt = Make("adamw", eagerModel.Parameters());
        foreach (var (x, y) in xs.Zip(ys)) JitTests.ClassifierStep(eagerModel, eagerOpt, x, y);
        var model = JitTests.Linears(DType.Float32, 12, sizes);
        var opt = Make("adamw", model.Parameters());
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        foreach (var (x, y) in xs.Zip(ys)) step.Run(x, y);
        Assert.True(step.LastRunReplayed);
        foreach (var (e, r) in eagerModel.Parameters().Zip(model.Parameters()))
        {
            Assert.Equal(Bits(e.Grad!), Bits(r.Grad!));
            Assert.Equal(Bits(e), Bits(r));
        }
    }

    /// <summary>
    /// A step that reads a fused gradient after the update (here: returns its sum) keeps it written by the pass, and a
    /// step with a guard (Jit.Check) keeps every gradient written: a replay that stops early leaves .Grad as the eager
    /// step's early return does.
    /// </summary>
    [Fact]
    public void GradientReadInTheStepOrBehindAGuardIsStillWritten()
    {
        int[] sizes = [37, 300, 10];
        var (xs, ys) = Batch1Examples(6, sizes[0], DType.Float32);
        Tensor SumStep(Module m, Optimizer o, Tensor x, Tensor y)
        {
            JitTests.ClassifierStep(m, o, x, y);
            return m.Parameters().First().Grad!.Sum();
        }
        var eagerModel = JitTests.Linears(DType.Float32, 12, sizes);
        var eagerOpt = Make("adam", eagerModel.Parameters());
        var eagerSums = xs.Select((x, i) => SumStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();
        var model = JitTests.Linears(DType.Float32, 12, sizes);
        var opt = Make("adam", model.Parameters());
        var step = SharpGrad.Jit.Compile(t => SumStep(model, opt, t[0], t[1]));
        var sums = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.True(step.LastRunReplayed);
        Assert.Equal(eagerSums, sums);

        // Guarded: the step returns before the backward pass when the loss exceeds the limit (read live by the guard).
        double limit = 1e9;
        Tensor Guarded(Module m, Optimizer o, Tensor x, Tensor y)
        {
            var loss = F.CrossEntropy(m.Forward(x), y);
            if (!SharpGrad.Jit.Check(loss, v => v <= limit)) return loss;
            o.ZeroGrad();
            loss.Backward();
            o.Step();
            return loss;
        }
        var gEager = JitTests.Linears(DType.Float32, 12, sizes);
        var gEagerOpt = Make("adam", gEager.Parameters());
        var gModel = JitTests.Linears(DType.Float32, 12, sizes);
        var gOpt = Make("adam", gModel.Parameters());
        var guarded = SharpGrad.Jit.Compile(t => Guarded(gModel, gOpt, t[0], t[1]));
        for (int i = 0; i < xs.Length - 1; i++)
        {
            Guarded(gEager, gEagerOpt, xs[i], ys[i]);
            guarded.Run(xs[i], ys[i]);
        }
        Assert.True(guarded.LastRunReplayed);
        limit = -1; // every loss fails it now: both steps stop after the forward pass, .Grad stays the previous step's
        Guarded(gEager, gEagerOpt, xs[^1], ys[^1]);
        guarded.Run(xs[^1], ys[^1]);
        Assert.True(guarded.LastRunReplayed);
        Assert.Equal(Bits(gEager.Parameters().First().Grad!), Bits(gModel.Parameters().First().Grad!));
    }

    private static Array Fill(Array a, double value)
    {
        if (a is float[] f) f.AsSpan().Fill((float)value);
        else ((double[])a).AsSpan().Fill(value);
        return a;
    }

    private static bool AllNaN(Array a) => a is float[] f ? Array.TrueForAll(f, float.IsNaN) : Array.TrueForAll((double[])a, double.IsNaN);

    /// <summary>The values' bit patterns, so that +0 and −0 (and NaN payloads) count as different.</summary>
    internal static long[] Bits(Tensor t) => t.DType == DType.Float32
        ? t.ToArray<float>().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray()
        : t.ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray();
}
