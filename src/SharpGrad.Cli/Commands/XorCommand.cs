using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Cli.Exercises;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Reports;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad xor</c>: seed 000 Q2–Q3, the 2-2-1 ReLU network on XOR trained by gradient descent with restarts.</summary>
internal static class XorCommand
{
    public static Command Create()
    {
        var epochs = new Option<int>("--epochs") { Description = "Full-batch gradient-descent epochs per restart.", DefaultValueFactory = _ => 2000 };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 0.1 };
        var restarts = new Option<int>("--restarts") { Description = "Random initialisations; restart i uses seed = --seed + i.", DefaultValueFactory = _ => 10 };
        var seed = new Option<ulong>("--seed") { Description = "Base random seed." };
        var init = new Option<string>("--init") { Description = "normal (N(0,1) for all), uniform (U(-1,1) for all) or he (N(0, 2/fan_in) weights, zero biases).", DefaultValueFactory = _ => "normal" };
        var loss = new Option<string>("--loss") { Description = "mean: 1/4 Σ (y - f)²; sum: Σ (y - f)².", DefaultValueFactory = _ => "mean" };
        var activation = new Option<string>("--activation") { Description = "relu (the max of the sheet) or identity.", DefaultValueFactory = _ => "relu" };
        var noBias = new Option<bool>("--no-bias") { Description = "Drop the hidden bias b1: h = ReLU(Uᵀx) (Q2.3); b2 stays." };
        var weights = new Option<string?>("--weights") { Description = "Verify hand-set parameters \"U11,U12,U21,U22,b11,b12,w1,w2,b2\" (U[i,j]: input i to hidden j), e.g. the sheet's \"1,-1,-1,1,0,0,1,1,-0.5\"; with --no-bias the 7 values without b11,b12 (or b11 = b12 = 0)." };
        var outDir = new Option<string?>("--out") { Description = "Directory for loss.svg (every restart, log scale) and params.svg (two random parameters of the best run)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var noCompile = new Option<bool>("--no-compile") { Description = "Run every training step eagerly instead of compiled (captured once, then replayed); the results are the same." };
        var cmd = new Command("xor", "Seed 000 Q2-Q3: the 2-2-1 network f(x) = wᵀ max(Uᵀx + b1, 0) + b2 on XOR (labels -1/1), squared loss, gradient descent with random restarts.");
        foreach (var o in new Option[] { epochs, lr, restarts, seed, init, loss, activation, noBias, weights, outDir, json, noCompile }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            var options = new XorOptions
            {
                Epochs = p.GetValue(epochs), LearningRate = p.GetValue(lr), Restarts = p.GetValue(restarts), Seed = p.GetValue(seed),
                Init = ParseInit(p.GetValue(init)!), Loss = ParseLoss(p.GetValue(loss)!), Activation = ParseActivation(p.GetValue(activation)!),
                HiddenBias = !p.GetValue(noBias),
                HandSet = p.GetValue(weights) is { } w ? Calc.ParseVector(w, "--weights") : null,
                Compile = !p.GetValue(noCompile),
            };
            var result = Xor.Run(options);
            string? dir = p.GetValue(outDir);
            if (dir is not null) WriteCharts(dir, result);
            if (p.GetValue(json)) Json.Print(ToJson(result));
            else Print(result, dir);
            return 0;
        });
        return cmd;
    }

    private static XorInit ParseInit(string s) => s.ToLowerInvariant() switch
    {
        "normal" => XorInit.Normal,
        "uniform" => XorInit.Uniform,
        "he" or "kaiming" => XorInit.He,
        _ => throw new ArgumentException($"--init: unknown initialisation '{s}' (expected normal, uniform or he)."),
    };

    private static Reduction ParseLoss(string s) => s.ToLowerInvariant() switch
    {
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        _ => throw new ArgumentException($"--loss: unknown reduction '{s}' (expected mean or sum)."),
    };

    private static Activation ParseActivation(string s) => s.ToLowerInvariant() switch
    {
        "relu" or "max" => Activation.Relu,
        "identity" or "linear" => Activation.Identity,
        _ => throw new ArgumentException($"--activation: unknown activation '{s}' (expected relu or identity)."),
    };

    /// <summary>loss.svg: every restart's loss per epoch on a log axis; params.svg: the two traced parameters of the best run.</summary>
    internal static void WriteCharts(string dir, XorResult r)
    {
        Directory.CreateDirectory(dir);
        foreach (var (file, chart) in Charts(r)) AtomicFile.WriteText(Path.Combine(dir, file), chart.ToSvg());
    }

    /// <summary>loss.svg (every restart's loss per epoch) and params.svg (two parameters of the best run per epoch).</summary>
    internal static IReadOnlyList<(string File, LineChart Chart)> Charts(XorResult r)
    {
        var epochs = Enumerable.Range(0, r.Options.Epochs + 1).Select(i => (double)i).ToArray();
        var loss = new LineChart($"XOR: squared loss ({Name(r.Options.Loss)}) per epoch, {r.Runs.Count} restarts", "epoch", "loss") { LogY = true };
        foreach (var run in r.Runs)
            loss.Add($"seed {run.Seed}{(run.Succeeded ? "" : " (fails)")}", epochs, run.Loss);
        var traced = r.TracedParameters.Select(i => Xor.ParameterNames[i]).ToArray();
        var pars = new LineChart($"XOR: {traced[0]} and {traced[1]} during training (best run, seed {r.Best.Seed})", "epoch", "value");
        for (int k = 0; k < 2; k++) pars.Add(traced[k], epochs, r.Best.Trace[k]);
        return [("loss.svg", loss), ("params.svg", pars)];
    }

    private static string Name(Reduction r) => r == Reduction.Sum ? "sum" : "mean";

    internal static JsonObject ToJson(XorResult r)
    {
        var restarts = new JsonArray();
        foreach (var run in r.Runs)
            restarts.Add((JsonNode)new JsonObject
            {
                ["seed"] = run.Seed, ["final_loss"] = Json.Number(run.FinalLoss), ["correct"] = run.Final.Correct,
                ["all_correct"] = run.Final.AllCorrect, ["success"] = run.Succeeded, ["outputs"] = Numbers(run.Final.Outputs), ["diverged_at_epoch"] = run.DivergedAtEpoch,
            });
        var json = new JsonObject
        {
            ["epochs"] = r.Options.Epochs, ["lr"] = r.Options.LearningRate, ["seed"] = r.Options.Seed, ["init"] = r.Options.Init.ToString().ToLowerInvariant(),
            ["loss"] = Name(r.Options.Loss), ["activation"] = r.Options.Activation == Activation.Relu ? "relu" : "identity", ["hidden_bias"] = r.Options.HiddenBias,
            ["success_fraction"] = r.SuccessFraction, ["restarts"] = restarts, ["best_restart"] = r.BestRun,
            ["parameters"] = Named(r.Best.Final.Parameters), ["traced_parameters"] = new JsonArray(r.TracedParameters.Select(i => (JsonNode)Xor.ParameterNames[i]).ToArray()),
            ["linear_least_squares"] = new JsonObject
            {
                ["weights"] = Numbers(r.Linear.Weights), ["weight_names"] = new JsonArray("a1", "a2", "c"), ["predictions"] = Numbers(r.Linear.Predictions),
                ["loss"] = Json.Number(r.Linear.Loss), ["misclassified"] = r.Linear.Misclassified,
            },
        };
        if (r.HandSet is { } h)
            json["hand_set"] = new JsonObject
            {
                ["parameters"] = Named(h.Parameters), ["outputs"] = Numbers(h.Outputs), ["loss"] = Json.Number(h.Loss), ["correct"] = h.Correct, ["all_correct"] = h.AllCorrect,
            };
        return json;
    }

    private static JsonObject Named(double[] values)
    {
        var o = new JsonObject();
        for (int i = 0; i < values.Length; i++) o[Xor.ParameterNames[i]] = Json.Number(values[i]);
        return o;
    }

    internal static JsonArray Numbers(IEnumerable<double> values) => Json.Numbers(values);

    private static string F(double v, string format = "G6") => v.ToString(format, CultureInfo.InvariantCulture);

    private static string Outputs(double[] f) => string.Join(", ", f.Select(v => F(v, Math.Abs(v) < 1e4 ? "F3" : "G3")));

    private static void Print(XorResult r, string? dir)
    {
        var o = r.Options;
        string hidden = "Uᵀx" + (o.HiddenBias ? " + b1" : "");
        AnsiConsole.MarkupLine(Markup.Escape($"XOR with f(x) = wᵀ {(o.Activation == Activation.Relu ? $"max({hidden}, 0)" : $"({hidden})")} + b2; " +
            $"{o.Epochs} epochs, lr {F(o.LearningRate)}, {Name(o.Loss)} squared loss, {o.Init.ToString().ToLowerInvariant()} init, {o.Restarts} restarts from seed {o.Seed}"));
        var table = new Table().Border(TableBorder.Rounded).Title("restarts (points (0,0), (0,1), (1,0), (1,1); labels -1, 1, 1, -1)");
        foreach (var c in new[] { "seed", "initial loss", "final loss", "f(x)", "correct" }) table.AddColumn(c);
        for (int i = 0; i < r.Runs.Count; i++)
        {
            var run = r.Runs[i];
            string correct = run.DivergedAtEpoch is int e ? $"[red]diverged at epoch {e}[/]" : run.Succeeded ? "[green]4/4[/]" : $"[yellow]{run.Final.Correct}/4[/]";
            table.AddRow((i == r.BestRun ? "*" : "") + run.Seed, F(run.Loss[0]), F(run.FinalLoss), Outputs(run.Final.Outputs), correct);
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"success: [bold]{r.Runs.Count(x => x.Succeeded)}/{r.Runs.Count}[/] restarts classify all four points (fraction {F(r.SuccessFraction, "0.###")}).");
        var pars = new Table().Border(TableBorder.Rounded).Title($"best run (* seed {r.Best.Seed})");
        pars.AddColumn("U (input i → hidden j)").AddColumn("b1").AddColumn("w").AddColumn("b2");
        var v = r.Best.Final.Parameters.Select(x => F(x, "F4")).ToArray();
        pars.AddRow(Markup.Escape($"[{v[0]}, {v[1]}]"), v[4], v[6], v[8]);
        pars.AddRow(Markup.Escape($"[{v[2]}, {v[3]}]"), v[5], v[7], "");
        AnsiConsole.Write(pars);

        var lin = r.Linear;
        AnsiConsole.MarkupLine(Markup.Escape($"Identity activation: every such network is f(x) = a1 x1 + a2 x2 + c. The least-squares best one (QR) is " +
            $"a1 = {F(lin.Weights[0], "F4")}, a2 = {F(lin.Weights[1], "F4")}, c = {F(lin.Weights[2], "F4")}: f = {Outputs(lin.Predictions)}, loss {F(lin.Loss, "F4")}, " +
            $"{lin.Misclassified} of 4 points misclassified (f ≥ 0 counts as class 1)."));
        AnsiConsole.MarkupLine(Markup.Escape("No linear f can do better: f(0,0) < 0 and f(1,1) < 0 but f(0,1) ≥ 0 and f(1,0) ≥ 0 is impossible, " +
            "since f(0,1) + f(1,0) = f(0,0) + f(1,1) for every linear f."));
        if (r.HandSet is { } h)
            AnsiConsole.MarkupLine(Markup.Escape($"Hand-set parameters: f = {Outputs(h.Outputs)}, loss {F(h.Loss, "F4")}, ") +
                (h.AllCorrect ? "[green]all four points classified correctly[/]" : $"[red]{4 - h.Correct} point(s) misclassified[/]"));
        if (dir is not null) AnsiConsole.MarkupLine($"wrote loss.svg and params.svg to {Markup.Escape(dir)}");
    }
}
