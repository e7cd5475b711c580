using SharpGrad.Cli.Commands;
using SharpGrad.Data;
using SharpGrad.Reports;

namespace SharpGrad.Cli.Report;

/// <summary>Seed 003 Q3–Q4: the classic classifiers trained on Fashion-MNIST, with accuracy tables and curves.</summary>
internal static class ClassifierSection
{
    public static async Task<ReportSection> BuildAsync(FashionMnistData? data, bool quick, IProgress<string>? status, CancellationToken ct)
    {
        if (data is null)
            return new ReportSection("seed003-q3", "Perceptron, logistic regression, MLP and CNN on Fashion-MNIST (seed 003 Q3–Q4)",
            [
                new Paragraph("Fashion-MNIST was not found, so this section was not run. Install Debian's `dataset-fashion-mnist` (or pass `--data DIR`) and run `sharpgrad report` again; `sharpgrad train --model mlp` trains one model directly."),
            ]);
        int? limit = quick ? 10_000 : null;
        int epochs = quick ? 2 : 15;
        TrainConfig[] configs = quick
            ?
            [
                new() { Model = "perceptron", Epochs = epochs, Lr = 1, TrainLimit = limit },
                new() { Model = "logreg", Epochs = epochs, Lr = 1e-3, TrainLimit = limit },
                new() { Model = "mlp", Hidden = [128], Epochs = epochs, Lr = 1e-3, TrainLimit = limit },
                new() { Model = "mlp", Hidden = [256, 128], Epochs = epochs, Lr = 1e-3, TrainLimit = limit },
            ]
            :
            [
                new() { Model = "perceptron", Epochs = 10, Lr = 1 },
                new() { Model = "logreg", Epochs = 20, Lr = 5e-4 },
                new() { Model = "mlp", Hidden = [256], Epochs = epochs, Lr = 1e-3, Dropout = 0.2 },
                new() { Model = "mlp", Hidden = [256, 128], Epochs = epochs, Lr = 1e-3, Dropout = 0.2 },
                // The RESULTS.md CNN that meets the training issue's target: 83,242 parameters, 0.93 on the test set.
                new() { Model = "cnn", ConvStages = [[32], [64], [96]], Epochs = 12, Lr = 2e-3, Schedule = "cosine", BatchNorm = true, Dropout = 0.3 },
            ];
        var outcomes = new List<TrainOutcome>();
        foreach (var c in configs)
        {
            status?.Report($"training {c.Describe()}{(limit is null ? "" : $" on {limit:N0} images")}, {c.Epochs} epochs");
            outcomes.Add(await TrainRunner.RunAsync(c, data, null, null, ct));
        }
        var rows = outcomes.Select(o => (IReadOnlyList<string>)[o.Config.Describe(), o.Parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
            o.History.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), o.BestEpoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Fmt.P(o.History[o.BestEpoch - 1].TrainAccuracy), Fmt.P(o.ValidationAccuracy), Fmt.P(o.TestAccuracy), Fmt.N(o.Seconds, 1)]).ToList();
        var valChart = new LineChart("Validation accuracy per epoch", "epoch", "accuracy");
        var lossChart = new LineChart("Training loss per epoch (cross-entropy; perceptron: mistakes per example)", "epoch", "loss") { LogY = true };
        foreach (var o in outcomes)
        {
            valChart.Add(o.Config.Describe(), o.History.Select(r => r.ValidationAccuracy).ToArray());
            lossChart.Add(o.Config.Describe(), o.History.Select(r => r.TrainLoss).ToArray());
        }
        var best = outcomes.OrderByDescending(o => o.ValidationAccuracy).First();

        // Seed 003 Q4: a learning-rate × depth sweep of MLPs, the model picked by validation accuracy alone.
        var sweep = new List<TrainOutcome>();
        foreach (int depth in new[] { 1, 2 })
            foreach (double lr in quick ? new[] { 1e-3, 1e-2 } : new[] { 3e-4, 1e-3, 3e-3 })
            {
                var c = new TrainConfig { Model = "mlp", Hidden = Enumerable.Repeat(256, depth).ToArray(), Lr = lr, Epochs = quick ? 1 : 5, TrainLimit = quick ? 5_000 : null };
                status?.Report($"sweep: {c.Describe()}");
                sweep.Add(await TrainRunner.RunAsync(c, data, null, null, ct));
            }
        var chosen = sweep.OrderByDescending(o => o.ValidationAccuracy).First();
        var sweepRows = sweep.Select(o => (IReadOnlyList<string>)[(ReferenceEquals(o, chosen) ? "→ " : "") + o.Config.Describe(),
            o.Config.Hidden.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Fmt.N(o.Config.Lr), Fmt.P(o.ValidationAccuracy)]).ToList();
        var sweepChart = new LineChart("Sweep: validation accuracy per epoch", "epoch", "accuracy");
        foreach (var o in sweep) sweepChart.Add(o.Config.Describe(), o.History.Select(r => r.ValidationAccuracy).ToArray());
        return new ReportSection("seed003-q3", "Perceptron, logistic regression, MLP and CNN on Fashion-MNIST (seed 003 Q3–Q4)",
        [
            new Paragraph((quick ? $"Quick run: {limit:N0} training images, {epochs} epochs each, so the numbers are below what full training reaches (see RESULTS.md and `sharpgrad train`). " : "") +
                $"Training images {(limit ?? data.Train.Count):N0}, validation {data.Validation.Count:N0} (the last 10,000 training images, a fixed split), test {data.Test.Count:N0}. " +
                "Every model keeps the weights of its best validation epoch; the test set is used once per model, after selection. The perceptron is trained by its mistake-driven rule, the others by Adam on cross-entropy."),
            new TableBlock(["model", "parameters", "epochs", "best epoch", "train acc.", "val. acc.", "test acc.", "seconds"], rows, "Accuracy by model"),
            new ComparisonBlock([new("model chosen by validation accuracy", "—", $"{best.Config.Describe()}: validation {Fmt.P(best.ValidationAccuracy)}, test {Fmt.P(best.TestAccuracy)}", null)]),
            new Figure("classifiers-val-accuracy", valChart.ToSvg(), "Validation accuracy per epoch for each model."),
            new Figure("classifiers-train-loss", lossChart.ToSvg(), "Training loss per epoch (log scale)."),
            new TableBlock(["configuration", "hidden layers", "learning rate", "val. acc."], sweepRows,
                $"Sweep (`sharpgrad sweep`): chosen by validation accuracy — {chosen.Config.Describe()}, whose test accuracy is {Fmt.P(chosen.TestAccuracy)}"),
            new Figure("sweep-val-accuracy", sweepChart.ToSvg(), "Validation accuracy of each sweep configuration."),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- train --model mlp --hidden 256,128 --dropout 0.2 --epochs 15 --out out/mlp\n" +
                          "dotnet run --project src/SharpGrad.Cli -- sweep --model mlp --lr 0.0003,0.001,0.003 --layers 1,2,3 --epochs 5"),
        ]);
    }
}
