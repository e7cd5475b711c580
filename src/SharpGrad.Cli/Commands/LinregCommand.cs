using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Cli.Exercises;
using SharpGrad.Data;
using SharpGrad.Reports;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad linreg</c>: seed 003 Q2, linear regression in closed form vs gradient descent, then an MLP.</summary>
internal static class LinregCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Numeric CSV file with a header (default: synthetic data y = X w* + 1 + noise)." };
        var target = new Option<string?>("--target") { Description = "The CSV column to predict." };
        var samples = new Option<int>("--samples") { Description = "Rows of the synthetic data.", DefaultValueFactory = _ => 500 };
        var features = new Option<int>("--features") { Description = "Features of the synthetic data.", DefaultValueFactory = _ => 5 };
        var noise = new Option<double>("--noise") { Description = "Noise standard deviation of the synthetic data.", DefaultValueFactory = _ => 0.5 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the synthetic data, the 80/20 split and the MLP weights." };
        var epochs = new Option<int>("--epochs") { Description = "Gradient-descent epochs (full batch).", DefaultValueFactory = _ => 100 };
        var lr = new Option<double>("--lr") { Description = "Gradient-descent learning rate.", DefaultValueFactory = _ => 0.1 };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes of the MLP regressor, e.g. 32 or 64,32.", DefaultValueFactory = _ => "32" };
        var mlpEpochs = new Option<int>("--mlp-epochs") { Description = "MLP epochs (full-batch Adam).", DefaultValueFactory = _ => 300 };
        var mlpLr = new Option<double>("--mlp-lr") { Description = "MLP Adam learning rate.", DefaultValueFactory = _ => 0.01 };
        var outDir = new Option<string?>("--out") { Description = "Directory for distance.svg, loss.svg and mlp_loss.svg." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var noCompile = new Option<bool>("--no-compile") { Description = "Run the training steps and evaluations eagerly instead of compiled (captured once, then replayed); the results are the same." };
        var cmd = new Command("linreg", "Seed 003 Q2: linear regression by least squares (QR) vs gradient descent, their distance per epoch, train/test MSE, and an MLP regressor.");
        foreach (var o in new Option[] { data, target, samples, features, noise, seed, epochs, lr, hidden, mlpEpochs, mlpLr, outDir, json, noCompile }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            var options = new LinregOptions
            {
                DataPath = p.GetValue(data), Target = p.GetValue(target), Samples = p.GetValue(samples), Features = p.GetValue(features),
                Noise = p.GetValue(noise), Seed = p.GetValue(seed), Epochs = p.GetValue(epochs), LearningRate = p.GetValue(lr),
                Hidden = TrainCommand.ParseInts(p.GetValue(hidden)!, "--hidden"), MlpEpochs = p.GetValue(mlpEpochs), MlpLearningRate = p.GetValue(mlpLr),
                Compile = !p.GetValue(noCompile),
            };
            if (!(options.Noise >= 0) || double.IsInfinity(options.Noise))
                throw new ArgumentException($"--noise must be a finite number >= 0 (got {options.Noise.ToString(CultureInfo.InvariantCulture)}).");
            if (options.DataPath is null && options.Target is not null) throw new ArgumentException("--target needs --data (the synthetic data has its own target).");
            var result = LinearRegression.Run(options);
            string? dir = p.GetValue(outDir);
            if (dir is not null) WriteCharts(dir, result);
            if (p.GetValue(json)) Json.Print(ToJson(result, options));
            else Print(result, options, dir);
            return 0;
        });
        return cmd;
    }

    /// <summary>distance.svg (log scale), loss.svg (GD train/test against the closed form's), mlp_loss.svg.</summary>
    internal static void WriteCharts(string dir, LinregResult r)
    {
        Directory.CreateDirectory(dir);
        foreach (var (file, chart) in Charts(r)) AtomicFile.WriteText(Path.Combine(dir, file), chart.ToSvg());
    }

    /// <summary>distance.svg, loss.svg and mlp_loss.svg.</summary>
    internal static IReadOnlyList<(string File, LineChart Chart)> Charts(LinregResult r)
    {
        int e = r.Distance.Length;
        var x = Enumerable.Range(0, e + 1).Select(i => (double)i).ToArray();
        var distance = new LineChart("‖θ_GD − θ_closed-form‖₂ per epoch", "epoch", "Euclidean distance") { LogY = true }
            .Add("gradient descent", x, [r.InitialDistance, .. r.Distance]);
        var epochs = x[1..];
        var loss = new LineChart("Linear regression: mean squared error", "epoch", "MSE") { LogY = true }
            .Add("GD train", epochs, r.GdTrainLoss).Add("GD test", epochs, r.GdTestLoss)
            .Add("closed form train", epochs, Enumerable.Repeat(r.ClosedFormTrainLoss, e).ToArray())
            .Add("closed form test", epochs, Enumerable.Repeat(r.ClosedFormTestLoss, e).ToArray());
        var mlp = new LineChart("MLP regressor: mean squared error", "epoch", "MSE") { LogY = true }
            .Add("MLP train", r.MlpTrainLoss).Add("MLP test", r.MlpTestLoss)
            .Add("linear (closed form) test", Enumerable.Repeat(r.ClosedFormTestLoss, r.MlpTestLoss.Length).ToArray());
        return [("distance.svg", distance), ("loss.svg", loss), ("mlp_loss.svg", mlp)];
    }

    internal static JsonObject ToJson(LinregResult r, LinregOptions o) => new()
    {
        ["data"] = r.Data.Source, ["features"] = new JsonArray(r.Data.FeatureNames.Select(n => (JsonNode)n).ToArray()), ["standardized"] = true,
        ["train_rows"] = r.Data.TrainY.Length, ["test_rows"] = r.Data.TestY.Length, ["rank"] = r.Rank,
        ["epochs"] = o.Epochs, ["lr"] = o.LearningRate, ["max_stable_lr"] = Json.Number(r.MaxStableLearningRate),
        ["closed_form_weights"] = XorCommand.Numbers(r.ClosedFormWeights), ["gd_weights"] = XorCommand.Numbers(r.GdWeights),
        ["closed_form_train_loss"] = Json.Number(r.ClosedFormTrainLoss), ["test_loss"] = Json.Number(r.ClosedFormTestLoss),
        ["gd_train_loss"] = Json.Number(r.FinalGdTrainLoss), ["gd_test_loss"] = Json.Number(r.FinalGdTestLoss),
        ["mlp_train_loss"] = Json.Number(r.FinalMlpTrainLoss), ["mlp_test_loss"] = Json.Number(r.FinalMlpTestLoss), ["mlp_params"] = r.MlpParameters,
        ["initial_distance"] = Json.Number(r.InitialDistance), ["distance"] = XorCommand.Numbers(r.Distance),
        ["gd_train_loss_history"] = XorCommand.Numbers(r.GdTrainLoss), ["gd_test_loss_history"] = XorCommand.Numbers(r.GdTestLoss),
        ["mlp_train_loss_history"] = XorCommand.Numbers(r.MlpTrainLoss), ["mlp_test_loss_history"] = XorCommand.Numbers(r.MlpTestLoss),
    };

    private static string F(double v) => v.ToString("G5", CultureInfo.InvariantCulture);

    private static void Print(LinregResult r, LinregOptions o, string? dir)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"{r.Data.Source}; {r.Data.TrainY.Length} train / {r.Data.TestY.Length} test rows, features standardised with the training statistics."));
        if (r.Rank < r.ClosedFormWeights.Length)
            AnsiConsole.MarkupLine($"[yellow]The design matrix has rank {r.Rank} < {r.ClosedFormWeights.Length}: the least-squares solution is not unique; this is the basic one, and gradient descent converges to another (the minimum-norm one).[/]");
        var names = r.Data.FeatureNames.Append("intercept").ToArray();
        var w = new Table().Border(TableBorder.Rounded).Title("weights");
        w.AddColumn("");
        foreach (var n in names) w.AddColumn(new TableColumn(Markup.Escape(n)).RightAligned());
        w.AddRow(["closed form (QR)", .. r.ClosedFormWeights.Select(F)]);
        w.AddRow([$"GD after {o.Epochs} epochs", .. r.GdWeights.Select(F)]);
        AnsiConsole.Write(w);
        var t = new Table().Border(TableBorder.Rounded).Title("mean squared error");
        foreach (var c in new[] { "model", "train", "test" }) t.AddColumn(c);
        t.AddRow("linear, closed form", F(r.ClosedFormTrainLoss), F(r.ClosedFormTestLoss));
        t.AddRow($"linear, GD (lr {F(o.LearningRate)}; diverges above {F(r.MaxStableLearningRate)})", F(r.FinalGdTrainLoss), F(r.FinalGdTestLoss));
        t.AddRow(Markup.Escape($"MLP [{string.Join(", ", o.Hidden)}], Adam, {o.MlpEpochs} epochs ({r.MlpParameters} parameters)"), F(r.FinalMlpTrainLoss), F(r.FinalMlpTestLoss));
        AnsiConsole.Write(t);
        var d = r.Distance;
        var marks = new[] { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 }.Where(k => k < d.Length).Append(d.Length);
        AnsiConsole.MarkupLine(Markup.Escape($"distance ‖θ_GD − θ*‖: start {F(r.InitialDistance)}; " + string.Join(", ", marks.Select(k => $"epoch {k}: {F(d[k - 1])}"))));
        if (dir is not null) AnsiConsole.MarkupLine($"wrote distance.svg, loss.svg and mlp_loss.svg to {Markup.Escape(dir)}");
    }
}
