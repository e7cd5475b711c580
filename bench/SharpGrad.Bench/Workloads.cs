using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

/// <summary>
/// The end-to-end workloads of the kernels issue, each mirrored by bench/reference/workloads.py with the same data,
/// model, hyper-parameters and step count, so the two sides can be compared line for line.
/// </summary>
internal static class Workloads
{
    public static string Run(string workload, Dictionary<string, string> options)
    {
        int threads = int.Parse(options.GetValueOrDefault("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        int? limit = options.TryGetValue("limit", out var l) ? int.Parse(l, CultureInfo.InvariantCulture) : null;
        // --winograd-leaf N (measurements): images per leaf of the Winograd weight gradient's batch reduction on this thread.
        if (options.TryGetValue("winograd-leaf", out var leaf)) SharpGrad.Kernels.Winograd.t_weightLeafImages = int.Parse(leaf, CultureInfo.InvariantCulture);
        // --winograd-weight auto|direct (measurements): direct keeps the convolutions' weight gradient the implicit GEMM on this thread.
        SharpGrad.Kernels.Winograd.t_directWeightGradient = options.GetValueOrDefault("winograd-weight", "auto") switch
        {
            "auto" => false, "direct" => true,
            var v => throw new ArgumentException($"--winograd-weight must be auto or direct, got '{v}'"),
        };
        // --compile 1 (default): the tiny-step workloads run their step compiled (Jit.Compile: captured once, then replayed); 0: eagerly.
        // (Not compare.sh's --jit, which picks the .NET JIT build of this runner over the NativeAOT one.)
        bool jit = options.GetValueOrDefault("compile", "1") switch { "1" => true, "0" => false, var v => throw new ArgumentException($"--compile must be 0 or 1, got '{v}'") };
        return workload switch
        {
            "mlp-epoch" => EpochLine(workload, threads, Models.Mlp(784, [256, 128], 10, generator: new Generator(0)), limit, jit),
            "cnn-epoch" => EpochLine(workload, threads, CnnModel(options, new Generator(0)), limit, jit),
            "mlp-batch1" => MlpBatch1(threads, int.Parse(options.GetValueOrDefault("steps", "2000"), CultureInfo.InvariantCulture), jit),
            "xor" => TimedLine(workload, threads, jit, () => Xor(int.Parse(options.GetValueOrDefault("epochs", "10000"), CultureInfo.InvariantCulture), jit)),
            "sgd-logreg" => TimedLine(workload, threads, jit, () => SgdLogReg(limit, jit, PrefetchOption(options))),
            "cnn-layers" => CnnLayers(threads, int.Parse(options.GetValueOrDefault("reps", "20"), CultureInfo.InvariantCulture), CnnModel(options, new Generator(0))),
            _ => throw new ArgumentException($"unknown workload '{workload}'"),
        };
    }

    /// <summary>
    /// The issue's CNN by default; <c>--model results</c> is the RESULTS.md model of the Fashion-MNIST issue (three
    /// stages of 3x3 convolutions, 32/64/96 channels, batch norm, dropout 0.3; 83,242 parameters) and <c>--model padded</c>
    /// the one before it (two 5x5 blocks with padding 2; 83,658 parameters), so their training time can be profiled with
    /// the same runner.
    /// </summary>
    private static Module CnnModel(Dictionary<string, string> options, Generator g) =>
        options.GetValueOrDefault("model", "issue") switch
        {
            "issue" => Models.Cnn(generator: g),
            "results" => Models.StagedCnn([[32], [64], [96]], dropout: 0.3, generator: g),
            "padded" => Models.Cnn(dropout: 0.3, batchNorm: true, padding: 2, generator: g),
            var other => throw new ArgumentException($"unknown --model '{other}' (issue, results or padded)"),
        };

    /// <summary>The CPU seconds of the whole process during a workload's timed loop, when it measures them (else NaN).</summary>
    private static double s_loopCpuSeconds = double.NaN;

    /// <summary>
    /// A workload's seconds with the CPU seconds of the whole process meanwhile (data preparation included), those of its
    /// timed loop alone where it measures them (the steadier figure on a shared machine) and whether it ran compiled.
    /// </summary>
    private static string TimedLine(string workload, int threads, bool jit, Func<double> run)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        s_loopCpuSeconds = double.NaN;
        double seconds = run();
        process.Refresh();
        string loop = double.IsNaN(s_loopCpuSeconds) ? "" : string.Create(CultureInfo.InvariantCulture, $",\"loop_cpu_seconds\":{s_loopCpuSeconds:F4}");
        return Line(workload, threads, "seconds", seconds, string.Create(CultureInfo.InvariantCulture,
            $",\"cpu_seconds\":{(process.TotalProcessorTime - cpu0).TotalSeconds:F4}{loop},\"compiled\":{(jit ? 1 : 0)}"));
    }

    /// <summary>The step of <see cref="Step"/> compiled: captured once, then replayed (the loss is returned, not read).</summary>
    internal static CompiledStep CompiledClassifierStep(Module model, Optimizer opt) => Jit.Compile(t =>
    {
        var loss = F.CrossEntropy(model.Forward(t[0]), t[1]);
        opt.ZeroGrad();
        loss.Backward();
        opt.Step();
        return loss;
    });

    private static string Line(string workload, int threads, string key, double value, string extra = "") =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"workload\":\"{workload}\",\"threads\":{threads},\"{key}\":{value:F4}{extra}}}");

