using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Reports;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Cli.Commands;

/// <summary>One training configuration, as the train and sweep commands take it.</summary>
internal sealed record TrainConfig
{
    public string Model { get; init; } = "mlp";
    public int[] Hidden { get; init; } = [256, 128];
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; }
    public string Optimizer { get; init; } = "adam";
    public double Lr { get; init; } = 1e-3;
    public double Momentum { get; init; }
    public double WeightDecay { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public ulong Seed { get; init; }
    public bool BatchNorm { get; init; } = true;
    public int? TrainLimit { get; init; }

    public string Describe() => Model switch
    {
        "mlp" => $"mlp {string.Join('-', Hidden)} {Activation.ToString().ToLowerInvariant()}",
        "cnn" => $"cnn{(BatchNorm ? " +bn" : "")}",
        _ => Model,
    } + (Model == "perceptron" ? "" : $" {Optimizer}") + $" lr={Lr.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>The outcome of one configuration.</summary>
internal sealed record TrainOutcome(TrainConfig Config, long Parameters, IReadOnlyList<EpochReport> History, int BestEpoch,
    double ValidationAccuracy, double TestAccuracy, double Seconds, Module? Model);

/// <summary>Builds, trains and evaluates one configuration on Fashion-MNIST.</summary>
internal static class TrainRunner
{
    public static readonly string[] ModelNames = ["perceptron", "logreg", "mlp", "cnn"];

    public static Module BuildModel(TrainConfig c, Generator g) => c.Model switch
    {
        "logreg" => Models.LogisticRegression(784, 10, g),
        "mlp" => Models.Mlp(784, c.Hidden, 10, c.Activation, c.Dropout, g),
        "cnn" => Models.Cnn(10, c.Dropout, c.BatchNorm, c.Activation, g),
        _ => throw new ArgumentException($"unknown model '{c.Model}' (expected {string.Join(", ", ModelNames)})."),
    };

    public static Optimizer BuildOptimizer(TrainConfig c, IEnumerable<Tensor> parameters) => c.Optimizer switch
    {
        "sgd" => new Sgd(parameters, c.Lr, c.Momentum, weightDecay: c.WeightDecay),
        "adam" => new Adam(parameters, c.Lr, weightDecay: c.WeightDecay),
        "adamw" => new AdamW(parameters, c.Lr, weightDecay: c.WeightDecay),
        "rmsprop" => new RmsProp(parameters, c.Lr, weightDecay: c.WeightDecay, momentum: c.Momentum),
        _ => throw new ArgumentException($"unknown optimizer '{c.Optimizer}' (expected sgd, adam, adamw or rmsprop)."),
    };

    public static async Task<TrainOutcome> RunAsync(TrainConfig c, FashionMnistData data, IProgress<BatchProgress>? batchProgress,
        IProgress<EpochReport>? epochProgress, CancellationToken ct)
    {
        var train = c.TrainLimit is int limit ? data.Train.Slice(0, Math.Min(limit, data.Train.Count)) : data.Train;
        if (c.Model == "perceptron") return RunPerceptron(c, train, data, epochProgress, ct);
        var g = new Generator(c.Seed);
        var model = BuildModel(c, g);
        var optimizer = BuildOptimizer(c, model.Parameters());
        var loader = new DataLoader(train, c.BatchSize, shuffle: true, generator: new Generator(c.Seed + 1));
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), optimizer, loader, data.Validation,
            new FitOptions { Epochs = c.Epochs, BatchProgress = batchProgress }, epochProgress, ct);
        double test = Trainer.Accuracy(model, data.Test);
        return new TrainOutcome(c, model.ParameterCount(), result.History, result.BestEpoch, result.BestValidationAccuracy, test, result.Seconds, model);
    }

    private static TrainOutcome RunPerceptron(TrainConfig c, ImageDataset train, FashionMnistData data, IProgress<EpochReport>? progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var p = new Perceptron(784, 10);
        var (xTrain, yTrain) = All(train);
        var (xVal, yVal) = All(data.Validation);
        var g = new Generator(c.Seed + 1);
        var history = new List<EpochReport>();
        double best = -1; int bestEpoch = 0;
        Tensor? bestW = null, bestB = null;
        var bestModel = new Perceptron(784, 10);
        for (int e = 1; e <= c.Epochs; e++)
        {
            ct.ThrowIfCancellationRequested();
            var epochSw = Stopwatch.StartNew();
            int mistakes = p.Epoch(xTrain, yTrain, g.Permutation(train.Count), c.Lr);
            double val = p.Accuracy(xVal, yVal);
            var r = new EpochReport(e, (double)mistakes / train.Count, 1 - (double)mistakes / train.Count, double.NaN, val, c.Lr, epochSw.Elapsed.TotalSeconds);
            history.Add(r);
            progress?.Report(r);
            if (val > best) { (best, bestEpoch, bestW, bestB) = (val, e, p.Weight, p.Bias); }
        }
        // Model selection by validation accuracy: evaluate the best epoch's weights on the test set.
        double test = EvaluatePerceptron(bestW!, bestB!, data.Test);
        return new TrainOutcome(c, 784 * 10 + 10, history, bestEpoch, best, test, sw.Elapsed.TotalSeconds, null);
    }

    private static double EvaluatePerceptron(Tensor w, Tensor b, ImageDataset test)
    {
        var (x, y) = All(test);
        var pred = x.To(DType.Float64).MatMul(w.Transpose(0, 1)).Add(b).ArgMax(1);
        return pred.Eq(y).Mean().Item();
    }

    private static (Tensor X, Tensor Y) All(ImageDataset ds)
    {
        var (x, y) = ds.GetBatch(Enumerable.Range(0, ds.Count).ToArray());
        return (x.Reshape(ds.Count, -1), y);
    }

    /// <summary>Writes history.csv, loss.svg, accuracy.svg and the weights (model.npz) into <paramref name="dir"/>.</summary>
    public static void WriteOutputs(string dir, TrainOutcome o)
    {
        Directory.CreateDirectory(dir);
        var csv = new StringBuilder("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
        foreach (var r in o.History)
            csv.Append(string.Create(CultureInfo.InvariantCulture, $"{r.Epoch},{r.TrainLoss:R},{r.TrainAccuracy:R},{r.ValidationLoss:R},{r.ValidationAccuracy:R},{r.LearningRate:R},{r.Seconds:F3}\n"));
        AtomicFile.WriteText(Path.Combine(dir, "history.csv"), csv.ToString());
        string lossLabel = o.Config.Model == "perceptron" ? "mistakes per example" : "cross-entropy";
        var loss = new LineChart($"Training loss — {o.Config.Describe()}", "epoch", lossLabel)
            .Add("training", o.History.Select(r => r.TrainLoss).ToArray());
        if (o.History.Any(r => double.IsFinite(r.ValidationLoss))) loss.Add("validation", o.History.Select(r => r.ValidationLoss).ToArray());
        AtomicFile.WriteText(Path.Combine(dir, "loss.svg"), loss.ToSvg());
        var acc = new LineChart($"Accuracy — {o.Config.Describe()}", "epoch", "accuracy")
            .Add("training", o.History.Select(r => r.TrainAccuracy).ToArray())
            .Add("validation", o.History.Select(r => r.ValidationAccuracy).ToArray());
        AtomicFile.WriteText(Path.Combine(dir, "accuracy.svg"), acc.ToSvg());
        if (o.Model is not null) Npy.SaveNpz(Path.Combine(dir, "model.npz"), o.Model.StateDict());
    }
}
