using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 001 Q6 and the properties of <see cref="Signal"/> that do not need NumPy.</summary>
public class SignalTests
{
    private static readonly double[] A = [1, 2, 3, 4];
    private static readonly double[] K = [1, 0, 2];

    [Theory]
    [InlineData(ConvMode.Full, new double[] { 1, 2, 5, 8, 6, 8 })]
    [InlineData(ConvMode.Valid, new double[] { 5, 8 })]
    [InlineData(ConvMode.Same, new double[] { 2, 5, 8, 6 })]
    public void Seed001Q6ConvolutionModes(ConvMode mode, double[] expected)
    {
        Assert.Equal(expected, Signal.Convolve(A, K, mode));
        Assert.Equal(expected, Signal.Convolve(Tensor.FromArray(A), Tensor.FromArray(K), mode).ToArray<double>());
        // NumPy lets the longer sequence be the signal, so the order of the arguments does not matter.
        Assert.Equal(expected, Signal.Convolve(K, A, mode));
    }

    [Fact]
    public void ConvLayersCorrelateWithoutFlipping()
    {
        // What a PyTorch Conv1d with weight [1, 0, 2] computes on [1, 2, 3, 4]: no flip, [1+6, 2+8].
        Assert.Equal([7.0, 10.0], Signal.CrossCorrelate(A, K, ConvMode.Valid));
        Assert.NotEqual(Signal.Convolve(A, K, ConvMode.Valid), Signal.CrossCorrelate(A, K, ConvMode.Valid));
        // Flipping the kernel turns one into the other.
        foreach (ConvMode mode in Enum.GetValues<ConvMode>())
            Assert.Equal(Signal.Convolve(A, K, mode), Signal.CrossCorrelate(A, [2, 0, 1], mode));
    }

    [Theory]
    [InlineData(4, 3, ConvMode.Full, 6)]
    [InlineData(4, 3, ConvMode.Valid, 2)]
    [InlineData(4, 3, ConvMode.Same, 4)]
    [InlineData(3, 4, ConvMode.Valid, 2)]
    [InlineData(3, 4, ConvMode.Same, 4)]
    [InlineData(1, 1, ConvMode.Full, 1)]
    public void OutputLengths(int n, int m, ConvMode mode, int expected) => Assert.Equal(expected, Signal.OutputLength(n, m, mode));

    [Fact]
    public void MatchesTheDefinitionByDirectSummation()
    {
        var g = new Generator(7);
        for (int n = 1; n <= 9; n++)
            for (int m = 1; m <= 9; m++)
            {
                var a = Randoms(g, n);
                var k = Randoms(g, m);
                // full[t] = Σ_q a[t − q] k[q], written independently of the library's sliding formulation.
                var full = new double[n + m - 1];
                for (int t = 0; t < full.Length; t++)
                    for (int q = 0; q < m; q++)
                        if (t - q >= 0 && t - q < n) full[t] += a[t - q] * k[q];
                TestUtil.AllClose(full, Signal.Convolve(a, k, ConvMode.Full), what: $"full n={n} m={m}");
                int shortLen = Math.Min(n, m);
                TestUtil.AllClose(full[(shortLen - 1)..(Math.Max(n, m))], Signal.Convolve(a, k, ConvMode.Valid), what: $"valid n={n} m={m}");
                int start = (shortLen - 1) / 2;
                TestUtil.AllClose(full[start..(start + Math.Max(n, m))], Signal.Convolve(a, k, ConvMode.Same), what: $"same n={n} m={m}");
            }
    }

    [Fact]
    public void Float32TensorsStayFloat32()
    {
        var y = Signal.Convolve(Tensor.FromArray(new float[] { 1, 2, 3, 4 }), Tensor.FromArray(new float[] { 1, 0, 2 }), ConvMode.Same);
        Assert.Equal(DType.Float32, y.DType);
        Assert.Equal([2f, 5f, 8f, 6f], y.ToArray<float>());
    }

    [Theory]
    [InlineData(ConvMode.Full, 5, 3)]
    [InlineData(ConvMode.Valid, 5, 3)]
    [InlineData(ConvMode.Same, 5, 4)]
    [InlineData(ConvMode.Same, 3, 6)]
    [InlineData(ConvMode.Valid, 2, 5)]
    public void GradientsPassFiniteDifferences(ConvMode mode, int n, int m)
    {
        var g = new Generator(11);
        var a = Tensor.Randn([n], g, DType.Float64);
        var k = Tensor.Randn([m], g, DType.Float64);
        var conv = GradCheck.Check(x => Signal.Convolve(x[0], x[1], mode), a, k);
        Assert.True(conv.Passed, conv.ToString());
        var corr = GradCheck.Check(x => Signal.CrossCorrelate(x[0], x[1], mode), a, k);
        Assert.True(corr.Passed, corr.ToString());
    }

    [Fact]
    public void SecondDerivativesAreAvailable()
    {
        // L = Σ (a ∗ k)² is quadratic; its Hessian in a is 2 Cᵀ C with C the convolution matrix of k.
        var k = Tensor.FromArray([1.0, -2.0, 0.5]);
        var a = Tensor.FromArray([0.3, -1.0, 2.0, 0.7]);
        var h = Hessian.Compute(x => Signal.Convolve(x, k, ConvMode.Full).Pow(2).Sum(), a).ToArray<double>();
        var kk = k.ToArray<double>();
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < 4; q++)
            {
                double expected = 0;
                for (int t = 0; t < 6; t++)
                {
                    double cp = t - p >= 0 && t - p < 3 ? kk[t - p] : 0, cq = t - q >= 0 && t - q < 3 ? kk[t - q] : 0;
                    expected += 2 * cp * cq;
                }
                Assert.Equal(expected, h[p * 4 + q], 10);
            }
    }

    [Fact]
    public void BadInputsAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Signal.Convolve([], [1.0], ConvMode.Full));
        Assert.Contains("empty", e.Message);
        Assert.Throws<ArgumentException>(() => Signal.CrossCorrelate([1.0], [], ConvMode.Full));
        var e2 = Assert.Throws<ArgumentException>(() => Signal.Convolve(Tensor.Zeros([2, 2], DType.Float64), Tensor.Zeros([2], DType.Float64)));
        Assert.Contains("[2, 2]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Signal.Convolve(Tensor.Zeros([2], DType.Float64), Tensor.Zeros([2], DType.Float32)));
        Assert.Contains("float32", e3.Message);
    }

    private static double[] Randoms(Generator g, int n)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = g.NextNormal();
        return r;
    }
}
