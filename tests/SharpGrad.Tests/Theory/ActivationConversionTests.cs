using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 001 Q4 / seed 002 Q4: sigmoid and tanh networks converted exactly, checked on random inputs.</summary>
public class ActivationConversionTests
{
    private static TwoLayerNet RandomNet(Activation act, int d, int m, int k, Generator g, DType dtype = DType.Float64) =>
        new(Tensor.Randn([m, d], g, dtype) * 2, Tensor.Randn([m], g, dtype), Tensor.Randn([k, m], g, dtype) * 3, Tensor.Randn([k], g, dtype), act);

    private static double MaxDiff(Tensor a, Tensor b)
    {
        double[] x = a.ToArray<double>(), y = b.ToArray<double>();
        Assert.Equal(x.Length, y.Length);
        return x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 2)]
    [InlineData(10, 32, 4)]
    public void SigmoidNetworkBecomesAnEqualTanhNetwork(int d, int m, int k)
    {
        var g = new Generator(100 + (ulong)(d * m * k));
        var net = RandomNet(Activation.Sigmoid, d, m, k, g);
        var tanhNet = ActivationConversion.SigmoidToTanh(net);
        Assert.Equal(Activation.Tanh, tanhNet.Activation);
        var x = Tensor.Randn([200, d], g, DType.Float64) * 4;
        Assert.True(MaxDiff(net.Forward(x), tanhNet.Forward(x)) < 1e-12);
        // The parameters as the sheet states them: W1/2, b1/2, W2/2, b2 + W2·1/2.
        TestUtil.AllClose(net.W1.ToArray<double>().Select(v => v / 2).ToArray(), tanhNet.W1, 0, 0);
        TestUtil.AllClose(net.B1.ToArray<double>().Select(v => v / 2).ToArray(), tanhNet.B1, 0, 0);
        TestUtil.AllClose(net.W2.ToArray<double>().Select(v => v / 2).ToArray(), tanhNet.W2, 0, 0);
        var w2 = net.W2.ToArray<double>();
        var b2 = net.B2.ToArray<double>();
        var expectedB2 = Enumerable.Range(0, k).Select(r => b2[r] + Enumerable.Range(0, m).Sum(j => w2[r * m + j]) / 2).ToArray();
        TestUtil.AllClose(expectedB2, tanhNet.B2, 1e-14, 1e-14);
    }

    [Theory]
    [InlineData(2, 7, 3)]
    [InlineData(6, 16, 1)]
    public void TanhNetworkBecomesAnEqualSigmoidNetwork(int d, int m, int k)
    {
        var g = new Generator(200 + (ulong)(d * m * k));
        var net = RandomNet(Activation.Tanh, d, m, k, g);
        var sigmoidNet = ActivationConversion.TanhToSigmoid(net);
        Assert.Equal(Activation.Sigmoid, sigmoidNet.Activation);
        var x = Tensor.Randn([200, d], g, DType.Float64) * 4;
        Assert.True(MaxDiff(net.Forward(x), sigmoidNet.Forward(x)) < 1e-12);
        // Round trip: weights come back bit for bit (halving and doubling are exact).
        var back = ActivationConversion.SigmoidToTanh(sigmoidNet);
        Assert.Equal(net.W1.ToArray<double>(), back.W1.ToArray<double>());
        Assert.Equal(net.W2.ToArray<double>(), back.W2.ToArray<double>());
        TestUtil.AllClose(net.B2.ToArray<double>(), back.B2, 1e-14, 1e-14);
    }

    [Fact]
    public void SingleInputsAndFloat32Work()
    {
        var g = new Generator(3);
        var net = RandomNet(Activation.Sigmoid, 4, 6, 2, g, DType.Float32);
        var converted = ActivationConversion.Convert(net, Activation.Tanh);
        Assert.Equal(DType.Float32, converted.DType);
        var x = Tensor.Randn([4], g);
        Assert.Equal([2], net.Forward(x).Shape);
        Assert.True(MaxDiff(net.Forward(x), converted.Forward(x)) < 1e-5);
        Assert.Same(net, ActivationConversion.Convert(net, Activation.Sigmoid));
    }

    [Fact]
    public void ConversionsOutsideTheFamilyAreErrors()
    {
        var g = new Generator(4);
        var relu = RandomNet(Activation.Relu, 2, 3, 1, g);
        Assert.Throws<ArgumentException>(() => ActivationConversion.Convert(relu, Activation.Tanh));
        Assert.Throws<ArgumentException>(() => ActivationConversion.Convert(RandomNet(Activation.Tanh, 2, 3, 1, g), Activation.Relu));
        Assert.Throws<ArgumentException>(() => ActivationConversion.SigmoidToTanh(RandomNet(Activation.Tanh, 2, 3, 1, g)));
        var e = Assert.Throws<ArgumentException>(() => new TwoLayerNet(Tensor.Zeros([3, 2], DType.Float64), Tensor.Zeros([3], DType.Float64),
            Tensor.Zeros([1, 4], DType.Float64), Tensor.Zeros([1], DType.Float64), Activation.Tanh));
        Assert.Contains("W2 [1, 4]", e.Message);
    }
}
