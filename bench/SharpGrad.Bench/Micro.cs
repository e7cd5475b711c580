using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

/// <summary>
/// Single-thread CPU milliseconds of a few kernels of the transformer step (<c>--workload micro</c>), for A/B runs of
/// kernel changes on a loaded machine: CPU time of the process, one thread. Not a compare.sh row.
/// </summary>
internal static class Micro
{
    /// <summary>The process's CPU milliseconds per call of <paramref name="a"/> over <paramref name="reps"/> calls, after three warm-up calls.</summary>
    public static double CpuMilliseconds(int reps, Action a)
    {
        var process = Process.GetCurrentProcess();
        for (int i = 0; i < 3; i++) a();
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        for (int i = 0; i < reps; i++) a();
        process.Refresh();
        return (process.TotalProcessorTime - cpu).TotalMilliseconds / reps;
    }

    /// <summary>
    /// Milliseconds per call of the transformer step's attention kernel alone (FlashAttention's forward, then backward) on
    /// one layer's packed in-projection: [64, 16, 3·128], 4 heads of 32, causal. With <paramref name="sets"/> &gt; 1 the calls
    /// cycle through that many separate sets of operands (about 4 MB each), so they find them out of cache as a training
    /// step does rather than warm from the previous call.
    /// </summary>
    private static (double Forward, double Backward) PackedAttentionKernel(Generator gen, Func<Action, double> time, int sets = 1)
    {
        const int batch = 64, len = 16, heads = 4, hd = 32, slices = batch * heads;
        var qkv = new float[sets][];
        var gop = new float[sets][];
        var op = new float[sets][];
        var lse = new float[sets][];
        var gqkv = new float[sets][];
        for (int i = 0; i < sets; i++)
        {
            qkv[i] = Tensor.Randn([batch, len, 3 * heads * hd], gen).ToArray<float>();
            gop[i] = Tensor.Randn([batch, len, heads * hd], gen).ToArray<float>();
            op[i] = new float[gop[i].Length];
            lse[i] = new float[slices * len];
            gqkv[i] = new float[qkv[i].Length];
        }
        var pr = new FlashAttention.Problem(slices, len, len, hd, hd, 1 / Math.Sqrt(hd), true, 0, 0, null, 0, 0, false, heads);
        int f = 0, b = 0;
        double forward = time(() => { int i = f++ % sets; FlashAttention.Forward<float>(pr, qkv[i], qkv[i], qkv[i], [], op[i], lse[i], 0, slices); });
        double backward = time(() => { int i = b++ % sets; FlashAttention.Backward<float>(pr, qkv[i], qkv[i], qkv[i], [], op[i], lse[i], gop[i], gqkv[i], gqkv[i], gqkv[i], 0, slices); });
        return (forward, backward);
    }

    /// <summary>
    /// Whether the packed attention kernel's output, log-sum-exp and gradient have the same bits with and without
    /// <see cref="StepPaths.OldAttention"/> in this build (the tests check it under the JIT; this checks a NativeAOT build).
    /// </summary>
    private static bool PackedAttentionSameBits()
    {
        const int batch = 8, len = 16, heads = 4, hd = 32, slices = batch * heads;
        var gen = new Generator(11);
        var qkv = (Tensor.Randn([batch, len, 3 * heads * hd], gen) * 2).ToArray<float>();
        var go = Tensor.Randn([batch, len, heads * hd], gen).ToArray<float>();
        var pr = new FlashAttention.Problem(slices, len, len, hd, hd, 1 / Math.Sqrt(hd), true, 0, 0, null, 0, 0, false, heads);
        float[] Run(bool old)
        {
            bool saved = StepPaths.OldAttention;
            StepPaths.OldAttention = old;
            float[] o = new float[go.Length], lse = new float[slices * len], g = new float[qkv.Length];
            FlashAttention.Forward<float>(pr, qkv, qkv, qkv, [], o, lse, 0, slices);
            FlashAttention.Backward<float>(pr, qkv, qkv, qkv, [], o, lse, go, g, g, g, 0, slices);
            StepPaths.OldAttention = saved;
            return [.. o, .. lse, .. g];
        }
        float[] before = Run(true), after = Run(false);
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(before.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(after.AsSpan()));
    }

