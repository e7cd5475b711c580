using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary><c>sharpgrad summary</c> run as a user runs it: a table, one JSON object, one-line errors.</summary>
[Collection("child processes")]
public sealed class SummaryCommandTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-summary");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void JsonListsTheLayersWithShapesAndCountsWorkedOutByHand()
    {
        var r = CliRunner.Run(_dir.Path, ["summary", "--model", "mlp", "--hidden", "32", "--batch", "4", "--json"], threads: 1);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var j = r.Json;
        Assert.Equal(784 * 32 + 32 + 32 * 10 + 10, j.GetProperty("params").GetInt64());
        Assert.Equal(new[] { 4, 784 }, j.GetProperty("input_shape").EnumerateArray().Select(v => v.GetInt32()));
        var leaves = j.GetProperty("layers").EnumerateArray().Where(l => l.GetProperty("depth").GetInt32() == 1).ToList();
        Assert.Equal(["Flatten", "Linear", "ReLU", "Linear"], leaves.Select(l => l.GetProperty("type").GetString()));
        Assert.Equal([4, 10], leaves[^1].GetProperty("output_shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(4L * 4 * (784 + 32 + 32 + 10), j.GetProperty("activation_bytes").GetInt64());
    }

    [Fact]
    public void TheTableNamesTheCnnLayersAndTheirShapes()
    {
        // Models.Cnn: 28 -> conv 5x5: 24 -> pool: 12 -> conv 5x5: 8 -> pool: 4; 64 * 4 * 4 = 1024 features.
        var r = CliRunner.Run(_dir.Path, ["summary", "--model", "cnn"], threads: 1);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("[1, 32, 24, 24]", r.Stdout);
        Assert.Contains("[1, 64, 4, 4]", r.Stdout);
        Assert.Contains("[1, 1024]", r.Stdout);
        Assert.Contains("Conv2d", r.Stdout);
    }

    [Fact]
    public void AModelWithoutLayersIsOneLineAndExitOne()
    {
        var r = CliRunner.Run(_dir.Path, ["summary", "--model", "perceptron"], threads: 1);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--model", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
