using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// <c>sharpgrad train --schedule</c> with the schedules beyond step and cosine: OneCycleLR stepped per batch,
/// ReduceLROnPlateau on the validation accuracy, each checked against its definition from the run's own JSON; and every
/// bad value is one line on stderr naming the option and the value, with exit code 1, before any data is read.
/// </summary>
[Collection("child processes")]
public sealed class CliScheduleTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-cli-sched");

    public void Dispose() => _dir.Dispose();

    // 256 synthetic images in batches of 16: 16 optimizer steps an epoch.
    private static List<string> Train(string schedule, int epochs) =>
        ["train", "--synthetic", "256", "--hidden", "16", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--batch-size", "16",
            "--seed", "3", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--schedule", schedule, "--json"];

    private double[] Rates(string schedule, int epochs, out double[] valAccuracy)
    {
        var r = CliRunner.Run(_dir.Path, Train(schedule, epochs), threads: 1);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}: {r.Stderr}");
        var history = r.Json.GetProperty("history").EnumerateArray().ToArray();
        valAccuracy = history.Select(h => h.GetProperty("val_accuracy").GetDouble()).ToArray();
        return history.Select(h => h.GetProperty("lr").GetDouble()).ToArray();
    }

    [Fact]
    public void OneCycleStepsEveryBatch()
    {
        // PyTorch's definition (cos annealing, pct_start 0.3, div 25, final div 1e4): with 32 steps the rise ends at step
        // 0.3·32 − 1 = 8.6, so epoch 2 starts (step 16) on the way down: pct = (16 − 8.6) / (31 − 8.6).
        double[] lr = Rates("onecycle:0.05", 2, out _);
        Assert.Equal(2, lr.Length);
        Assert.Equal(0.05 / 25, lr[0], 15);
        double low = 0.05 / 25 / 1e4, pct = (16 - 8.6) / (31 - 8.6);
        Assert.Equal(low + (0.05 - low) / 2 * (1 + Math.Cos(Math.PI * pct)), lr[1], 12);
    }

    [Fact]
    public void PlateauHalvesTheRateWhenTheValidationAccuracyDoesNotImprove()
    {
        // patience 0, factor 0.5: after each epoch whose validation accuracy is not above the best so far by the relative
        // threshold 1e-4 (PyTorch's default, mode max), the next epoch's rate is half.
        double[] lr = Rates("plateau:0:0.5", 5, out var acc);
        Assert.Equal(5, lr.Length);
        Assert.Equal(0.05, lr[0]);
        double best = double.NegativeInfinity, expected = 0.05;
        for (int e = 0; e < 4; e++)
        {
            if (acc[e] > best * (1 + 1e-4)) best = acc[e];
            else expected *= 0.5;
            Assert.Equal(expected, lr[e + 1]);
        }
    }

    [Theory]
    [InlineData("warmup", "expected none, cosine")]
    [InlineData("step:0", "N must be at least 1")]
    [InlineData("step:3:-0.5", "GAMMA must be above 0")]
    [InlineData("exponential", "expected none, cosine")]
    [InlineData("exponential:x", "GAMMA 'x' is not a number")]
    [InlineData("linear:5:1.5", "START must be in (0, 1]")]
    [InlineData("warmup-cosine:3", "leaves none of the 3 epochs")]
    [InlineData("onecycle:0", "MAX_LR must be above 0")]
    [InlineData("plateau:two", "PATIENCE 'two' is not a whole number")]
    [InlineData("plateau:2:1", "FACTOR must be in [0, 1)")]
    public void ABadScheduleIsOneLineNamingTheOptionAndValue(string schedule, string why)
    {
        // --data names a directory that does not exist: the schedule must be refused before any data is read.
        var r = CliRunner.Run(_dir.Path, ["train", "--data", _dir.File("no-such-data"), "--epochs", "3", "--schedule", schedule], threads: 1);
        Assert.True(r.ExitCode == 1, $"exit code {r.ExitCode}: {r.Stderr}");
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains($"--schedule '{schedule}'", line);
        Assert.Contains(why, line);
    }
}
