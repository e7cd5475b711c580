using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Training;

public class TrainerTests
{
    private static TensorDataset Blobs(int n, ulong seed)
    {
        // Three Gaussian blobs in 2-D around (0, 3), (3, -2), (-3, -2): separable well above chance.
        var g = new Generator(seed);
        double[][] centers = [[0, 3], [3, -2], [-3, -2]];
        var x = new float[n * 2];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            y[i] = c;
            x[2 * i] = (float)(centers[c][0] + g.NextNormal());
            x[2 * i + 1] = (float)(centers[c][1] + g.NextNormal());
        }
        return new TensorDataset(Tensor.FromArray(x, n, 2), Tensor.FromArray(y));
    }

    /// <summary>A layer that remembers its last output, as a user's module might (for a plot, say).</summary>
    private sealed class Remember(bool clone) : Module
    {
        public Tensor? Last;

        public override Tensor Forward(Tensor input)
        {
            var y = input * 2;
            Last = clone ? y.Clone() : y;
            return y;
        }
    }

    [Theory]
    [InlineData(false, 600)]
    [InlineData(true, 600)]
    [InlineData(false, 5)]
    [InlineData(true, 5)]
    public async Task TensorsAStepMakesAreRecycledUnlessClonedWhateverTheirSize(bool clone, int width)
    {
        var remember = new Remember(clone);
        var model = new Sequential(new Linear(2, width, generator: new Generator(1)), remember, new Linear(width, 3, generator: new Generator(2)));
        await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), new Sgd(model.Parameters(), 0.01),
            new DataLoader(Blobs(60, 3), 30), options: new FitOptions { Epochs = 1, Compile = false });
        // 30 x 600 elements are pooled storage, 30 x 5 are not: both belong to the step's scope and expire with it. (Eager
        // steps: a compiled step's tensors belong to its plan, which overwrites them at every replay.)
        if (clone) Assert.Equal(30 * width, remember.Last!.ToArray<float>().Length);
        else Assert.Throws<ObjectDisposedException>(() => remember.Last!.ToArray<float>());
        // The parameters and their gradients are the model's: usable after training.
        foreach (var p in model.Parameters())
        {
            Assert.All(p.ToArray<float>(), v => Assert.True(float.IsFinite(v)));
            Assert.NotNull(p.Grad);
            Assert.Equal(p.Numel, p.Grad!.ToArray<float>().Length);
        }
    }

    [Fact]
    public async Task FitLearnsAndReportsEveryEpoch()
    {
        var model = new Sequential(new Linear(2, 16, generator: new Generator(1)), new ReLU(), new Linear(16, 3, generator: new Generator(2)));
        var reports = new List<EpochReport>();
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), new Adam(model.Parameters(), 0.01),
            new DataLoader(Blobs(600, 3), 32, shuffle: true, generator: new Generator(4)), Blobs(300, 5),
            new FitOptions { Epochs = 5 }, new SyncProgress<EpochReport>(reports.Add));
        Assert.Equal(5, result.History.Count);
        Assert.Equal(5, reports.Count);
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss);
        Assert.True(result.BestValidationAccuracy > 0.9, $"validation accuracy {result.BestValidationAccuracy}");
        Assert.Equal(result.BestValidationAccuracy, Trainer.Accuracy(model, Blobs(300, 5)), 12); // best weights restored
        Assert.False(model.Training);
    }

    [Fact]
    public async Task ADivergingRunStopsWithTheStepAndLastFiniteLoss()
    {
        var model = new Sequential(new Linear(2, 3, generator: new Generator(1)));
        var e = await Assert.ThrowsAsync<NonFiniteLossException>(() => Trainer.FitAsync(model, (o, y) => F.MseLoss(o, Tensor.Ones(o.Shape) * 1e3),
            new Sgd(model.Parameters(), lr: 1e6), new DataLoader(Blobs(64, 1), 16), options: new FitOptions { Epochs = 3 }));
        Assert.True(e.Step >= 2);
        Assert.True(double.IsFinite(e.LastFiniteLoss));
        Assert.Contains($"step {e.Step}", e.Message);
    }

    [Fact]
    public async Task CancellationBeforeTheStartReturnsAnEmptyResult()
    {
        var model = new Sequential(new Linear(2, 3));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y),
            new Sgd(model.Parameters(), 0.1), new DataLoader(Blobs(64, 1), 16), cancellationToken: cts.Token);
        Assert.True(result.Cancelled);
        Assert.Empty(result.History);
        Assert.False(model.Training);
    }

    [FashionMnistFact]
    public async Task ShortRunOnAFashionMnistSliceIsWellAboveChance()
    {
        var data = FashionMnist.Load();
        var model = new Sequential(new Flatten(), new Linear(784, 64, generator: new Generator(1)), new ReLU(), new Linear(64, 10, generator: new Generator(2)));
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), new Adam(model.Parameters(), 2e-3),
            new DataLoader(data.Train.Slice(0, 2000), 32, shuffle: true, generator: new Generator(3)), data.Validation.Slice(0, 1000),
            new FitOptions { Epochs = 3 });
        Assert.True(result.BestValidationAccuracy > 0.65, $"validation accuracy {result.BestValidationAccuracy} (chance is 0.1)");
    }

    [FashionMnistFact]
    public async Task TheResultsCnnLearnsAFashionMnistSliceWellAboveChance()
    {
        // The architecture of RESULTS.md's CNN row, two epochs on 2,000 images: a broken convolution, pooling or batch
        // norm backward would leave it near chance.
        var data = FashionMnist.Load();
        var model = Models.StagedCnn([[32], [64], [96]], dropout: 0.3, generator: new Generator(1));
        var result = await Trainer.FitAsync(model, (o, y) => F.CrossEntropy(o, y), new Adam(model.Parameters(), 2e-3),
            new DataLoader(data.Train.Slice(0, 2000), 64, shuffle: true, generator: new Generator(3)), data.Validation.Slice(0, 1000),
            new FitOptions { Epochs = 2 });
        Assert.True(result.BestValidationAccuracy > 0.7, $"validation accuracy {result.BestValidationAccuracy} (chance is 0.1)");
    }
}

/// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool, which races the assertions).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
