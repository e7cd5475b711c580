using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

/// <summary>
/// <c>--workload ddp-epoch --model mlp|cnn</c>: one data-parallel epoch, run under <c>mpirun -np N</c> (or alone, N = 1):
/// Adam (lr 1e-3), global batch 64 split over the processes by <see cref="DistributedSampler"/> (seed 1), gradients
/// averaged by <see cref="DistributedDataParallel"/>. The MLP is mlp-epoch's, the CNN cnn-epoch's (62,346 parameters).
/// Rank 0 prints the epoch's wall-clock seconds, measured between two barriers so that it is the slowest process's time.
/// bench/reference/ddp.py is PyTorch's DDP on gloo with the same split.
/// </summary>
internal static class DdpEpoch
{
    public static string Run(Dictionary<string, string> options)
    {
        using var group = ProcessGroup.InitMpi();
        int threads = int.Parse(options.GetValueOrDefault("threads", "1"), CultureInfo.InvariantCulture);
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        string modelName = options.GetValueOrDefault("model", "mlp");
        var g = new Generator(0);
        Module model = modelName switch
        {
            "mlp" => Models.Mlp(784, [256, 128], 10, generator: g),
            "cnn" => Models.Cnn(generator: g),
            var other => throw new ArgumentException($"unknown --model '{other}' (mlp or cnn)"),
        };
        var data = FashionMnist.Load(validationSize: 0).Train;
        if (options.TryGetValue("limit", out var l)) data = data.Slice(0, int.Parse(l, CultureInfo.InvariantCulture));
        using var ddp = new DistributedDataParallel(model, group);
        var opt = new Adam(model.Parameters(), 1e-3);
        int local = 64 / group.WorldSize;
        var sampler = new DistributedSampler(data, group, shuffle: true, seed: 1);
        void Step((Tensor Input, Tensor Target) batch)
        {
            using var scope = new TensorScope();
            var loss = F.CrossEntropy(model.Forward(batch.Input), batch.Target);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        Step(data.GetBatch(Enumerable.Range(group.Rank * local, local).ToArray())); // warm-up, as the other epoch rows
        group.Barrier();
        var sw = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        int steps = 0;
        foreach (var batch in sampler.Batches(local)) { Step(batch); steps++; }
        group.Barrier();
        double seconds = sw.Elapsed.TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"ddp-epoch\",\"model\":\"{modelName}\",\"processes\":{group.WorldSize},\"threads\":{threads},\"rank\":{group.Rank},\"steps\":{steps},\"seconds\":{seconds:F4},\"cpu_seconds\":{cpu:F4},\"buckets\":{ddp.BucketCount}}}");
    }
}

/// <summary>
/// <c>--workload allreduce</c> under <c>mpirun -np N</c>: the time of one float32 sum-all-reduce per message size (the
/// fastest of --reps, as the machine may be shared), the latency and bandwidth inputs of DISTRIBUTED.md's cost model.
/// </summary>
internal static class AllReduceBench
{
    public static string Run(Dictionary<string, string> options)
    {
        using var group = ProcessGroup.InitMpi();
        int reps = int.Parse(options.GetValueOrDefault("reps", "50"), CultureInfo.InvariantCulture);
        var parts = new List<string>();
        foreach (int count in new[] { 1, 1024, 16384, 65536, 262144, 1048576, 4194304 })
        {
            var buffer = new float[count];
            group.AllReduce(buffer.AsSpan()); // warm-up: connections and buffers
            double best = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                group.Barrier();
                var sw = Stopwatch.StartNew();
                group.AllReduce(buffer.AsSpan());
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{{\"bytes\":{4L * count},\"seconds\":{best:E3}}}"));
        }
        return group.Rank == 0 ? $"{{\"workload\":\"allreduce\",\"processes\":{group.WorldSize},\"sizes\":[{string.Join(',', parts)}]}}" : "";
    }
}
