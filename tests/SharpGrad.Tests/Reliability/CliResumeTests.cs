using System.Security.Cryptography;
using SharpGrad.IO;
using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary>Tests that start child processes share one collection, so they do not run at the same time as each other.</summary>
[CollectionDefinition("child processes")]
public sealed class ChildProcessCollection;

/// <summary>
/// <c>sharpgrad train</c> across processes: resume in a new process gives bit-identical weights (SGD and Adam, with
/// shuffling, dropout and a schedule), and failures end with exit code 1 and one line. The children run with one
/// kernel thread, so that these tests isolate checkpointing; determinism across thread counts is
/// <see cref="DeterminismTests"/>' concern.
/// </summary>
[Collection("child processes")]
public sealed class CliResumeTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-cli");

    public void Dispose() => _dir.Dispose();

    /// <summary>256 synthetic images, batches of 16: 16 steps an epoch, 48 in all.</summary>
    private static List<string> Train(string optimizer, params string[] extra)
    {
        var args = new List<string> { "train", "--synthetic", "256", "--hidden", "32", "--dropout", "0.25", "--optimizer", optimizer,
            "--epochs", "3", "--batch-size", "16", "--seed", "3", "--schedule", "step:1:0.5", "--json" };
        if (optimizer == "sgd") args.AddRange(["--lr", "0.05", "--momentum", "0.9"]);
        args.AddRange(extra);
        return args;
    }

    private CliResult Ok(IEnumerable<string> args)
    {
        var r = CliRunner.Run(_dir.Path, args, threads: 1);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}: {r.Stderr}");
        return r;
    }

    private static string Hash(CliResult r) => r.Json.GetProperty("weights_sha256").GetString()!;

    [Theory]
    [InlineData("sgd", false)]
    [InlineData("adam", false)]
    [InlineData("adam", true)]   // with augmentation: its generator is checkpointed too
    public void StoppingAndResumingInANewProcessGivesBitIdenticalWeights(string optimizer, bool flip)
    {
        string[] aug = flip ? ["--hflip"] : [];
        List<string> Run(params string[] extra) => Train(optimizer, [.. aug, .. extra]);
        string straight = Hash(Ok(Run()));
        if (flip) Assert.NotEqual(Hash(Ok(Train(optimizer))), straight);
        string ck = _dir.File("ck-" + optimizer + aug.Length), outDir = _dir.File("out-" + optimizer + aug.Length);
        var stopped = Ok(Run("--checkpoint", ck, "--max-steps", "21"));
        Assert.True(stopped.Json.GetProperty("interrupted").GetBoolean());
        Assert.Equal(21, stopped.Json.GetProperty("steps").GetInt64());
        Assert.NotEqual(straight, Hash(stopped));

        var resumed = Ok(Run("--checkpoint", ck, "--resume", "--out", outDir));
        string from = new CheckpointDirectory(ck).PathFor(21);
        Assert.Contains($"sharpgrad: resuming from {from} (epoch 2, batch 5, step 21)", resumed.Stderr);
        Assert.Equal(from, resumed.Json.GetProperty("resumed_from").GetString());
        Assert.Equal(48, resumed.Json.GetProperty("steps").GetInt64());
        Assert.Equal(straight, Hash(resumed));
        // model.safetensors is the state dict, so its sha256sum is the weights hash.
        Assert.Equal(straight, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(outDir, "model.safetensors")))));
    }

    [Fact]
    public void LabelSmoothingChangesTheRunAndAValueOutsideItsRangeIsRefused()
    {
        var smoothed = Ok(Train("adam", "--label-smoothing", "0.1"));
        Assert.Contains("ls=0.1", smoothed.Json.GetProperty("description").GetString());
        Assert.NotEqual(Hash(Ok(Train("adam"))), Hash(smoothed));
        var bad = CliRunner.Run(_dir.Path, Train("adam", "--label-smoothing", "1"), threads: 1);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--label-smoothing must be in [0, 1) (got 1)", bad.Stderr);
    }

    [Fact]
    public void ConvStagesBuildTheStagedCnnAndMalformedStagesAreRefused()
    {
        List<string> Cnn(params string[] extra) =>
            ["train", "--synthetic", "128", "--model", "cnn", "--epochs", "1", "--batch-size", "32", "--seed", "1", "--json", .. extra];
        var r = Ok(Cnn("--conv-stages", "4/8"));
        // conv 1→4 (36 + 4), bn 8, conv 4→8 (288 + 8), bn 16, classifier 10·(8·7·7) + 10
        Assert.Equal(36 + 4 + 8 + 288 + 8 + 16 + 10 * 8 * 49 + 10, r.Json.GetProperty("params").GetInt64());
        Assert.Contains("cnn 4/8 +bn", r.Json.GetProperty("description").GetString());
        foreach (var (args, message) in new (string[], string)[]
        {
            (["--conv-stages", "4//8"], "--conv-stages: '4//8' has an empty stage"),
            (["--conv-stages", "4/x"], "--conv-stages: 'x' is not a positive integer"),
            (["--conv-stages", "4/8/8/8/8"], "5 stages would pool a 28x28 image below 2x2"),
            (["--conv-stages", "4", "--conv-kernel", "3"], "--conv-stages builds 3x3 convolutions with padding 1"),
        })
        {
            var bad = CliRunner.Run(_dir.Path, Cnn(args), threads: 1);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains(message, bad.Stderr);
        }
        var mlp = CliRunner.Run(_dir.Path, Train("adam", "--conv-stages", "4"), threads: 1);
        Assert.Equal(1, mlp.ExitCode);
        Assert.Contains("--conv-stages is for --model cnn (got --model mlp)", mlp.Stderr);
    }

    [Fact]
    public void ResumeWithoutACheckpointStartsFromTheBeginningAndSaysSo()
    {
        string ck = _dir.File("empty");
        var r = Ok(Train("adam", "--checkpoint", ck, "--resume"));
        Assert.Contains($"no valid checkpoint in {ck}; starting from the beginning", r.Stderr);
        Assert.Equal(Hash(Ok(Train("adam"))), Hash(r));
    }

    [Fact]
    public void ResumeSkipsACorruptCheckpointAndSaysWhich()
    {
        string ck = _dir.File("corrupt");
        Ok(Train("adam", "--checkpoint", ck, "--checkpoint-every", "4", "--max-steps", "26"));
        var dir = new CheckpointDirectory(ck);
        Assert.Equal([dir.PathFor(26), dir.PathFor(24), dir.PathFor(20)], dir.List());
        var bytes = File.ReadAllBytes(dir.PathFor(26));
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(dir.PathFor(26), bytes);
        var r = Ok(Train("adam", "--checkpoint", ck, "--resume"));
        Assert.Contains($"sharpgrad: skipping {dir.PathFor(26)}: {dir.PathFor(26)}, byte offset 35: checksum mismatch", r.Stderr);
        Assert.Contains($"sharpgrad: resuming from {dir.PathFor(24)}", r.Stderr);
        Assert.Equal(Hash(Ok(Train("adam"))), Hash(r));
    }

    [Fact]
    public void AFreshRunIntoADirectoryWithCheckpointsIsRefused()
    {
        string ck = _dir.File("taken");
        Ok(Train("adam", "--checkpoint", ck, "--max-steps", "3"));
        var r = CliRunner.Run(_dir.Path, Train("adam", "--checkpoint", ck), threads: 1);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already holds checkpoints of a run (newest: checkpoint-000000000003.safetensors); add --resume", Assert.Single(r.Stderr.Trim().Split('\n')));
    }

    [Fact]
    public void ResumingWithOtherOptionsIsRefused()
    {
        string ck = _dir.File("other");
        Ok(Train("adam", "--checkpoint", ck, "--max-steps", "5"));
        var r = CliRunner.Run(_dir.Path, Train("adam", "--checkpoint", ck, "--resume", "--lr", "0.5"), threads: 1);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("this checkpoint was written with other options", r.Stderr);
    }

    [Theory]
    // lr 1e6 with Adam: the loss explodes (to ~1e23) but stays finite; it stops at 10^6 times the first loss.
    [InlineData("adam", "1e6", @"^sharpgrad: The loss became \S+ at epoch 1, step \d+, more than 1E\+06 times the first loss \(\S+\): training diverged and was stopped")]
    // lr 1e6 with SGD and the growth check off: the loss becomes NaN.
    [InlineData("sgd", "0", @"^sharpgrad: The loss became NaN at epoch 1, step \d+; the last finite loss was \S+\. Training stopped")]
    public void TrainingThatDivergesStopsWithTheNaNMessageAndWritesNoWeights(string optimizer, string factor, string message)
    {
        string outDir = _dir.File("diverged-" + optimizer);
        var r = CliRunner.Run(_dir.Path, ["train", "--synthetic", "256", "--optimizer", optimizer, "--lr", "1e6", "--divergence-factor", factor,
            "--epochs", "3", "--batch-size", "32", "--out", outDir, "--json"]);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Matches(message, line);
        Assert.False(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void InspectOfAHostileFileExitsWith1AndOneLine()
    {
        // 20 bytes whose header length asks for 64 GB.
        string path = _dir.File("hostile.safetensors");
        var bytes = new byte[20];
        BitConverter.TryWriteBytes(bytes, 64UL << 30);
        "{\"a\":1}"u8.CopyTo(bytes.AsSpan(8));
        File.WriteAllBytes(path, bytes);
        var r = CliRunner.Run(_dir.Path, ["inspect", path]);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Equal($"sharpgrad: {path}, byte offset 0: the header length is {64UL << 30} bytes; expected at most 100000000.", line);
        var missing = CliRunner.Run(_dir.Path, ["inspect", _dir.File("no-such-file.safetensors")]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Single(missing.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void InspectJsonListsTheTensors()
    {
        string path = _dir.File("w.safetensors");
        Safetensors.Save(path, [new("fc1.weight", Tensor.FromArray(new float[] { 1, 2, 3, 6 }, 2, 2))]);
        var r = Ok(["inspect", path, "--json"]);
        var t = r.Json.GetProperty("tensors")[0];
        Assert.Equal("safetensors", r.Json.GetProperty("format").GetString());
        Assert.Equal(("fc1.weight", "F32", 3.0), (t.GetProperty("name").GetString(), t.GetProperty("dtype").GetString(), t.GetProperty("mean").GetDouble()));
    }
}
