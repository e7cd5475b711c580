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

    public static string Run(Dictionary<string, string> options)
    {
        Gemm.MaxThreads = 1;
        int n = 512 * 1024, reps = int.Parse(options.GetValueOrDefault("reps", "40"), CultureInfo.InvariantCulture);
        var x = new float[n]; var g = new float[n]; var y = new float[n];
        var rng = new Random(1);
        for (int i = 0; i < n; i++) { x[i] = (float)(rng.NextDouble() * 6 - 3); g[i] = 1; }
        double T(Action a) => CpuMilliseconds(reps, a);
        double gelu = GeluVector.OneExponential ? T(() => Map.Unary<float, GeluFunction<GeluOneExp>>(x, y)) : T(() => Map.Unary<float, GeluFunction<GeluTwoExp>>(x, y));
        double geluGrad = GeluVector.OneExponential ? T(() => Map.Ternary<float, GeluGradFunction<GeluOneExp>>(g, x, x, y)) : T(() => Map.Ternary<float, GeluGradFunction<GeluTwoExp>>(g, x, x, y));
        var gen = new Generator(3);
        var q = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var k = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var v = Tensor.Randn([64, 4, 16, 32], gen, requiresGrad: true);
        var go = Tensor.Randn([64, 4, 16, 32], gen);
        double fwd = T(() => { using var s = new TensorScope(); using var _ = Autograd.NoGrad(); F.ScaledDotProductAttention(q, k, v, isCausal: true); });
        double both = T(() => { using var s = new TensorScope(); F.ScaledDotProductAttention(q, k, v, isCausal: true).Backward(go); q.Grad = null; k.Grad = null; v.Grad = null; });
        var xt = Tensor.Randn([1024, 128], gen, requiresGrad: true);
        var w = Tensor.Randn([128], gen, requiresGrad: true);
        var b = Tensor.Randn([128], gen, requiresGrad: true);
        var gl = Tensor.Randn([1024, 128], gen);
        double ln = T(() => { using var s = new TensorScope(); F.LayerNorm(xt, [128], w, b).Backward(gl); xt.Grad = null; w.Grad = null; b.Grad = null; });
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"gelu_ms\":{gelu:F3},\"gelu_grad_ms\":{geluGrad:F3},\"sdpa_fwd_ms\":{fwd:F3},\"sdpa_fwd_bwd_ms\":{both:F3},\"layernorm_fwd_bwd_ms\":{ln:F3}}}");
    }
}
