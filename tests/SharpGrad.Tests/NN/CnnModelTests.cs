using SharpGrad.NN;

namespace SharpGrad.Tests.NN;

/// <summary>The ready-made CNN: parameter counts from the layer arithmetic, output shapes, and its padding variant.</summary>
public class CnnModelTests
{
    // conv1 32·(1·25) + 32, conv2 64·(32·25) + 64, batch norm 2·32 + 2·64, classifier 10·features + 10.
    [Theory]
    [InlineData(0, false, 5, 32 * 25 + 32 + 64 * 800 + 64 + 10 * 1024 + 10)]
    [InlineData(0, true, 5, 32 * 25 + 32 + 64 * 800 + 64 + 2 * 32 + 2 * 64 + 10 * 1024 + 10)]
    [InlineData(2, true, 5, 32 * 25 + 32 + 64 * 800 + 64 + 2 * 32 + 2 * 64 + 10 * 3136 + 10)]
    [InlineData(1, false, 5, 32 * 25 + 32 + 64 * 800 + 64 + 10 * (64 * 5 * 5) + 10)]
    // 3x3 kernels: conv1 32·9 + 32, conv2 64·(32·9) + 64; padding 1 keeps 28 → 14 → 7, none gives 26 → 13 → 11 → 5
    [InlineData(1, true, 3, 32 * 9 + 32 + 64 * 288 + 64 + 2 * 32 + 2 * 64 + 10 * 3136 + 10)]
    [InlineData(0, false, 3, 32 * 9 + 32 + 64 * 288 + 64 + 10 * (64 * 5 * 5) + 10)]
    public void ParameterCountAndOutputShape(int padding, bool batchNorm, int kernel, int expectedParameters)
    {
        var model = Models.Cnn(batchNorm: batchNorm, generator: new Generator(1), padding: padding, kernelSize: kernel);
        Assert.Equal(expectedParameters, model.Parameters().Sum(p => p.Numel));
        Assert.True(expectedParameters < 100_000);
        var y = model.Forward(Tensor.Rand([3, 1, 28, 28], new Generator(2)));
        Assert.Equal(new[] { 3, 10 }, y.Shape);
    }

    [Fact]
    public void PaddingThatWouldGrowTheImageAndOtherKernelSizesAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Models.Cnn(padding: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Models.Cnn(padding: 2, kernelSize: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Models.Cnn(kernelSize: 4));
    }

    // Staged (VGG-style) CNN: each 3x3 convolution has out·(in·9) weights and out biases, each batch norm 2·out
    // parameters; the pools halve 28 → 14 → 7 → 3, and the classifier sees last channels · side².
    [Theory]
    [InlineData("32/64/96", 32 * 9 + 32 + 64 * 32 * 9 + 64 + 96 * 64 * 9 + 96 + 2 * (32 + 64 + 96) + 10 * (96 * 3 * 3) + 10)]
    [InlineData("32/64,64", 32 * 9 + 32 + 64 * 32 * 9 + 64 + 64 * 64 * 9 + 64 + 2 * (32 + 64 + 64) + 10 * (64 * 7 * 7) + 10)]
    [InlineData("8", 8 * 9 + 8 + 2 * 8 + 10 * (8 * 14 * 14) + 10)]
    public void StagedCnnParameterCountAndOutputShape(string stages, int expectedParameters)
    {
        var spec = stages.Split('/').Select(s => (IReadOnlyList<int>)s.Split(',').Select(int.Parse).ToArray()).ToArray();
        var model = Models.StagedCnn(spec, dropout: 0.3, generator: new Generator(1));
        Assert.Equal(expectedParameters, model.Parameters().Sum(p => p.Numel));
        var y = model.Forward(Tensor.Rand([2, 1, 28, 28], new Generator(2)));
        Assert.Equal(new[] { 2, 10 }, y.Shape);
    }

    [Fact]
    public void StagedCnnLayersComeInTheDocumentedOrder()
    {
        var model = Models.StagedCnn([[4], [6, 8]], dropout: 0.5, generator: new Generator(1));
        var kinds = model.NamedChildren().Select(c => c.Value.GetType().Name).ToArray();
        Assert.Equal(new[] { "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Dropout", "Linear" }, kinds);
        var noBn = Models.StagedCnn([[4]], batchNorm: false, activation: Activation.Tanh);
        Assert.Equal(new[] { "Conv2d", "Tanh", "MaxPool2d", "Flatten", "Linear" }, noBn.NamedChildren().Select(c => c.Value.GetType().Name).ToArray());
    }

    [Fact]
    public void StagedCnnRefusesEmptyStagesBadChannelsAndTooManyPools()
    {
        Assert.Contains("at least one stage", Assert.Throws<ArgumentException>(() => Models.StagedCnn([])).Message);
        Assert.Contains("stage 1 has no convolution", Assert.Throws<ArgumentException>(() => Models.StagedCnn([[8], []])).Message);
        Assert.Contains("channel count of 0", Assert.Throws<ArgumentException>(() => Models.StagedCnn([[8, 0]])).Message);
        Assert.Contains("below 1x1", Assert.Throws<ArgumentException>(() => Models.StagedCnn([[2], [2], [2]], inputSize: 4)).Message);
    }
}
