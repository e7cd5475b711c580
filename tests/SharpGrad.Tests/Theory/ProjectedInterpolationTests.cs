using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>
/// Seed 001 Q5 in R^D (issue 18 item 14): N points, N − 1 hidden units, checked by evaluating the weights with plain
/// loops (no tensors), against the data.
/// </summary>
public class ProjectedInterpolationTests
{
    /// <summary>y = W2 φ(W1 x + b1) + b2 for one point x ∈ R^D, from the weight arrays.</summary>
    private static double Plain(TwoLayerNet net, double[,] x, int row)
    {
        int m = net.HiddenSize, d = net.InputSize;
        double[] w1 = net.W1.ToArray<double>(), b1 = net.B1.ToArray<double>(), w2 = net.W2.ToArray<double>();
        double y = net.B2.ToArray<double>()[0];
        for (int j = 0; j < m; j++)
        {
            double z = b1[j];
            for (int k = 0; k < d; k++) z += w1[j * d + k] * x[row, k];
            y += w2[j] * (net.Activation == Activation.Relu ? Math.Max(0, z) : 1 / (1 + Math.Exp(-z)));
        }
        return y;
    }

    private static (double[,] X, double[] Y) Random(int n, int d, int seed)
    {
        var rng = new System.Random(seed);
        var x = new double[n, d];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < d; k++) x[i, k] = rng.NextDouble() * 4 - 2;
            y[i] = rng.NextDouble() * 2 - 1;
        }
        return (x, y);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(7, 2)]
    [InlineData(10, 3)]
    [InlineData(25, 7)]
    [InlineData(40, 1)]
    public void ReluInterpolatesExactlyWithNMinus1Units(int n, int d)
    {
        var (x, y) = Random(n, d, 100 * n + d);
        var f = Interpolation.Relu(x, y);
        Assert.Equal(n - 1, f.Network.HiddenSize);
        Assert.Equal(d, f.Network.InputSize);
        for (int i = 0; i < n; i++) Assert.Equal(y[i], Plain(f.Network, x, i), 1e-9);
        Assert.True(f.MaxAbsError < 1e-9, $"measured {f.MaxAbsError}");
        // Every hidden unit looks along the one direction u: W1 = w1 uᵀ, u of norm 1.
        var u = f.Direction.ToArray();
        Assert.Equal(1, Math.Sqrt(u.Sum(v => v * v)), 12);
        double[] w1 = f.Network.W1.ToArray<double>();
        for (int j = 0; j < n - 1; j++)
            for (int k = 0; k < d; k++) Assert.Equal(w1[j * d] * u[k], w1[j * d + k] * u[0], 12);
    }

    [Fact]
    public void SigmoidStepsStayWithinTheirProvenBound()
    {
        var (x, y) = Random(15, 4, 5);
        var f = Interpolation.SigmoidSteps(x, y);
        Assert.Equal(14, f.Network.HiddenSize);
        Assert.True(f.Line.ErrorBound <= 1e-6, $"bound {f.Line.ErrorBound}");
        double worst = 0;
        for (int i = 0; i < 15; i++) worst = Math.Max(worst, Math.Abs(Plain(f.Network, x, i) - y[i]));
        Assert.True(worst <= f.Line.ErrorBound + 1e-9, $"error {worst} above the bound {f.Line.ErrorBound}");
        Assert.Equal(worst, f.MaxAbsError, 9);
    }

    [Fact]
    public void AGridThatCoordinateAxesCannotSeparateIsSeparated()
    {
        // A 4 x 4 grid: every coordinate axis projects four points onto each value; a generic direction does not.
        var x = new double[16, 2];
        var y = new double[16];
        for (int i = 0; i < 16; i++) { x[i, 0] = i % 4; x[i, 1] = i / 4; y[i] = (i * 7 % 5) - 2; }
        var f = Interpolation.Relu(x, y);
        Assert.Equal(15, f.Network.HiddenSize);
        for (int i = 0; i < 16; i++) Assert.Equal(y[i], Plain(f.Network, x, i), 1e-9);
    }

    [Fact]
    public void RepeatedPointsMergeAndContradictionsAreErrors()
    {
        var x = new double[,] { { 0, 1 }, { 2, 3 }, { 0, 1 }, { 5, -1 } };
        var f = Interpolation.Relu(x, [1, 2, 1, 3]);
        Assert.Equal(2, f.Network.HiddenSize); // three distinct points
        for (int i = 0; i < 4; i++) Assert.Equal(new[] { 1.0, 2, 1, 3 }[i], Plain(f.Network, x, i), 1e-12);
        var e = Assert.Throws<ArgumentException>(() => Interpolation.Relu(x, [1, 2, 4, 3]));
        Assert.Contains("points 0 and 2", e.Message);
        Assert.Throws<ArgumentException>(() => Interpolation.Relu(new double[,] { { double.NaN, 0 } }, [1]));
        Assert.Throws<ArgumentException>(() => Interpolation.Relu(new double[2, 2], [1]));
    }
}
