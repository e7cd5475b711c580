using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

/// <summary>
/// <c>--workload ddp-epoch --model mlp|cnn</c>: one data-parallel epoch, run under <c>mpirun -np N</c> (or alone: N = 1, the model trained without DDP, as a single-process user trains it):
/// Adam (lr 1e-3), global batch 64 split over the processes by <see cref="DistributedSampler"/> (seed 1), gradients
/// averaged by <see cref="DistributedDataParallel"/>. The MLP is mlp-epoch's, the CNN cnn-epoch's (62,346 parameters).
/// Rank 0 prints the epoch's wall-clock seconds, measured between two barriers so that it is the slowest process's time,
/// and every process's breakdown (gathered): CPU seconds; thread CPU seconds in forward, backward (which includes DDP's hooks
/// and its end-of-pass wait), the optimizer and data loading, polling for the other processes (wait_cpu: inside the backward
/// pass, and inside the optimizer step when it is sharded), DDP's <see cref="DistributedDataParallel.Timings"/>, and
/// garbage collections. Options: --batch (global, 64), --bucket-kb (1024), --deterministic 1, --reduction auto|ring|shm, --stream 0|1|auto (auto, the default: DistributedDataParallel.WindowStores), --lean-sync 0|1 (1, the default: DistributedDataParallel.LeanSync), --sum-in-step 0|1 (1, the default: DistributedDataParallel.SumInStep), --param-images 0|1 (1, the default: DistributedDataParallel.ParameterImages), --shard 0|1 (1, the default as in train: the sharded optimizer step, ZeRO-1), --compile 0|1 (1, the default as in train:
/// the step compiled with <see cref="Jit.Compile"/>; its thread CPU is then reported whole, as train_step_cpu), --profile N
/// (compiled: every instruction's wall-clock microseconds per replay, per rank, over N more replays; --profile-clock cpu: the
/// thread's CPU microseconds instead, which the time the process was not scheduled does not inflate), --limit N.
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
        int bucketCap = int.Parse(options.GetValueOrDefault("bucket-kb", "1024"), CultureInfo.InvariantCulture) * 1024;
        var reduction = options.GetValueOrDefault("reduction", "auto") switch
        {
            "auto" => GradientReduction.Auto,
            "ring" => GradientReduction.Ring,
            "shm" => GradientReduction.SharedMemory,
            var other => throw new ArgumentException($"unknown --reduction '{other}' (auto, ring or shm)"),
        };
        // One process trains the model itself, as a user without data parallelism does (no DDP: its hooks would copy every
        // gradient into a bucket and back for nothing), so the 2-process row is measured against plain training.
        using var ddp = group.WorldSize > 1 ? new DistributedDataParallel(model, group, bucketCap, reduction: reduction) : null;
        group.DeterministicReduction = options.GetValueOrDefault("deterministic", "0") == "1";
        // --stream 0: the window written with ordinary stores and every gradient product redirected into the slot, as before;
        // 1: non-temporal stores; auto (the default): measured and chosen while training (DistributedDataParallel.WindowStores).
        if (ddp is not null)
            ddp.WindowStores = options.GetValueOrDefault("stream", "auto") switch
            {
                "0" => WindowStores.Ordinary,
                "1" => WindowStores.Streaming,
                "auto" => WindowStores.Adaptive,
                var other => throw new ArgumentException($"unknown --stream '{other}' (0, 1 or auto)"),
            };
        // --lean-sync 0: a compiled sharded step waits for the other process's sums at the end of the pass and again at the start of the gather, as before (DistributedDataParallel.LeanSync).
        if (ddp is not null) ddp.LeanSync = options.GetValueOrDefault("lean-sync", "1") == "1";
        // --sum-in-step 0: the end of the pass writes this process's chunk of the means and the compiled sharded step reads them, as before (DistributedDataParallel.SumInStep).
        if (ddp is not null) ddp.SumInStep = options.GetValueOrDefault("sum-in-step", "1") == "1";
        // --param-images 0: the gather copies the other process's half of every parameter into its array, as before (DistributedDataParallel.ParameterImages).
        if (ddp is not null) ddp.ParameterImages = options.GetValueOrDefault("param-images", "1") == "1";
        var opt = new Adam(model.Parameters(), 1e-3);
        // The optimizer step sharded over the processes where DDP can, as train does by default (--shard 0: train's --no-shard-optimizer).
        bool sharded = options.GetValueOrDefault("shard", "1") == "1" && ddp is not null && ddp.ShardOptimizerStep(opt);
        // --batch is the global batch (64 by default); one process with --batch 32 is the per-process compute of two
        // processes at 64 without any communication.
        int global = int.Parse(options.GetValueOrDefault("batch", "64"), CultureInfo.InvariantCulture);
        int local = global / group.WorldSize;
        var sampler = new DistributedSampler(data, group, shuffle: true, seed: 1);
        // Per-phase CPU time of this thread in nanoseconds (CLOCK_THREAD_CPUTIME_ID, about a microsecond per read against
        // a step of ~0.5 ms): unlike wall-clock time it does not count the time the process was not scheduled, which on a
        // shared machine is most of it.
        long forward = 0, backward = 0, step = 0, loading = 0, whole = 0;
        ProcessGroup.WaitClock = ThreadCpu.Nanoseconds; // the thread CPU spent polling for the other processes
        // --compile 1 (the default, as train's): the step compiled with Jit.Compile, DDP's hooks and reductions and the
        // sharded step's gather recorded in the plan; --compile 0: eager. A compiled step has no forward/backward/optimizer
        // split: its thread CPU is the whole step (train_step_cpu).
        bool compile = options.GetValueOrDefault("compile", "1") == "1";
        var compiled = compile ? Workloads.CompiledClassifierStep(model, opt) : null;
        long replayed = 0;
        void Step((Tensor Input, Tensor Target) batch)
        {
            using var scope = new TensorScope();
            if (WaitTimeline.Enabled) WaitTimeline.MarkStep();
            long t0 = ThreadCpu.Nanoseconds();
            if (compiled is not null)
            {
                compiled.Run(batch.Input, batch.Target);
                if (compiled.LastRunReplayed) replayed++;
                whole += ThreadCpu.Nanoseconds() - t0;
                return;
            }
            var loss = F.CrossEntropy(model.Forward(batch.Input), batch.Target);
            opt.ZeroGrad();
            long t1 = ThreadCpu.Nanoseconds();
            loss.Backward();
            long t2 = ThreadCpu.Nanoseconds();
            opt.Step();
            long t3 = ThreadCpu.Nanoseconds();
            (forward, backward, step) = (forward + t1 - t0, backward + t2 - t1, step + t3 - t2);
            whole += t3 - t0;
        }
        // Warm-up, as the other epoch rows (compiled: the warm-up call and the capture).
        for (int w = 0; w < (compile ? 2 : 1); w++) Step(data.GetBatch(Enumerable.Range(group.Rank * local, local).ToArray()));
        if (compiled?.FallbackReason is { } reason) throw new InvalidOperationException("ddp-epoch: the compiled step runs eagerly: " + reason);
        (forward, backward, step, whole, replayed) = (0, 0, 0, 0, 0);
        var ddp0 = ddp?.Timings ?? default;
        long waitCpu0 = ProcessGroup.WaitClockTicks, streamed0 = ddp?.StreamedSteps ?? 0;
        int gc0 = GC.CollectionCount(0), gc2 = GC.CollectionCount(2);
        var pause0 = GC.GetTotalPauseDuration();
        // --timeline 1: every rendezvous of every step recorded per rank (WaitTimeline), summarized after the epoch.
        bool timeline = options.GetValueOrDefault("timeline", "0") == "1";
        if (timeline) WaitTimeline.Start(8 * (data.Count / Math.Max(1, local) + 2));
        group.Barrier();
        var sw = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        int steps = 0;
        long tl = ThreadCpu.Nanoseconds();
        foreach (var batch in sampler.Batches(local))
        {
            loading += ThreadCpu.Nanoseconds() - tl;
            Step(batch);
            steps++;
            tl = ThreadCpu.Nanoseconds();
        }
        group.Barrier();
        double seconds = sw.Elapsed.TotalSeconds;
        WaitTimeline.Stop();
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var d = ddp?.Timings ?? default;
        static double S(long nanoseconds) => nanoseconds * 1e-9;
        // Every process's figures, gathered to rank 0's line: [cpu, forward, backward, hooks, wait, finish, step, loading, gc0, gc2, gc pause, wait cpu, train step, replayed]
        // (forward, backward, optimizer, loading, train step: thread CPU seconds; DDP's hooks, wait and finish: wall-clock seconds).
        const int fields = 15;
        var mine = Tensor.FromArray(new double[] { cpu, S(forward), S(backward), d.HookSeconds - ddp0.HookSeconds, d.WaitSeconds - ddp0.WaitSeconds,
            d.FinishSeconds - ddp0.FinishSeconds, S(step), S(loading), GC.CollectionCount(0) - gc0, GC.CollectionCount(2) - gc2,
            (GC.GetTotalPauseDuration() - pause0).TotalSeconds, S(ProcessGroup.WaitClockTicks - waitCpu0), S(whole), replayed, (ddp?.StreamedSteps ?? 0) - streamed0 }, fields);
        var all = group.AllGather(mine).ToArray<double>();
        string PerRank(int k) => "[" + string.Join(',', Enumerable.Range(0, group.WorldSize).Select(r => all[r * fields + k].ToString("F4", CultureInfo.InvariantCulture))) + "]";
        double totalCpu = Enumerable.Range(0, group.WorldSize).Sum(r => all[r * fields]);
        string profile = "";
        // --profile N (compiled only): after the epoch, N more replays of the warm-up batch's plan on every process with
        // a timestamp around each instruction (CompiledStep.ProfileReplay), reported per rank in microseconds per step.
        // Wall-clock: on a shared machine the waits include the time the other process was not scheduled.
        if (compiled is not null && options.TryGetValue("profile", out var p) && int.Parse(p, CultureInfo.InvariantCulture) is > 0 and var reps)
        {
            var (x, y) = data.GetBatch(Enumerable.Range(group.Rank * local, local).ToArray());
            group.Barrier();
            var parts = compiled.ProfileReplay([x, y], reps, options.GetValueOrDefault("profile-clock", "wall") == "cpu" ? ThreadCpu.Nanoseconds : null);
            var times = group.AllGather(Tensor.FromArray(parts.Select(q => q.Nanoseconds / 1000).ToArray(), parts.Length)).ToArray<double>();
            profile = ",\"profile_us\":[" + string.Join(',', parts.Select((q, i) => "{\"name\":\"" + q.Name.Replace("\"", "'", StringComparison.Ordinal) + "\",\"us\":[" +
                string.Join(',', Enumerable.Range(0, group.WorldSize).Select(r => times[r * parts.Length + i].ToString("F2", CultureInfo.InvariantCulture))) + "]}")) + "]";
        }
        if (timeline) profile += TimelineSummary.Gather(group);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"ddp-epoch\",\"model\":\"{modelName}\",\"processes\":{group.WorldSize},\"threads\":{threads},\"rank\":{group.Rank},\"batch\":{global},\"steps\":{steps},\"seconds\":{seconds:F4},\"cpu_seconds\":{cpu:F4},\"buckets\":{ddp?.BucketCount ?? 0},\"reduction\":\"{(ddp is null ? "none" : ddp.Reduction.ToString())}\",\"sharded_step\":{(sharded ? "true" : "false")},\"windowed_step_plans\":{ddp?.WindowedStepPlans ?? 0},\"step_sum_plans\":{ddp?.StepSumPlans ?? 0},\"gradient_products_in_slots\":{ddp?.GradientProductsInSlots ?? 0},\"imaged_parameters\":{ddp?.ImagedParameters ?? 0},\"image_writes\":{ParameterImage.Writes},\"compiled\":{(compile ? "true" : "false")},") +
            string.Create(CultureInfo.InvariantCulture, $"\"cpu_seconds_all_ranks\":{totalCpu:F4},\"per_rank\":{{\"cpu\":{PerRank(0)},\"forward_cpu\":{PerRank(1)},\"backward_cpu\":{PerRank(2)},\"ddp_hooks_wall\":{PerRank(3)},\"ddp_wait_wall\":{PerRank(4)},\"ddp_finish_wall\":{PerRank(5)},\"optimizer_cpu\":{PerRank(6)},\"loading_cpu\":{PerRank(7)},\"gen0\":{PerRank(8)},\"gen2\":{PerRank(9)},\"gc_pause\":{PerRank(10)},\"wait_cpu\":{PerRank(11)},\"train_step_cpu\":{PerRank(12)},\"replayed\":{PerRank(13)},\"streamed_steps\":{PerRank(14)}}}{profile}}}");
    }
}

