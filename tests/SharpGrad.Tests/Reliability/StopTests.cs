using SharpGrad.IO;
using SharpGrad.Tests.IO;
using SharpGrad.Training;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// In process: a cancelled run writes a checkpoint of where it stopped and resumes from it exactly; a checkpoint with a
/// non-finite weight is refused naming the tensor; a checkpoint set aside is moved, never deleted.
/// </summary>
public sealed class StopTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-stop");

    public void Dispose() => _dir.Dispose();

    /// <summary>Cancels its token when batch <c>at</c> of epoch <c>epoch</c> reports, i.e. while that step is being counted.</summary>
    private sealed class CancelAt(CancellationTokenSource cts, int epoch, int at) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value)
        {
            if (value.Epoch == epoch && value.Batch == at) cts.Cancel();
        }
    }

    [Theory]
    [InlineData("sgd", 1, 5)]    // mid-epoch: step 5
    [InlineData("adam", 2, 12)]  // the last batch of epoch 2: the cancellation is seen after the epoch-end checkpoint (step 24)
    [InlineData("adam", 3, 7)]   // step 31
    public async Task CancellationFinishesTheStepWritesACheckpointAndResumingFromItEndsLikeAStraightRun(string optimizer, int epoch, int batch)
    {
        var straight = TinyTask.Create(optimizer);
        await straight.RunAsync(4, straight.Options());
        long step = (epoch - 1) * 12 + batch; // 12 batches an epoch

        var dir = new CheckpointDirectory(_dir.File($"{optimizer}-{step}"));
        var first = TinyTask.Create(optimizer);
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Trainer.RunAsync(first.Model, TinyTask.Loss, first.Optimizer, first.Loader,
            first.Validation, new FitOptions { Epochs = 4, BatchProgress = new CancelAt(cts, epoch, batch) }, first.Options(dir), null, cts.Token));
        Assert.Equal(step, first.Optimizer.StepCount);
        var found = dir.FindLatest();
        Assert.Empty(found.Rejected);
        Assert.Equal(step, found.Checkpoint!.Step);
        Assert.Equal(dir.PathFor(step), found.Path);

        var second = TinyTask.Create(optimizer);
        var resumed = await second.RunAsync(4, second.Options(dir, resume: found.Checkpoint));
        Assert.Equal(48, resumed.Steps);
        Assert.Equal(straight.Hash, second.Hash);
    }

    [Fact]
    public async Task CancellationWithoutCheckpointsWritesNothingAndStillStops()
    {
        var task = TinyTask.Create();
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Trainer.RunAsync(task.Model, TinyTask.Loss, task.Optimizer, task.Loader,
            task.Validation, new FitOptions { Epochs = 4, BatchProgress = new CancelAt(cts, 1, 3) }, task.Options(), null, cts.Token));
        Assert.Equal(3, task.Optimizer.StepCount);
        Assert.False(task.Model.Training); // left in evaluation mode, as a finished run is
    }

    [Theory]
    [InlineData("model", double.NaN)]
    [InlineData("model", double.PositiveInfinity)]
    [InlineData("best", double.NaN)]
    public async Task AResumedCheckpointWithANonFiniteWeightIsRefusedNamingTheTensor(string section, double value)
    {
        var dir = new CheckpointDirectory(_dir.File("nan-" + section + value));
        var first = TinyTask.Create();
        await first.RunAsync(4, first.Options(dir, maxSteps: 30)); // after epoch 2, so there are best weights too
        string path = dir.PathFor(30);
        var ck = Checkpoint.Load(path);
        var state = section == "model" ? ck.Model : ck.BestModel!;
        state["3.weight"].Span<float>()[4] = (float)value;
        ck.Save(path); // re-signed: the checksum passes, only the value is wrong

        var second = TinyTask.Create();
        var loaded = Checkpoint.Load(path);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => second.RunAsync(4, second.Options(dir, resume: loaded)));
        string shown = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"{path}: tensor '{section}.3.weight' holds {shown} at index 4; a checkpoint's weights must be finite.", e.Message);
        // FindLatest passes over it for the one before, with the same reason.
        var found = dir.FindLatest(c => Trainer.CheckResumable(c, second.Model, second.Optimizer, second.Loader, second.Options()));
        Assert.Equal(e.Message, Assert.Single(found.Rejected).Reason);
        Assert.Equal(24, found.Checkpoint!.Step);
    }

    [Fact]
    public void SetAsideMovesTheFileOutOfTheDirectorysViewAndNeverOverwrites()
    {
        var dir = new CheckpointDirectory(_dir.File("aside"));
        Directory.CreateDirectory(dir.Path);
        string a = dir.PathFor(7);
        File.WriteAllText(a, "first");
        string moved = dir.SetAside(a);
        Assert.Equal(Path.Combine(dir.Path, "rejected", Path.GetFileName(a)), moved);
        Assert.False(File.Exists(a));
        Assert.Equal("first", File.ReadAllText(moved));
        Assert.Empty(dir.List());
        File.WriteAllText(a, "second");
        string again = dir.SetAside(a);
        Assert.Equal(moved + ".1", again);
        Assert.Equal(("first", "second"), (File.ReadAllText(moved), File.ReadAllText(again)));
    }
}
