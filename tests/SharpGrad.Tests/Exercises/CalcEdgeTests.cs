using SharpGrad.Cli.Exercises;
using SharpGrad.NN;
using SharpGrad.Theory;

namespace SharpGrad.Tests.Exercises;

/// <summary>
/// Issue 18 item 12: <c>calc</c> and the library at the numeric edges (zeros in KL, counts near 1e308, a temperature of
/// 1e-320, sums beyond the double range), against closed forms written here with plain Math, and item 16's JSON rule.
/// </summary>
[Collection(CliConsoleCollection.Name)]
public class CalcEdgeTests
{
    [Fact]
    public void Kl_ZeroCountsFollowZeroLogZero()
    {
        // p = (1/4, 0, 3/4), q = (1/3, 0, 2/3): outcome 1 adds nothing either way.
        var r = Calc.Kl([1, 0, 3], [1, 0, 2]);
        double pq = 0.25 * Math.Log(0.25 / (1.0 / 3)) + 0.75 * Math.Log(0.75 / (2.0 / 3));
        double qp = 1.0 / 3 * Math.Log(1.0 / 3 / 0.25) + 2.0 / 3 * Math.Log(2.0 / 3 / 0.75);
        Assert.Equal(pq, r.KlPq, 14);
        Assert.Equal(qp, r.KlQp, 14);
        TestUtil.AllClose([-0.25 * 3, 0, -0.75 * 1.5], r.GradQ, 1e-14);
        Assert.Equal(Math.Log(1.0 / 3 / 0.25) + 1, r.GradQReverse[0], 14);
        Assert.Equal(double.PositiveInfinity, r.GradQReverse[1]); // q = p = 0: any q_1 > 0 makes KL(q‖p) infinite
        Assert.Contains(r.Notes, n => n.Contains("one-sided"));

        // The library's count-based KL (differentiable through the normalisation) agrees, and is finite.
        var pc = Tensor.FromArray(new double[] { 1, 0, 3 }); pc.RequiresGrad = true;
        var qc = Tensor.FromArray(new double[] { 1, 0, 2 }); qc.RequiresGrad = true;
        var kl = KlDivergence.FromCounts(pc, qc);
        Assert.Equal(pq, kl.Item(), 14);
        kl.Backward();
        Assert.All(pc.Grad!.ToArray<double>().Concat(qc.Grad!.ToArray<double>()), g => Assert.True(double.IsFinite(g)));
        // ∂/∂Q_i of Σ p log p − Σ p log(Q / ΣQ) = −p_i / Q_i + 1 / ΣQ: −1/4 + 1/3, 0 + 1/3, −3/8 + 1/3.
        TestUtil.AllClose([-0.25 + 1.0 / 3, 1.0 / 3, -0.375 + 1.0 / 3], qc.Grad!.ToArray<double>(), 1e-14, 1e-14);
    }

    [Fact]
    public void Kl_QZeroWherePPositiveIsInfinityWithAMessage()
    {
        var r = Calc.Kl([1, 1, 1], [1, 0, 2]);
        Assert.Equal(double.PositiveInfinity, r.KlPq);
        Assert.Equal(double.NegativeInfinity, r.GradQ[1]);
        Assert.Contains(r.Notes, n => n.Contains("KL(p||q) = +Infinity") && n.Contains("outcome 1"));
        // KL(q‖p) stays finite: q = (1/3, 0, 2/3) against p = 1/3 each.
        Assert.Equal(1.0 / 3 * Math.Log(1) + 2.0 / 3 * Math.Log(2), r.KlQp, 14);
        var j = CliRunner.Json("calc", "kl", "--p", "1,1,1", "--q", "1,0,2");
        Assert.Equal("Infinity", j.GetProperty("kl_pq").GetString());
        Assert.Equal("-Infinity", j.GetProperty("grad_q")[1].GetString());
    }

