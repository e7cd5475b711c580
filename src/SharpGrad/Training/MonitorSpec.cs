using SharpGrad.Data;
using SharpGrad.NN;

namespace SharpGrad.Training;

/// <summary>The quantity a fit monitors (see <see cref="FitOptions.Monitor"/>): its name, direction and how to read it from a report.</summary>
internal sealed class MonitorSpec(string name, MonitorMode mode, Func<EpochReport, double> value)
{
    public string Name { get; } = name;

    public MonitorMode Mode { get; } = mode;

    public double Value(EpochReport report) => value(report);

    /// <summary>The value as a score where larger is better (NaN, never better than anything, stays NaN).</summary>
    public double Score(EpochReport report) => Mode == MonitorMode.Max ? Value(report) : -Value(report);

    /// <summary>
    /// The monitor of <paramref name="options"/> once the first epoch has shown what the task is: the named one, or by
    /// default validation accuracy for classification and validation loss otherwise; null with nothing to monitor. A
    /// named quantity that is NaN on the first epoch (accuracy of a regression) is an error naming it.
    /// </summary>
    public static MonitorSpec? Resolve(FitOptions options, bool hasValidation, EpochReport first)
    {
        string? name = options.Monitor ?? (!hasValidation ? null : double.IsNaN(first.ValidationAccuracy) ? "val_loss" : "val_accuracy");
        if (name is null) return null;
        var (_, mode, read) = Trainer.KnownMonitor(name, options)!.Value;
        var spec = new MonitorSpec(name, options.Mode ?? mode, read);
        if (options.Monitor is not null && double.IsNaN(spec.Value(first)))
            throw new InvalidOperationException($"FitOptions.Monitor '{name}' is NaN after epoch {first.Epoch}" +
                (name.EndsWith("accuracy", StringComparison.Ordinal) && !name.Contains("top", StringComparison.Ordinal)
                    ? ": this task has no accuracy (accuracy needs Int64 class targets and [N, C] outputs); monitor 'val_loss' or a metric instead."
                    : "; it cannot choose a best epoch."));
        return spec;
    }
}

public static partial class Trainer
{
    /// <summary>Whether <paramref name="name"/> can be monitored: (needs validation data, natural direction, reader), or null.</summary>
    internal static (bool Validation, MonitorMode Mode, Func<EpochReport, double> Read)? KnownMonitor(string name, FitOptions options)
    {
        switch (name)
        {
            case "val_loss": return (true, MonitorMode.Min, r => r.ValidationLoss);
            case "val_accuracy": return (true, MonitorMode.Max, r => r.ValidationAccuracy);
            case "train_loss": return (false, MonitorMode.Min, r => r.TrainLoss);
            case "train_accuracy": return (false, MonitorMode.Max, r => r.TrainAccuracy);
        }
        string key = name.StartsWith("val_", StringComparison.Ordinal) && options.Metrics.All(m => m.Name != name) ? name[4..] : name;
        foreach (var m in options.Metrics)
            if (m.Name == key) return (true, m.Mode, r => r.Metrics.TryGetValue(key, out double v) ? v : double.NaN);
        return null;
    }

    /// <summary>
    /// Loss, accuracy and <paramref name="metrics"/> of <paramref name="model"/> on <paramref name="data"/>, in evaluation
    /// mode without the tape: the outputs and targets of every batch are kept (outside the batch's scope) so that each
    /// metric is computed once over the whole set, as metrics like F1 and AUC must be.
    /// </summary>
    private static (double Loss, double Accuracy, IReadOnlyDictionary<string, double> Metrics) EvaluateMetrics(Module model, Func<Tensor, Tensor, Tensor> loss,
        IDataset data, int batchSize, IReadOnlyList<Metric> metrics)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            double lossSum = 0;
            long correct = 0, seen = 0;
            bool classification = true;
            var outputs = new List<Tensor>();
            var targets = new List<Tensor>();
            foreach (var (x, y) in new DataLoader(data, batchSize).Epoch())
            {
                using var scope = new TensorScope();
                var output = model.Forward(x);
                int n = x.ShapeRef[0];
                lossSum += loss(output, y).Item() * n;
                if (classification && IsClassification(output, y)) correct += CountCorrect(output, y);
                else classification = false;
                seen += n;
                outputs.Add(output.Clone());
                targets.Add(y.Clone());
            }
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            if (seen > 0)
            {
                Tensor all = Tensor.Concat(outputs), allTargets = Tensor.Concat(targets);
                foreach (var m in metrics) values[m.Name] = m.Compute(all, allTargets);
            }
            return (seen == 0 ? double.NaN : lossSum / seen, classification && seen > 0 ? (double)correct / seen : double.NaN, values);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
