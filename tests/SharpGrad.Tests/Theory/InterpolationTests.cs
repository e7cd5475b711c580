using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 001 Q5: the interpolating networks, checked by evaluating their weights with plain loops.</summary>
public class InterpolationTests
{
    /// <summary>y = W2 φ(W1 x + b1) + b2 for one scalar x, straight from the weight arrays: no tensors involved.</summary>
    private static double Plain(TwoLayerNet net, double x)
    {
        double[] w1 = net.W1.ToArray<double>(), b1 = net.B1.ToArray<double>(), w2 = net.W2.ToArray<double>();
        double y = net.B2.ToArray<double>()[0];
        for (int j = 0; j < w1.Length; j++)
        {
            double z = w1[j] * x + b1[j];
            double h = net.Activation switch
            {
                Activation.Relu => Math.Max(0, z),
                Activation.Sigmoid => 1 / (1 + Math.Exp(-z)),
                _ => Math.Tanh(z),
            };
            y += w2[j] * h;
        }
        return y;
    }

    private static double PlainMaxError(Interpolant f, double[] x, double[] y)
    {
        double worst = 0;
        for (int i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs(Plain(f.Network, x[i]) - y[i]));
        return worst;
    }

    private static (double[] X, double[] Y) RandomPoints(int n, ulong seed)
    {
        var g = new Generator(seed);
        var x = new HashSet<double>();
        while (x.Count < n) x.Add(Math.Round(g.NextNormal() * 10, 3));
        var xs = x.ToArray();
        var ys = xs.Select(_ => g.NextNormal() * 5).ToArray();
        return (xs, ys);
    }

    [Theory]
    [InlineData(2, 1UL)]
    [InlineData(5, 2UL)]
    [InlineData(20, 3UL)]
    [InlineData(100, 4UL)]
    public void ReluHingesInterpolateExactly(int n, ulong seed)
    {
        var (x, y) = RandomPoints(n, seed);
        var f = Interpolation.Relu(x, y);
        Assert.Equal(n - 1, f.Network.HiddenSize);
        Assert.Equal([n - 1, 1], f.Network.W1.Shape);
        Assert.Equal([1, n - 1], f.Network.W2.Shape);
        Assert.Equal(Activation.Relu, f.Network.Activation);
        double plain = PlainMaxError(f, x, y);
        Assert.True(plain < 1e-9, $"plain-loop max error {plain}");
        Assert.True(f.MaxAbsError < 1e-9, $"reported max error {f.MaxAbsError}");
        Assert.Equal(plain, f.MaxAbsError, 1e-9);
    }

    [Fact]
    public void ReluNetworkIsThePiecewiseLinearInterpolant()
    {
        double[] x = [3, -1, 0, 2];
        double[] y = [0, 1, -1, 4];
        var f = Interpolation.Relu(x, y);
        Assert.Equal([-1.0, 0, 2, 3], f.X);
        Assert.Equal(1.0, f.Evaluate(-1), 12);
        Assert.Equal(0.0, f.Evaluate(-0.5), 12);  // halfway between (-1, 1) and (0, -1)
        Assert.Equal(1.5, f.Evaluate(1), 12);     // halfway between (0, -1) and (2, 4)
        Assert.Equal(2.0, f.Evaluate(2.5), 12);   // halfway between (2, 4) and (3, 0)
        Assert.Equal(1.0, f.Evaluate(-3), 12);    // flat to the left of the first point (all hinges off)
        Assert.Equal(-4.0, f.Evaluate(4), 12);    // the last segment's slope -4 continues to the right
        Assert.Equal(0.0, f.MaxAbsError, 12);
    }

    [Fact]
    public void SigmoidStepErrorFallsToZeroAsSteepnessGrows()
    {
        var (x, y) = RandomPoints(12, 5);
        double previous = double.PositiveInfinity;
        foreach (double k in new[] { 1.0, 10, 100, 1000, 10000, 1e5 })
        {
            var f = Interpolation.SigmoidSteps(x, y, k);
            Assert.Equal(11, f.Network.HiddenSize);
            Assert.Equal(k, f.Steepness);
            double plain = PlainMaxError(f, x, y);
            Assert.Equal(plain, f.MaxAbsError, 1e-9);
            Assert.True(f.MaxAbsError <= f.ErrorBound + 1e-12, $"k={k}: error {f.MaxAbsError} above the bound {f.ErrorBound}");
            Assert.True(f.ErrorBound <= previous, $"k={k}: the bound grew");
            previous = f.ErrorBound;
        }
        Assert.True(Interpolation.SigmoidSteps(x, y, 1e5).MaxAbsError < 1e-12);
        Assert.True(Interpolation.SigmoidSteps(x, y, 1).MaxAbsError > 1e-3); // gentle steps miss the data
    }

    [Fact]
    public void SteepnessForMeetsTheTolerance()
    {
        var (x, y) = RandomPoints(30, 6);
        foreach (double tol in new[] { 1e-2, 1e-6, 1e-10 })
        {
            var f = Interpolation.SigmoidSteps(x, y, Interpolation.SteepnessFor(x, y, tol));
            Assert.True(f.ErrorBound <= tol, $"bound {f.ErrorBound} for tolerance {tol}");
            Assert.True(PlainMaxError(f, x, y) <= tol + 1e-12);
        }
    }

    [Fact]
    public void RepeatedPointsMergeAndConflictsAreErrors()
    {
        var f = Interpolation.Relu([1, 2, 1, 3], [5, 6, 5, 7]);
        Assert.Equal(2, f.Network.HiddenSize);
        Assert.Equal(0.0, f.MaxAbsError, 12);
        var e = Assert.Throws<ArgumentException>(() => Interpolation.Relu([1, 2, 1], [5, 6, 4]));
        Assert.Contains("x = 1", e.Message);
        Assert.Contains("5", e.Message);
        Assert.Contains("4", e.Message);
        Assert.Throws<ArgumentException>(() => Interpolation.SigmoidSteps([0, 0], [1, 2], 10));
        Assert.Throws<ArgumentException>(() => Interpolation.Relu([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => Interpolation.Relu([], []));
        Assert.Throws<ArgumentException>(() => Interpolation.Relu([double.NaN], [1]));
        Assert.Throws<ArgumentException>(() => Interpolation.SigmoidSteps([1, 2], [1, 2], 0));
    }

    [Fact]
    public void OnePointNeedsNoHiddenUnit()
    {
        var f = Interpolation.Relu([2.5], [-7]);
        Assert.Equal(0, f.Network.HiddenSize);
        Assert.Equal(-7.0, f.Evaluate(100));
        Assert.Equal(0.0, f.MaxAbsError);
    }
}
