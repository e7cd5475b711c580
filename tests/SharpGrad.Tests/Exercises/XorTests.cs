using SharpGrad.Cli.Exercises;
using SharpGrad.NN;

namespace SharpGrad.Tests.Exercises;

/// <summary>Seed 000 Q2–Q3 through <see cref="Xor"/> and <c>sharpgrad xor</c>; expected values are computed here by hand.</summary>
[Collection(CliConsoleCollection.Name)]
public class XorTests
{
    private static readonly double[][] Points = [[0, 0], [0, 1], [1, 0], [1, 1]];
    private static readonly double[] Labels = [-1, 1, 1, -1];

    /// <summary>f(x) = wᵀ max(Uᵀx + b1, 0) + b2 with plain arithmetic; p = U11, U12, U21, U22, b11, b12, w1, w2, b2.</summary>
    private static double F(double[] p, double[] x)
    {
        double h1 = Math.Max(p[0] * x[0] + p[2] * x[1] + p[4], 0), h2 = Math.Max(p[1] * x[0] + p[3] * x[1] + p[5], 0);
        return p[6] * h1 + p[7] * h2 + p[8];
    }

    [Fact]
    public void HandSetSolutions_ClassifyAllFourPoints()
    {
        var sheet = Xor.Evaluate(Xor.SheetSolution);
        var p = Xor.SheetSolution.ToArray();
        TestUtil.AllClose(Points.Select(x => F(p, x)).ToArray(), sheet.Outputs);
        TestUtil.AllClose([-0.5, 0.5, 0.5, -0.5], sheet.Outputs);
        Assert.True(sheet.AllCorrect);
        Assert.Equal(0.25, sheet.Loss, 12);                     // each output is 0.5 away from its ±1 label

        var exact = Xor.Evaluate(Xor.ExactSolution, loss: Reduction.Sum);
        TestUtil.AllClose(Labels, exact.Outputs);
        Assert.Equal(0, exact.Loss);

        // The same network with the identity in place of max cannot keep the answer.
        Assert.False(Xor.Evaluate(Xor.SheetSolution, Activation.Identity).AllCorrect);
    }