    public static string Run(Dictionary<string, string> options)
    {
        Gemm.MaxThreads = 1;
        // --old-attention 1: attention's small-tile path as before its inline row statistics and causal trimming (StepPaths).
        StepPaths.OldAttention = options.GetValueOrDefault("old-attention", "0") != "0";
        // --old-causal-blocks 1: attention's causal products trimmed per eight-row block only, not inside it (StepPaths).
        StepPaths.OldCausalBlocks = options.GetValueOrDefault("old-causal-blocks", "0") != "0";
        // --attention-prefetch 0: attention's small-tile path without its prefetch of the next slice (StepPaths).
        StepPaths.AttentionPrefetch = options.GetValueOrDefault("attention-prefetch", "1") != "0";
        int n = 512 * 1024, reps = int.Parse(options.GetValueOrDefault("reps", "40"), CultureInfo.InvariantCulture);
        var x = new float[n]; var g = new float[n]; var y = new float[n];
        var rng = new Random(1);
        for (int i = 0; i < n; i++) { x[i] = (float)(rng.NextDouble() * 6 - 3); g[i] = 1; }
        double T(Action a) => CpuMilliseconds(reps, a);
        if (options.GetValueOrDefault("attention-only", "0") != "0") // --attention-only 1: just the packed attention kernel
        {
            // --attention-sets N: cycle through N operand sets (cold caches, as in a step) rather than one.
            var (onlyFwd, onlyBwd) = PackedAttentionKernel(new Generator(3), T, int.Parse(options.GetValueOrDefault("attention-sets", "1"), CultureInfo.InvariantCulture));
            return string.Create(CultureInfo.InvariantCulture,
                $"{{\"packed_attention_kernel_fwd_ms\":{onlyFwd:F4},\"packed_attention_kernel_bwd_ms\":{onlyBwd:F4},\"same_bits_as_old_attention\":{(PackedAttentionSameBits() ? "true" : "false")}}}");
        }
        double gelu = GeluVector.OneExponential ? T(() => Map.Unary<float, GeluFunction<GeluOneExp>>(x, y)) : T(() => Map.Unary<float, GeluFunction<GeluTwoExp>>(x, y));
        double geluGrad = GeluVector.OneExponential ? T(() => Map.Ternary<float, GeluGradFunction<GeluOneExp>>(g, x, x, y)) : T(() => Map.Ternary<float, GeluGradFunction<GeluTwoExp>>(g, x, x, y));
        var gen = new Generator(3);
        var q = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var k = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var v = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var go = Tensor.Randn([64, 4, 16, 32], gen);
        double fwd = T(() => { using var s = new TensorScope(); using var _ = Autograd.NoGrad(); F.ScaledDotProductAttention(q, k, v, isCausal: true); });
        double both = T(() => { using var s = new TensorScope(); F.ScaledDotProductAttention(q, k, v, isCausal: true).Backward(go); q.Grad = null; k.Grad = null; v.Grad = null; });
        var (kernelFwd, kernelBwd) = PackedAttentionKernel(gen, T);
        var xt = Tensor.Randn([1024, 128], gen, requiresGrad: true);
        var w = Tensor.Randn([128], gen, requiresGrad: true);
        var b = Tensor.Randn([128], gen, requiresGrad: true);
        var gl = Tensor.Randn([1024, 128], gen);
        double ln = T(() => { using var s = new TensorScope(); F.LayerNorm(xt, [128], w, b).Backward(gl); xt.Grad = null; w.Grad = null; b.Grad = null; });
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"gelu_ms\":{gelu:F3},\"gelu_grad_ms\":{geluGrad:F3},\"sdpa_fwd_ms\":{fwd:F3},\"sdpa_fwd_bwd_ms\":{both:F3},\"layernorm_fwd_bwd_ms\":{ln:F3},\"packed_attention_kernel_fwd_ms\":{kernelFwd:F4},\"packed_attention_kernel_bwd_ms\":{kernelBwd:F4}}}");
    }
}
