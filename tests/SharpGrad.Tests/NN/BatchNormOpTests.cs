using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The fused batch-norm op against the same function composed of recorded primitive ops (mean, subtraction, square
/// root, division, broadcasting) and differentiated by the autograd engine, on inputs large enough for the channel
/// split over two cores; and its running statistics against their definition.
/// </summary>
public class BatchNormOpTests
{
    [Theory]
    [InlineData(8, 6, 48, 48, true)]
    [InlineData(8, 6, 48, 48, false)]
    [InlineData(300, 5, 1, 1, true)]
    [InlineData(3, 2, 5, 7, true)]
    public void MatchesTheComposedDefinition(int n, int c, int h, int w, bool training)
    {
        var g = new Generator((ulong)(n * 100 + c * 10 + h));
        var xData = (Tensor.Randn([n, c, h, w], g, DType.Float64) * 3.0 + 1.5).ToArray<double>();
        var wData = Tensor.Randn([c], g, DType.Float64).ToArray<double>();
        var bData = Tensor.Randn([c], g, DType.Float64).ToArray<double>();
        var gyData = Tensor.Randn([n, c, h, w], g, DType.Float64).ToArray<double>();
        var rmData = Tensor.Randn([c], g, DType.Float64).ToArray<double>();
        var rvData = Tensor.Rand([c], g, DType.Float64).ToArray<double>().Select(v => v + 0.5).ToArray();
        const double eps = 1e-5, momentum = 0.3;

        // Fused op.
        var x1 = Tensor.FromArray(xData, n, c, h, w); x1.RequiresGrad = true;
        var w1 = Tensor.FromArray(wData, c); w1.RequiresGrad = true;
        var b1 = Tensor.FromArray(bData, c); b1.RequiresGrad = true;
        var rm = Tensor.FromArray(rmData, c);
        var rv = Tensor.FromArray(rvData, c);
        var y1 = F.BatchNorm(x1, rm, rv, w1, b1, training, momentum, eps);
        y1.Backward(Tensor.FromArray(gyData, n, c, h, w));

        // Composed reference: statistics over dimensions 0, 2, 3 with keepDim, then broadcasting.
        var x2 = Tensor.FromArray(xData, n, c, h, w); x2.RequiresGrad = true;
        var w2 = Tensor.FromArray(wData, c); w2.RequiresGrad = true;
        var b2 = Tensor.FromArray(bData, c); b2.RequiresGrad = true;
        Tensor mean, variance;
        if (training)
        {
            mean = x2.Mean(0, keepDim: true).Mean(2, keepDim: true).Mean(3, keepDim: true);
            var centered = x2 - mean;
            variance = (centered * centered).Mean(0, keepDim: true).Mean(2, keepDim: true).Mean(3, keepDim: true);
        }
        else
        {
            mean = Tensor.FromArray(rmData, 1, c, 1, 1);
            variance = Tensor.FromArray(rvData, 1, c, 1, 1);
        }
        var y2 = (x2 - mean) / (variance + eps).Sqrt() * w2.Reshape(1, c, 1, 1) + b2.Reshape(1, c, 1, 1);
        y2.Backward(Tensor.FromArray(gyData, n, c, h, w));

        AssertClose(y2, y1, "output");
        AssertClose(x2.Grad!, x1.Grad!, "input gradient");
        AssertClose(w2.Grad!, w1.Grad!, "weight gradient");
        AssertClose(b2.Grad!, b1.Grad!, "bias gradient");

        // Running statistics: (1 - momentum)·old + momentum·batch, with the unbiased batch variance.
        var expectedMean = rmData.ToArray();
        var expectedVar = rvData.ToArray();
        if (training)
        {
            double count = (double)n * h * w;
            var m = mean.ToArray<double>();
            var v = variance.ToArray<double>();
            for (int ch = 0; ch < c; ch++)
            {
                expectedMean[ch] = (1 - momentum) * rmData[ch] + momentum * m[ch];
                expectedVar[ch] = (1 - momentum) * rvData[ch] + momentum * v[ch] * count / (count - 1);
            }
        }
        AssertClose(Tensor.FromArray(expectedMean, c), rm, "running mean");
        AssertClose(Tensor.FromArray(expectedVar, c), rv, "running variance");
    }

    [Fact]
    public void Float32AgreesWithFloat64()
    {
        var g = new Generator(9);
        var x = Tensor.Randn([16, 4, 20, 20], g, DType.Float64) * 10.0 + 100.0; // a large mean: the centring must be exact
        var y64 = F.BatchNorm(x, null, null, training: true).ToArray<double>();
        var y32 = F.BatchNorm(x.To(DType.Float32), null, null, training: true).ToArray<double>();
        for (int i = 0; i < y64.Length; i++) Assert.True(Math.Abs(y64[i] - y32[i]) < 1e-4, $"element {i}: {y32[i]} vs {y64[i]}");
    }

    [Fact]
    public void DoubleBackwardThroughTheFusedOpIsRefusedNotWrong()
    {
        var x = Tensor.Randn([4, 3], new Generator(3), DType.Float64, requiresGrad: true);
        var y = F.BatchNorm(x, null, null, training: true);
        var ex = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad((y * y).Sum(), [x], createGraph: true));
        Assert.Contains("BatchNorm", ex.Message);
    }

    [Fact]
    public void ShapeErrorsNameBothShapes()
    {
        var x = Tensor.Zeros([2, 3, 4, 4]);
        var ex = Assert.Throws<ArgumentException>(() => F.BatchNorm(x, null, null, Tensor.Ones([4]), null));
        Assert.Contains("[3]", ex.Message);
        Assert.Contains("[2, 3, 4, 4]", ex.Message);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        var e = expected.ToArray<double>();
        var a = actual.ToArray<double>();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            if (!(Math.Abs(e[i] - a[i]) <= 1e-9 * (1 + Math.Abs(e[i]))))
                Assert.Fail($"{what}: element {i} is {a[i]}, expected {e[i]}.");
    }
}