/// <summary>CPU time of the calling thread (Linux clock_gettime(CLOCK_THREAD_CPUTIME_ID)).</summary>
internal static partial class ThreadCpu
{
    private struct Timespec { public long Seconds, Nanoseconds; }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6")]
    private static partial int clock_gettime(int clock, out Timespec time);

    public static long Nanoseconds()
    {
        clock_gettime(3, out var t); // CLOCK_THREAD_CPUTIME_ID
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }
}

/// <summary>
/// <c>--workload allreduce</c> under <c>mpirun -np N</c>: the time of one float32 all-reduce per message size (the
/// fastest of --reps, as the machine may be shared), the latency and bandwidth inputs of DISTRIBUTED.md's cost model,
/// for two implementations: Open MPI's MPI_Iallreduce (what <see cref="ProcessGroup.AllReduce(Tensor, ReduceOp)"/>
/// calls) and the point-to-point ring DDP's buckets use (<c>RingAllReduce</c>, which also divides by N).
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
            var buffer = GC.AllocateArray<float>(count, pinned: true);
            var ring = new RingAllReduce<float>(group, buffer, MpiNative.Float, tag: 0);
            group.AllReduce(buffer.AsSpan()); // warm-up: connections and buffers
            ring.Start();
            group.WaitUntil(ring.Progress, "ring");
            double best = double.MaxValue, bestRing = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                group.Barrier();
                var sw = Stopwatch.StartNew();
                group.AllReduce(buffer.AsSpan());
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                group.Barrier();
                sw.Restart();
                ring.Start();
                group.WaitUntil(ring.Progress, "ring");
                bestRing = Math.Min(bestRing, sw.Elapsed.TotalSeconds);
            }
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{{\"bytes\":{4L * count},\"seconds\":{best:E3},\"ring_seconds\":{bestRing:E3}}}"));
        }
        return group.Rank == 0 ? $"{{\"workload\":\"allreduce\",\"processes\":{group.WorldSize},\"sizes\":[{string.Join(',', parts)}]}}" : "";
    }
}
