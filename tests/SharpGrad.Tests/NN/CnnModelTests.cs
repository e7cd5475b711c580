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
}
