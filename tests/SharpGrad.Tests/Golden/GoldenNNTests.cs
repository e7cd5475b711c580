using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;
using NpyFile = SharpGrad.Data.Npy;

using static SharpGrad.Tests.Golden.GoldenCompare;

namespace SharpGrad.Tests.Golden;

/// <summary>
/// Replays the PyTorch golden data of tests/golden/nn (written by tools/golden/make_nn.py) against SharpGrad:
/// <list type="bullet">
/// <item>the functional layers (Linear, Conv1d, Conv2d, MaxPool2d, AvgPool2d, BatchNorm) and losses, in float32 and
/// float64: the forward output, the gradient of every differentiable input after backpropagating the recorded upstream
/// gradient, and BatchNorm's running statistics after the call;</item>
/// <item>100-step optimizer trajectories (Sgd, Adam, AdamW, RmsProp) on a fixed non-quadratic problem, checked after
/// steps 1, 10, 50 and 100;</item>
/// <item>the learning rates of StepLR and CosineAnnealingLR over 20 epochs.</item>
/// </list>
/// Each (case, dtype) of the manifest is its own test.
/// </summary>
public sealed class GoldenNNTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "golden", "nn");

    /// <summary>Relative tolerance per dtype, as in GoldenOpsTests.</summary>
    private static double Rtol(string dtype) => dtype == "float32" ? 1e-5 : 1e-10;

    /// <summary>
    /// Optimizer trajectories are compared with |a − e| ≤ rtol (|e| + OptimScale): relative for parameters of ordinary
    /// size (they are O(0.1 .. 1) here), and absolute, rtol × 0.1, for a parameter that passes near zero — there the
    /// noise floor is set by the rounding of the updates (steps of up to ~lr = 0.1 per step, accumulated over 100 steps),
    /// not by the parameter's own magnitude. The generator asserts that PyTorch's float32 trajectory lies within half this
    /// tolerance of its float64 one, so the tolerance is well above float32 rounding noise.
    /// </summary>
    private const double OptimScale = 0.1;

    private static readonly Lazy<JsonElement> Manifest = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "manifest.json")));
        return doc.RootElement.Clone();
    });

    private static JsonElement Find(string section, string name, string? dtype) =>
        Manifest.Value.GetProperty(section).EnumerateArray().Single(c =>
            c.GetProperty("name").GetString() == name && (dtype is null || c.GetProperty("dtype").GetString() == dtype));

    /// <summary>Every (layer or loss case, dtype) pair.</summary>
    public static IEnumerable<object[]> LayerCases() =>
        Manifest.Value.GetProperty("cases").EnumerateArray()
            .Select(c => new object[] { c.GetProperty("name").GetString()!, c.GetProperty("dtype").GetString()! });

    /// <summary>Every (optimizer case, dtype) pair.</summary>
    public static IEnumerable<object[]> OptimizerCases() =>
        Manifest.Value.GetProperty("optim").EnumerateArray()
            .Select(c => new object[] { c.GetProperty("name").GetString()!, c.GetProperty("dtype").GetString()! });

    /// <summary>Every learning-rate schedule.</summary>
    public static IEnumerable<object[]> SchedulerCases() =>
        Manifest.Value.GetProperty("sched").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    private static Tensor Load(string file) => NpyFile.Load(Path.Combine(Dir, file));

    // ---- layers and losses ------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void FunctionalMatchesPyTorch(string name, string dtype)
    {
        var c = Find("cases", name, dtype);
        string prefix = $"{name}__{dtype}";
        string op = c.GetProperty("op").GetString()!;
        var args = c.GetProperty("args");
        int n = c.GetProperty("inputs").GetInt32();
        int[] grad = c.GetProperty("grad").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] mutated = c.GetProperty("mutated").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        // |actual - expected| <= atol + rtol |expected| with atol = rtol, as GoldenOpsTests.
        double rtol = Rtol(dtype), atol = rtol;

        var inputs = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = Load($"{prefix}__in{i}.npy");
            if (grad.Contains(i))
            {
                Assert.Equal(dtype, inputs[i].DType.ToTorchName());
                inputs[i].RequiresGrad = true;
            }
        }

        // Every mismatch is collected (output, running statistics, each gradient) and reported together.
        var failures = new List<string?>();
        Tensor y = Run(op, args, inputs);
        failures.Add(Check($"{prefix}: output", y, Load($"{prefix}__out.npy"), rtol, atol));
        foreach (int i in mutated)
            failures.Add(Check($"{prefix}: input {i} after the call", inputs[i], Load($"{prefix}__after{i}.npy"), rtol, atol));

        y.Backward(Load($"{prefix}__gout.npy"));
        foreach (int i in grad)
        {
            var expected = Load($"{prefix}__grad{i}.npy");
            failures.Add(inputs[i].Grad is null
                ? $"{prefix}: input {i} got no gradient (PyTorch's has shape {Fmt(expected.Shape)})."
                : Check($"{prefix}: gradient of input {i}", inputs[i].Grad!, expected, rtol, atol));
        }
        FailIfAny(failures);
    }

    private static Reduction ParseReduction(string s) => s switch
    {
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        "none" => Reduction.None,
        "batchmean" => Reduction.BatchMean,
        _ => throw new InvalidDataException($"unknown reduction '{s}' in the manifest"),
    };

    /// <summary>The SharpGrad call for each manifest op; the inputs are in the order of the call.</summary>
    private static Tensor Run(string op, JsonElement args, Tensor[] t)
    {
        int Int(string key) => args.GetProperty(key).GetInt32();
        int? OptInt(string key) => args.GetProperty(key).ValueKind == JsonValueKind.Null ? null : args.GetProperty(key).GetInt32();
        bool Bool(string key) => args.GetProperty(key).GetBoolean();
        double Dbl(string key) => args.GetProperty(key).GetDouble();
        (int, int) Pair(string key)
        {
            var a = args.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            return (a[0], a[1]);
        }
        Reduction Red() => ParseReduction(args.GetProperty("reduction").GetString()!);
        Tensor? Bias(int i) => Bool("bias") ? t[i] : null;

        return op switch
        {
            "linear" => F.Linear(t[0], t[1], t.Length > 2 ? t[2] : null),
            "conv2d" => F.Conv2d(t[0], t[1], Bias(2), Int("stride"), Int("padding"), Int("dilation")),
            "conv2d_tuple" => F.Conv2d(t[0], t[1], Bias(2), Pair("stride"), Pair("padding"), Pair("dilation")),
            "conv1d" => F.Conv1d(t[0], t[1], Bias(2), Int("stride"), Int("padding"), Int("dilation")),
            "max_pool2d" => F.MaxPool2d(t[0], Int("kernel"), OptInt("stride"), Int("padding"), Int("dilation")),
            "avg_pool2d" => F.AvgPool2d(t[0], Int("kernel"), OptInt("stride"), Int("padding")),
            "batch_norm" => F.BatchNorm(t[0], t[1], t[2], Bool("affine") ? t[3] : null, Bool("affine") ? t[4] : null,
                Bool("training"), Dbl("momentum"), Dbl("eps")),
            "mse_loss" => F.MseLoss(t[0], t[1], Red()),
            "huber_loss" => F.HuberLoss(t[0], t[1], Red(), Dbl("delta")),
            "cross_entropy" => F.CrossEntropy(t[0], t[1], Red(), Dbl("label_smoothing")),
            "nll_loss" => F.NllLoss(t[0], t[1], Red()),
            "binary_cross_entropy" => F.BinaryCrossEntropy(t[0], t[1], Red()),
            "binary_cross_entropy_with_logits" => F.BinaryCrossEntropyWithLogits(t[0], t[1], Red()),
            "multi_margin_loss" => F.MultiMarginLoss(t[0], t[1], Int("p"), Dbl("margin"), Red()),
            "kl_div" => F.KlDiv(t[0], t[1], Red(), Bool("log_target")),
            _ => throw new InvalidDataException($"manifest op '{op}' has no SharpGrad mapping in GoldenNNTests.Run"),
        };
    }

    // ---- optimizers -------------------------------------------------------------------------------------------------

    /// <summary>The loss of the optimizer problem, op by op as make_nn.py's optim_loss:
    /// mean((tanh(x W + b) − y)²) + 0.01 Σ (W·W)·(W·W).</summary>
    private static Tensor OptimLoss(Tensor x, Tensor y, Tensor w, Tensor b)
    {
        Tensor d = (x.MatMul(w) + b).Tanh() - y;
        return (d * d).Mean() + ((w * w) * (w * w)).Sum() * 0.01;
    }

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void OptimizerTrajectoryMatchesPyTorch(string name, string dtype)
    {
        var c = Find("optim", name, dtype);
        var args = c.GetProperty("args");
        int steps = c.GetProperty("steps").GetInt32();
        int[] record = c.GetProperty("record").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(OptimScale, Manifest.Value.GetProperty("optim_scale").GetDouble());

        Tensor x = Load($"problem__{dtype}__x.npy"), y = Load($"problem__{dtype}__y.npy");
        Tensor w = Load($"problem__{dtype}__w0.npy"), b = Load($"problem__{dtype}__b0.npy");
        Assert.Equal(dtype, w.DType.ToTorchName());
        w.RequiresGrad = true;
        b.RequiresGrad = true;
        Optimizer opt = MakeOptimizer(c.GetProperty("optimizer").GetString()!, args, [w, b]);

        Tensor expectedW = Load($"{name}__{dtype}__w.npy"), expectedB = Load($"{name}__{dtype}__b.npy");
        Assert.Equal(record.Length, expectedW.Shape[0]);
        double[] ew = expectedW.ToArray<double>(), eb = expectedB.ToArray<double>();
        int nw = w.Numel, nb = b.Numel;
        double rtol = Rtol(dtype), atol = rtol * OptimScale;

        int k = 0;
        for (int step = 1; step <= steps; step++)
        {
            opt.ZeroGrad();
            Tensor loss = OptimLoss(x, y, w, b);
            Assert.True(double.IsFinite(loss.Item()), $"{name}__{dtype}: loss {loss.Item()} at step {step}.");
            loss.Backward();
            opt.Step();
            if (k < record.Length && step == record[k])
            {
                // The first recorded step that differs fails the test (later ones would only repeat the divergence).
                FailIfAny([
                    Compare($"{name}__{dtype}: W after step {step}", w.ToArray<double>(), ew.AsSpan(k * nw, nw).ToArray(), w.Shape, rtol, atol),
                    Compare($"{name}__{dtype}: b after step {step}", b.ToArray<double>(), eb.AsSpan(k * nb, nb).ToArray(), b.Shape, rtol, atol),
                ]);
                k++;
            }
        }
        Assert.Equal(record.Length, k);
    }

    /// <summary>
    /// The SharpGrad optimizer for a manifest entry. The arguments PyTorch was given are passed explicitly (with PyTorch's
    /// defaults for the rest); an entry with no arguments at all is built with SharpGrad's own defaults, which checks
    /// that they are PyTorch's.
    /// </summary>
    private static Optimizer MakeOptimizer(string kind, JsonElement args, Tensor[] ps)
    {
        bool none = !args.EnumerateObject().Any();
        double Dbl(string key, double dflt) => args.TryGetProperty(key, out var v) ? v.GetDouble() : dflt;
        bool Bool(string key) => args.TryGetProperty(key, out var v) && v.GetBoolean();
        return kind switch
        {
            "sgd" => new Sgd(ps, Dbl("lr", double.NaN), Dbl("momentum", 0), Dbl("dampening", 0), Dbl("weight_decay", 0), Bool("nesterov")),
            "adam" when none => new Adam(ps),
            "adam" => new Adam(ps, Dbl("lr", 1e-3), Dbl("beta1", 0.9), Dbl("beta2", 0.999), Dbl("eps", 1e-8), Dbl("weight_decay", 0), Bool("amsgrad")),
            "adamw" when none => new AdamW(ps),
            "adamw" => new AdamW(ps, Dbl("lr", 1e-3), Dbl("beta1", 0.9), Dbl("beta2", 0.999), Dbl("eps", 1e-8), Dbl("weight_decay", 1e-2), Bool("amsgrad")),
            "rmsprop" when none => new RmsProp(ps),
            "rmsprop" => new RmsProp(ps, Dbl("lr", 1e-2), Dbl("alpha", 0.99), Dbl("eps", 1e-8), Dbl("weight_decay", 0), Dbl("momentum", 0), Bool("centered")),
            _ => throw new InvalidDataException($"manifest optimizer '{kind}' has no SharpGrad mapping in GoldenNNTests.MakeOptimizer"),
        };
    }

    // ---- learning-rate schedules ------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(SchedulerCases))]
    public void SchedulerMatchesPyTorch(string name)
    {
        var c = Find("sched", name, null);
        var args = c.GetProperty("args");
        double baseLr = c.GetProperty("base_lr").GetDouble();
        int epochs = c.GetProperty("epochs").GetInt32();
        var p = Tensor.Zeros([1], DType.Float64);
        p.RequiresGrad = true;
        var opt = new Sgd([p], baseLr);
        LRScheduler sched = c.GetProperty("scheduler").GetString() switch
        {
            "step" => args.TryGetProperty("gamma", out var g)
                ? new StepLR(opt, args.GetProperty("step_size").GetInt32(), g.GetDouble())
                : new StepLR(opt, args.GetProperty("step_size").GetInt32()),
            "cosine" => args.TryGetProperty("eta_min", out var m)
                ? new CosineAnnealingLR(opt, args.GetProperty("T_max").GetInt32(), m.GetDouble())
                : new CosineAnnealingLR(opt, args.GetProperty("T_max").GetInt32()),
            var s => throw new InvalidDataException($"manifest scheduler '{s}' has no SharpGrad mapping"),
        };
        double[] expected = Load($"{name}__lr.npy").ToArray<double>();
        Assert.Equal(epochs + 1, expected.Length);
        var actual = new double[epochs + 1];
        actual[0] = opt.LearningRate;
        for (int e = 1; e <= epochs; e++)
        {
            opt.Step(); // no gradient: a no-op, in PyTorch's order (optimizer step, then scheduler step)
            sched.Step();
            actual[e] = opt.LearningRate;
        }
        // PyTorch computes the rates recursively (each from the previous one), SharpGrad in closed form: the two agree
        // to a few float64 rounding errors; rates that reach exactly 0 are compared absolutely (1e-10 × base rate).
        FailIfAny([Compare($"{name}: learning rate per epoch (index = epoch)", actual, expected, [epochs + 1], 1e-10, 1e-10 * baseLr)]);
    }

    // ---- comparison -------------------------------------------------------------------------------------------------

    /// <summary>Fails the test with every non-null message, one per line.</summary>
    private static void FailIfAny(IEnumerable<string?> messages)
    {
        var m = messages.Where(s => s is not null).ToList();
        if (m.Count > 0) Assert.Fail(string.Join(Environment.NewLine, m));
    }

    /// <summary>Checks dtype, shape and every element; null when they match, else what differs.</summary>
    private static string? Check(string what, Tensor actual, Tensor expected, double rtol, double atol)
    {
        if (expected.DType != actual.DType)
            return $"{what}: dtype {actual.DType.ToTorchName()}, PyTorch's is {expected.DType.ToTorchName()}.";
        if (!actual.Shape.SequenceEqual(expected.Shape))
            return $"{what}: shape {Fmt(actual.Shape)}, PyTorch's is {Fmt(expected.Shape)}.";
        return Compare(what, actual.ToArray<double>(), expected.ToArray<double>(), expected.Shape, rtol, atol);
    }
}