    [Fact]
    public void LinearLeastSquares_IsZeroAndMisclassifies()
    {
        // Normal equations AᵀA θ = Aᵀy for A = [x1, x2, 1], solved here by Cramer's rule.
        var ata = new double[3, 3];
        var aty = new double[3];
        for (int n = 0; n < 4; n++)
        {
            double[] a = [Points[n][0], Points[n][1], 1];
            for (int i = 0; i < 3; i++) { aty[i] += a[i] * Labels[n]; for (int j = 0; j < 3; j++) ata[i, j] += a[i] * a[j]; }
        }
        double Det(double[,] m) => m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0]) + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
        var theta = new double[3];
        for (int k = 0; k < 3; k++)
        {
            var mk = (double[,])ata.Clone();
            for (int i = 0; i < 3; i++) mk[i, k] = aty[i];
            theta[k] = Det(mk) / Det(ata);
        }
        var fit = Xor.LinearLeastSquares();
        TestUtil.AllClose(theta, fit.Weights, 0, 1e-12);
        TestUtil.AllClose([0, 0, 0, 0], fit.Predictions, 0, 1e-12);
        Assert.True(fit.Misclassified >= 1);
        Assert.Equal(2, fit.Misclassified);                     // f ≡ 0 ≥ 0 says "class 1" for both −1 points
        Assert.Equal(1.0, fit.Loss, 12);
    }

    [Fact]
    public void GradientDescent_WithRestarts_SucceedsAtLeastOnce()
    {
        var r = Xor.Run(new XorOptions { Epochs = 1000, Restarts = 4, Seed = 0 });
        Assert.InRange(r.SuccessFraction, 1e-9, 1.0);
        Assert.True(r.Best.Succeeded);
        // The best run's reported outputs are the network's: recompute from its parameters by hand.
        var p = r.Best.Final.Parameters;
        TestUtil.AllClose(Points.Select(x => F(p, x)).ToArray(), r.Best.Final.Outputs, 1e-12, 1e-12);
        for (int i = 0; i < 4; i++) Assert.True(F(p, Points[i]) >= 0 == Labels[i] > 0);
        Assert.All(r.Runs, run => Assert.Equal(1001, run.Loss.Length));
        Assert.True(r.Best.Loss[^1] < r.Best.Loss[0]);
        Assert.Equal(r.Best.Trace[0][^1], p[r.TracedParameters[0]]);
        Assert.NotEqual(r.TracedParameters[0], r.TracedParameters[1]);
        Assert.Equal([0UL, 1, 2, 3], r.Runs.Select(x => x.Seed));
    }

    [Fact]
    public void GradientDescent_IsDeterministic_AndIdentityNeverSolves()
    {
        var o = new XorOptions { Epochs = 300, Restarts = 3, Seed = 42, Init = XorInit.Uniform };
        var a = Xor.Run(o);
        var b = Xor.Run(o);
        Assert.Equal(a.Best.Final.Parameters, b.Best.Final.Parameters);
        var identity = Xor.Run(o with { Activation = Activation.Identity, Restarts = 4 });
        Assert.Equal(0, identity.SuccessFraction);
        Assert.All(identity.Runs, run => Assert.True(run.FinalLoss >= 1.0 - 1e-9)); // never below the least-squares optimum 1
    }

    [Fact]
    public void TooLargeLearningRate_IsReportedAsDivergence()
    {
        var r = Xor.Run(new XorOptions { Epochs = 100, Restarts = 2, LearningRate = 100 });
        Assert.All(r.Runs, run => { Assert.NotNull(run.DivergedAtEpoch); Assert.False(run.Succeeded); });
        Assert.Equal(0, r.SuccessFraction);
    }

    [Fact]
    public void NoHiddenBias_KeepsB1AtZero()
    {
        var r = Xor.Run(new XorOptions { Epochs = 200, Restarts = 2, HiddenBias = false });
        Assert.All(r.Runs, run => { Assert.Equal(0, run.Final.Parameters[4]); Assert.Equal(0, run.Final.Parameters[5]); });
        Assert.DoesNotContain(4, r.TracedParameters);
        Assert.DoesNotContain(5, r.TracedParameters);
    }

    [Fact]
    public void NoBias_HandSetWeightsAreEvaluatedWithoutTheHiddenBias()
    {
        // The exact solution needs b12 = −1; under --no-bias it must not be used (it was, silently).
        string err = CliRunner.Fails("xor", "--epochs", "1", "--restarts", "1", "--no-bias", "--weights", string.Join(",", Xor.ExactSolution));
        Assert.Contains("--no-bias", err);
        Assert.Contains("b12 = -1", err);

        // U = 1, w = (2, −4), b2 = −1 without b1: h1 = h2 = x1 + x2, so f = −2 (x1 + x2) − 1 = −1, −3, −3, −5.
        var j = CliRunner.Json("xor", "--epochs", "1", "--restarts", "1", "--no-bias", "--weights", "1,1,1,1,2,-4,-1");
        var hand = j.GetProperty("hand_set");
        TestUtil.AllClose([-1, -3, -3, -5], CliRunner.Doubles(hand.GetProperty("outputs")));
        Assert.Equal((0 + 16 + 16 + 16) / 4.0, hand.GetProperty("loss").GetDouble(), 12);
        var same = Xor.Evaluate([1, 1, 1, 1, 0, 0, 2, -4, -1], hiddenBias: false);
        TestUtil.AllClose([-1, -3, -3, -5], same.Outputs);
        Assert.Throws<ArgumentException>(() => Xor.Evaluate(Xor.ExactSolution, hiddenBias: false));
    }

    [Fact]
    public void Cli_JsonKeysAndCharts()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharpgrad-xor-" + Guid.NewGuid().ToString("N"));
        try
        {
            var j = CliRunner.Json("xor", "--epochs", "300", "--restarts", "3", "--weights", "1,-1,-1,1,0,0,1,1,-0.5", "--out", dir);
            double fraction = j.GetProperty("success_fraction").GetDouble();
            var restarts = j.GetProperty("restarts").EnumerateArray().ToArray();
            Assert.Equal(3, restarts.Length);
            foreach (var r in restarts)
                foreach (var k in new[] { "seed", "final_loss", "correct" }) Assert.True(r.TryGetProperty(k, out _), k);
            Assert.Equal(restarts.Count(r => r.GetProperty("success").GetBoolean()) / 3.0, fraction, 12);
            Assert.All(restarts, r => Assert.Equal(r.GetProperty("correct").GetInt32() == 4, r.GetProperty("success").GetBoolean()));
            foreach (var n in Xor.ParameterNames) Assert.True(j.GetProperty("parameters").TryGetProperty(n, out _), n);
            var lin = j.GetProperty("linear_least_squares");
            Assert.Equal(3, lin.GetProperty("weights").GetArrayLength());
            Assert.Equal(4, lin.GetProperty("predictions").GetArrayLength());
            Assert.True(lin.GetProperty("misclassified").GetInt32() >= 1);
            var hand = j.GetProperty("hand_set");
            Assert.Equal(4, hand.GetProperty("correct").GetInt32());
            Assert.True(hand.GetProperty("all_correct").GetBoolean());
            TestUtil.AllClose([-0.5, 0.5, 0.5, -0.5], CliRunner.Doubles(hand.GetProperty("outputs")));
            Assert.Equal(0.25, hand.GetProperty("loss").GetDouble(), 12);
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "loss.svg")));
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "params.svg")));

            Assert.Contains("9 values", CliRunner.Fails("xor", "--epochs", "10", "--restarts", "1", "--weights", "1,2,3"));
            Assert.Contains("--init", CliRunner.Fails("xor", "--init", "xavier"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
