using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// A small, fast training task with every source of randomness on: shuffled batches, dropout, and a schedule. Each call
/// to <see cref="Create"/> builds fresh objects from the seed, as a new process would.
/// </summary>
internal sealed class TinyTask
{
    public required Module Model { get; init; }
    public required Optimizer Optimizer { get; init; }
    public required DataLoader Loader { get; init; }
    public required TensorDataset Validation { get; init; }
    public LRScheduler? Scheduler { get; init; }

    public static TensorDataset Blobs(int n, ulong seed, int features = 6)
    {
        var g = new Generator(seed);
        var x = new float[n * features];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            y[i] = c;
            for (int f = 0; f < features; f++) x[i * features + f] = (float)((f % 3 == c ? 2.0 : 0.0) + g.NextNormal());
        }
        return new TensorDataset(Tensor.FromArray(x, n, features), Tensor.FromArray(y));
    }

    /// <param name="optimizer">sgd (with momentum and weight decay) or adam.</param>
    /// <param name="seed">Weights, shuffling and dropout all follow from it.</param>
    /// <param name="schedule">Whether a StepLR schedule is used.</param>
    /// <param name="hidden">Hidden width (64 or more makes the GEMMs big enough to be split across threads).</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="features">Input width.</param>
    /// <param name="examples">Training examples.</param>
    public static TinyTask Create(string optimizer = "adam", ulong seed = 5, bool schedule = true, int hidden = 16, int batch = 8, int examples = 96, int features = 6)
    {
        var g = new Generator(seed);
        var model = new Sequential(new Linear(features, hidden, generator: g), new ReLU(), new Dropout(0.3, new Generator(seed + 100)),
            new Linear(hidden, 3, generator: g));
        Optimizer opt = optimizer == "sgd"
            ? new Sgd(model.Parameters(), 0.05, momentum: 0.9, weightDecay: 1e-4)
            : new Adam(model.Parameters(), 0.01);
        return new TinyTask
        {
            Model = model, Optimizer = opt,
            Loader = new DataLoader(Blobs(examples, 1, features), batch, shuffle: true, generator: new Generator(seed + 1)),
            Validation = Blobs(30, 2, features),
            Scheduler = schedule ? new StepLR(opt, 2, 0.5) : null,
        };
    }

    public static Tensor Loss(Tensor output, Tensor target) => F.CrossEntropy(output, target);

    public TrainingRunOptions Options(CheckpointDirectory? dir = null, int every = 0, long? maxSteps = null, Checkpoint? resume = null) =>
        new() { Checkpoints = dir, CheckpointEvery = every, MaxSteps = maxSteps, ResumeFrom = resume, Scheduler = Scheduler };

    public Task<TrainingRunResult> RunAsync(int epochs, TrainingRunOptions run) =>
        Trainer.RunAsync(Model, Loss, Optimizer, Loader, Validation, new FitOptions { Epochs = epochs }, run);

    public string Hash => StateDictIO.Sha256(Model);
}
