using SharpGrad.Tests.IO;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// The same seed gives the same weights in every process and for one and two kernel threads. The model is wide enough
/// (784 -> 64, batches of 16) that its GEMMs pass the kernels' parallel threshold and are split across threads; the
/// in-process version is <see cref="ResumeTests.OneAndTwoThreadsGiveTheSameWeights"/>.
/// </summary>
[Collection("child processes")]
public sealed class DeterminismTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-determinism");

    public void Dispose() => _dir.Dispose();

    private string Hash(int? threads)
    {
        var r = CliRunner.Run(_dir.Path, ["train", "--synthetic", "512", "--hidden", "64", "--dropout", "0.25", "--epochs", "2",
            "--batch-size", "16", "--seed", "21", "--json"], threads: threads);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Json.GetProperty("weights_sha256").GetString()!;
    }

    [Fact]
    public void TheSameSeedGivesTheSameWeightsInEveryProcessForOneAndTwoThreads()
    {
        var runs = new List<(string Threads, string Hash)>();
        foreach (int? threads in new int?[] { 1, 2, null, 2, 1, null })
            runs.Add((threads?.ToString() ?? "default", Hash(threads)));
        foreach (var (threads, hash) in runs) output.WriteLine($"threads {threads}: {hash}");
        Assert.True(runs.Select(r => r.Hash).Distinct().Count() == 1,
            "the same seed gave different weights: " + string.Join(", ", runs.Select(r => $"{r.Threads} thread(s) {r.Hash[..12]}")));
    }
}
