namespace SharpGrad.Training;

/// <summary>Whether a smaller or a larger value of a monitored quantity is better.</summary>
public enum MonitorMode
{
    /// <summary>Smaller is better (losses, errors).</summary>
    Min,

    /// <summary>Larger is better (accuracies, F1, R², AUC).</summary>
    Max,
}

/// <summary>
/// A named metric the fit loop computes on the whole validation set after every epoch (see
/// <see cref="FitOptions.Metrics"/>); its value appears in <see cref="EpochReport.Metrics"/> under <see cref="Name"/>
/// and can be monitored by that name (<see cref="FitOptions.Monitor"/>). Make your own with any function of the
/// concatenated model outputs and targets.
/// </summary>
/// <param name="Name">Key in <see cref="EpochReport.Metrics"/> and name for <see cref="FitOptions.Monitor"/> (also as <c>val_NAME</c>).</param>
/// <param name="Compute">The metric of (outputs, targets) over the whole validation set.</param>
/// <param name="Mode">Which direction is better, for early stopping and best-epoch restore.</param>
public sealed record Metric(string Name, Func<Tensor, Tensor, double> Compute, MonitorMode Mode)
{
    /// <summary>Classification accuracy (<see cref="Metrics.Accuracy"/>), "accuracy".</summary>
    public static Metric Accuracy { get; } = new("accuracy", Metrics.Accuracy, MonitorMode.Max);

    /// <summary>Top-k accuracy (<see cref="Metrics.TopKAccuracy"/>), "top{k}_accuracy".</summary>
    public static Metric TopKAccuracy(int k) => new($"top{k}_accuracy", (o, y) => Metrics.TopKAccuracy(o, y, k), MonitorMode.Max);

    /// <summary>Mean absolute error (<see cref="Metrics.MeanAbsoluteError"/>), "mae".</summary>
    public static Metric MeanAbsoluteError { get; } = new("mae", Metrics.MeanAbsoluteError, MonitorMode.Min);

    /// <summary>Root mean squared error (<see cref="Metrics.RootMeanSquaredError"/>), "rmse".</summary>
    public static Metric RootMeanSquaredError { get; } = new("rmse", Metrics.RootMeanSquaredError, MonitorMode.Min);

    /// <summary>Coefficient of determination (<see cref="Metrics.R2Score"/>), "r2".</summary>
    public static Metric R2Score { get; } = new("r2", Metrics.R2Score, MonitorMode.Max);

    /// <summary>Macro precision over the output's C classes (<see cref="Metrics.Precision"/>), "precision_macro".</summary>
    public static Metric PrecisionMacro { get; } = new("precision_macro", (o, y) => Metrics.Precision(o, y, Classes(o)), MonitorMode.Max);

    /// <summary>Macro recall over the output's C classes (<see cref="Metrics.Recall"/>), "recall_macro".</summary>
    public static Metric RecallMacro { get; } = new("recall_macro", (o, y) => Metrics.Recall(o, y, Classes(o)), MonitorMode.Max);

    /// <summary>Macro F1 over the output's C classes (<see cref="Metrics.F1Score"/>), "f1_macro".</summary>
    public static Metric F1Macro { get; } = new("f1_macro", (o, y) => Metrics.F1Score(o, y, Classes(o)), MonitorMode.Max);

    /// <summary>Binary ROC-AUC (<see cref="Metrics.RocAuc"/>), "roc_auc".</summary>
    public static Metric RocAuc { get; } = new("roc_auc", Metrics.RocAuc, MonitorMode.Max);

    private static int Classes(Tensor output) => output.Rank == 2
        ? output.ShapeRef[1]
        : throw new ArgumentException($"Macro averages need [N, C] class scores; the output has shape {Shapes.Format(output.ShapeRef)}.", nameof(output));
}
