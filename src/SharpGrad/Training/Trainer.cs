using System.Diagnostics;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Training;

/// <summary>The fit loop: mini-batch training with per-epoch metrics, validation-based model selection and early stopping.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> for <see cref="FitOptions.Epochs"/> epochs: for each batch, forward, loss, backward,
    /// optimizer step. After each epoch the validation set (if any) is evaluated and reported through
    /// <paramref name="progress"/>; the best epoch's weights are restored at the end when <see cref="FitOptions.RestoreBest"/>.
    /// A NaN or infinite loss throws <see cref="NonFiniteLossException"/>; cancellation throws
    /// <see cref="OperationCanceledException"/> between batches.
    /// </summary>
    public static Task<FitResult> FitAsync(Module model, Func<Tensor, Tensor, Tensor> loss, Optimizer optimizer, DataLoader train,
        IDataset? validation = null, FitOptions? options = null, IProgress<EpochReport>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        options ??= new FitOptions();
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "FitOptions.Epochs must be non-negative.");
        var opts = options;
        return Task.Run(() => Fit(model, loss, optimizer, train, validation, opts, progress, cancellationToken), cancellationToken);
    }

    private static FitResult Fit(Module model, Func<Tensor, Tensor, Tensor> lossFn, Optimizer optimizer, DataLoader train,
        IDataset? validation, FitOptions options, IProgress<EpochReport>? progress, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var history = new List<EpochReport>();
        double best = double.NegativeInfinity, lastFinite = double.NaN;
        int bestEpoch = 0, sinceBest = 0;
        OrderedDictionary<string, Tensor>? bestState = null;
        bool stoppedEarly = false;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var sw = Stopwatch.StartNew();
            model.Train();
            double lossSum = 0, lr = optimizer.LearningRate;
            long seen = 0, correct = 0;
            bool classification = true;
            int batch = 0, batches = train.BatchCount;
            foreach (var (x, y) in train.Epoch())
            {
                ct.ThrowIfCancellationRequested();
                var output = model.Forward(x);
                var loss = lossFn(output, y);
                double value = loss.Item();
                if (!double.IsFinite(value)) throw new NonFiniteLossException(epoch, optimizer.StepCount + 1, value, lastFinite);
                lastFinite = value;
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                int n = x.ShapeRef[0];
                lossSum += value * n;
                seen += n;
                if (classification && IsClassification(output, y)) correct += CountCorrect(output, y);
                else classification = false;
                options.BatchProgress?.Report(new BatchProgress(epoch, ++batch, batches, lossSum / seen));
            }
            double valLoss = double.NaN, valAcc = double.NaN;
            if (validation is not null && validation.Count > 0)
                (valLoss, valAcc) = Evaluate(model, lossFn, validation, options.EvaluationBatchSize);
            var report = new EpochReport(epoch, seen == 0 ? double.NaN : lossSum / seen, classification && seen > 0 ? (double)correct / seen : double.NaN,
                valLoss, valAcc, lr, sw.Elapsed.TotalSeconds);
            history.Add(report);
            options.OnEpochEnd?.Invoke(report);
            progress?.Report(report);

            double score = double.IsNaN(valAcc) ? epoch : valAcc; // without validation the last epoch is "best"
            if (score > best)
            {
                (best, bestEpoch, sinceBest) = (score, epoch, 0);
                if (options.RestoreBest && validation is not null) bestState = model.StateDict();
            }
            else if (options.EarlyStoppingPatience is int patience && ++sinceBest >= patience)
            {
                stoppedEarly = true;
                break;
            }
        }
        if (bestState is not null && bestEpoch != history.Count) model.LoadStateDict(bestState);
        model.Eval();
        double bestAcc = validation is null || history.Count == 0 ? double.NaN : history[bestEpoch - 1].ValidationAccuracy;
        return new FitResult(history, bestEpoch, bestAcc, stoppedEarly, total.Elapsed.TotalSeconds);
    }

    /// <summary>Mean loss and accuracy of <paramref name="model"/> on <paramref name="data"/>, in evaluation mode and without the tape.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, Func<Tensor, Tensor, Tensor> loss, IDataset data, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            double lossSum = 0;
            long correct = 0, seen = 0;
            bool classification = true;
            foreach (var (x, y) in new DataLoader(data, batchSize).Epoch())
            {
                var output = model.Forward(x);
                int n = x.ShapeRef[0];
                lossSum += loss(output, y).Item() * n;
                if (classification && IsClassification(output, y)) correct += CountCorrect(output, y);
                else classification = false;
                seen += n;
            }
            return (seen == 0 ? double.NaN : lossSum / seen, classification && seen > 0 ? (double)correct / seen : double.NaN);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="data"/> (argmax of the outputs against Int64 labels).</summary>
    public static double Accuracy(Module model, IDataset data, int batchSize = 1000) =>
        Evaluate(model, (o, y) => Tensor.Scalar(0), data, batchSize).Accuracy;

    private static bool IsClassification(Tensor output, Tensor target) =>
        target.DType == DType.Int64 && output.Rank == 2 && target.Rank == 1 && output.ShapeRef[0] == target.ShapeRef[0];

    private static long CountCorrect(Tensor output, Tensor target)
    {
        var pred = output.ArgMax(1).Array<long>();
        var y = target.Array<long>();
        long c = 0;
        for (int i = 0; i < y.Length; i++) if (pred[i] == y[i]) c++;
        return c;
    }
}
