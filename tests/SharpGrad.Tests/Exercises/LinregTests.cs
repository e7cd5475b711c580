using System.Globalization;
using SharpGrad.Cli.Exercises;

namespace SharpGrad.Tests.Exercises;

/// <summary>Seed 003 Q2 through <see cref="LinearRegression"/> and <c>sharpgrad linreg</c>, against normal equations solved here.</summary>
[Collection(CliConsoleCollection.Name)]
public class LinregTests
{
    private static readonly LinregOptions Quick = new() { MlpEpochs = 40 };

    /// <summary>Solves (AᵀA) θ = Aᵀy for A = [X, 1] by Gaussian elimination with partial pivoting: independent of the QR path.</summary>
    private static double[] NormalEquations(double[,] x, double[] y)
    {
        int n = y.Length, d = x.GetLength(1) + 1;
        var m = new double[d, d + 1];
        for (int r = 0; r < n; r++)
        {
            var a = new double[d];
            for (int j = 0; j < d - 1; j++) a[j] = x[r, j];
            a[d - 1] = 1;
            for (int i = 0; i < d; i++) { m[i, d] += a[i] * y[r]; for (int j = 0; j < d; j++) m[i, j] += a[i] * a[j]; }
        }
        for (int c = 0; c < d; c++)
        {
            int piv = Enumerable.Range(c, d - c).MaxBy(i => Math.Abs(m[i, c]));
            for (int j = 0; j <= d; j++) (m[c, j], m[piv, j]) = (m[piv, j], m[c, j]);
            for (int i = c + 1; i < d; i++)
            {
                double f = m[i, c] / m[c, c];
                for (int j = c; j <= d; j++) m[i, j] -= f * m[c, j];
            }
        }
        var theta = new double[d];
        for (int i = d - 1; i >= 0; i--)
        {
            double s = m[i, d];
            for (int j = i + 1; j < d; j++) s -= m[i, j] * theta[j];
            theta[i] = s / m[i, i];
        }
        return theta;
    }

    private static double Mse(double[,] x, double[] y, double[] theta)
    {
        double sum = 0;
        for (int r = 0; r < y.Length; r++)
        {
            double f = theta[^1];
            for (int j = 0; j < x.GetLength(1); j++) f += x[r, j] * theta[j];
            sum += (f - y[r]) * (f - y[r]);
        }
        return sum / y.Length;
    }

    [Fact]
    public void Synthetic_ClosedFormMatchesNormalEquations_AndGdConvergesToIt()
    {
        var r = LinearRegression.Run(Quick);
        Assert.Equal(400, r.Data.TrainY.Length);
        Assert.Equal(100, r.Data.TestY.Length);
        Assert.Equal(6, r.Rank);
        var theta = NormalEquations(r.Data.TrainX, r.Data.TrainY);
        TestUtil.AllClose(theta, r.ClosedFormWeights, 1e-10, 1e-12);
        Assert.Equal(Mse(r.Data.TrainX, r.Data.TrainY, theta), r.ClosedFormTrainLoss, 12);
        Assert.Equal(Mse(r.Data.TestX, r.Data.TestY, theta), r.ClosedFormTestLoss, 12);

        // GD on a convex quadratic with a small enough step: the distance to the optimum never grows, and ends small.
        Assert.Equal(100, r.Distance.Length);
        Assert.True(r.Distance[0] < r.InitialDistance);
        for (int e = 1; e < r.Distance.Length; e++) Assert.True(r.Distance[e] <= r.Distance[e - 1] * (1 + 1e-12), $"epoch {e + 1}");
        Assert.True(r.Distance[^1] < 1e-6, $"final distance {r.Distance[^1]}");
        double gdTrain = Mse(r.Data.TrainX, r.Data.TrainY, r.GdWeights);
        Assert.Equal(gdTrain, r.FinalGdTrainLoss, 12);
        Assert.True(r.ClosedFormTrainLoss <= r.FinalGdTrainLoss + 1e-15);   // nothing linear beats least squares on the training set
        Assert.True(double.IsFinite(r.FinalMlpTestLoss));
        double mean = r.Data.TestY.Average();
        Assert.True(r.FinalMlpTestLoss < r.Data.TestY.Average(v => (v - mean) * (v - mean)), "the MLP beats predicting the mean");
    }

