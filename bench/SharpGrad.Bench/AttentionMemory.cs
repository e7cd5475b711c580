using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.NN;

/// <summary>
/// Memory of one attention forward + backward at one context length (workload <c>attention-memory</c>):
/// <c>--impl fused</c> is <c>F.ScaledDotProductAttention</c>, <c>--impl naive</c> the composite
/// softmax(q·kᵀ·scale)·v, which materialises the [L, L] score and probability matrices. Query, key, value and the
/// upstream gradient are [--bh, --l, --d] (batch·heads slices, context L, head size d), created before the
/// measurement; so what is measured is what the operation itself needs.
/// </summary>
/// <remarks>
/// Two figures, both for the call alone: the managed bytes the process allocated during it
/// (<see cref="GC.GetTotalAllocatedBytes"/>, exact and independent of machine load), and the peak resident set above
/// the resident set just before it (the kernel's peak RSS, <c>VmHWM</c>, reset through <c>/proc/self/clear_refs</c>
/// where Linux allows it, else the process peak since start). Run one length per process (bench/attention_memory.sh)
/// so that no earlier call's garbage or heap growth is counted.
/// </remarks>
internal static class AttentionMemory
{
    public static string Run(Dictionary<string, string> options)
    {
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        string impl = options.GetValueOrDefault("impl", "fused");
        if (impl is not ("fused" or "naive")) throw new ArgumentException($"--impl must be fused or naive, got '{impl}'.");
        int bh = Int("bh", 8), l = Int("l", 1024), d = Int("d", 64);
        bool causal = options.GetValueOrDefault("causal", "0") == "1";

        // Warm up on a tiny problem so JIT compilation and the kernel's per-thread scratch are not counted.
        Step(impl, 1, 64, d, causal, new Generator(2));

        var g = new Generator(1);
        var q = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        var k = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        var v = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        var up = Tensor.Randn([bh, l, d], g);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        bool reset = ResetPeak();
        long rss0 = ReadStatus("VmRSS");
        long hwm0 = ReadStatus("VmHWM");
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var y = Forward(impl, q, k, v, causal);
        y.Backward(up);
        clock.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        long hwm = ReadStatus("VmHWM");
        GC.KeepAlive(y);
        double checksum = q.Grad!.Sum().Item() + k.Grad!.Sum().Item() + v.Grad!.Sum().Item();
        long peakDelta = (reset ? hwm : Math.Max(hwm, hwm0)) - rss0;
        long inputs = 4L * bh * l * d * sizeof(float);
        return FormattableString.Invariant(
            $"{{\"workload\":\"attention-memory\",\"impl\":\"{impl}\",\"bh\":{bh},\"l\":{l},\"d\":{d},\"causal\":{(causal ? 1 : 0)},\"allocated_mb\":{allocated / 1048576.0:F2},\"peak_rss_delta_mb\":{peakDelta / 1048576.0:F2},\"peak_reset\":{(reset ? "true" : "false")},\"inputs_mb\":{inputs / 1048576.0:F2},\"score_matrix_mb\":{(double)bh * l * l * sizeof(float) / 1048576.0:F2},\"seconds\":{clock.Elapsed.TotalSeconds:F3},\"checksum\":{checksum:G6}}}");
    }

    private static Tensor Forward(string impl, Tensor q, Tensor k, Tensor v, bool causal)
    {
        if (impl == "fused") return Functional.ScaledDotProductAttention(q, k, v, isCausal: causal);
        int l = q.Size(-2);
        var scores = q.MatMul(k.Transpose(-2, -1)) * (1.0 / Math.Sqrt(q.Size(-1)));
        if (causal)
        {
            var mask = new float[(long)l * l];
            for (int r = 0; r < l; r++)
                for (int c = r + 1; c < l; c++) mask[(long)r * l + c] = float.NegativeInfinity;
            scores += Tensor.FromArray(mask, l, l);
        }
        return scores.Softmax(-1).MatMul(v);
    }

    private static void Step(string impl, int bh, int l, int d, bool causal, Generator g)
    {
        var q = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        var k = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        var v = Tensor.Randn([bh, l, d], g, requiresGrad: true);
        Forward(impl, q, k, v, causal).Backward(Tensor.Randn([bh, l, d], g));
    }

    /// <summary>Resets the kernel's peak-RSS counter (writing 5 to clear_refs); false where that is not allowed.</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>A /proc/self/status field in bytes (0 where there is no /proc).</summary>
    private static long ReadStatus(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            var parts = line[(field.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}
