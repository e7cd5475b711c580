using System.Reflection;
using SharpGrad.IO;
using SharpGrad.Tests.IO;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// Exact resume and determinism, in process: every <see cref="TinyTask.Create"/> builds fresh objects from the seed, as
/// a new process does (the cross-process versions are in <see cref="CliResumeTests"/> and <see cref="KillTests"/>).
/// </summary>
public sealed class ResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-resume");

    public void Dispose() => _dir.Dispose();

    private const int Epochs = 4; // 12 batches each: 48 steps

    private static async Task<string> StraightAsync(string optimizer)
    {
        var task = TinyTask.Create(optimizer);
        var result = await task.RunAsync(Epochs, task.Options());
        Assert.Equal(48, result.Steps);
        return task.Hash;
    }

    [Theory]
    [InlineData("sgd", 1)]
    [InlineData("sgd", 17)]   // mid-epoch
    [InlineData("sgd", 24)]   // an epoch boundary
    [InlineData("adam", 5)]
    [InlineData("adam", 30)]
    [InlineData("adam", 47)]  // one step before the end
    public async Task StoppingAndResumingGivesBitIdenticalWeights(string optimizer, int stopAt)
    {
        string straight = await StraightAsync(optimizer);
        var dir = new CheckpointDirectory(_dir.File($"{optimizer}-{stopAt}"));
        var first = TinyTask.Create(optimizer);
        var stopped = await first.RunAsync(Epochs, first.Options(dir, every: 0, maxSteps: stopAt));
        Assert.True(stopped.Interrupted);
        Assert.NotEqual(straight, first.Hash);

        var second = TinyTask.Create(optimizer); // fresh weights, generators, optimizer: as a new process
        var found = dir.FindLatest();
        Assert.Equal(stopAt, found.Checkpoint!.Step);
        var resumed = await second.RunAsync(Epochs, second.Options(dir, resume: found.Checkpoint));
        Assert.False(resumed.Interrupted);
        Assert.Equal(48, resumed.Steps);
        Assert.Equal(Epochs, resumed.Fit.History.Count);
        Assert.Equal(straight, second.Hash);
    }

    [Fact]
    public async Task ResumingTwiceFromPeriodicCheckpointsGivesBitIdenticalWeights()
    {
        string straight = await StraightAsync("adam");
        var dir = new CheckpointDirectory(_dir.File("twice"));
        foreach (long stop in new long[] { 7, 31 })
        {
            var t = TinyTask.Create("adam");
            await t.RunAsync(Epochs, t.Options(dir, every: 3, maxSteps: stop, resume: dir.FindLatest().Checkpoint));
        }
        var last = TinyTask.Create("adam");
        Assert.Equal(31, dir.FindLatest().Checkpoint!.Step);
        await last.RunAsync(Epochs, last.Options(dir, every: 3, resume: dir.FindLatest().Checkpoint));
        Assert.Equal(straight, last.Hash);
    }

    [Fact]
    public async Task CheckpointingDoesNotChangeTheResult()
    {
        string straight = await StraightAsync("sgd");
        var t = TinyTask.Create("sgd");
        await t.RunAsync(Epochs, t.Options(new CheckpointDirectory(_dir.File("every")), every: 1));
        Assert.Equal(straight, t.Hash);
    }

    [Fact]
    public async Task ResumingAFinishedRunChangesNothing()
    {
        var dir = new CheckpointDirectory(_dir.File("done"));
        var t = TinyTask.Create("adam");
        await t.RunAsync(Epochs, t.Options(dir));
        var again = TinyTask.Create("adam");
        var r = await again.RunAsync(Epochs, again.Options(dir, resume: dir.FindLatest().Checkpoint));
        Assert.Equal(t.Hash, again.Hash);
        Assert.Equal(Epochs, r.Fit.History.Count);
        Assert.Equal(48, r.Steps);
    }

    [Fact]
    public async Task TheSameSeedGivesTheSameWeightsAndAnotherSeedOthers()
    {
        Assert.Equal(await StraightAsync("adam"), await StraightAsync("adam"));
        var other = TinyTask.Create("adam", seed: 6);
        await other.RunAsync(Epochs, other.Options());
        Assert.NotEqual(await StraightAsync("adam"), other.Hash);
    }

    /// <summary>The GEMM's thread bound, if this build has one (it splits C, never the k sum, so results must not change).</summary>
    private static PropertyInfo? GemmThreads() =>
        typeof(Tensor).Assembly.GetType("SharpGrad.Kernels.Gemm")?.GetProperty("MaxThreads", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);

    [Fact]
    public async Task OneAndTwoThreadsGiveTheSameWeights()
    {
        var threads = GemmThreads();
        if (threads is null)
        {
            output.WriteLine("This build's GEMM has no thread setting (it is single-threaded), so results cannot depend on a thread count.");
            return;
        }
        int saved = (int)threads.GetValue(null)!;
        var hashes = new List<string>();
        try
        {
            foreach (int n in new[] { 1, 2, 1, 2 })
            {
                threads.SetValue(null, n);
                // Wide enough that the GEMMs pass the parallel threshold and really are split across 2 threads.
                var t = TinyTask.Create("adam", hidden: 128, batch: 64, examples: 512, features: 128);
                await t.RunAsync(2, t.Options());
                hashes.Add(t.Hash);
            }
        }
        finally { threads.SetValue(null, saved); }
        output.WriteLine($"weights SHA-256 with 1, 2, 1, 2 threads: {string.Join(", ", hashes)}");
        Assert.Single(hashes.Distinct());
    }
}