    /// <summary>
    /// The epoch's wall-clock seconds, plus the CPU seconds the whole process used meanwhile (all threads, GC included):
    /// on a machine shared with other work the CPU time is the steadier figure of the two. Then the managed bytes
    /// allocated per step and the GC's pauses and collections (gen 0, 1, 2) during the epoch, data loading excluded.
    /// </summary>
    private static string EpochLine(string workload, int threads, Module model, int? limit, bool jit)
    {
        var e = Epoch(model, limit, jit);
        return Line(workload, threads, "seconds", e.Seconds, string.Create(CultureInfo.InvariantCulture,
            $",\"cpu_seconds\":{e.CpuSeconds:F4},\"allocated_bytes_per_step\":{e.AllocatedPerStep},\"gc_pause_seconds\":{e.GcPauseSeconds:F4},\"gc_counts\":[{e.Gen0},{e.Gen1},{e.Gen2}],\"compiled\":{(jit ? 1 : 0)}" +
            $",\"pool_parts\":{e.PoolParts},\"worker_parts\":{e.WorkerParts},\"worker_sleeps\":{e.WorkerSleeps}"));
    }

    /// <summary>
    /// One epoch's figures; PoolParts/WorkerParts/WorkerSleeps are the kernel worker pool's parts published, those the
    /// background worker ran (about half when two cores share the splits, near 0 when the calling thread ran them all)
    /// and the worker's sleeps during the epoch.
    /// </summary>
    private readonly record struct EpochStats(double Seconds, double CpuSeconds, long AllocatedPerStep, double GcPauseSeconds, int Gen0, int Gen1, int Gen2,
        long PoolParts = 0, long WorkerParts = 0, long WorkerSleeps = 0);

    /// <summary>All 60,000 training images (the validation split is training data here), as the reference uses them.</summary>
    private static ImageDataset TrainingImages(int? limit)
    {
        var data = FashionMnist.Load(validationSize: 0);
        return limit is int n ? data.Train.Slice(0, n) : data.Train;
    }

