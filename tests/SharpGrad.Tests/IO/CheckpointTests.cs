using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Tests.Reliability;
using SharpGrad.Training;

namespace SharpGrad.Tests.IO;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-ckpt");

    public void Dispose() => _dir.Dispose();

    private async Task<(TinyTask Task, CheckpointDirectory Dir)> TrainSomeAsync(int every = 5, long maxSteps = 17, int keep = 3)
    {
        var task = TinyTask.Create();
        var dir = new CheckpointDirectory(_dir.Path, keep);
        var result = await task.RunAsync(4, task.Options(dir, every, maxSteps));
        Assert.True(result.Interrupted);
        Assert.Equal(maxSteps, result.Steps);
        return (task, dir);
    }

    [Fact]
    public async Task ACheckpointHoldsEveryPieceOfState()
    {
        var (task, dir) = await TrainSomeAsync();
        var found = dir.FindLatest();
        Assert.Empty(found.Rejected);
        var ck = found.Checkpoint!;
        Assert.Equal(dir.PathFor(17), found.Path);
        Assert.Equal(17, ck.Step);
        Assert.Equal(2, ck.Epoch);           // 12 batches per epoch: step 17 is batch 5 of epoch 2
        Assert.Equal(5, ck.Batch);
        Assert.Equal(96, ck.DataOrder!.Length);
        Assert.Equal(1, ck.SchedulerEpoch);
        Assert.Equal(task.Model.StateDict().Keys, ck.Model.Keys);
        Assert.Equal(StateDictIO.Sha256(task.Model), StateDictIO.Sha256(ck.Model));
        Assert.Contains("0.exp_avg", ck.Optimizer.Keys);
        Assert.Equal(["default", "loader", "model.2"], ck.Generators.Keys.Order());
        Assert.Equal(task.Loader.Generator.GetState(), ck.Generators["loader"]);
        Assert.NotNull(ck.BestModel);
        Trainer.CheckResumable(ck, task.Model, task.Optimizer, task.Loader, task.Options());
    }

    [Fact]
    public async Task TheDirectoryKeepsTheNewestFew()
    {
        var (_, dir) = await TrainSomeAsync(every: 2, maxSteps: 30, keep: 2);
        Assert.Equal([dir.PathFor(30), dir.PathFor(28)], dir.List());
    }

    [Fact]
    public async Task ASingleFlippedBitAnywhereIsCaught()
    {
        var (_, dir) = await TrainSomeAsync();
        byte[] good = File.ReadAllBytes(dir.List()[0]);
        var rng = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            var bad = (byte[])good.Clone();
            int at = trial < 64 ? Checkpoint.ChecksumOffset + trial : rng.Next(bad.Length); // the checksum itself, then anywhere
            bad[at] ^= (byte)(1 << rng.Next(8));
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(new MemoryStream(bad), "ck.safetensors"));
            Assert.StartsWith("ck.safetensors", e.Message);
        }
    }

    [Fact]
    public async Task FindLatest_SkipsCorruptFilesAndSaysWhy()
    {
        var (_, dir) = await TrainSomeAsync();
        var files = dir.List();
        var bytes = File.ReadAllBytes(files[0]);
        File.WriteAllBytes(files[0], bytes[..(bytes.Length / 2)]);       // truncated
        File.WriteAllText(dir.PathFor(999), "not a checkpoint");           // garbage with a newer step
        var found = dir.FindLatest();
        Assert.Equal(files[1], found.Path);
        Assert.Equal(2, found.Rejected.Count);
        Assert.Equal(dir.PathFor(999), found.Rejected[0].Path);
        Assert.Contains("not a SharpGrad checkpoint", found.Rejected[0].Reason);
        Assert.Contains("checksum mismatch", found.Rejected[1].Reason);
    }

    [Fact]
    public async Task AfterResumingPastCorruptFilesTheAbandonedNewerOnesAreRemoved()
    {
        var (_, dir) = await TrainSomeAsync();
        File.WriteAllText(dir.PathFor(999), "not a checkpoint");
        var found = dir.FindLatest();
        var task = TinyTask.Create();
        await task.RunAsync(4, task.Options(dir, every: 5, maxSteps: 20, resume: found.Checkpoint));
        Assert.Equal([dir.PathFor(20), dir.PathFor(17), dir.PathFor(15)], dir.List());
        Assert.Empty(dir.FindLatest().Rejected);
    }

    [Fact]
    public void FindLatest_InAnEmptyOrMissingDirectoryFindsNothing()
    {
        var none = new CheckpointDirectory(_dir.File("missing")).FindLatest();
        Assert.Null(none.Checkpoint);
        Assert.Empty(none.Rejected);
    }

    [Fact]
    public async Task LeftoverTemporaryFilesAreRemovedByTheNextRun()
    {
        var stale = _dir.File(".checkpoint-000000000003.safetensors.123.abc.tmp");
        File.WriteAllText(stale, "half a checkpoint");
        await TrainSomeAsync();
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public async Task ACheckpointForAnotherModelIsRefusedBeforeAnythingChanges()
    {
        var (_, dir) = await TrainSomeAsync();
        var ck = dir.FindLatest().Checkpoint!;
        var other = TinyTask.Create(hidden: 8);
        string before = other.Hash;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => other.RunAsync(4, other.Options(resume: ck)));
        Assert.Contains("tensor 'model.0.weight' is float32 [16, 6]; the model's is float32 [8, 6]", e.Message);
        Assert.StartsWith(dir.PathFor(17), e.Message);
        Assert.Equal(before, other.Hash);
        var noSchedule = TinyTask.Create(schedule: false);
        Assert.Contains("but this run has none", Assert.Throws<InvalidDataException>(() =>
            Trainer.CheckResumable(ck, noSchedule.Model, noSchedule.Optimizer, noSchedule.Loader, noSchedule.Options())).Message);
    }

    [Fact]
    public void ReservedMetadataKeysAreRefused()
    {
        var ck = new Checkpoint { Model = new() { ["w"] = Tensor.Zeros(2) }, Metadata = new Dictionary<string, string> { ["step"] = "1" } };
        Assert.Throws<ArgumentException>(() => ck.Write(new MemoryStream()));
    }

    [Fact]
    public void ACheckpointIsAPlainSafetensorsFileToo()
    {
        var ck = new Checkpoint
        {
            Model = new() { ["fc1.weight"] = Tensor.Ones(2, 3) }, Generators = new() { ["loader"] = new Generator(4).GetState() },
            DataOrder = [2, 0, 1], Epoch = 3, Batch = 1, Step = 7,
        };
        string path = _dir.File("ck.safetensors");
        ck.Save(path);
        var plain = Safetensors.Read(path);
        Assert.Equal(["model.fc1.weight", "rng.loader", "data.order"], plain.Tensors.Keys);
        Assert.Equal("sharpgrad-checkpoint", plain.Metadata["format"]);
        var back = Checkpoint.Load(path);
        Assert.Equal([2, 0, 1], back.DataOrder!);
        Assert.Equal((3, 1, 7L), (back.Epoch, back.Batch, back.Step));
        Assert.Equal(new Generator(4).GetState(), back.Generators["loader"]);
        Assert.Equal(TensorFileFormat.Checkpoint, TensorFile.Detect(path));
    }
}
