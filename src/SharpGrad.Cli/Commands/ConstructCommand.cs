using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Cli.Exercises;
using SharpGrad.Theory;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad construct</c>: the exact constructions of the sheets. <c>interpolate</c> (seed 001 Q5), <c>convert</c>
/// (seed 001 Q4, seed 002 Q4), <c>collapse</c> and <c>perceptron</c> (seed 002 Q6).
/// </summary>
internal static class ConstructCommand
{
    public static Command Create()
    {
        var cmd = new Command("construct", "Exact constructions: interpolating networks, sigmoid<->tanh conversion, linear collapse, perceptrons.");
        cmd.Add(CreateInterpolate());
        cmd.Add(CreateConvert());
        cmd.Add(CreateCollapse());
        cmd.Add(CreatePerceptron());
        return cmd;
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object instead of tables." };

    private static Command CreateInterpolate()
    {
        var x = new Option<string?>("--x") { Description = "Abscissae, e.g. 0,1,2,3 (with --y)." };
        var y = new Option<string?>("--y") { Description = "Values, e.g. 1,3,2,5 (with --x)." };
        var data = new Option<string?>("--data") { Description = "CSV file with a header and columns x,y." };
        var points = new Option<int?>("--points") { Description = "Random points: x_i = i + U(0, 0.8), y_i ~ N(0, 1) (the default, 6 points)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random points." };
        var steepness = new Option<double?>("--steepness") { Description = "Steepness k of the sigmoid steps (default: error bound 1e-6)." };
        var dim = new Option<int?>("--dim") { Description = "Points in R^D (with --random N): the constructions on the projections onto a separating direction." };
        var random = new Option<int?>("--random") { Description = "N random points x_i ~ N(0, I_D), y_i ~ N(0, 1) in R^D (D from --dim, default 2)." };
        var activation = new Option<string>("--activation") { Description = "relu, sigmoid or both: which constructions to build.", DefaultValueFactory = _ => "both" };
        var json = JsonOption();
        var cmd = new Command("interpolate", "The 1-hidden-layer network with N-1 units through N points of R or R^D: ReLU and sigmoid-limit constructions (seed 001 Q5).");
        foreach (var o in new Option[] { x, y, data, points, seed, steepness, dim, random, activation, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            string? xs = p.GetValue(x), ys = p.GetValue(y), file = p.GetValue(data);
            int? n = p.GetValue(points), nd = p.GetValue(random), d = p.GetValue(dim);
            var (relu, sigmoid) = p.GetValue(activation)!.Trim().ToLowerInvariant() switch
            {
                "relu" => (true, false),
                "sigmoid" => (false, true),
                "both" => (true, true),
                var a => throw new ArgumentException($"--activation: expected relu, sigmoid or both; got '{a}'."),
            };
            int sources = (xs is not null || ys is not null ? 1 : 0) + (file is not null ? 1 : 0) + (n is not null ? 1 : 0) + (nd is not null ? 1 : 0);
            if (sources > 1) throw new ArgumentException("Give the points one way: --x and --y, --data FILE.csv, --points N, or --random N (with --dim D).");
            if (d is not null && nd is null) throw new ArgumentException("--dim D goes with --random N (N random points of R^D).");
            if (nd is not null)
            {
                var (qx, qy) = Constructions.RandomPointsNd(nd.Value, d ?? 2, p.GetValue(seed));
                var rd = Constructions.InterpolateNd(qx, qy, relu, sigmoid, p.GetValue(steepness));
                if (p.GetValue(json)) Json.Print(ToJson(rd));
                else PrintInterpolation(rd);
                return 0;
            }
            if ((xs is null) != (ys is null)) throw new ArgumentException("--x and --y go together.");
            var (px, py) = xs is not null ? (ParseDoubles(xs, "--x"), ParseDoubles(ys!, "--y"))
                : file is not null ? Constructions.ReadPoints(file) : Constructions.RandomPoints(n ?? 6, p.GetValue(seed));
            var r = Constructions.Interpolate(px, py, p.GetValue(steepness));
            if (p.GetValue(json)) Json.Print(ToJson(r, relu, sigmoid));
            else PrintInterpolation(r);
            return 0;
        });
        return cmd;
    }

    private static Command CreateConvert()
    {
        var to = new Option<string>("--to") { Description = "tanh or sigmoid: the activation of the converted network (the source has the other).", DefaultValueFactory = _ => "tanh" };
        var weights = new Option<string?>("--weights") { Description = ".npz with W1 [M, D], b1 [M], W2 [K, M], b2 [K] (PyTorch's [out, in] layout); default: a random network." };
        var inputs = new Option<int>("--inputs") { Description = "Inputs D of the random network.", DefaultValueFactory = _ => 3 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden units M of the random network.", DefaultValueFactory = _ => 5 };
        var outputs = new Option<int>("--outputs") { Description = "Outputs K of the random network.", DefaultValueFactory = _ => 2 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random network and the test inputs." };
        var samples = new Option<int>("--samples") { Description = "Random inputs (3·N(0, 1)) the two networks are compared on.", DefaultValueFactory = _ => 1000 };
        var save = new Option<string?>("--save") { Description = "Write the converted network to this .npz." };
        var json = JsonOption();
        var cmd = new Command("convert", "Convert a sigmoid network to the equal tanh network, or back, exactly (seed 001 Q4, seed 002 Q4).");
        foreach (var o in new Option[] { to, weights, inputs, hidden, outputs, seed, samples, save, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            var target = p.GetValue(to)!.Trim().ToLowerInvariant() switch
            {
                "tanh" => Activation.Tanh,
                "sigmoid" => Activation.Sigmoid,
                var s => throw new ArgumentException($"--to: expected tanh or sigmoid; got '{s}'."),
            };
            var source = target == Activation.Tanh ? Activation.Sigmoid : Activation.Tanh;
            ulong s0 = p.GetValue(seed);
            string? file = p.GetValue(weights);
            var net = file is not null ? Constructions.LoadNetwork(file, source)
                : Constructions.RandomNetwork(p.GetValue(inputs), p.GetValue(hidden), p.GetValue(outputs), source, s0);
            var r = Constructions.Convert(net, target, p.GetValue(samples), s0 + 1);
            if (p.GetValue(save) is string path) Constructions.SaveNetwork(path, r.Converted);
            if (p.GetValue(json)) Json.Print(ToJson(r));
            else PrintConversion(r);
            return 0;
        });
        return cmd;
    }

    private static Command CreateCollapse()
    {
        var widths = new Option<string>("--widths") { Description = "Widths of a random stack, e.g. 10,3,8,6 for 10->3->8->6.", DefaultValueFactory = _ => "10,3,8,6" };
        var weights = new Option<string?>("--weights") { Description = ".npz with W0, b0, W1, b1, ... (weights [out, in]) instead of a random stack." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random stack and the test inputs." };
        var samples = new Option<int>("--samples") { Description = "Random inputs the stack and the single layer are compared on.", DefaultValueFactory = _ => 1000 };
        var json = JsonOption();
        var cmd = new Command("collapse", "Collapse a stack of linear layers to one layer, with rank(W) <= min rank(W_i) (seed 002 Q6).");
        foreach (var o in new Option[] { widths, weights, seed, samples, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            ulong s0 = p.GetValue(seed);
            var layers = p.GetValue(weights) is string file ? Constructions.LoadStack(file)
                : Constructions.RandomStack(ParseInts(p.GetValue(widths)!, "--widths"), s0);
            var r = Constructions.Collapse(layers, p.GetValue(samples), s0 + 1);
            if (p.GetValue(json)) Json.Print(ToJson(r));
            else PrintCollapse(r);
            return 0;
        });
        return cmd;
    }

    private static Command CreatePerceptron()
    {
        var gate = new Option<string>("--gate") { Description = "and, or, xor, or all.", DefaultValueFactory = _ => "all" };
        var epochs = new Option<int>("--epochs") { Description = "Epoch budget.", DefaultValueFactory = _ => 20 };
        var lr = new Option<double>("--lr") { Description = "Step of the perceptron rule.", DefaultValueFactory = _ => 1.0 };
        var json = JsonOption();
        var cmd = new Command("perceptron", "The perceptron rule on AND, OR and XOR: the first two converge, XOR cycles (seed 002 Q6).");
        foreach (var o in new Option[] { gate, epochs, lr, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            string g = p.GetValue(gate)!.Trim().ToLowerInvariant();
            IReadOnlyList<PerceptronRun> runs = g == "all" ? Perceptrons.TrainAll(p.GetValue(epochs), p.GetValue(lr))
                : [Perceptrons.Train(Perceptrons.ParseGate(g), p.GetValue(epochs), p.GetValue(lr))];
            // One shape whatever --gate is: {"gates": [...]}, with one entry for a single gate.
            if (p.GetValue(json)) Json.Print(new JsonObject { ["gates"] = new JsonArray(runs.Select(r => (JsonNode)ToJson(r)).ToArray()) });
            else foreach (var r in runs) PrintPerceptron(r);
            return 0;
        });
        return cmd;
    }

    private static double[] ParseDoubles(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"{option}: no numbers in '{text}'.");
        return parts.Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw new ArgumentException($"{option}: '{s}' is not a finite number.")).ToArray();
    }

    private static int[] ParseInts(string text, string option) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new ArgumentException($"{option}: '{s}' is not a positive integer (expected e.g. 10,3,8,6).")).ToArray();

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static JsonArray Numbers(IEnumerable<double> values) => Json.Numbers(values.Select(v => v + 0.0)); // + 0.0 turns -0 into 0

    /// <summary>A tensor as nested arrays: [a, b] for 1-D, [[...], ...] rows for 2-D.</summary>
    private static JsonArray Nested(Tensor t)
    {
        double[] v = t.ToArray<double>();
        if (t.Rank == 1) return Numbers(v);
        int rows = t.Shape[0], cols = t.Shape[1];
        return new JsonArray(Enumerable.Range(0, rows).Select(r => (JsonNode)Numbers(v.Skip(r * cols).Take(cols))).ToArray());
    }

    private static JsonObject Parameters(TwoLayerNet n) => new() { ["W1"] = Nested(n.W1), ["b1"] = Nested(n.B1), ["W2"] = Nested(n.W2), ["b2"] = Nested(n.B2) };

    /// <summary>
    /// The interpolation on the line in the same shape as in R^D (<see cref="ToJson(InterpolationNdResult)"/>): dim 1,
    /// direction [1], x as numbers; "relu" or "sigmoid" null when --activation left it out.
    /// </summary>
    internal static JsonObject ToJson(InterpolationResult r, bool relu = true, bool sigmoid = true) => new()
    {
        ["points"] = r.Points, ["dim"] = 1, ["hidden_units"] = r.HiddenUnits, ["direction"] = Numbers([1.0]), ["x"] = Numbers(r.X), ["y"] = Numbers(r.Y),
        ["max_abs_error"] = Json.Number(relu ? r.Relu.MaxAbsError : r.Sigmoid.MaxAbsError),
        ["relu"] = relu ? new JsonObject { ["max_abs_error"] = Json.Number(r.Relu.MaxAbsError), ["parameters"] = Parameters(r.Relu.Network) } : null,
        ["sigmoid"] = sigmoid ? SigmoidJson(r.Sigmoid.Steepness, r.Sigmoid.MaxAbsError, r.Sigmoid.ErrorBound, r.Sigmoid.Network, r.Sweep) : null,
    };

    /// <summary>The interpolation in R^D: x as rows of D numbers, the direction the points were projected on.</summary>
    internal static JsonObject ToJson(InterpolationNdResult r) => new()
    {
        ["points"] = r.Points, ["dim"] = r.Dim, ["hidden_units"] = r.HiddenUnits, ["direction"] = Numbers(r.Direction),
        ["x"] = new JsonArray(Enumerable.Range(0, r.Points).Select(i => (JsonNode)Numbers(Enumerable.Range(0, r.Dim).Select(k => r.X[i, k]))).ToArray()),
        ["y"] = Numbers(r.Y), ["max_abs_error"] = Json.Number((r.Relu ?? r.Sigmoid)!.MaxAbsError),
        ["relu"] = r.Relu is { } u ? new JsonObject { ["max_abs_error"] = Json.Number(u.MaxAbsError), ["parameters"] = Parameters(u.Network) } : null,
        ["sigmoid"] = r.Sigmoid is { } s ? SigmoidJson(s.Line.Steepness, s.MaxAbsError, s.Line.ErrorBound, s.Network, r.Sweep) : null,
    };

    private static JsonObject SigmoidJson(double steepness, double maxAbsError, double bound, TwoLayerNet net, IReadOnlyList<SteepnessPoint> sweep) => new()
    {
        ["steepness"] = Json.Number(steepness), ["max_abs_error"] = Json.Number(maxAbsError),
        ["error_bound"] = Json.Number(bound), ["parameters"] = Parameters(net),
        ["sweep"] = new JsonArray(sweep.Select(s => (JsonNode)new JsonObject
        {
            ["steepness"] = Json.Number(s.Steepness), ["max_abs_error"] = Json.Number(s.MaxAbsError), ["error_bound"] = Json.Number(s.ErrorBound),
        }).ToArray()),
    };

    internal static JsonObject ToJson(ConversionResult r) => new()
    {
        ["from"] = r.Source.Activation.ToString().ToLowerInvariant(), ["to"] = r.Converted.Activation.ToString().ToLowerInvariant(),
        ["inputs"] = r.Source.InputSize, ["hidden"] = r.Source.HiddenSize, ["outputs"] = r.Source.OutputSize, ["samples"] = r.Samples,
        ["max_abs_difference"] = Json.Number(r.MaxAbsDifference), ["max_abs_output"] = Json.Number(r.MaxAbsOutput),
        ["parameters"] = Parameters(r.Converted), ["source_parameters"] = Parameters(r.Source),
    };

    internal static JsonObject ToJson(CollapseResult r) => new()
    {
        ["widths"] = new JsonArray(r.Widths.Select(w => (JsonNode)w).ToArray()), ["layers"] = r.Layers.Count,
        ["rank"] = r.Collapsed.Rank, ["factor_ranks"] = new JsonArray(r.Collapsed.FactorRanks.Select(k => (JsonNode)k).ToArray()),
        ["rank_bound"] = r.Collapsed.RankBound, ["narrowest_width"] = r.Collapsed.NarrowestWidth, ["samples"] = r.Samples,
        ["max_abs_difference"] = Json.Number(r.MaxAbsDifference), ["weight"] = Nested(r.Collapsed.Weight), ["bias"] = Nested(r.Collapsed.Bias),
    };

    private static JsonObject Rule(LinearRule r) => new()
    {
        ["w"] = Numbers([r.W1, r.W2]), ["b"] = Json.Number(r.Bias),
        ["predictions"] = new JsonArray(r.Predictions.Select(v => (JsonNode)v).ToArray()), ["correct"] = r.Correct,
    };

    internal static JsonObject ToJson(PerceptronRun r) => new()
    {
        ["gate"] = r.Gate.ToString().ToLowerInvariant(), ["labels"] = new JsonArray(r.Labels.Select(v => (JsonNode)v).ToArray()),
        ["epochs"] = r.History.Count, ["lr"] = r.LearningRate,
        ["mistakes"] = new JsonArray(r.MistakesPerEpoch.Select(v => (JsonNode)v).ToArray()),
        ["converged"] = r.Converged, ["converged_epoch"] = r.ConvergedEpoch, ["accuracy"] = r.Accuracy,
        ["weights"] = Numbers([r.Final.W1, r.Final.W2]), ["bias"] = Json.Number(r.Final.Bias),
        ["predictions"] = new JsonArray(r.Final.Predictions.Select(v => (JsonNode)v).ToArray()),
        ["history"] = new JsonArray(r.History.Select(h => (JsonNode)new JsonObject
        {
            ["epoch"] = h.Epoch, ["mistakes"] = h.Mistakes, ["w"] = Numbers([h.W1, h.W2]), ["b"] = Json.Number(h.Bias),
        }).ToArray()),
        ["cycle"] = r.Cycle is { } c ? new JsonObject { ["first_epoch"] = c.FirstEpoch, ["repeat_epoch"] = c.RepeatEpoch, ["period"] = c.Period } : null,
        ["linearly_separable"] = r.LinearlySeparable,
        ["grid"] = new JsonObject
        {
            ["range"] = r.Grid.Range, ["step"] = r.Grid.Step, ["candidates"] = r.Grid.Candidates, ["best_correct"] = r.Grid.BestCorrect,
            ["separator"] = r.Grid.Separator is { } s ? Rule(s) : null,
        },
        ["least_squares"] = Rule(r.LeastSquares), ["sheet_rule"] = r.Sheet is { } sh ? Rule(sh) : null,
        ["proof"] = r.Gate == Gate.Xor ? Perceptrons.XorProof : null,
    };

    private static void PrintInterpolation(InterpolationNdResult r)
    {
        var u = r.Direction;
        AnsiConsole.MarkupLine($"{r.Points} points of R^{r.Dim}, {r.HiddenUnits} hidden units; projected on u = ({string.Join(", ", u.Select(F))}), then the 1-D construction on t = u·x");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(new TableColumn("i").RightAligned());
        table.AddColumn(new TableColumn("u·x").RightAligned());
        table.AddColumn(new TableColumn("y").RightAligned());
        double[]? relu = r.Relu?.Evaluate(r.X), sig = r.Sigmoid?.Evaluate(r.X);
        if (relu is not null) table.AddColumn(new TableColumn("ReLU net").RightAligned());
        if (sig is not null) table.AddColumn(new TableColumn("sigmoid net").RightAligned());
        for (int i = 0; i < r.Points; i++)
        {
            double t = Enumerable.Range(0, r.Dim).Sum(k => u[k] * r.X[i, k]);
            var row = new List<string> { i.ToString(CultureInfo.InvariantCulture), F(t), F(r.Y[i]) };
            if (relu is not null) row.Add(F(relu[i]));
            if (sig is not null) row.Add(F(sig[i]));
            table.AddRow(row.ToArray());
        }
        AnsiConsole.Write(table);
        if (r.Relu is { } a) AnsiConsole.MarkupLine($"ReLU hinges: max |net(x_i) - y_i| = [bold]{a.MaxAbsError:E2}[/] (exact up to rounding)");
        if (r.Sigmoid is { } b)
            AnsiConsole.MarkupLine($"sigmoid steps, k = {F(b.Line.Steepness)}: max error [bold]{b.MaxAbsError:E2}[/], proven bound {b.Line.ErrorBound:E2}");
    }

    private static void PrintInterpolation(InterpolationResult r)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"{r.Points} points, {r.HiddenUnits} hidden units");
        foreach (var c in new[] { "x", "y", "ReLU net", "sigmoid net" }) table.AddColumn(new TableColumn(c).RightAligned());
        double[] relu = r.Relu.Evaluate(r.X), sig = r.Sigmoid.Evaluate(r.X);
        for (int i = 0; i < r.Points; i++) table.AddRow(F(r.X[i]), F(r.Y[i]), F(relu[i]), F(sig[i]));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"ReLU hinges: max |net(x_i) - y_i| = [bold]{r.Relu.MaxAbsError:E2}[/] (exact up to rounding)");
        AnsiConsole.MarkupLine($"sigmoid steps, k = {F(r.Sigmoid.Steepness)}: max error [bold]{r.Sigmoid.MaxAbsError:E2}[/], proven bound {r.Sigmoid.ErrorBound:E2}");
        if (r.Sweep.Count == 0) return;
        var sweep = new Table().Border(TableBorder.Rounded).Title("sigmoid steps as k grows");
        foreach (var c in new[] { "k", "max error", "bound" }) sweep.AddColumn(new TableColumn(c).RightAligned());
        foreach (var s in r.Sweep) sweep.AddRow(F(s.Steepness), s.MaxAbsError.ToString("E2", CultureInfo.InvariantCulture), s.ErrorBound.ToString("E2", CultureInfo.InvariantCulture));
        AnsiConsole.Write(sweep);
    }

    private static void PrintConversion(ConversionResult r)
    {
        string from = r.Source.Activation.ToString().ToLowerInvariant(), to = r.Converted.Activation.ToString().ToLowerInvariant();
        AnsiConsole.MarkupLine($"{from} network {r.Source.InputSize} -> {r.Source.HiddenSize} -> {r.Source.OutputSize} converted to {to}");
        AnsiConsole.MarkupLine(r.Converted.Activation == Activation.Tanh
            ? "[grey]sigma(z) = (tanh(z/2) + 1)/2: W1' = W1/2, b1' = b1/2, W2' = W2/2, b2' = b2 + W2·1/2[/]"
            : "[grey]tanh(z) = 2 sigma(2z) - 1: W1' = 2 W1, b1' = 2 b1, W2' = 2 W2, b2' = b2 - W2·1[/]");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in new[] { "parameter", from, to }) table.AddColumn(c);
        void Row(string name, Tensor a, Tensor b) => table.AddRow(name, Markup.Escape(Brief(a)), Markup.Escape(Brief(b)));
        Row("W1", r.Source.W1, r.Converted.W1); Row("b1", r.Source.B1, r.Converted.B1);
        Row("W2", r.Source.W2, r.Converted.W2); Row("b2", r.Source.B2, r.Converted.B2);
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"max |difference| over {r.Samples:N0} random inputs: [bold]{r.MaxAbsDifference:E2}[/] (outputs up to {F(r.MaxAbsOutput)})");
    }

    private static string Brief(Tensor t)
    {
        double[] v = t.ToArray<double>();
        string shape = "[" + string.Join(", ", t.Shape) + "]";
        return $"{shape} {string.Join(" ", v.Take(6).Select(F))}{(v.Length > 6 ? " ..." : "")}";
    }

    private static void PrintCollapse(CollapseResult r)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"stack {string.Join(" -> ", r.Widths)}");
        foreach (var c in new[] { "layer", "weight", "rank" }) table.AddColumn(new TableColumn(c).RightAligned());
        for (int i = 0; i < r.Layers.Count; i++)
            table.AddRow(i.ToString(CultureInfo.InvariantCulture), $"{r.Layers[i].OutFeatures} x {r.Layers[i].InFeatures}", r.Collapsed.FactorRanks[i].ToString(CultureInfo.InvariantCulture));
        table.AddRow("collapsed", $"{r.Collapsed.Layer.OutFeatures} x {r.Collapsed.Layer.InFeatures}", $"[bold]{r.Collapsed.Rank}[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"rank(W) = [bold]{r.Collapsed.Rank}[/] <= min rank(W_i) = {r.Collapsed.RankBound} (narrowest width {r.Collapsed.NarrowestWidth}); " +
            $"max |stack(x) - Wx - b| over {r.Samples:N0} inputs: [bold]{r.MaxAbsDifference:E2}[/]");
    }

    private static void PrintPerceptron(PerceptronRun r)
    {
        string name = r.Gate.ToString().ToUpperInvariant();
        var table = new Table().Border(TableBorder.Rounded).Title($"{name}: truth table and learned rule");
        foreach (var c in new[] { "x1", "x2", "label", "perceptron", "least squares" }) table.AddColumn(new TableColumn(c).RightAligned());
        for (int i = 0; i < 4; i++)
            table.AddRow(Perceptrons.Inputs[i].X1.ToString(CultureInfo.InvariantCulture), Perceptrons.Inputs[i].X2.ToString(CultureInfo.InvariantCulture),
                r.Labels[i].ToString(CultureInfo.InvariantCulture), r.Final.Predictions[i].ToString(CultureInfo.InvariantCulture), r.LeastSquares.Predictions[i].ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"mistakes per epoch: {string.Join(" ", r.MistakesPerEpoch)}");
        AnsiConsole.MarkupLine(r.Converged
            ? $"[green]converged[/] at epoch {r.ConvergedEpoch}: w = ({F(r.Final.W1)}, {F(r.Final.W2)}), b = {F(r.Final.Bias)}"
            : $"[yellow]no mistake-free epoch in {r.History.Count}[/]; final w = ({F(r.Final.W1)}, {F(r.Final.W2)}), b = {F(r.Final.Bias)}, {r.Final.Correct}/4 right");
        if (r.Cycle is { } cycle)
            AnsiConsole.MarkupLine($"the weights after epoch {cycle.RepeatEpoch} equal {(cycle.FirstEpoch == 0 ? "the initial ones" : $"those after epoch {cycle.FirstEpoch}")}: " +
                $"the rule repeats the same {cycle.Period}-epoch cycle forever and never converges");
        AnsiConsole.MarkupLine($"least squares on labels ±1: w = ({F(r.LeastSquares.W1)}, {F(r.LeastSquares.W2)}), b = {F(r.LeastSquares.Bias)}, {r.LeastSquares.Correct}/4 right");
        AnsiConsole.MarkupLine($"grid of {r.Grid.Candidates:N0} rules: at best {r.Grid.BestCorrect}/4 right" + (r.LinearlySeparable ? " (linearly separable)" : " (no separating line)"));
        if (r.Gate == Gate.Xor) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(Perceptrons.XorProof)}[/]");
        AnsiConsole.WriteLine();
    }
}
