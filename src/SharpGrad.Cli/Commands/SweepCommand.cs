using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.Data;
using SharpGrad.Reports;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad sweep</c> (seed 003 Q4): trains every combination of learning rates and depths, picks the model with the
/// best validation accuracy, and reports the test accuracy of that one model only.
/// </summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var common = new TrainCommand.CommonOptions();
        var lrs = new Option<string>("--lr") { Description = "Learning rates to try, e.g. 0.001,0.01,0.1.", DefaultValueFactory = _ => "0.001,0.01,0.1" };
        var layers = new Option<string>("--layers") { Description = "Numbers of hidden layers to try (MLP), e.g. 1,2,3.", DefaultValueFactory = _ => "1,2" };
        var width = new Option<int>("--width") { Description = "Width of every hidden layer in the sweep.", DefaultValueFactory = _ => 256 };
        var cmd = new Command("sweep", "Grid search over learning rate and depth; model selection by validation accuracy.");
        common.AddTo(cmd);
        cmd.Add(lrs); cmd.Add(layers); cmd.Add(width);
        cmd.SetAction((p, ct) => RunAsync(common, p, TrainCommand.ParseDoubles(p.GetValue(lrs)!, "--lr"), TrainCommand.ParseInts(p.GetValue(layers)!, "--layers"), p.GetValue(width), ct));
        return cmd;
    }

    private static async Task<int> RunAsync(TrainCommand.CommonOptions o, ParseResult p, double[] lrs, int[] depths, int width, CancellationToken ct)
    {
        if (lrs.Length == 0 || depths.Length == 0) throw new ArgumentException("--lr and --layers need at least one value each.");
        foreach (double lr in lrs) TrainCommand.CheckLearningRate(lr, "--lr");
        if (width < 1) throw new ArgumentException($"--width must be at least 1 (got {width}).");
        bool json = p.GetValue(o.Json);
        string? outDir = p.GetValue(o.Out);
        if (outDir is not null) TrainRunner.CheckWritable(outDir, "--out");
        var data = FashionMnist.Load(p.GetValue(o.Data));
        var baseConfig = o.Config(p, lrs[0]);
        var configs = (baseConfig.Model == "mlp"
            ? depths.SelectMany(d => lrs.Select(lr => baseConfig with { Lr = lr, Hidden = Enumerable.Repeat(width, d).ToArray() }))
            : lrs.Select(lr => baseConfig with { Lr = lr })).ToList();
        var outcomes = new List<TrainOutcome>();
        foreach (var c in configs)
        {
            if (!json) AnsiConsole.MarkupLine($"[bold]{outcomes.Count + 1}/{configs.Count}[/] {Markup.Escape(c.Describe())}");
            outcomes.Add(json ? await TrainRunner.RunAsync(c, data, null, null, ct) : await TrainCommand.WithProgress(c, data, ct));
        }
        var best = outcomes.OrderByDescending(x => x.ValidationAccuracy).First();
        if (outDir is not null) WriteCharts(outDir, outcomes);
        if (json)
        {
            var runs = new JsonArray();
            foreach (var x in outcomes)
                runs.Add((JsonNode)new JsonObject { ["description"] = x.Config.Describe(), ["lr"] = x.Config.Lr, ["layers"] = x.Config.Hidden.Length, ["params"] = x.Parameters,
                    ["best_epoch"] = x.BestEpoch, ["val_accuracy"] = Json.Number(x.ValidationAccuracy), ["seconds"] = Json.Number(x.Seconds) });
            Json.Print(new JsonObject { ["runs"] = runs, ["selected"] = best.Config.Describe(), ["val_accuracy"] = Json.Number(best.ValidationAccuracy), ["test_accuracy"] = Json.Number(best.TestAccuracy) });
            return 0;
        }
        var table = new Table().Border(TableBorder.Rounded).Title("Sweep: model selection by validation accuracy");
        foreach (var c in new[] { "model", "lr", "hidden layers", "parameters", "best epoch", "val. acc.", "seconds" }) table.AddColumn(c);
        foreach (var x in outcomes)
        {
            string mark = ReferenceEquals(x, best) ? "[green]*[/] " : "";
            table.AddRow(mark + Markup.Escape(x.Config.Describe()), x.Config.Lr.ToString(CultureInfo.InvariantCulture), x.Config.Hidden.Length.ToString(CultureInfo.InvariantCulture),
                x.Parameters.ToString("N0", CultureInfo.InvariantCulture), x.BestEpoch.ToString(CultureInfo.InvariantCulture),
                x.ValidationAccuracy.ToString("P2", CultureInfo.InvariantCulture), x.Seconds.ToString("F1", CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"selected [bold]{Markup.Escape(best.Config.Describe())}[/]: validation {best.ValidationAccuracy:P2}, test {best.TestAccuracy:P2}");
        return 0;
    }

    private static void WriteCharts(string dir, List<TrainOutcome> outcomes)
    {
        Directory.CreateDirectory(dir);
        var loss = new LineChart("Training loss per configuration", "epoch", "cross-entropy");
        var acc = new LineChart("Validation accuracy per configuration", "epoch", "accuracy");
        foreach (var x in outcomes)
        {
            loss.Add(x.Config.Describe(), x.History.Select(r => r.TrainLoss).ToArray());
            acc.Add(x.Config.Describe(), x.History.Select(r => r.ValidationAccuracy).ToArray());
        }
        AtomicFile.WriteText(Path.Combine(dir, "sweep_loss.svg"), loss.ToSvg());
        AtomicFile.WriteText(Path.Combine(dir, "sweep_val_accuracy.svg"), acc.ToSvg());
    }
}