    [Fact]
    public void Csv_ExactLinearTarget_IsRecovered_AndBadTargetIsAnError()
    {
        string path = Path.Combine(Path.GetTempPath(), "sharpgrad-linreg-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            var lines = new List<string> { "a,y,b" };
            for (int i = 0; i < 30; i++)
            {
                double a = i % 7 - 3, b = (i * 5 % 11) * 0.5;
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{a},{2 * a - 3 * b + 1},{b}"));
            }
            File.WriteAllLines(path, lines);
            var r = LinearRegression.Run(Quick with { DataPath = path, Target = "y", Epochs = 200 });
            Assert.Equal(["a", "b"], r.Data.FeatureNames);
            Assert.Equal(24, r.Data.TrainY.Length);
            Assert.True(r.ClosedFormTrainLoss < 1e-20 && r.ClosedFormTestLoss < 1e-20);
            Assert.True(r.Distance[^1] < 1e-6);
            Assert.Contains("no column named 'z'", Assert.Throws<ArgumentException>(() => LinearRegression.Run(Quick with { DataPath = path, Target = "z" })).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StabilityLimit_SeparatesConvergenceFromDivergence()
    {
        double limit = LinearRegression.Run(Quick with { Epochs = 1, MlpEpochs = 1 }).MaxStableLearningRate;
        Assert.InRange(limit, 0.1, 10);   // standardised features: λ_max(AᵀA) / n is of order 1
        var below = LinearRegression.Run(Quick with { LearningRate = 0.95 * limit, MlpEpochs = 1 });
        Assert.True(below.Distance[^1] < 1e-3 * below.InitialDistance);
        var e = Assert.Throws<InvalidOperationException>(() => LinearRegression.Run(Quick with { LearningRate = 1.2 * limit }));
        Assert.Contains("stability limit", e.Message);
        Assert.Contains("stability limit", CliRunner.Fails("linreg", "--lr", "5", "--mlp-epochs", "1"));
    }

    [Fact]
    public void LeastSquares_RankDeficient_GivesABasicSolutionThatFits()
    {
        double[,] a = { { 1, 2, 1 }, { 2, 4, 1 }, { 3, 6, 1 }, { 4, 8, 1 } };   // column 2 = 2 · column 1
        double[] y = [3, 5, 7, 9];                                           // y = 2 x + 1
        var (theta, rank) = LeastSquares.Solve(a, y);
        Assert.Equal(2, rank);
        for (int i = 0; i < 4; i++) Assert.Equal(y[i], a[i, 0] * theta[0] + a[i, 1] * theta[1] + a[i, 2] * theta[2], 12);
    }

    [Fact]
    public void Cli_JsonKeysAndCharts()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharpgrad-linreg-" + Guid.NewGuid().ToString("N"));
        try
        {
            var j = CliRunner.Json("linreg", "--epochs", "50", "--mlp-epochs", "30", "--out", dir);
            foreach (var k in new[] { "closed_form_train_loss", "gd_train_loss", "test_loss", "gd_test_loss", "mlp_test_loss" })
                Assert.True(double.IsFinite(j.GetProperty(k).GetDouble()), k);
            var distance = CliRunner.Doubles(j.GetProperty("distance"));
            Assert.Equal(50, distance.Length);
            Assert.True(distance[^1] < distance[0]);
            foreach (var f in new[] { "distance.svg", "loss.svg", "mlp_loss.svg" }) Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, f)));
            Assert.Contains("--target", CliRunner.Fails("linreg", "--target", "y"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