    [Fact]
    public void Kl_HugeCountsNormaliseWithoutOverflow()
    {
        var r = Calc.Kl([1e308, 1e308], [1, 3]);
        TestUtil.AllClose([0.5, 0.5], r.P);
        Assert.Equal(0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75), r.KlPq, 14);
        var kl = KlDivergence.FromCounts(Tensor.FromArray(new[] { 1e308, 1e308 }), Tensor.FromArray(new[] { 1.0, 3.0 }));
        Assert.Equal(r.KlPq, kl.Item(), 14);
    }

    [Theory]
    [InlineData(1e-320)]
    [InlineData(1e-300)]
    [InlineData(1e-3)]
    public void Softmax_TinyTemperatureTendsToOneHotNotNaN(double c)
    {
        // z = (1, 2, 3): S_i = exp((z_i − 3) / c) / Σ_j exp((z_j − 3) / c); for c ≤ 1e-3 the others underflow to 0.
        var r = Calc.Softmax([1, 2, 3], c);
        TestUtil.AllClose([0, 0, 1], r.Values, 0, 1e-300);
        // Ties share the mass equally.
        TestUtil.AllClose([0, 0.5, 0.5], Calc.Softmax([1, 3, 3], c).Values, 0, 1e-300);
        // The library op, with its gradient: finite, and 0 for a one-hot softmax.
        var z = Tensor.FromArray(new double[] { 1, 2, 3 }); z.RequiresGrad = true;
        var s = z.Softmax(0, c);
        (s * Tensor.FromArray(new double[] { 1, 2, 3 })).Sum().Backward();
        TestUtil.AllClose([0, 0, 0], z.Grad!.ToArray<double>(), 0, 1e-300);
    }

    [Fact]
    public void Softmax_ModerateTemperatureUnchanged()
    {
        // The shift by the maximum does not change the value: exp(z_i / c) / Σ exp(z_j / c) with c = 0.7.
        double[] z = [0.3, -1.2, 2.5];
        double sum = z.Sum(v => Math.Exp(v / 0.7));
        TestUtil.AllClose(z.Select(v => Math.Exp(v / 0.7) / sum).ToArray(), Calc.Softmax(z, 0.7).Values, 1e-14, 1e-16);
    }

    [Fact]
    public void Conv1d_IntermediateOverflowIsRescuedAndTrueOverflowIsSaid()
    {
        // [1e308, 1e308] * [2, −1]: full = [2e308 (beyond the range), −1e308 + 2e308 = 1e308, −1e308].
        var r = Calc.Convolve([1e308, 1e308], [2, -1]);
        Assert.Equal(double.PositiveInfinity, r.Full[0]);
        Assert.Equal(1e308, r.Full[1], 0);
        Assert.Equal(-1e308, r.Full[2]);
        Assert.Single(r.Notes);
        // A rescue that changes nothing representable: every value finite, equal to the closed form.
        TestUtil.AllClose([1e308, -0.5e308 + 1e308], Signal.Convolve([1e308, -0.5e308], [1, 1]).Take(2).ToArray(), 1e-15, 0);
        Assert.Equal([1e308 * 0.5 + 1e308 * 0.5], Signal.Convolve([1e308, 1e308], [0.5, 0.5], ConvMode.Valid));
        var j = CliRunner.Json("calc", "conv1d", "--signal", "1e308,1e308", "--kernel", "1,1");
        Assert.Equal("Infinity", j.GetProperty("full")[1].GetString()); // 2e308: truly beyond the double range
        Assert.Equal(1e308, j.GetProperty("full")[0].GetDouble());
    }

    [Fact]
    public void Loss_WxWithCancellingHugeProductsIsExact()
    {
        // W = [[1e308, −1e308], [0, 0]], x = (2, 2): s = (0, 0) exactly, though 2e308 overflows on the way.
        var r = Calc.Loss(new LossInput(null, new double[,] { { 1e308, -1e308 }, { 0, 0 } }, null, [2, 2], "0"));
        TestUtil.AllClose([0, 0], r.Scores);
        Assert.Equal(Math.Log(2), r.CrossEntropy, 14);
        Assert.Equal(1, r.Hinge);
        // ∂CE/∂W = (softmax(s) − onehot(y)) xᵀ = (−1/2, 1/2) (2, 2)ᵀ.
        Assert.Equal(new double[,] { { -1, -1 }, { 1, 1 } }, r.GradW);
        // A score truly beyond the range is a clear error, not NaN.
        Assert.Throws<ArgumentException>(() => Calc.Loss(new LossInput(null, new double[,] { { 1e308, 1e308 } }, null, [1, 1], "0")));
    }

    [Fact]
    public void Loss_BeyondTheRangeIsInfinityWithANoteAndAStringInJson()
    {
        // s = (1e308, −1e308), y = 1: hinge = 2e308 + 1 and CE = 2e308, both beyond the largest double.
        var r = Calc.Loss(new LossInput([1e308, -1e308], null, null, null, "1"));
        Assert.Equal(double.PositiveInfinity, r.Hinge);
        Assert.Equal(double.PositiveInfinity, r.CrossEntropy);
        Assert.Equal(2, r.Notes.Count);
        TestUtil.AllClose([1, -1], r.GradScores);
        var j = CliRunner.Json("calc", "loss", "--scores", "1e308,-1e308", "--label", "1");
        Assert.Equal("Infinity", j.GetProperty("hinge").GetString());
        Assert.Equal("Infinity", j.GetProperty("cross_entropy").GetString());
        Assert.DoesNotContain("null", CliRunner.Run("calc", "loss", "--scores", "1e308,-1e308", "--label", "1", "--json").Out);
    }

    [Fact]
    public void Json_NonFiniteNumbersAreNamedStrings()
    {
        var j = CliRunner.Json("calc", "softmax", "--x", "1,3,3", "--temperature", "1e-320", "--jacobian");
        // (diag(S) − S Sᵀ) / c with S = (0, 1/2, 1/2) and c = 1e-320: ±1/4 / 1e-320, beyond the range.
        Assert.Equal("Infinity", j.GetProperty("expected")[1][1].GetString());
        Assert.Equal("-Infinity", j.GetProperty("expected")[1][2].GetString());
        Assert.Equal(0, j.GetProperty("max_error").GetDouble());
        Assert.Equal("NaN", SharpGrad.Cli.Commands.Json.Number(double.NaN).GetValue<string>());
    }
}

