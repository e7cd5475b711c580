using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Training;

/// <summary>Issue 17's Trainer friction points: what is monitored, callbacks and clipping, cancellation, progress order.</summary>
public class TrainerMonitorTests
{
    /// <summary>x ~ N(0, 1); training targets y = x but validation targets y = -x, so fitting the training set makes the validation loss rise after its minimum.</summary>
    private static (TensorDataset Train, TensorDataset Validation) Opposed(int n)
    {
        var g = new Generator(11);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)g.NextNormal();
        var neg = x.Select(v => -v).ToArray();
        return (new TensorDataset(Tensor.FromArray(x, n, 1), Tensor.FromArray(x, n, 1)),
                new TensorDataset(Tensor.FromArray(x, n, 1), Tensor.FromArray(neg, n, 1)));
    }

    private static Tensor Mse(Tensor o, Tensor y) => F.MseLoss(o, y);

    [Fact]
    public async Task RegressionEarlyStoppingWatchesValidationLossAndRestoresItsBestEpoch()
    {
        var (train, val) = Opposed(64);
        var model = new Sequential(new Linear(1, 1, generator: new Generator(5)));
        var result = await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.05), new DataLoader(train, 16), val,
            new FitOptions { Epochs = 60, EarlyStoppingPatience = 3 });
        var losses = result.History.Select(r => r.ValidationLoss).ToArray();
        int best = Array.IndexOf(losses, losses.Min()) + 1;
        Assert.Equal(best, result.BestEpoch);
        Assert.True(result.StoppedEarly, $"ran {losses.Length} epochs, best {best}");
        Assert.Equal(best + 3, result.History.Count);
        // The weights of the best epoch are back: they give its validation loss again.
        Assert.Equal(losses[best - 1], Trainer.Evaluate(model, Mse, val).Loss, 1e-6);
        Assert.False(model.Training);
    }

    [Fact]
    public async Task TheMonitorIsNamedAndItsModeInferredOrGiven()
    {
        var (train, val) = Opposed(64);
        var model = new Sequential(new Linear(1, 1, generator: new Generator(5)));
        var result = await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.05), new DataLoader(train, 16), val,
            new FitOptions { Epochs = 8, Metrics = [Metric.MeanAbsoluteError, Metric.R2Score], Monitor = "val_mae" });
        Assert.Equal("val_mae", result.Monitor);
        Assert.Equal(MonitorMode.Min, result.Mode);
        var mae = result.History.Select(r => r.Metrics["mae"]).ToArray();
        Assert.Equal(Array.IndexOf(mae, mae.Min()) + 1, result.BestEpoch);
        Assert.Equal(mae.Min(), result.BestMonitorValue);
        // The reported metric is the metric of the restored model's validation outputs, computed here directly.
        var (x, y) = val.GetBatch(Enumerable.Range(0, val.Count).ToArray());
        using (global::SharpGrad.Autograd.NoGrad()) Assert.Equal(mae.Min(), Metrics.MeanAbsoluteError(model.Forward(x), y), 1e-6);

        // Mode given explicitly: "max" of the validation loss picks the worst epoch.
        var model2 = new Sequential(new Linear(1, 1, generator: new Generator(5)));
        var worst = await Trainer.FitAsync(model2, Mse, new Sgd(model2.Parameters(), 0.05), new DataLoader(train, 16), val,
            new FitOptions { Epochs = 8, Monitor = "val_loss", Mode = MonitorMode.Max });
        var losses = worst.History.Select(r => r.ValidationLoss).ToArray();
        Assert.Equal(Array.IndexOf(losses, losses.Max()) + 1, worst.BestEpoch);
    }

    [Fact]
    public async Task AMonitorThatCannotWorkIsAnErrorNotSilence()
    {
        var (train, val) = Opposed(32);
        var model = new Sequential(new Linear(1, 1));
        var loader = new DataLoader(train, 16);
        var noAccuracy = await Assert.ThrowsAsync<InvalidOperationException>(() => Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), loader, val,
            new FitOptions { Epochs = 2, Monitor = "val_accuracy" }));
        Assert.Contains("no accuracy", noAccuracy.Message);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), loader, val,
            new FitOptions { Monitor = "val_los" }));
        Assert.Contains("'val_los'", unknown.Message);
        var noValidation = await Assert.ThrowsAsync<ArgumentException>(() => Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), loader, null,
            new FitOptions { EarlyStoppingPatience = 2 }));
        Assert.Contains("train_loss", noValidation.Message);
    }

    [Fact]
    public async Task CancellationReturnsThePartialResultWithTheModelInEvalMode()
    {
        var (train, val) = Opposed(64);
        var model = new Sequential(new Linear(1, 1, generator: new Generator(5)));
        using var cts = new CancellationTokenSource();
        var result = await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.05), new DataLoader(train, 16), val,
            new FitOptions { Epochs = 50, OnEpochEnd = r => { if (r.Epoch == 3) cts.Cancel(); } }, cancellationToken: cts.Token);
        Assert.Equal(3, result.History.Count);
        Assert.True(result.Cancelled);
        Assert.False(model.Training);
        var losses = result.History.Select(r => r.ValidationLoss).ToArray();
        Assert.Equal(losses.Min(), Trainer.Evaluate(model, Mse, val).Loss, 1e-6); // best weights, as at a normal end
    }

    [Fact]
    public async Task ProgressReportsArriveInOrderBeforeTheFitCompletes()
    {
        // Progress<T> made where there is no synchronization context (a console app) posts each report to the thread
        // pool; slow handlers for some epochs would let later ones overtake them and the last arrive after "done".
        var lines = new List<string>();
        await Task.Run(async () =>
        {
            var (train, _) = Opposed(32);
            var model = new Sequential(new Linear(1, 1));
            const int epochs = 12;
            var progress = new Progress<EpochReport>(r =>
            {
                if (r.Epoch % 3 == 1 || r.Epoch == epochs) Thread.Sleep(30);
                lock (lines) lines.Add($"epoch {r.Epoch}");
            });
            await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), new DataLoader(train, 32), null,
                new FitOptions { Epochs = epochs }, progress);
            lock (lines) lines.Add("done");
        });
        string[] seen;
        lock (lines) seen = [.. lines]; // a report delivered late would still be adding to the list
        Assert.Equal(Enumerable.Range(1, 12).Select(e => $"epoch {e}").Append("done"), seen);
    }

    [Fact]
    public async Task BatchProgressThroughProgressOfTIsInOrderToo()
    {
        var seen = new List<int>();
        await Task.Run(async () =>
        {
            var (train, _) = Opposed(64);
            var model = new Sequential(new Linear(1, 1));
            var batches = new Progress<BatchProgress>(b => { if (b.Batch % 2 == 1) Thread.Sleep(10); lock (seen) seen.Add((b.Epoch - 1) * 8 + b.Batch); });
            await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), new DataLoader(train, 8), null,
                new FitOptions { Epochs = 2, BatchProgress = batches });
            lock (seen) seen.Add(-1);
        });
        int[] snapshot;
        lock (seen) snapshot = [.. seen];
        Assert.Equal(Enumerable.Range(1, 16).Append(-1), snapshot);
    }

    [Fact]
    public async Task ClipGradNormScalesTheGradientBeforeTheStepAndReportsTheNorm()
    {
        // One full batch, SGD lr 1: the update is exactly the clipped gradient, which is worked out here by hand from a
        // separate backward pass on a copy of the model.
        var (train, _) = Opposed(16);
        var model = new Sequential(new Linear(1, 3, generator: new Generator(2)), new Tanh(), new Linear(3, 1, generator: new Generator(3)));
        var copy = new Sequential(new Linear(1, 3), new Tanh(), new Linear(3, 1));
        copy.LoadStateDict(model.StateDict());
        var (x, y) = train.GetBatch(Enumerable.Range(0, 16).ToArray());
        Mse(copy.Forward(x), y).Backward();
        var grads = copy.Parameters().Select(p => p.Grad!.ToArray<float>().Select(v => (double)v).ToArray()).ToList();
        double norm = Math.Sqrt(grads.Sum(g => g.Sum(v => v * v)));
        const double maxNorm = 0.1;
        Assert.True(norm > maxNorm, $"gradient norm {norm} must exceed the clip for the test to mean anything");
        var before = model.Parameters().Select(p => p.ToArray<float>()).ToList();
        var reported = new List<BatchProgress>();
        await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 1.0), new DataLoader(train, 16), null,
            new FitOptions { Epochs = 1, ClipGradNorm = maxNorm, OnBatchEnd = reported.Add });
        Assert.Equal(norm, Assert.Single(reported).GradNorm, 1e-5);
        double scale = maxNorm / (norm + 1e-6);
        var after = model.Parameters().Select(p => p.ToArray<float>()).ToList();
        for (int i = 0; i < after.Count; i++)
            for (int j = 0; j < after[i].Length; j++)
                Assert.Equal(before[i][j] - scale * grads[i][j], after[i][j], 1e-6);
    }

    [Fact]
    public async Task AfterBackwardRunsBetweenBackwardAndClippingAndCanChangeGradients()
    {
        var (train, _) = Opposed(16);
        var model = new Sequential(new Linear(1, 1, generator: new Generator(2)));
        var calls = new List<BackwardContext>();
        double normBefore = double.NaN;
        var reported = new List<BatchProgress>();
        await Trainer.FitAsync(model, Mse, new Sgd(model.Parameters(), 0.01), new DataLoader(train, 16), null, new FitOptions
        {
            Epochs = 2, ClipGradNorm = 1e9, OnBatchEnd = reported.Add,
            AfterBackward = c =>
            {
                calls.Add(c);
                normBefore = Math.Sqrt(c.Optimizer.Parameters.Sum(p => p.Grad!.ToArray<float>().Sum(v => (double)v * v)));
                foreach (var p in c.Optimizer.Parameters) p.Grad!.CopyFrom(p.Grad * 10); // seen by the clipping that follows
            },
        });
        Assert.Equal([1L, 2L], calls.Select(c => c.Step));
        Assert.Equal([1, 2], calls.Select(c => c.Epoch));
        Assert.Same(model, calls[0].Model);
        Assert.Equal(10 * normBefore, reported[^1].GradNorm, 1e-4 * normBefore);
    }

    [Fact]
    public async Task ClipGradValueClampsEveryElement()
    {
        var (train, _) = Opposed(16);
        var model = new Sequential(new Linear(1, 2, generator: new Generator(2)), new Linear(2, 1, generator: new Generator(4)));
        float[][]? seen = null;
        await Trainer.FitAsync(model, (o, y) => Mse(o, y) * 100, new Sgd(model.Parameters(), 0.0), new DataLoader(train, 16), null, new FitOptions
        {
            Epochs = 1, ClipGradValue = 0.25,
            OnBatchEnd = _ => seen = model.Parameters().Select(p => p.Grad!.ToArray<float>()).ToArray(),
        });
        var all = seen!.SelectMany(g => g).ToArray();
        Assert.All(all, v => Assert.InRange(v, -0.25f, 0.25f));
        Assert.Contains(all, v => Math.Abs(v) == 0.25f); // a loss of this size has gradients far above the clip
    }

    [Fact]
    public async Task ClassificationStillMonitorsValidationAccuracyByDefault()
    {
        var g = new Generator(3);
        int n = 90;
        var x = new float[n * 2];
        var yl = new long[n];
        for (int i = 0; i < n; i++) { yl[i] = i % 3; x[2 * i] = (float)(yl[i] * 3 + g.NextNormal()); x[2 * i + 1] = (float)g.NextNormal(); }
        var data = new TensorDataset(Tensor.FromArray(x, n, 2), Tensor.FromArray(yl));
        var model = new Sequential(new Linear(2, 3, generator: new Generator(1)));
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), new Adam(model.Parameters(), 0.05), new DataLoader(data, 30), data,
            new FitOptions { Epochs = 4, Metrics = [Metric.Accuracy, Metric.F1Macro, Metric.TopKAccuracy(2)] });
        Assert.Equal("val_accuracy", result.Monitor);
        Assert.Equal(MonitorMode.Max, result.Mode);
        foreach (var r in result.History)
        {
            Assert.Equal(r.ValidationAccuracy, r.Metrics["accuracy"], 12);
            Assert.True(r.Metrics["top2_accuracy"] >= r.Metrics["accuracy"]);
        }
    }
}
