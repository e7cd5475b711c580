using System.Globalization;
using System.Text.Json;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Packaging;

/// <summary>Runs only when $SHARPGRAD_AOT_CLI names a NativeAOT build of <c>sharpgrad</c> (.ci/run publishes one first).</summary>
public sealed class AotFactAttribute : FactAttribute
{
    public AotFactAttribute()
    {
        if (AotCliTests.Binary is null)
            Skip = "SHARPGRAD_AOT_CLI is not set to a NativeAOT sharpgrad (`dotnet publish src/SharpGrad.Cli -r linux-x64 -p:PublishAot=true`; .ci/run does it).";
    }
}

/// <summary>
/// The NativeAOT command (no JIT, trimmed, reflection-free) runs the demo and the XOR exercise and gets them right:
/// the values are checked against arithmetic done here, as the JIT build's tests do.
/// </summary>
public class AotCliTests
{
    public static string? Binary { get; } = Environment.GetEnvironmentVariable("SHARPGRAD_AOT_CLI") is { Length: > 0 } p && File.Exists(p) ? p : null;

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    private static string Run(string dir, params string[] args) => PackedFeed.RunProgram(Binary!, dir, args, Limit);

    // The demo's report adds a short Fashion-MNIST classifier run when the data is installed: minutes on a busy machine.
    // Training under AOT is covered by Train_OneEpoch instead; the demo gets a data directory that does not exist.
    private static string RunDemo(string dir, params string[] args) =>
        PackedFeed.RunProgram(Binary!, dir, args, Limit, new Dictionary<string, string> { ["SHARPGRAD_DATA"] = Path.Combine(dir, "no-data") });

    [AotFact]
    public void Xor_HandSetAndTrainedNetworksAreRight()
    {
        using var work = new TempDir("sharpgrad-aot");
        // The sheet's weights: f(x) = relu(x1 - x2) + relu(x2 - x1) - 0.5, by hand -0.5, 0.5, 0.5, -0.5.
        var j = JsonDocument.Parse(Run(work.Path, "xor", "--json", "--epochs", "1000", "--restarts", "4", "--weights", "1,-1,-1,1,0,0,1,1,-0.5")).RootElement;
        var hand = j.GetProperty("hand_set");
        TestUtil.AllClose([-0.5, 0.5, 0.5, -0.5], hand.GetProperty("outputs").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.Equal(0.25, hand.GetProperty("loss").GetDouble(), 12);

        // Gradient descent found a solution, and the outputs it reports are its parameters' (recomputed here).
        Assert.True(j.GetProperty("success_fraction").GetDouble() > 0);
        var p = Cli.Exercises.Xor.ParameterNames.Select(n => j.GetProperty("parameters").GetProperty(n).GetDouble()).ToArray();
        double[][] points = [[0, 0], [0, 1], [1, 0], [1, 1]];
        double[] labels = [-1, 1, 1, -1];
        var f = points.Select(x => p[6] * Math.Max(p[0] * x[0] + p[2] * x[1] + p[4], 0) + p[7] * Math.Max(p[1] * x[0] + p[3] * x[1] + p[5], 0) + p[8]).ToArray();
        var best = j.GetProperty("restarts")[j.GetProperty("best_restart").GetInt32()];
        TestUtil.AllClose(f, best.GetProperty("outputs").EnumerateArray().Select(e => e.GetDouble()).ToArray(), 1e-12, 1e-12);
        for (int i = 0; i < 4; i++) Assert.True(f[i] >= 0 == labels[i] > 0, $"point {i}: f = {f[i]}");

        // The linear least-squares fit of XOR is f = 0 everywhere (normal equations by hand: all weights 0).
        var lin = j.GetProperty("linear_least_squares");
        TestUtil.AllClose([0, 0, 0, 0], lin.GetProperty("predictions").EnumerateArray().Select(e => e.GetDouble()).ToArray(), 0, 1e-12);
    }

    [AotFact]
    public void Demo_RunsAndWritesTheReport()
    {
        using var work = new TempDir("sharpgrad-aot");
        var j = JsonDocument.Parse(RunDemo(work.Path, "demo", "--json", "--out", "report")).RootElement;
        // L = (w1 + w2) w3 at (1, 2.3, 5.7): L = 3.3 * 5.7, dL/dw = (w3, w3, w1 + w2).
        var q1 = j.GetProperty("seed002_q1");
        Assert.Equal(3.3 * 5.7, q1.GetProperty("loss").GetDouble(), 12);
        TestUtil.AllClose([5.7, 5.7, 3.3], q1.GetProperty("grad").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        var gc = j.GetProperty("gradcheck");
        Assert.True(gc.GetProperty("checks").GetInt32() > 50);
        Assert.Equal(0, gc.GetProperty("failed").GetInt32());
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(work.Path, "report", "index.html")));

        // The text form goes through Spectre.Console's tables (trimmed code paths that --json skips).
        string text = RunDemo(work.Path, "demo", "--out", "report2");
        Assert.Contains("all " + gc.GetProperty("checks").GetInt32().ToString(CultureInfo.InvariantCulture) + " op checks pass", text);
    }

    [AotFact]
    public void Train_OneEpochLearns()
    {
        if (!SharpGrad.Data.FashionMnist.IsAvailable()) return; // nothing to train on; the JIT build's tests say so with a skip
        using var work = new TempDir("sharpgrad-aot");
        var j = JsonDocument.Parse(Run(work.Path, "train", "--model", "mlp", "--hidden", "64", "--epochs", "1", "--limit", "3000", "--json")).RootElement;
        // Ten classes: chance is 10%; one epoch on 3,000 images already does far better.
        var text = j.ToString();
        Assert.True(FindNumber(j, "test_accuracy") is > 0.5 and <= 1, text);
    }

    /// <summary>The first number under <paramref name="key"/> anywhere in the document.</summary>
    private static double? FindNumber(JsonElement e, string key)
    {
        if (e.ValueKind == JsonValueKind.Object)
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name == key && p.Value.ValueKind == JsonValueKind.Number) return p.Value.GetDouble();
                if (FindNumber(p.Value, key) is { } v) return v;
            }
        if (e.ValueKind == JsonValueKind.Array)
            foreach (var x in e.EnumerateArray()) if (FindNumber(x, key) is { } v) return v;
        return null;
    }

    [AotFact]
    public void UserError_IsOneLineAndExitCodeOne()
    {
        using var work = new TempDir("sharpgrad-aot");
        var e = Assert.Throws<InvalidOperationException>(() => Run(work.Path, "xor", "--init", "xavier"));
        Assert.Contains("exited with 1", e.Message);
        Assert.Contains("--init", e.Message);
        Assert.DoesNotContain("   at ", e.Message); // no stack trace
    }
}
