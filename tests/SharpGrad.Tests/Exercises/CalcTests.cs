using System.Text.Json;
using SharpGrad.Cli.Exercises;
using Spectre.Console;

namespace SharpGrad.Tests.Exercises;


/// <summary>
/// <c>sharpgrad calc</c> and <see cref="Calc"/> against the seed sheets' numbers and against closed forms written here
/// with plain Math (seeds 000, 001, 004).
/// </summary>
[Collection(CliConsoleCollection.Name)]
public class CalcTests
{
    private static readonly double[] PCounts = [1, 6, 12, 5, 2, 8, 12, 4];
    private static readonly double[] QCounts = [1, 3, 6, 8, 15, 10, 5, 2];
    private static readonly double[,] W = { { 0.01, -0.05, 0.1, 0.05 }, { 0.7, 0.2, 0.05, 0.16 }, { 0.0, -0.45, -0.2, 0.03 } };
    private static readonly double[] B = [0.0, 0.2, -0.3];
    private static readonly double[] X = [-15, 22, -44, 56];

    [Fact]
    public void Kl_Seed004Q3_BothDirectionsAndGradients()
    {
        var r = Calc.Kl(PCounts, QCounts);
        double[] p = PCounts.Select(c => c / 50).ToArray(), q = QCounts.Select(c => c / 50).ToArray();
        double pq = 0, qp = 0;
        for (int i = 0; i < p.Length; i++) { pq += p[i] * Math.Log(p[i] / q[i]); qp += q[i] * Math.Log(q[i] / p[i]); }
        Assert.Equal(0.352, r.KlPq, 3);  // the sheet's numbers, to its three decimals
        Assert.Equal(0.484, r.KlQp, 3);
        Assert.Equal(pq, r.KlPq, 12);
        Assert.Equal(qp, r.KlQp, 12);
        TestUtil.AllClose(p, r.P);
        TestUtil.AllClose(p.Select((pi, i) => -pi / q[i]).ToArray(), r.GradQ, 1e-12);
        TestUtil.AllClose(q.Select((qi, i) => Math.Log(qi / p[i]) + 1).ToArray(), r.GradQReverse, 1e-12);
    }

    [Fact]
    public void Loss_Seed004Q4_ScoresHingeCrossEntropyAndGradients()
    {
        var r = Calc.Loss(new LossInput(null, W, B, X, "2"));
        var s = new double[3];
        for (int k = 0; k < 3; k++) { s[k] = B[k]; for (int j = 0; j < 4; j++) s[k] += W[k, j] * X[j]; }
        TestUtil.AllClose([-2.85, 0.86, 0.28], r.Scores, 1e-12, 1e-12);
        Assert.Equal(1.58, r.Hinge, 10);                       // max(0, −2.85 − 0.28 + 1) + max(0, 0.86 − 0.28 + 1)
        double lse = Math.Log(s.Sum(Math.Exp));
        Assert.Equal(lse - s[2], r.CrossEntropy, 12);
        Assert.Equal(1.04, r.CrossEntropy, 2);                 // the sheet's 1.040
        var soft = s.Select(v => Math.Exp(v - lse)).ToArray();
        var g = soft.Select((v, k) => v - (k == 2 ? 1 : 0)).ToArray();
        TestUtil.AllClose(g, r.GradScores, 1e-12, 1e-15);
        TestUtil.AllClose(g, r.GradB!, 1e-12, 1e-15);
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 4; j++) Assert.Equal(g[k] * X[j], r.GradW![k, j], 12);