/// <summary>Issue 18 item 16: <c>inspect --json</c> writes NaN and ±∞ statistics as the same named strings as every command.</summary>
[Collection(CliConsoleCollection.Name)]
public class InspectJsonNonFiniteTests
{
    [Fact]
    public void NaNAndInfinityStatisticsAreNamedStrings()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-inspect-{Guid.NewGuid():N}.safetensors");
        try
        {
            SharpGrad.IO.Safetensors.Save(path, new Dictionary<string, Tensor>
            {
                ["has_nan"] = Tensor.FromArray(new[] { 1.0, double.NaN, 3.0 }),
                ["infinite"] = Tensor.FromArray(new[] { double.NegativeInfinity, 0.0, double.PositiveInfinity }),
                ["empty"] = Tensor.FromArray(Array.Empty<double>()),
            });
            // inspect --json streams to the process's standard output, so it runs out of process here.
            var r = SharpGrad.Tests.Reliability.CliRunner.Run(Path.GetTempPath(), ["inspect", path, "--json"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var tensors = r.Json.GetProperty("tensors").EnumerateArray()
                .ToDictionary(t => t.GetProperty("name").GetString()!);
            Assert.Equal("NaN", tensors["has_nan"].GetProperty("min").GetString());
            Assert.Equal("NaN", tensors["has_nan"].GetProperty("mean").GetString());
            Assert.Equal("-Infinity", tensors["infinite"].GetProperty("min").GetString());
            Assert.Equal("NaN", tensors["infinite"].GetProperty("mean").GetString()); // −∞ + ∞
            Assert.Equal("Infinity", tensors["infinite"].GetProperty("max").GetString());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, tensors["empty"].GetProperty("min").ValueKind); // no value at all
        }
        finally
        {
            File.Delete(path);
        }
    }
}
