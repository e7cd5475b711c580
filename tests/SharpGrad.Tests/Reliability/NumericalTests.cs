using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Reliability;

/// <summary>Numerical robustness: extreme inputs give finite losses and gradients; divergence stops training with a message.</summary>
public sealed class NumericalTests
{
    private static Tensor Extreme(DType dtype) =>
        Tensor.FromArray(new double[] { 1e4, -1e4, 0, 1e4, 1e4, -1e4, -1e4, 0, 3 }, 3, 3).To(dtype);

    private static void AssertFinite(Tensor t, string what)
    {
        foreach (double v in t.ToArray<double>()) Assert.True(double.IsFinite(v), $"{what}: {v}");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void CrossEntropySoftmaxAndSigmoidStayFiniteForInputsOfPlusMinus1e4(DType dtype)
    {
        var targets = Tensor.FromArray(new long[] { 1, 0, 2 });
        var losses = new (string Name, Func<Tensor, Tensor> F)[]
        {
            ("CrossEntropy", x => F.CrossEntropy(x, targets)),
            ("CrossEntropy smoothed", x => F.CrossEntropy(x, targets, labelSmoothing: 0.1)),
            ("LogSoftmax", x => x.LogSoftmax(1).Sum()),
            ("Softmax", x => (x.Softmax(1) * x).Sum()),
            ("Sigmoid", x => x.Sigmoid().Sum()),
            ("BinaryCrossEntropyWithLogits", x => F.BinaryCrossEntropyWithLogits(x, Tensor.Ones(x.Shape).To(dtype))),
            ("LogSumExp", x => x.LogSumExp(1).Sum()),
        };
        foreach (var (name, f) in losses)
        {
            var x = Extreme(dtype);
            x.RequiresGrad = true;
            var y = f(x);
            AssertFinite(y, name);
            y.Backward();
            AssertFinite(x.Grad!, name + " gradient");
        }
        var p = Extreme(dtype).Softmax(1).ToArray<double>();
        Assert.Equal(0.5, p[3], 6);  // two equal maxima of 1e4 share the mass
        Assert.Equal(1.0, p[0], 6);
        Assert.Equal(1.0, Extreme(dtype).Sigmoid().ToArray<double>()[0]);
        Assert.Equal(0.0, Extreme(dtype).Sigmoid().ToArray<double>()[1]);
    }

    [Fact]
    public async Task AStepThatMakesAWeightInfiniteStopsTrainingAndNamesIt()
    {
        // The loss is finite (1e30 in float64 is fine) but its gradient times the rate overflows float32 weights.
        var model = new Sequential(new Linear(2, 1, generator: new Generator(1)));
        var data = new TensorDataset(Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2), Tensor.FromArray(new float[] { 1, 2 }, 2, 1));
        var e = await Assert.ThrowsAsync<TrainingDivergedException>(() => Trainer.FitAsync(model, (o, y) => F.MseLoss(o, y),
            new Sgd(model.Parameters(), lr: 1e38), new DataLoader(data, 2), options: new FitOptions { Epochs = 2 }));
        Assert.Equal(1, e.Step);
        Assert.Contains("Parameter '0.weight' became", e.Message);
        Assert.Contains("at epoch 1, step 1", e.Message);
    }
}
