using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.MpiWorker;

/// <summary>
/// The training run of the equivalence tests: a small model trained with SGD (momentum 0.9) for a number of steps on
/// a synthetic 10-class problem of 12x12 images, each step on this process's shard (from <see cref="DistributedSampler"/>)
/// of a global batch. Everything is seeded, so every process starts from the same weights and data.
/// </summary>
public static class EquivalenceRun
{
    /// <summary>The model: <c>mlp</c>, <c>cnn</c> (no batch norm) or <c>bncnn</c> (with BatchNorm2d).</summary>
    public static Module Model(string name, DType dtype)
    {
        var g = new Generator(7);
        return name switch
        {
            "mlp" => new Sequential(new Flatten(), new Linear(144, 32, generator: g, dtype: dtype), new ReLU(), new Linear(32, 10, generator: g, dtype: dtype)),
            "cnn" => new Sequential(new Conv2d(1, 8, 3, padding: 1, generator: g, dtype: dtype), new ReLU(), new MaxPool2d(2),
                new Conv2d(8, 16, 3, padding: 1, generator: g, dtype: dtype), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(16 * 3 * 3, 10, generator: g, dtype: dtype)),
            "bncnn" => new Sequential(new Conv2d(1, 8, 3, padding: 1, generator: g, dtype: dtype), new BatchNorm2d(8, dtype: dtype), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(8 * 6 * 6, 10, generator: g, dtype: dtype)),
            _ => throw new ArgumentException($"unknown model '{name}'; expected mlp, cnn or bncnn", nameof(name)),
        };
    }

    /// <summary>Synthetic data: Gaussian images (drawn from <paramref name="seed"/>) labelled by the argmax of a fixed random linear map of them.</summary>
    public static TensorDataset Data(int count, DType dtype, int seed = 11)
    {
        var w = Tensor.Randn([144, 10], new Generator(99), dtype: dtype);
        var x = Tensor.Randn([count, 1, 12, 12], new Generator(seed), dtype: dtype);
        var y = x.Reshape(count, 144).MatMul(w).ArgMax(1);
        return new TensorDataset(x, y);
    }

    /// <summary>
    /// Trains for <paramref name="steps"/> steps with a global batch of <paramref name="globalBatch"/> examples, this
    /// process taking its 1/N share of each (with DDP when the group has more than one process).
    /// </summary>
    public static Module Train(ProcessGroup group, string modelName, DType dtype, int globalBatch, int steps) =>
        Train(group, modelName, dtype, globalBatch, steps, new Settings(), out _);

    /// <summary>
    /// How <see cref="Train(ProcessGroup, string, DType, int, int, Settings, out Optimizer)"/> runs: DDP's reduction,
    /// whether the optimizer step is sharded (<see cref="DistributedDataParallel.ShardOptimizerStep"/>; the state is then
    /// gathered at the end), Adam (lr 1e-2) instead of SGD, a callback that sees the DDP wrapper, and whether the step
    /// is compiled (<see cref="Jit.Compile"/>: warm-up, capture, then replays) with a callback that gets, after the run,
    /// the number of replayed steps and the bytes this thread allocated inside them (from the eleventh on); with
    /// <c>GradientSum</c>, every parameter's <see cref="Tensor.Grad"/> and values are read after every seventh step, while training
    /// goes on, and the callback gets the sum of all the values read; <c>AfterRun</c> sees the DDP wrapper after the last step;
    /// <c>RmsProp</c> (lr 1e-3, momentum 0.9) instead of SGD; <c>Stores</c>, <c>SumInStep</c> and <c>ParameterImages</c> are DDP's <see cref="DistributedDataParallel.WindowStores"/>, <see cref="DistributedDataParallel.SumInStep"/> and <see cref="DistributedDataParallel.ParameterImages"/> (null: its default).
    /// </summary>
    public sealed record Settings(GradientReduction Reduction = GradientReduction.Auto, bool Shard = false, bool Adam = false, Action<DistributedDataParallel>? Report = null,
        bool Compile = false, Action<long, long>? Replays = null, Action<double>? GradientSum = null, Action<DistributedDataParallel>? AfterRun = null,
        WindowStores Stores = WindowStores.Adaptive, bool SumInStep = true, bool RmsProp = false, bool? ParameterImages = null);

    /// <summary><see cref="Train(ProcessGroup, string, DType, int, int)"/> with <paramref name="settings"/>; also returns the optimizer (its state whole on every process).</summary>
    public static Module Train(ProcessGroup group, string modelName, DType dtype, int globalBatch, int steps, Settings settings, out Optimizer optimizer)
    {
        var model = Model(modelName, dtype);
        using var ddp = group.WorldSize > 1 ? new DistributedDataParallel(model, group, bucketCapBytes: 4096, reduction: settings.Reduction) : null;
        if (ddp is not null) (ddp.WindowStores, ddp.SumInStep, ddp.ParameterImages) = (settings.Stores, settings.SumInStep, settings.ParameterImages ?? ddp.ParameterImages);
        var data = Data(globalBatch * steps, dtype);
        var sampler = new DistributedSampler(data, group, shuffle: true, seed: 3);
        optimizer = settings.Adam ? new Adam(model.Parameters(), lr: 1e-2)
            : settings.RmsProp ? new RmsProp(model.Parameters(), lr: 1e-3, momentum: 0.9)
            : new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9);
        bool sharded = settings.Shard && ddp is not null && ddp.ShardOptimizerStep(optimizer);
        if (settings.Shard && ddp is not null && !sharded) throw new InvalidOperationException("the optimizer step could not be sharded");
        if (ddp is not null) settings.Report?.Invoke(ddp);
        var opt = optimizer;
        var compiled = settings.Compile
            ? Jit.Compile(t =>
            {
                var loss = F.CrossEntropy(model.Forward(t[0]), t[1]);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                return loss;
            })
            : null;
        int step = 0;
        long replays = 0, replayBytes = 0;
        double gradientSum = 0;
        foreach (var (x, y) in sampler.Batches(globalBatch / group.WorldSize))
        {
            if (compiled is not null)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                compiled.Run(x, y);
                // The first replays run code for the first time (the runtime may allocate while preparing it): the
                // bytes count from the tenth on.
                if (compiled.LastRunReplayed && ++replays > 10) replayBytes += GC.GetAllocatedBytesForCurrentThread() - before;
                else if (compiled.FallbackReason is { } reason) throw new InvalidOperationException("the compiled step runs eagerly: " + reason);
            }
            else
            {
                var loss = F.CrossEntropy(model.Forward(x), y);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
            }
            if (settings.GradientSum is not null && step % 7 == 3)
                foreach (var p in model.Parameters()) gradientSum += p.Grad!.ToArray<double>().Sum() + p.ToArray<double>().Sum();
            if (++step == steps) break;
        }
        settings.GradientSum?.Invoke(gradientSum);
        if (compiled is not null) settings.Replays?.Invoke(replays, replayBytes);
        if (ddp is not null) settings.AfterRun?.Invoke(ddp);
        ddp?.GatherOptimizerState();
        return model;
    }
}
