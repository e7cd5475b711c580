using System.Text.Json;
using SharpGrad.Optim;

namespace SharpGrad.Tests.Optim;

/// <summary>
/// Learning-rate schedules and parameter groups against PyTorch 1.13 (tests/golden/sched/schedules.json, written by
/// tools/golden/make_sched.py): each group's rate (and OneCycleLR's momentum) after every step of the schedule, and the
/// weights after 15 steps of each optimizer with two groups of different settings.
/// </summary>
public class SchedulerGoldenTests
{
    private static readonly Lazy<JsonDocument> Golden = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "sched", "schedules.json"))));

    internal static JsonElement Case(string section, string name) =>
        Golden.Value.RootElement.GetProperty(section).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static IEnumerable<object[]> ScheduleCases() =>
        Golden.Value.RootElement.GetProperty("schedules").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    public static IEnumerable<object[]> GroupCases() =>
        Golden.Value.RootElement.GetProperty("groups").EnumerateArray().Select(c => new object[] { c.GetProperty("name").GetString()! });

    private static double D(JsonElement e, string name, double fallback) => e.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
    private static int I(JsonElement e, string name, int fallback) => e.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;

    internal static LRScheduler Build(string name, Optimizer opt, JsonElement a)
    {
        if (name.StartsWith("exponential", StringComparison.Ordinal)) return new ExponentialLR(opt, a.GetProperty("gamma").GetDouble());
        if (name.StartsWith("linear", StringComparison.Ordinal))
            return new LinearLR(opt, D(a, "start_factor", 1.0 / 3), D(a, "end_factor", 1.0), I(a, "total_iters", 5));
        if (name.StartsWith("lambda", StringComparison.Ordinal))
            return a.GetProperty("lambda").GetString() == "inverse"
                ? new LambdaLR(opt, e => 1.0 / (1 + e))
                : new LambdaLR(opt, [e => Math.Pow(0.95, e), e => 1.0 + 0.1 * e]);
        if (name.StartsWith("step", StringComparison.Ordinal)) return new StepLR(opt, a.GetProperty("step_size").GetInt32(), a.GetProperty("gamma").GetDouble());
        if (name.StartsWith("cosine", StringComparison.Ordinal)) return new CosineAnnealingLR(opt, a.GetProperty("T_max").GetInt32(), D(a, "eta_min", 0));
        if (name.StartsWith("sequential", StringComparison.Ordinal))
            return a.GetProperty("kind").GetString() == "warmup_cosine"
                ? new SequentialLR(opt, [new LinearLR(opt, 0.2, totalIters: 3), new CosineAnnealingLR(opt, 10, 0)], [3])
                : new SequentialLR(opt, [new LinearLR(opt, 0.5, totalIters: 2), new ExponentialLR(opt, 0.8), new StepLR(opt, 2, 0.5)], [2, 6]);
        if (name.StartsWith("onecycle", StringComparison.Ordinal))
        {
            var maxLr = a.GetProperty("max_lr");
            IReadOnlyList<double> peaks = maxLr.ValueKind == JsonValueKind.Array ? maxLr.EnumerateArray().Select(v => v.GetDouble()).ToArray() : [maxLr.GetDouble()];
            return new OneCycleLR(opt, peaks, a.GetProperty("total_steps").GetInt32(), D(a, "pct_start", 0.3),
                a.TryGetProperty("anneal_strategy", out var s) && s.GetString() == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
                !a.TryGetProperty("cycle_momentum", out var cm) || cm.GetBoolean(), D(a, "base_momentum", 0.85), D(a, "max_momentum", 0.95),
                D(a, "div_factor", 25), D(a, "final_div_factor", 1e4), a.TryGetProperty("three_phase", out var tp) && tp.GetBoolean());
        }
        if (name.StartsWith("plateau", StringComparison.Ordinal))
            return new ReduceLROnPlateau(opt, a.TryGetProperty("mode", out var m) && m.GetString() == "max" ? PlateauMode.Max : PlateauMode.Min,
                D(a, "factor", 0.1), I(a, "patience", 10), D(a, "threshold", 1e-4),
                a.TryGetProperty("threshold_mode", out var tm) && tm.GetString() == "abs" ? ThresholdMode.Abs : ThresholdMode.Rel,
                I(a, "cooldown", 0), D(a, "min_lr", 0));
        throw new InvalidDataException($"golden schedule '{name}' has no SharpGrad mapping");
    }

    [Theory]
    [MemberData(nameof(ScheduleCases))]
    public void ScheduleMatchesPyTorch(string name)
    {
        var c = Case("schedules", name);
        double[] lrs = c.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var groups = lrs.Select(lr => new ParamGroup([TestUtil.Leaf([0.0], 1)]) { Lr = lr }).ToArray();
        Optimizer opt = c.GetProperty("optimizer").GetString() == "adam"
            ? new Adam(groups)
            : new Sgd(groups, momentum: c.TryGetProperty("optimizer_args", out var oa) ? D(oa, "momentum", 0) : 0);
        var sched = Build(name, opt, c.GetProperty("args"));
        double[]? metrics = c.TryGetProperty("metrics", out var m) ? m.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
        var rows = c.GetProperty("trajectory").EnumerateArray().ToArray();
        Assert.Equal(c.GetProperty("steps").GetInt32() + 1, rows.Length);
        for (int t = 0; t < rows.Length; t++)
        {
            if (t > 0)
            {
                opt.Step(); // no gradients: a no-op, in PyTorch's order (optimizer step, then schedule step)
                if (metrics is null) sched.Step();
                else ((ReduceLROnPlateau)sched).Step(metrics[t - 1]);
            }
            var expectedLr = rows[t].GetProperty("lr").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (int g = 0; g < lrs.Length; g++)
            {
                // PyTorch computes most rates recursively (each from the previous one), SharpGrad in closed form: they
                // agree to a few float64 roundings.
                double actual = opt.ParamGroups[g].Lr!.Value;
                Assert.True(Math.Abs(actual - expectedLr[g]) <= 1e-12 * Math.Abs(expectedLr[g]) + 1e-15,
                    $"{name}: group {g} after {t} steps: lr {actual:R}, PyTorch {expectedLr[g]:R}");
            }
            if (rows[t].TryGetProperty("momentum", out var mom))
            {
                var expectedM = mom.EnumerateArray().Select(v => v.GetDouble()).ToArray();
                for (int g = 0; g < lrs.Length; g++)
                {
                    double actual = opt is Adam ? opt.ParamGroups[g].Beta1!.Value : opt.ParamGroups[g].Momentum!.Value;
                    Assert.True(Math.Abs(actual - expectedM[g]) <= 1e-12, $"{name}: group {g} after {t} steps: momentum {actual:R}, PyTorch {expectedM[g]:R}");
                }
            }
        }
    }

    private static Tensor Matrix(JsonElement e)
    {
        var rows = e.EnumerateArray().ToArray();
        if (rows[0].ValueKind != JsonValueKind.Array) return Tensor.FromArray(rows.Select(v => v.GetDouble()).ToArray());
        int cols = rows[0].GetArrayLength();
        return Tensor.FromArray(rows.SelectMany(r => r.EnumerateArray().Select(v => v.GetDouble())).ToArray(), rows.Length, cols);
    }

    private static ParamGroup Group(JsonElement g, IEnumerable<Tensor> ps)
    {
        var group = new ParamGroup(ps);
        foreach (var p in g.EnumerateObject())
        {
            switch (p.Name)
            {
                case "lr": group.Lr = p.Value.GetDouble(); break;
                case "weight_decay": group.WeightDecay = p.Value.GetDouble(); break;
                case "momentum": group.Momentum = p.Value.GetDouble(); break;
                case "nesterov": group.Nesterov = p.Value.GetBoolean(); break;
                case "betas": (group.Beta1, group.Beta2) = (p.Value[0].GetDouble(), p.Value[1].GetDouble()); break;
                case "eps": group.Eps = p.Value.GetDouble(); break;
                case "amsgrad": group.AmsGrad = p.Value.GetBoolean(); break;
                case "alpha": group.Alpha = p.Value.GetDouble(); break;
                case "centered": group.Centered = p.Value.GetBoolean(); break;
                default: throw new InvalidDataException($"group setting '{p.Name}' has no SharpGrad mapping");
            }
        }
        return group;
    }

    [Theory]
    [MemberData(nameof(GroupCases))]
    public void ParameterGroupsMatchPyTorch(string name)
    {
        var c = Case("groups", name);
        var x = Matrix(c.GetProperty("x"));
        var y = Matrix(c.GetProperty("y"));
        Tensor Leaf(string key) { var t = Matrix(c.GetProperty(key)); t.RequiresGrad = true; return t; }
        var (w1, w2, b) = (Leaf("w1"), Leaf("w2"), Leaf("b"));
        var gs = c.GetProperty("groups");
        ParamGroup[] groups = [Group(gs[0], [w1]), Group(gs[1], [w2, b])];
        var d = c.GetProperty("defaults");
        double lr = d.GetProperty("lr").GetDouble();
        Optimizer opt = c.GetProperty("optimizer").GetString() switch
        {
            "sgd" => new Sgd(groups, lr, momentum: D(d, "momentum", 0)),
            "adam" => new Adam(groups, lr),
            "adamw" => new AdamW(groups, lr),
            "rmsprop" => new RmsProp(groups, lr),
            var s => throw new InvalidDataException(s),
        };
        for (int t = 0; t < c.GetProperty("steps").GetInt32(); t++)
        {
            opt.ZeroGrad();
            var pred = x.MatMul(w1) + (x.MatMul(w2) + b).Tanh();
            ((pred - y).Pow(2).Sum() + w1.Pow(4).Sum() * 0.1).Backward();
            opt.Step();
        }
        var final = c.GetProperty("final");
        TestUtil.AllClose(Matrix(final.GetProperty("w1")).ToArray<double>(), w1, 1e-12, 1e-12);
        TestUtil.AllClose(Matrix(final.GetProperty("w2")).ToArray<double>(), w2, 1e-12, 1e-12);
        TestUtil.AllClose(Matrix(final.GetProperty("b")).ToArray<double>(), b, 1e-12, 1e-12);
    }
}