        var fromScores = Calc.Loss(new LossInput([-2.85, 0.86, 0.28], null, null, null, "0,0,1"));
        Assert.Equal(2, fromScores.Label);
        Assert.Equal(r.Hinge, fromScores.Hinge, 12);
        Assert.Equal(r.CrossEntropy, fromScores.CrossEntropy, 12);
    }

    [Theory]
    [InlineData("0,0,0,1", "4 entries", "3 classes")]   // seed 004's y: four entries for three classes
    [InlineData("3", "class 3", "3 classes")]
    [InlineData("-1", "class -1", "3 classes")]
    public void Loss_LabelThatDoesNotFit_IsOneLineError(string label, string first, string second)
    {
        var err = CliRunner.Fails("calc", "loss", "--W", "0.01,-0.05,0.1,0.05;0.7,0.2,0.05,0.16;0.0,-0.45,-0.2,0.03",
            "--b", "0,0.2,-0.3", "--x", "-15,22,-44,56", $"--label={label}");
        Assert.Contains(first, err);
        Assert.Contains(second, err);
        Assert.Throws<ArgumentException>(() => Calc.ResolveLabel("0,1,1", 3));
    }

    [Fact]
    public void Conv1d_Seed001Q6_ThreeModes()
    {
        var r = Calc.Convolve([1, 2, 3, 4], [1, 0, 2]);
        Assert.Equal([1, 2, 5, 8, 6, 8], r.Full);
        Assert.Equal([5, 8], r.Valid);
        Assert.Equal([2, 5, 8, 6], r.Same);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.5)]
    public void Softmax_JacobianIsDiagSMinusSSt(double c)
    {
        double[] z = [1, 2, 3, -0.5];
        var r = Calc.Softmax(z, c, jacobian: true);
        double m = z.Max() / c, sum = z.Sum(v => Math.Exp(v / c - m));
        var s = z.Select(v => Math.Exp(v / c - m) / sum).ToArray();
        TestUtil.AllClose(s, r.Values, 1e-14);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.True(Math.Abs(r.Jacobian![i, j] - ((i == j ? s[i] : 0) - s[i] * s[j]) / c) < 1e-14, $"J[{i},{j}]");
        Assert.True(r.MaxJacobianError < 1e-14);
        Assert.True(r.ShiftInvarianceError < 1e-12);
    }

    [Fact]
    public void Sigmoid_Seed004Q1_ValuesAndDerivativesFiniteEverywhere()
    {
        double[] x = [-1e4, -100, -10, 0, 10, 100, 1e4];
        var r = Calc.Sigmoid(x);
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Exp(-Math.Abs(x[i]));                 // never overflows
            double s = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e);
            Assert.True(double.IsFinite(r.Values[i]) && double.IsFinite(r.Derivatives[i]), $"x = {x[i]}");
            Assert.Equal(s, r.Values[i], 15);
            Assert.True(Math.Abs(r.Derivatives[i] - e / ((1 + e) * (1 + e))) <= 1e-14 * Math.Max(1e-300, e), $"S'({x[i]})");
        }
        Assert.Equal(0.25, r.Derivatives[3]);
    }

    [Fact]
    public void Json_EverySubcommandHasItsKeys()
    {
        var kl = CliRunner.Json("calc", "kl", "--p", "1,6,12,5,2,8,12,4", "--q", "1,3,6,8,15,10,5,2");
        foreach (var k in new[] { "p", "q", "kl_pq", "kl_qp", "grad_q", "grad_q_kl_qp" }) Assert.True(kl.TryGetProperty(k, out _), k);
        Assert.Equal(0.352, kl.GetProperty("kl_pq").GetDouble(), 3);

        var loss = CliRunner.Json("calc", "loss", "--scores", "-2.85,0.86,0.28", "--label", "2");
        Assert.Equal(1.58, loss.GetProperty("hinge").GetDouble(), 10);
        Assert.Equal(1.04, loss.GetProperty("cross_entropy").GetDouble(), 2);
        Assert.Equal(3, loss.GetProperty("gradient").GetProperty("scores").GetArrayLength());

        var withW = CliRunner.Json("calc", "loss", "--W", "0.01,-0.05,0.1,0.05;0.7,0.2,0.05,0.16;0.0,-0.45,-0.2,0.03", "--b", "0,0.2,-0.3", "--x", "-15,22,-44,56", "--label", "2");
        TestUtil.AllClose([-2.85, 0.86, 0.28], CliRunner.Doubles(withW.GetProperty("scores")), 1e-12, 1e-12);
        Assert.Equal(3, withW.GetProperty("gradient").GetProperty("W").GetArrayLength());

        var conv = CliRunner.Json("calc", "conv1d", "--signal", "1,2,3,4", "--kernel", "1,0,2", "--mode", "all");
        Assert.Equal([1, 2, 5, 8, 6, 8], CliRunner.Doubles(conv.GetProperty("full")));
        Assert.Equal([5, 8], CliRunner.Doubles(conv.GetProperty("valid")));
        Assert.Equal([2, 5, 8, 6], CliRunner.Doubles(conv.GetProperty("same")));
        Assert.False(CliRunner.Json("calc", "conv1d", "--mode", "valid").TryGetProperty("full", out _));

        var sm = CliRunner.Json("calc", "softmax", "--x", "1,2,3", "--jacobian");
        Assert.True(sm.GetProperty("matches").GetBoolean());
        Assert.Equal(3, sm.GetProperty("jacobian").GetArrayLength());

        var sig = CliRunner.Json("calc", "sigmoid", "--x", "-100,-10,0,10,100");
        Assert.Equal(0.25, CliRunner.Doubles(sig.GetProperty("derivatives"))[2]);
    }
}