    /// <summary>
    /// One epoch of Adam (lr 1e-3) at batch 64 on cross-entropy, after one warm-up batch, each step in a scope; compiled
    /// (<paramref name="jit"/>): the warm-up batch is the step's eager call, the epoch's first batch its capture.
    /// </summary>
    private static EpochStats Epoch(Module model, int? limit, bool jit)
    {
        var train = TrainingImages(limit);
        var opt = new Adam(model.Parameters(), 1e-3);
        var loader = new DataLoader(train, 64, shuffle: true, generator: new Generator(1));
        var compiled = jit ? CompiledClassifierStep(model, opt) : null;
        void Run((Tensor Input, Tensor Target) batch)
        {
            if (compiled is null) Step(model, opt, batch);
            else compiled.Run(batch.Input, batch.Target);
        }
        using (new TensorScope()) Run(loader.Dataset.GetBatch(Enumerable.Range(0, 64).ToArray()));
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        var pause = GC.GetTotalPauseDuration();
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true), steps = 0;
        var pool0 = SharpGrad.Kernels.WorkerPool.Counts;
        var sw = Stopwatch.StartNew();
        int[] order = loader.NextEpochOrder();
        for (int b = 0; b < loader.BatchCount; b++, steps++)
        {
            using var scope = new TensorScope(); // the batch too is made inside the step's scope
            Run(loader.Batch(order, b));
        }
        double seconds = sw.Elapsed.TotalSeconds;
        long allocatedPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / Math.Max(1, steps);
        process.Refresh();
        var pool1 = SharpGrad.Kernels.WorkerPool.Counts;
        return new EpochStats(seconds, (process.TotalProcessorTime - cpu0).TotalSeconds, allocatedPerStep, (GC.GetTotalPauseDuration() - pause).TotalSeconds,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2,
            pool1.Published - pool0.Published, pool1.ByWorkers - pool0.ByWorkers, pool1.WorkerSleeps - pool0.WorkerSleeps);
    }

    /// <summary>One training step. Callers open a <see cref="TensorScope"/> around it, as a user's loop would: its storage is reused by the next.</summary>
    private static void Step(Module model, Optimizer opt, (Tensor Input, Tensor Target) batch)
    {
        var loss = F.CrossEntropy(model.Forward(batch.Input), batch.Target);
        opt.ZeroGrad();
        loss.Backward();
        opt.Step();
    }

    /// <summary>Adam steps per second of the MLP at batch size 1 (per-step overhead).</summary>
    private static string MlpBatch1(int threads, int steps, bool jit)
    {
        var train = TrainingImages(steps);
        var model = Models.Mlp(784, [256, 128], 10, generator: new Generator(0));
        var opt = new Adam(model.Parameters(), 1e-3);
        var batches = Enumerable.Range(0, steps).Select(i => train.GetBatch([i])).ToArray();
        var compiled = jit ? CompiledClassifierStep(model, opt) : null;
        for (int i = 0; i < 20; i++)
        {
            if (compiled is not null) compiled.Run(batches[i].Input, batches[i].Target);
            else
            {
                using var scope = new TensorScope();
                Step(model, opt, batches[i]);
            }
        }
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        foreach (var b in batches)
        {
            if (compiled is not null) compiled.Run(b.Input, b.Target);
            else
            {
                using var scope = new TensorScope();
                Step(model, opt, b);
            }
        }
        double s = sw.Elapsed.TotalSeconds;
        process.Refresh();
        if (compiled?.FallbackReason is { } why) throw new InvalidOperationException("mlp-batch1: the compiled step fell back to eager mode: " + why);
        return Line("mlp-batch1", threads, "seconds", s, string.Create(CultureInfo.InvariantCulture,
            $",\"steps\":{steps},\"steps_per_s\":{steps / s:F1},\"cpu_seconds\":{(process.TotalProcessorTime - cpu0).TotalSeconds:F4},\"compiled\":{(jit ? 1 : 0)}"));
    }

    /// <summary>XOR with the 2-2-1 ReLU net, squared loss, full-batch gradient descent (lr 0.1), fixed initial weights.</summary>
    private static double Xor(int epochs, bool jit)
    {
        var x = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
        var y = Tensor.FromArray(new double[] { -1, 1, 1, -1 }, 4, 1);
        var g = new Generator(3);
        var u = Tensor.Randn([2, 2], g, DType.Float64, requiresGrad: true);
        var b1 = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        var w = Tensor.Randn([2, 1], g, DType.Float64, requiresGrad: true);
        var b2 = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
        var opt = new Sgd([u, b1, w, b2], lr: 0.1);
        var sw = Stopwatch.StartNew();
        if (jit)
        {
            var step = Jit.Compile(t =>
            {
                var loss = F.MseLoss(t[0].MatMul(u).Add(b1).Relu().MatMul(w).Add(b2), t[1]);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                return loss;
            });
            for (int e = 0; e < epochs; e++) step.Run(x, y);
            if (step.FallbackReason is { } why) throw new InvalidOperationException("xor: the compiled step fell back to eager mode: " + why);
            return sw.Elapsed.TotalSeconds;
        }
        for (int e = 0; e < epochs; e++)
        {
            using var scope = new TensorScope();
            var loss = F.MseLoss(x.MatMul(u).Add(b1).Relu().MatMul(w).Add(b2), y);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>sgd-logreg's <c>--prefetch</c>: 0, 1 or 2 (default; see <see cref="SgdLogReg"/>).</summary>
    private static int PrefetchOption(Dictionary<string, string> options)
    {
        string v = options.GetValueOrDefault("prefetch", "2");
        return v is "0" or "1" or "2" ? v[0] - '0' : throw new ArgumentException($"--prefetch must be 0, 1 or 2, got '{v}'");
    }

    /// <summary>
    /// Per-example SGD (lr 0.01) on multinomial logistic regression: one epoch, one update per image. Compiled, each step
    /// prefetches examples ahead: <paramref name="prefetch"/> 2 (default, <c>--prefetch 2</c>) those
    /// <see cref="CompiledStep.PrefetchDistance"/> steps ahead in stages (<see cref="CompiledStep.PrefetchAhead"/>), 1 the
    /// next one (<see cref="CompiledStep.Prefetch"/>), 0 none.
    /// </summary>
    private static double SgdLogReg(int? limit, bool jit, int prefetch)
    {
        var train = TrainingImages(limit);
        var model = Models.LogisticRegression(784, 10, new Generator(0));
        var opt = new Sgd(model.Parameters(), lr: 0.01);
        var order = new Generator(1).Permutation(train.Count);
        // Every example as a float tensor before the clock starts, as the reference converts its whole image array to
        // float32 before its timer; the timed loop then only picks example i, as the reference's x[i] does.
        var examples = new (Tensor Input, Tensor Target)[train.Count];
        for (int i = 0; i < examples.Length; i++) examples[i] = train.GetBatch([i]);
        var compiled = jit ? CompiledClassifierStep(model, opt) : null;
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < order.Length; k++)
        {
            int i = order[k];
            if (compiled is not null)
            {
                // The next example is known a step ahead: its data is fetched from memory while this step runs.
                if (prefetch == 2)
                {
                    // The examples further ahead are known too: their tensors are asked for in stages (PrefetchAhead), and
                    // the slot of the one after them in the examples array, so that no step waits for memory.
                    int ahead = k + CompiledStep.PrefetchDistance;
                    if (ahead < order.Length) compiled.PrefetchAhead(examples[order[ahead]].Input, examples[order[ahead]].Target);
                    if (ahead + 1 < order.Length) SharpGrad.Kernels.CachePrefetch.Element(ref examples[order[ahead + 1]]);
                }
                else if (prefetch == 1 && k + 1 < order.Length) compiled.Prefetch(examples[order[k + 1]].Input, examples[order[k + 1]].Target);
                compiled.Run(examples[i].Input, examples[i].Target);
            }
            else
            {
                using var scope = new TensorScope();
                Step(model, opt, examples[i]);
            }
        }
        double seconds = sw.Elapsed.TotalSeconds;
        process.Refresh();
        s_loopCpuSeconds = (process.TotalProcessorTime - cpu0).TotalSeconds;
        if (compiled?.FallbackReason is { } why) throw new InvalidOperationException("sgd-logreg: the compiled step fell back to eager mode: " + why);
        return seconds;
    }

    /// <summary>
    /// Profile of one CNN step at batch 64, layer by layer: the fastest of <paramref name="reps"/> forward and backward
    /// passes of each layer alone (its input detached, the upstream gradient all ones), then the fastest whole Adam
    /// step. The minimum, not the mean, so that other processes on the machine disturb it less.
    /// </summary>
    private static string CnnLayers(int threads, int reps, Module model)
    {
        var g = new Generator(0);
        var layers = model.NamedChildren().Select(c => c.Value).ToArray();
        var x0 = Tensor.Rand([64, 1, 28, 28], g);
        var target = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 10)).ToArray(), 64);
        var fwd = Enumerable.Repeat(double.MaxValue, layers.Length).ToArray();
        var bwd = Enumerable.Repeat(double.MaxValue, layers.Length).ToArray();
        for (int r = 0; r < reps + 2; r++)
        {
            var x = x0;
            for (int li = 0; li < layers.Length; li++)
            {
                var xin = x.Detach();
                if (li > 0) xin.RequiresGrad = true;
                var sw = Stopwatch.StartNew();
                var y = layers[li].Forward(xin);
                double tf = sw.Elapsed.TotalMilliseconds;
                var gy = Tensor.OnesLike(y);
                sw.Restart();
                y.Backward(gy);
                double tb = sw.Elapsed.TotalMilliseconds;
                if (r >= 2) { fwd[li] = Math.Min(fwd[li], tf); bwd[li] = Math.Min(bwd[li], tb); }
                x = y.Detach();
            }
        }
        var opt = new Adam(model.Parameters(), 1e-3);
        double step = double.MaxValue;
        for (int r = 0; r < reps + 2; r++)
        {
            var sw = Stopwatch.StartNew();
            using (new TensorScope()) Step(model, opt, (x0, target));
            if (r >= 2) step = Math.Min(step, sw.Elapsed.TotalMilliseconds);
        }
        var parts = layers.Select((l, i) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"layer\":\"{i}.{l.GetType().Name}\",\"forward_ms\":{fwd[i]:F3},\"backward_ms\":{bwd[i]:F3}}}"));
        return Line("cnn-layers", threads, "step_ms", step, ",\"layers\":[" + string.Join(",", parts) + "]");
    }
}
