using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;

// The benchmark runner: one workload per run, one JSON line on stdout (see Workloads.cs and bench/reference/).
var options = ParseArgs(args);
string workload = options.GetValueOrDefault("workload", "gemm");
// --b-in-place 0|1|2 (any workload): GemmTuning.BInPlace, for comparing the GEMM with and without reading B in place.
if (options.TryGetValue("b-in-place", out var bInPlace)) GemmTuning.BInPlace = int.Parse(bInPlace, CultureInfo.InvariantCulture);
// --pack-prefetch N (any workload): GemmPacking.PrefetchAhead, floats ahead that the transposed packing of B prefetches (0: off).
if (options.TryGetValue("pack-prefetch", out var ahead)) GemmPacking.PrefetchAhead = int.Parse(ahead, CultureInfo.InvariantCulture);
// --gelu-pairs 0|1 (any workload): GemmTuning.GeluPairs, the GELU epilogue that keeps GELU' two vectors at a time or one.
if (options.TryGetValue("gelu-pairs", out var geluPairs)) GemmTuning.GeluPairs = geluPairs == "1";
// --gelu-one-exp 0|1 (any workload): GeluVector.OneExponential, float32 exact GELU (op, backward, GEMM epilogues) with one
// exponential for GELU and GELU' (1, the default) or the earlier two-exponential form (0), for comparison.
if (options.TryGetValue("gelu-one-exp", out var geluOneExp)) GeluVector.OneExponential = geluOneExp == "1";
// --small-rows-nt 0|1 (any workload): GemmTuning.SmallRowsNT, A Bᵀ with at most 64 rows computed as B Aᵀ with B read in place.
if (options.TryGetValue("small-rows-nt", out var smallNt)) GemmTuning.SmallRowsNT = smallNt == "1";
// --a-in-place 0|1 (any workload): GemmTuning.AInPlace, the packed GEMM's non-transposed A read in place against at most
// --a-in-place-strips N (GemmTuning.AInPlaceMaxStrips) strips of B, rather than packed.
if (options.TryGetValue("a-in-place", out var aInPlace)) GemmTuning.AInPlace = aInPlace == "1";
if (options.TryGetValue("a-in-place-strips", out var aInPlaceStrips)) GemmTuning.AInPlaceMaxStrips = int.Parse(aInPlaceStrips, CultureInfo.InvariantCulture);
// --shared-panel 0|1 (any workload): GemmTuning.SharedPanel, op(B) packed once for all threads on products with many rows.
if (options.TryGetValue("shared-panel", out var sharedPanel)) GemmTuning.SharedPanel = sharedPanel == "1";
// --half-edge 0|1 (any workload): GemmTuning.HalfEdge, a half-empty last column strip of the packed GEMM by the half-width tile.
if (options.TryGetValue("half-edge", out var halfEdge)) GemmTuning.HalfEdge = halfEdge == "1";
// --merge-last-block 0|1 (any workload): GemmTuning.MergeLastBlock, a part's last block of packed A up to a quarter over MC.
if (options.TryGetValue("merge-last-block", out var mergeLast)) GemmTuning.MergeLastBlock = mergeLast == "1";
// --prefetch-next-b 0|1 (any workload): GemmTuning.PrefetchNextStrip, the GEMM kernels prefetching the next packed strip of B.
if (options.TryGetValue("prefetch-next-b", out var nextB)) GemmTuning.PrefetchNextStrip = nextB == "1";
// --pack-on-demand 0|1 (any workload): GemmTuning.PackSharedOnDemand, the shared-panel plan packing each strip of B when first needed.
if (options.TryGetValue("pack-on-demand", out var onDemand)) GemmTuning.PackSharedOnDemand = onDemand == "1";
// --split-last 0|1 (any workload): GemmTuning.SplitLastBlocks, each thread's last row block of the shared-panel plan as two column halves.
if (options.TryGetValue("split-last", out var splitLast)) GemmTuning.SplitLastBlocks = splitLast == "1";
// Cache-blocking sweeps (GemmTuning, any workload): --kc-bytes (packed B strip), --mc (rows of A per block), --nc-bytes
// (B panel). --kc-bytes 32768 --nc-bytes 1048576 is the blocking before session 14 (KC 256 for float32).
if (options.TryGetValue("kc-bytes", out var kcBytes)) GemmTuning.KcBytes = int.Parse(kcBytes, CultureInfo.InvariantCulture);
if (options.TryGetValue("mc", out var mcRows)) GemmTuning.Mc = int.Parse(mcRows, CultureInfo.InvariantCulture);
if (options.TryGetValue("nc-bytes", out var ncBytes)) GemmTuning.NcBytes = int.Parse(ncBytes, CultureInfo.InvariantCulture);
// --old-transforms 0|1 (any workload): Winograd.NarrowTransforms, the Winograd transforms' row combinations in 256-bit vectors as before.
if (options.TryGetValue("old-transforms", out var oldTransforms)) Winograd.NarrowTransforms = oldTransforms == "1";
// --old-pool-tail 0|1 (any workload): Pooling.MaskedTailStores, 2x2 max pooling's backward tails under masks as before.
if (options.TryGetValue("old-pool-tail", out var oldPoolTail)) Pooling.MaskedTailStores = oldPoolTail == "1";
// --old-conv-bias 0|1 (any workload): ImplicitConv.BiasAfterStore, the direct convolution forward's bias added to each stored tile as before.
if (options.TryGetValue("old-conv-bias", out var oldConvBias)) ImplicitConv.BiasAfterStore = oldConvBias == "1";
// --conv-out-prefetch 0|1 (any workload): ImplicitConv.PrefetchNextOutput, the direct convolution forward asking for the next strip's output lines.
if (options.TryGetValue("conv-out-prefetch", out var convOutPrefetch)) ImplicitConv.PrefetchNextOutput = convOutPrefetch == "1";
// --home-parts 0|1 (any workload): WorkerPool.HomeParts, each thread taking its own share of a job's parts first (the same
// rows of a parameter in its products and its update) rather than parts in order by whichever thread is free.
if (options.TryGetValue("home-parts", out var homeParts)) WorkerPool.HomeParts = homeParts == "1";
// --gradient-row-shares 0|1 (any workload): GemmTuning.GradientRowShares, a replayed weight gradient updated in ranges split by rows.
if (options.TryGetValue("gradient-row-shares", out var rowShares)) GemmTuning.GradientRowShares = rowShares == "1";
// --one-update-region 0|1 (any workload): ReplayParts.OneUpdateRegion, a replayed step's split updates in one pool run.
if (options.TryGetValue("one-update-region", out var oneRegion)) SharpGrad.ReplayParts.OneUpdateRegion = oneRegion == "1";
// --old-pad-into 0|1 (any workload): StepPaths.OldPadInto, Narrow's backward clearing all its output before placing the slice, as before.
if (options.TryGetValue("old-pad-into", out var oldPadInto)) SharpGrad.Kernels.StepPaths.OldPadInto = oldPadInto == "1";
// --shared-rows 0|1 (any workload): StepPaths.SharedRows, cross-entropy rows, Narrow/PadInto copies and Permute runs on the worker pool.
if (options.TryGetValue("shared-rows", out var sharedRows)) SharpGrad.Kernels.StepPaths.SharedRows = sharedRows == "1";
switch (workload)
{
    case "gemm":
    {
        // C = op(A) op(B) with --m --n --k (C is m x n), --ta/--tb 1 for a transposed operand (A stored k x m, B stored
        // n x k, read in place), --threads (default: every core), --dtype float32|float64. bench/reference/gemm.py runs
        // the same shapes with NumPy/OpenBLAS and prints the same line.
        int m = int.Parse(options.GetValueOrDefault("m", "512"), CultureInfo.InvariantCulture);
        int n = int.Parse(options.GetValueOrDefault("n", m.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int k = int.Parse(options.GetValueOrDefault("k", m.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        bool ta = options.GetValueOrDefault("ta", "0") == "1", tb = options.GetValueOrDefault("tb", "0") == "1";
        int threads = int.Parse(options.GetValueOrDefault("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        double minSeconds = double.Parse(options.GetValueOrDefault("seconds", "2"), CultureInfo.InvariantCulture);
        string dtype = options.GetValueOrDefault("dtype", "float32");
        // --epilogue none|gelu|gelu-keep: with a GELU epilogue (and a bias), the product of FeedForwardGelu's forward.
        var epilogue = options.GetValueOrDefault("epilogue", "none") switch
        {
            "none" => GemmActivation.None,
            "gelu" => GemmActivation.Gelu,
            "gelu-keep" => GemmActivation.GeluKeepDerivative,
            var e => throw new ArgumentException($"--epilogue {e}: none, gelu or gelu-keep"),
        };
        // --epilogue-only 1: times the epilogue alone over C (no product), for comparing its cost inside and outside the GEMM.
        bool epilogueOnly = options.GetValueOrDefault("epilogue-only", "0") == "1";
        Gemm.MaxThreads = threads;
        var (seconds, cpuSeconds, best) = dtype == "float64" ? TimeGemm<double>(m, n, k, ta, tb, minSeconds, epilogue, epilogueOnly) : TimeGemm<float>(m, n, k, ta, tb, minSeconds, epilogue, epilogueOnly);
        double gflops = 2.0 * m * n * k / seconds / 1e9;
        // CPU seconds per call (all threads, spin-waits included): the steadier figure on a shared machine.
        Console.WriteLine(FormattableString.Invariant($"{{\"workload\":\"gemm\",\"threads\":{threads},\"m\":{m},\"n\":{n},\"k\":{k},\"ta\":{(ta ? 1 : 0)},\"tb\":{(tb ? 1 : 0)},\"dtype\":\"{dtype}\",\"gflops\":{gflops:F2},\"cpu_seconds_per_call\":{cpuSeconds:F8},\"best_call_gflops\":{2.0 * m * n * k / best / 1e9:F2},\"a_in_place\":{(GemmTuning.AInPlace ? 1 : 0)},\"mc\":{GemmTuning.Mc},\"l2_bytes\":{CacheSizes.L2}}}"));
        break;
    }
    case "fma-peak":
    {
        // The measured FMA peak (FmaPeak.cs): --threads (default: every core), --seconds.
        int threads = int.Parse(options.GetValueOrDefault("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        Console.WriteLine(FmaPeak.Run(threads, double.Parse(options.GetValueOrDefault("seconds", "2"), CultureInfo.InvariantCulture)));
        break;
    }
    case "conv":
    {
        // The three convolution products of one layer alone (forward, weight gradient, input gradient), GFLOP/s each:
        // --n images of --c x --h x --h, --o filters of --k x --k, --pad, --stride.
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int n = Int("n", 64), c = Int("c", 32), h = Int("h", 14), o = Int("o", 64), k = Int("k", 5), pad = Int("pad", 2), stride = Int("stride", 1);
        int threads = Int("threads", Environment.ProcessorCount);
        Gemm.MaxThreads = threads;
        // --winograd auto|off|force: whether the forward and input gradient may take Winograd (measurements).
        Winograd.t_mode = options.GetValueOrDefault("winograd", "auto") switch
        {
            "auto" => Winograd.Mode.Auto, "off" => Winograd.Mode.Off, "force" => Winograd.Mode.Force,
            var v => throw new ArgumentException($"--winograd must be auto, off or force, got '{v}'"),
        };
        Console.WriteLine(ConvBench.Run(n, c, h, o, k, pad, stride, threads, double.Parse(options.GetValueOrDefault("seconds", "1"), CultureInfo.InvariantCulture)));
        break;
    }
    case "mlp-epoch": case "cnn-epoch": case "mlp-batch1": case "xor": case "sgd-logreg": case "cnn-layers":
        Console.WriteLine(Workloads.Run(workload, options));
        break;
    case "jit-profile":
        Console.WriteLine(JitProfile.Run(options));
        break;
    // issue 14, lstm-step (bench/SharpGrad.Bench/LstmStep.cs)
    case "lstm-step":
        Console.WriteLine(LstmStep.Run(options));
        break;
    case "allreduce":
    {
        string line = AllReduceBench.Run(options);
        if (line.Length > 0) Console.WriteLine(line);
        break;
    }
    // transformer-step (issue 14): begin
    case "transformer-step":
        Console.WriteLine(TransformerStep.Run(options));
        break;
    // transformer-step: end
    case "micro":
        Console.WriteLine(Micro.Run(options));
        break;
    case "gemm-kernel":
        Console.WriteLine(GemmKernelBench.Run(options));
        break;
    case "gemm-pack":
        Console.WriteLine(GemmKernelBench.Pack(options));
        break;
    case "lstm-micro":
        Console.WriteLine(LstmMicro.Run(options));
        break;
    case "lstm-tails":
        Console.WriteLine(LstmTails.Run(options));
        break;
    case "attention-memory":
        Console.WriteLine(AttentionMemory.Run(options));
        break;
    case "ddp-epoch":
    {
        string line = DdpEpoch.Run(options);
        if (line.Contains("\"rank\":0,", StringComparison.Ordinal)) Console.WriteLine(line); // one line per job, from rank 0
        break;
    }
    default:
        Console.Error.WriteLine($"unknown workload '{workload}' (known: gemm, mlp-epoch, cnn-epoch, mlp-batch1, xor, sgd-logreg, cnn-layers, attention-memory, ddp-epoch, allreduce, lstm-step)");
        return 1;
}
// --a-in-place-report 1: whether any product of the run read A in place (GemmTuning.AInPlace), on stderr.
if (options.GetValueOrDefault("a-in-place-report", "0") == "1") Console.Error.WriteLine($"a_in_place_taken={GemmTuning.AInPlaceTaken}");
return 0;

// Seconds per call: warm-up (JIT tiers, scratch buffers, worker threads), then calls until at least minSeconds and 3 calls.
static (double Seconds, double CpuSeconds, double Best) TimeGemm<T>(int m, int n, int k, bool ta, bool tb, double minSeconds, GemmActivation epilogue, bool epilogueOnly) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    var g = new Generator(1);
    var dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
    T[] a = Tensor.Randn([m * k], g).To(dtype).ToArray<T>();
    T[] b = Tensor.Randn([k * n], g).To(dtype).ToArray<T>();
    var c = new T[m * n];
    var aux = new T[epilogue == GemmActivation.None ? 0 : m * n];
    // With an epilogue, A scaled by 1/√k: C of unit variance, as a layer's pre-activations (randn products of k terms
    // reach |x| of 40, whose e^(−x²/2) lands near the subnormals, and slow them).
    if (epilogue != GemmActivation.None)
        for (int i = 0; i < a.Length; i++) a[i] *= T.CreateTruncating(1 / Math.Sqrt(k));
    T[] bias = Tensor.Randn([n], g).To(dtype).ToArray<T>();
    void Call()
    {
        if (epilogueOnly)
        {
            unsafe
            {
                fixed (T* pc = c, pbias = bias, paux = aux) GemmEpilogue.Apply(pc, n, m, n, pbias, epilogue, paux);
            }
            return;
        }
        if (epilogue == GemmActivation.None) Gemm.Multiply<T>(ta, tb, m, n, k, a, b, c, false);
        else Gemm.MultiplyGelu<T>(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, bias, epilogue, aux);
    }
    var warm = Stopwatch.StartNew();
    while (warm.Elapsed.TotalSeconds < 0.5) Call();
    int reps = 0;
    var process = Process.GetCurrentProcess();
    var cpu0 = process.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    long best = long.MaxValue;
    while (sw.Elapsed.TotalSeconds < minSeconds || reps < 3)
    {
        long t0 = Stopwatch.GetTimestamp();
        Call();
        best = Math.Min(best, Stopwatch.GetTimestamp() - t0);
        reps++;
    }
    double seconds = sw.Elapsed.TotalSeconds / reps;
    process.Refresh();
    return (seconds, (process.TotalProcessorTime - cpu0).TotalSeconds / reps, (double)best / Stopwatch.Frequency);
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var d = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected --name value, got '{args[i]}'");
        d[args[i][2..]] = args[i + 1];
    }
    return d;
}
