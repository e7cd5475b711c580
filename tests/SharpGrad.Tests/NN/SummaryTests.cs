using SharpGrad.NN;

namespace SharpGrad.Tests.NN;

/// <summary>Issue 17 item 6: <see cref="Utils.Summary"/>, checked against shapes and counts worked out by hand.</summary>
public class SummaryTests
{
    [Fact]
    public void MlpRowsShapesCountsAndMemory()
    {
        var model = Models.Mlp(784, [256, 128], 10, generator: new Generator(0));
        var s = Utils.Summary(model, [3, 784]);
        var leaves = s.Layers.Where(l => l.IsLeaf).ToList();
        Assert.Equal(["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"], leaves.Select(l => l.Type));
        Assert.Equal(new[] { new[] { 3, 784 }, [3, 256], [3, 256], [3, 128], [3, 128], [3, 10] }, leaves.Select(l => l.OutputShape!));
        // Linear(in, out) has in*out + out parameters.
        Assert.Equal(new long[] { 0, 784 * 256 + 256, 0, 256 * 128 + 128, 0, 128 * 10 + 10 }, leaves.Select(l => l.Parameters));
        long total = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
        Assert.Equal(total, s.TotalParameters);
        Assert.Equal(total, s.TrainableParameters);
        Assert.Equal(total * 4, s.ParameterBytes);
        Assert.Equal(4L * 3 * (784 + 256 + 256 + 128 + 128 + 10), s.ActivationBytes); // every leaf's output, Flatten's included
        Assert.Equal(4L * 3 * 784, s.InputBytes);
        Assert.Equal("(model)", s.Layers[0].Name);
        Assert.Equal([3, 10], s.Layers[0].OutputShape!);
        Assert.Equal(["0", "1", "2", "3", "4", "5"], leaves.Select(l => l.Name)); // state-dict paths
        var text = s.ToString();
        Assert.Contains("[3, 256]", text);
        Assert.Contains(total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), text);
    }

    /// <summary>A module that is not a Sequential: run as a whole, its children listed without shapes.</summary>
    private sealed class Residual : Module
    {
        private readonly Linear _inner;
        public Residual(int n) => _inner = RegisterModule("inner", new Linear(n, n));
        public override Tensor Forward(Tensor input) => input + _inner.Forward(input);
    }

    [Fact]
    public void ConvolutionShapesFollowTheOutputSizeFormulaAndNestingIsShown()
    {
        // 28x28 -> conv 3x3: 26x26 -> pool 2: 13x13 -> flatten 4*13*13 = 676 -> Linear(676, 10); a residual block on top.
        var model = new Sequential(
            new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2)),
            new Flatten(), new Linear(676, 10), new Residual(10));
        var before = ((BatchNorm2d)((Sequential)model[0])[1]).RunningMean.ToArray<float>();
        model.Train();
        var s = Utils.Summary(model, [2, 1, 28, 28]);
        var byName = s.Layers.ToDictionary(l => l.Name);
        Assert.Equal([2, 4, 26, 26], byName["0.0"].OutputShape!);
        Assert.Equal([2, 4, 13, 13], byName["0.3"].OutputShape!);
        Assert.Equal([2, 4, 13, 13], byName["0"].OutputShape!);
        Assert.Equal(1, byName["0"].Depth);
        Assert.Equal(2, byName["0.0"].Depth);
        Assert.Equal([2, 676], byName["1"].OutputShape!);
        Assert.Equal([2, 10], byName["3"].OutputShape!);
        Assert.Null(byName["3.inner"].OutputShape); // inside a module that is run whole
        Assert.Equal(10 * 10 + 10, byName["3.inner"].Parameters);
        Assert.Equal(4 * 9 + 4, byName["0.0"].Parameters);
        Assert.Equal(4 * 9 + 4 + 2 * 4, byName["0"].Parameters); // conv + batch norm's weight and bias
        Assert.Equal(4 * 4 + 4 * 4 + 8, s.BufferBytes); // running mean and variance, 4 float32 each, and the int64 num_batches_tracked
        Assert.Equal(model.ParameterCount(), s.TotalParameters);
        // The trial pass changes nothing: BatchNorm's statistics and the training mode are as they were.
        Assert.Equal(before, ((BatchNorm2d)((Sequential)model[0])[1]).RunningMean.ToArray<float>());
        Assert.True(model.Training);
    }

    [Fact]
    public void FrozenParametersAreNotTrainableAndAWrongShapeNamesTheLayer()
    {
        var model = new Sequential(new Linear(4, 3), new Linear(3, 2));
        foreach (var p in ((Linear)model[0]).Parameters()) p.RequiresGrad = false;
        var s = Utils.Summary(model, [1, 4]);
        Assert.Equal(4 * 3 + 3 + 3 * 2 + 2, s.TotalParameters);
        Assert.Equal(3 * 2 + 2, s.TrainableParameters);
        var e = Assert.Throws<ArgumentException>(() => Utils.Summary(model, [1, 5]));
        Assert.Contains("'0'", e.Message);
        Assert.Contains("[1, 5]", e.Message);
    }
}
