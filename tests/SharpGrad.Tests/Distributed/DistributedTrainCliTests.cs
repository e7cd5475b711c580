using System.Diagnostics;
using System.Text.Json;
using SharpGrad.Tests.Reliability;

namespace SharpGrad.Tests.Distributed;

/// <summary><c>sharpgrad train</c> under <c>mpirun -np N</c>: faults, resume with another N, and rank 0 as the only writer.</summary>
public class DistributedTrainCliTests
{
    private static readonly string[] Args = ["train", "--model", "mlp", "--hidden", "64", "--synthetic", "3000", "--epochs", "2", "--batch-size", "64", "--seed", "5", "--json", "--checkpoint-every", "5"];

    private static string TempDir() => Directory.CreateTempSubdirectory("sharpgrad-mpi-cli-").FullName;

    private static Process StartMpi(int processes, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Mpi.Run!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", processes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-x", "DOTNET_PROCESSOR_COUNT=1", "dotnet", CliRunner.Dll }.Concat(args))
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static (int Code, string Out, string Err) Run(int processes, IEnumerable<string> args, int timeoutSeconds = 300)
    {
        using var p = StartMpi(processes, args);
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"mpirun -np {processes} sharpgrad did not finish in {timeoutSeconds} s"); }
        p.WaitForExit();
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>
    /// The JSON line of rank 0. mpirun gives the ranks a pseudo-terminal as stdout, so .NET's console may first write a
    /// terminal-mode escape sequence (ESC [ ? 1 h ESC =); the object starts at the first brace.
    /// </summary>
    private static JsonElement Json(string stdout)
    {
        string line = stdout.Trim().Split('\n')[^1];
        return JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
    }

    /// <summary>
    /// One rank is SIGKILLed mid-run: the job must end (Open MPI ends it) within 30 s with a message naming the killed
    /// rank, and --resume must finish with the weights of a run that was never interrupted.
    /// </summary>
    [MpiFact]
    public void KilledRankEndsTheJobAndResumeGivesTheUninterruptedWeights()
    {
        string dir = TempDir();
        try
        {
            var reference = Run(2, [.. Args, "--checkpoint", Path.Combine(dir, "ref")]);
            Assert.True(reference.Code == 0, reference.Err);
            string want = Json(reference.Out).GetProperty("weights_sha256").GetString()!;

            string ck = Path.Combine(dir, "ck");
            using var job = StartMpi(2, [.. Args, "--checkpoint", ck]);
            var err = job.StandardError.ReadToEndAsync();
            _ = job.StandardOutput.ReadToEndAsync();
            // Kill a rank once the first checkpoint of this run is on disk.
            var sw = Stopwatch.StartNew();
            while (!(Directory.Exists(ck) && Directory.GetFiles(ck, "*.safetensors").Length > 0) && sw.Elapsed < TimeSpan.FromSeconds(120) && !job.HasExited) Thread.Sleep(50);
            Assert.False(job.HasExited, "the job ended before any checkpoint was written");
            var ranks = Process.GetProcesses().Where(p => ParentOf(p.Id) == job.Id).ToList();
            Assert.Equal(2, ranks.Count);
            ranks[Random.Shared.Next(2)].Kill();
            var killed = Stopwatch.StartNew();
            Assert.True(job.WaitForExit(30_000), "the job was still running 30 s after one rank was killed");
            Assert.NotEqual(0, job.ExitCode);
            Assert.Contains("signal 9", err.Result);
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30));

            var resumed = Run(2, [.. Args, "--checkpoint", ck, "--resume"]);
            Assert.True(resumed.Code == 0, resumed.Err);
            Assert.Contains("resuming from", resumed.Err);
            Assert.Equal(want, Json(resumed.Out).GetProperty("weights_sha256").GetString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>A 2-process run stopped by --max-steps resumes in 3 processes (and in 1) to the end, with the global step count.</summary>
    [MpiFact]
    public void ResumeWithAnotherNumberOfProcesses()
    {
        string dir = TempDir();
        try
        {
            foreach (int then in new[] { 3, 1 })
            {
                string ck = Path.Combine(dir, $"to{then}");
                var first = Run(2, [.. Args, "--checkpoint", ck, "--max-steps", "40"]);
                Assert.True(first.Code == 0, first.Err);
                Assert.True(Json(first.Out).GetProperty("interrupted").GetBoolean());
                var second = Run(then, [.. Args, "--checkpoint", ck, "--resume", "--distributed"]);
                Assert.True(second.Code == 0, second.Err);
                var json = Json(second.Out);
                Assert.Equal(then, json.GetProperty("processes").GetInt32());
                Assert.Equal(2 * 47, json.GetProperty("steps").GetInt64()); // ceil(3000 / 64) global batches per epoch
                Assert.True(json.GetProperty("test_accuracy").GetDouble() > 0.9, second.Out);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// `train --distributed` (sharded by default: each process updates half of the parameters) gives the weights of every
    /// process taking the whole step, and its checkpoints hold the whole optimizer state (gathered from both processes),
    /// so a sharded run stopped by --max-steps resumes unsharded to the same weights.
    /// </summary>
    [MpiFact]
    public void ShardedOptimizerStepGivesTheWholeStepsWeightsAndWholeCheckpoints()
    {
        string dir = TempDir();
        try
        {
            string[] adam = ["--optimizer", "adam", "--lr", "0.003"];
            var whole = Run(2, [.. Args, .. adam, "--no-shard-optimizer"]);
            Assert.True(whole.Code == 0, whole.Err);
            string want = Json(whole.Out).GetProperty("weights_sha256").GetString()!;
            var sharded = Run(2, [.. Args, .. adam]);
            Assert.True(sharded.Code == 0, sharded.Err);
            Assert.Equal(want, Json(sharded.Out).GetProperty("weights_sha256").GetString());

            string ck = Path.Combine(dir, "ck");
            var first = Run(2, [.. Args, .. adam, "--checkpoint", ck, "--max-steps", "40"]);
            Assert.True(first.Code == 0, first.Err);
            var second = Run(2, [.. Args, .. adam, "--checkpoint", ck, "--resume", "--no-shard-optimizer"]);
            Assert.True(second.Code == 0, second.Err);
            Assert.Equal(want, Json(second.Out).GetProperty("weights_sha256").GetString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// `train --distributed` compiles its step as `train` does (DDP's hooks, reductions and the sharded step's gather are
    /// recorded in the plan): every full batch after the warm-up and capture is replayed, and the weights are those of
    /// the eager run (--no-compile) bit for bit, sharded (the default) and not.
    /// </summary>
    [MpiFact]
    public void CompiledDistributedTrainingGivesTheEagerWeights()
    {
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--no-shard-optimizer"] })
        {
            var eager = Run(2, [.. Args, .. extra, "--no-compile"]);
            Assert.True(eager.Code == 0, eager.Err);
            var compiled = Run(2, [.. Args, .. extra]);
            Assert.True(compiled.Code == 0, compiled.Err);
            var json = Json(compiled.Out);
            Assert.Equal(JsonValueKind.Null, json.GetProperty("compile_fallback").ValueKind);
            // 47 global batches per epoch (the last one of 56 examples: another shape, whose first call is eager): epoch 1
            // replays batches 3 to 46, epoch 2 batches 1 to 46.
            Assert.Equal(44 + 46, json.GetProperty("replayed_steps").GetInt64());
            Assert.Equal(0, Json(eager.Out).GetProperty("replayed_steps").GetInt64());
            Assert.Equal(Json(eager.Out).GetProperty("weights_sha256").GetString(), json.GetProperty("weights_sha256").GetString());
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { return -1; }
    }
}
