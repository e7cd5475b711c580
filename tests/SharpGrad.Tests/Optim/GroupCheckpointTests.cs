using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.IO;
using SharpGrad.Tests.Reliability;
using SharpGrad.Training;

namespace SharpGrad.Tests.Optim;

/// <summary>Parameter groups through the Trainer's checkpoints: saved, validated and restored with their own settings.</summary>
public sealed class GroupCheckpointTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-groups");

    public void Dispose() => _dir.Dispose();

    private static (Sequential Model, Sgd Optimizer, DataLoader Loader) Create()
    {
        var g = new Generator(3);
        var model = new Sequential(new Linear(6, 8, generator: g), new ReLU(), new Linear(8, 3, generator: g));
        // Weights decay, biases do not, and have their own rate: the usual reason for groups.
        var weights = model.NamedParameters().Where(p => p.Key.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Value);
        var biases = model.NamedParameters().Where(p => p.Key.EndsWith("bias", StringComparison.Ordinal)).Select(p => p.Value);
        var opt = new Sgd([new ParamGroup(weights) { WeightDecay = 1e-3 }, new ParamGroup(biases) { Lr = 0.02, WeightDecay = 0 }], lr: 0.05, momentum: 0.9);
        return (model, opt, new DataLoader(TinyTask.Blobs(48, 1), 8, shuffle: true, generator: new Generator(4)));
    }

    [Fact]
    public async Task GroupsAreCheckpointedAndRestored()
    {
        var (model, opt, loader) = Create();
        var dir = new CheckpointDirectory(_dir.Path, 2);
        await Trainer.RunAsync(model, TinyTask.Loss, opt, loader, null, new FitOptions { Epochs = 2 },
            new TrainingRunOptions { Checkpoints = dir, CheckpointEvery = 4, MaxSteps = 8 });
        var ck = dir.FindLatest().Checkpoint!;
        Assert.Equal(0.02, ck.Optimizer["param_groups.1.lr"].Item());
        Assert.Equal(1e-3, ck.Optimizer["param_groups.0.weight_decay"].Item());

        // A fresh run whose groups start with other settings takes the checkpoint's.
        var (model2, opt2, loader2) = Create();
        opt2.ParamGroups[1].Lr = 0.5;
        Trainer.CheckResumable(ck, model2, opt2, loader2);
        await Trainer.RunAsync(model2, TinyTask.Loss, opt2, loader2, null, new FitOptions { Epochs = 2 },
            new TrainingRunOptions { ResumeFrom = ck, MaxSteps = 8 });
        Assert.Equal(0.02, opt2.ParamGroups[1].Lr);
        Assert.Equal(StateDictIO.Sha256(model), StateDictIO.Sha256(model2));

        // A checkpoint whose group settings are invalid is refused, naming the tensor.
        ck.Optimizer["param_groups.1.momentum"] = Tensor.Scalar(-1.0, DType.Float64);
        var e = Assert.Throws<InvalidDataException>(() => Trainer.CheckResumable(ck, model2, opt2, loader2));
        Assert.Contains("param_groups.1", e.Message);
        Assert.Contains("momentum", e.Message);
    }
}
