using SharpGrad.Cli.Exercises;
using SharpGrad.NN;

namespace SharpGrad.Tests.Exercises;

/// <summary>
/// <c>sharpgrad xor</c> and <c>linreg</c> run their steps compiled by default and eagerly with <c>--no-compile</c>: a
/// replay runs the kernels of the eager step on the same values in the same order, so every printed number must be the
/// same to the bit. Each test also checks that the compiled run really replayed (otherwise the comparison proves nothing).
/// </summary>
[Collection(CliConsoleCollection.Name)]
public class CompiledRunnerTests
{
    private static string Stdout(params string[] args)
    {
        var (code, stdout, stderr) = CliRunner.Run(args);
        Assert.True(code == 0, $"exit code {code}: {stderr}");
        return stdout;
    }

    [Theory]
    [InlineData("--epochs", "400", "--restarts", "4")]
    [InlineData("--epochs", "300", "--restarts", "3", "--loss", "sum", "--activation", "identity", "--init", "uniform")]
    [InlineData("--epochs", "300", "--restarts", "3", "--no-bias", "--init", "he", "--seed", "11")]
    [InlineData("--epochs", "200", "--restarts", "4", "--lr", "3")] // diverges: the compiled run puts the last parameters back
    public void XorJsonIsTheSameCompiledOrNot(params string[] args)
    {
        string compiled = Stdout(["xor", .. args, "--json"]);
        string eager = Stdout(["xor", .. args, "--json", "--no-compile"]);
        Assert.Equal(eager, compiled);
        Assert.Contains("\"final_loss\"", compiled);
    }

    [Theory]
    [InlineData(Activation.Relu, Reduction.Mean, true, 0.1)]
    [InlineData(Activation.Identity, Reduction.Sum, false, 0.05)]
    [InlineData(Activation.Relu, Reduction.Mean, true, 3.0)]
    public void XorHistoriesAreBitIdenticalAndReplayed(Activation activation, Reduction loss, bool hiddenBias, double lr)
    {
        var options = new XorOptions { Epochs = 250, Restarts = 3, Seed = 5, Activation = activation, Loss = loss, HiddenBias = hiddenBias, LearningRate = lr };
        var compiled = Xor.Run(options);
        var eager = Xor.Run(options with { Compile = false });
        for (int r = 0; r < options.Restarts; r++)
        {
            XorRun c = compiled.Runs[r], e = eager.Runs[r];
            Assert.Equal(e.Loss, c.Loss);
            Assert.Equal(e.Trace[0], c.Trace[0]);
            Assert.Equal(e.Trace[1], c.Trace[1]);
            Assert.Equal(e.Final.Parameters, c.Final.Parameters);
            Assert.Equal(e.DivergedAtEpoch, c.DivergedAtEpoch);
            Assert.False(e.Replayed);
            // A run that diverges in its first two epochs never reaches a replay; every other one must have replayed.
            if (c.DivergedAtEpoch is null or > 2) Assert.True(c.Replayed, $"restart {r} was not replayed");
        }
        if (lr > 1) Assert.Contains(compiled.Runs, run => run.DivergedAtEpoch is > 2); // the restore path was exercised
    }

    [Theory]
    [InlineData("--epochs", "60", "--mlp-epochs", "40")]
    [InlineData("--epochs", "30", "--mlp-epochs", "20", "--samples", "10", "--features", "2", "--hidden", "8,4", "--seed", "3")]
    public void LinregJsonIsTheSameCompiledOrNot(params string[] args)
    {
        string compiled = Stdout(["linreg", .. args, "--json"]);
        string eager = Stdout(["linreg", .. args, "--json", "--no-compile"]);
        Assert.Equal(eager, compiled);
        Assert.Contains("\"mlp_test_loss_history\"", compiled);
    }

    [Fact]
    public void LinregHistoriesAreBitIdenticalAndReplayed()
    {
        var options = new LinregOptions { Epochs = 40, MlpEpochs = 25, Hidden = [16, 8], Seed = 2 };
        var compiled = LinearRegression.Run(options);
        var eager = LinearRegression.Run(options with { Compile = false });
        Assert.True(compiled.Replayed);
        Assert.False(eager.Replayed);
        Assert.Equal(eager.GdTrainLoss, compiled.GdTrainLoss);
        Assert.Equal(eager.GdTestLoss, compiled.GdTestLoss);
        Assert.Equal(eager.Distance, compiled.Distance);
        Assert.Equal(eager.GdWeights, compiled.GdWeights);
        Assert.Equal(eager.MlpTrainLoss, compiled.MlpTrainLoss);
        Assert.Equal(eager.MlpTestLoss, compiled.MlpTestLoss);
    }
}
