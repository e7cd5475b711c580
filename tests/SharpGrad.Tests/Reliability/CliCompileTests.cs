using SharpGrad.Tests.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// <c>sharpgrad train</c> compiles its training step by default; <c>--no-compile</c> runs it eagerly. Both must end with
/// the same weights, bit for bit (the same SHA-256), for the staged CNN with batch norm and dropout.
/// </summary>
[Collection("child processes")]
public sealed class CliCompileTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-compile");

    public void Dispose() => _dir.Dispose();

    private CliResult Ok(IEnumerable<string> args)
    {
        var r = CliRunner.Run(_dir.Path, args, threads: 1);
        Assert.True(r.ExitCode == 0, $"exit code {r.ExitCode}: {r.Stderr}");
        return r;
    }

    [Fact]
    public void CompiledAndEagerTrainingEndWithTheSameWeights()
    {
        // 100 synthetic images at batch 16: six full batches and a partial one per epoch.
        string[] args = ["train", "--synthetic", "100", "--model", "cnn", "--conv-stages", "4/6", "--dropout", "0.2", "--batch-size", "16",
            "--epochs", "2", "--seed", "4", "--json"];
        var compiled = Ok(args);
        var eager = Ok([.. args, "--no-compile"]);
        Assert.Equal(eager.Json.GetProperty("weights_sha256").GetString(), compiled.Json.GetProperty("weights_sha256").GetString());
        Assert.Equal(0, eager.Json.GetProperty("replayed_steps").GetInt64());
        Assert.True(compiled.Json.GetProperty("replayed_steps").GetInt64() >= 8, compiled.Stdout);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, compiled.Json.GetProperty("compile_fallback").ValueKind);
    }
}
