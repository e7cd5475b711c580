using System.Diagnostics;
using SharpGrad.IO;
using SharpGrad.Tests.IO;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// The kill test: <c>sharpgrad train</c> with a checkpoint after every step is killed with SIGKILL at 20 random moments
/// (half of them the moment a checkpoint's temporary file appears, to land inside writes). After every kill every
/// checkpoint file in the directory must load and verify, and resuming a copy of the directory in a new process must
/// end with the weights of an uninterrupted run. The killed chain itself goes on: the next child resumes where the
/// last one died. Children run with one kernel thread, so that the test isolates checkpointing (determinism across
/// thread counts is <see cref="DeterminismTests"/>' concern).
/// </summary>
[Collection("child processes")]
public sealed class KillTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 20;
    private readonly TempDir _dir = new("sharpgrad-kill");

    public void Dispose() => _dir.Dispose();

    /// <summary>1024 synthetic images in batches of 16, 3 epochs: 192 steps, each followed by a ~0.6 MB checkpoint.</summary>
    private static List<string> Train(string? checkpoint, string? outDir = null)
    {
        var args = new List<string> { "train", "--synthetic", "1024", "--hidden", "64", "--dropout", "0.25", "--optimizer", "adam",
            "--epochs", "3", "--batch-size", "16", "--seed", "11", "--schedule", "cosine", "--json" };
        if (checkpoint is not null) args.AddRange(["--checkpoint", checkpoint, "--checkpoint-every", "1", "--checkpoint-keep", "3", "--resume"]);
        if (outDir is not null) args.AddRange(["--out", outDir]);
        return args;
    }

    private const long TotalSteps = 192;

    private static long NewestStep(CheckpointDirectory dir) =>
        dir.List() is [var newest, ..] ? long.Parse(Path.GetFileName(newest)["checkpoint-".Length..^".safetensors".Length], System.Globalization.CultureInfo.InvariantCulture) : 0;

    private static HashSet<string> Temps(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, ".checkpoint-*.tmp").ToHashSet() : [];

    private string Finish(List<string> args, string what)
    {
        var r = CliRunner.Run(_dir.Path, args, threads: 1);
        Assert.True(r.ExitCode == 0, $"{what}: exit code {r.ExitCode}: {r.Stderr}");
        return r.Json.GetProperty("weights_sha256").GetString()!;
    }

    [Fact]
    public void KilledAtTwentyRandomMoments_NoCheckpointIsEverCorruptAndResumingReachesTheSameWeights()
    {
        var total = Stopwatch.StartNew();
        string expected = Finish(Train(null), "the uninterrupted run without checkpoints");
        // The uninterrupted run with checkpoints: its hash, its length, and when its first checkpoint appeared (start-up).
        string full = _dir.File("full");
        var sw = Stopwatch.StartNew();
        double startup = 0;
        using (var run = new CliRunner.Child(_dir.Path, Train(full), threads: 1))
        {
            while (!run.Process.HasExited && startup == 0)
            {
                if (Directory.Exists(full) && Directory.EnumerateFiles(full, "checkpoint-*").Any()) startup = sw.Elapsed.TotalSeconds;
                Thread.Sleep(1);
            }
            var r = run.Wait(TimeSpan.FromSeconds(120));
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(expected, r.Json.GetProperty("weights_sha256").GetString());
        }
        double fullSeconds = sw.Elapsed.TotalSeconds;
        output.WriteLine($"uninterrupted run with a checkpoint every step: {fullSeconds:F2} s (first checkpoint after {startup:F2} s), weights {expected}");

        // The moments are seeded, so a failure can be replayed; SHARPGRAD_KILL_SEED picks other moments (long runs).
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SHARPGRAD_KILL_SEED"), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int s) ? s : 20240607;
        var rng = new Random(seed);
        string chain = _dir.File("chain");
        int kills = 0, midWrite = 0, completed = 0, checkedFiles = 0, beforeFirst = 0;
        while (kills < Kills)
        {
            Assert.True(total.Elapsed.TotalSeconds < 240, $"the kill test ran out of time after {kills} kills");
            var dir = new CheckpointDirectory(chain);
            long done = dir.FindLatest().Checkpoint?.Step ?? 0;
            bool onWrite = kills % 2 == 1;
            // One kill in five at a random time during start-up (loading, validating, the first step); the others once
            // the child has checkpointed a random step still ahead of it (so the moment follows progress, not a clock),
            // and then either at once or the moment its next checkpoint write is under way.
            bool duringStartup = rng.Next(5) == 0;
            double delay = rng.NextDouble() * startup;
            long target = done + 1 + rng.Next((int)Math.Max(1, TotalSteps - 2 - done));
            var staleTemps = Temps(chain);
            using var child = new CliRunner.Child(_dir.Path, Train(chain), threads: 1);
            var clock = Stopwatch.StartNew();
            bool reached = false;
            while (!child.Process.HasExited)
            {
                if (clock.Elapsed.TotalSeconds > 2 * fullSeconds + 10) break;
                if (duringStartup)
                {
                    if (clock.Elapsed.TotalSeconds >= delay) break;
                    Thread.Sleep(1);
                    continue;
                }
                reached = reached || NewestStep(dir) >= target;
                if (reached && (!onWrite || Temps(chain).Except(staleTemps).Any())) break; // a write of this child is under way
                if (!reached) Thread.Sleep(1); // a step takes several milliseconds; a write must be caught at once
            }
            child.Kill();
            double at = clock.Elapsed.TotalSeconds;
            if (child.Process.ExitCode == 0)
            {
                // It finished before the chosen moment: check it, and start the chain again.
                var r = child.Wait(TimeSpan.FromSeconds(1));
                Assert.Equal(expected, r.Json.GetProperty("weights_sha256").GetString());
                completed++;
                Directory.Delete(chain, recursive: true);
                continue;
            }
            kills++;
            // A temporary file this child created and did not rename: the kill landed inside a checkpoint write.
            bool tmp = Temps(chain).Except(staleTemps).Any();
            if (tmp) midWrite++;

            // No corrupt checkpoint, ever: every file in the directory loads and verifies.
            foreach (var f in dir.List())
            {
                var e = Record.Exception(() => Checkpoint.Load(f));
                Assert.True(e is null, $"kill {kills}: a corrupt checkpoint {f}: {e?.Message}");
                checkedFiles++;
            }
            var newest = dir.FindLatest();
            Assert.Empty(newest.Rejected);
            if ((newest.Checkpoint?.Step ?? 0) == done) beforeFirst++;

            // Resuming (a copy, so that the chain goes on from the state the kill left) reaches the same weights.
            string copy = _dir.File($"verify-{kills}");
            Directory.CreateDirectory(copy);
            if (Directory.Exists(chain)) foreach (var f in Directory.EnumerateFiles(chain)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            var resumed = CliRunner.Run(_dir.Path, Train(copy), threads: 1);
            Assert.True(resumed.ExitCode == 0, $"kill {kills}: the resume failed: {resumed.Stderr}");
            Assert.Contains(newest.Checkpoint is null ? "starting from the beginning" : $"resuming from {Path.Combine(copy, Path.GetFileName(newest.Path!))}", resumed.Stderr);
            Assert.True(expected == resumed.Json.GetProperty("weights_sha256").GetString(), $"kill {kills}: resuming from step {newest.Checkpoint?.Step} gave other weights");
            Directory.Delete(copy, recursive: true);
            string how = duringStartup ? "during start-up" : $"after step {target}{(onWrite ? ", on a checkpoint write" : "")}";
            output.WriteLine($"kill {kills,2}: at {at:F3} s ({how}), newest checkpoint step {newest.Checkpoint?.Step.ToString() ?? "none"}" +
                $"{(tmp ? ", killed mid-write (temporary file left)" : "")}; resumed to the same weights");
        }
        output.WriteLine($"seed {seed}: {kills} kills: {midWrite} inside a checkpoint write, {beforeFirst} before the child wrote its first checkpoint; " +
            $"{completed} runs finished before their kill moment; {checkedFiles} checkpoint files verified after kills, 0 corrupt; {total.Elapsed.TotalSeconds:F1} s");
        Assert.True(midWrite >= 1, "no kill landed inside a checkpoint write");
    }
}
