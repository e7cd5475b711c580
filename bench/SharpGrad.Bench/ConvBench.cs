using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;

/// <summary>Times the three products of one convolution layer through the kernels layer (no autograd, no allocation).</summary>
internal static unsafe class ConvBench
{
    public static string Run(int n, int c, int h, int o, int k, int pad, int stride, int threads, double seconds)
    {
        var g = new ConvGeometry(c, h, h, k, k, stride, stride, pad, pad, 1, 1);
        var rng = new Generator(1);
        float[] x = Tensor.Randn([n * c * h * h], rng).ToArray<float>();
        float[] w = Tensor.Randn([o * g.ColumnRows], rng).ToArray<float>();
        float[] gy = Tensor.Randn([n * o * g.ColumnCols], rng).ToArray<float>();
        var y = new float[n * o * g.ColumnCols];
        var gw = new float[o * g.ColumnRows];
        var gx = new float[n * c * h * h];
        double flops = 2.0 * n * o * g.ColumnRows * g.ColumnCols;
        double fwd, wgrad, xgrad = double.NaN;
        fixed (float* px = x, pw = w, pgy = gy, py = y, pgw = gw, pgx = gx)
        {
            float* ppx = px, ppw = pw, ppgy = pgy, ppy = py, ppgw = pgw, ppgx = pgx;
            fwd = Time(() => ImplicitConv.Forward(ppx, n, g, ppw, o, null, ppy, threads), seconds);
            wgrad = Time(() => ImplicitConv.WeightGradient(ppx, ppgy, n, g, o, ppgw, threads), seconds);
        }
        // Through ConvNd, which picks the implicit kernel or the explicit GEMM + col2im path for this geometry.
        var spec = new ConvSpec(n, c, o, 1, 1, h, h, 1, k, k, 1, stride, stride, 0, pad, pad, 1, 1, 1);
        xgrad = Time(() => ConvNd.InputGradient(spec, gy, w, gx), seconds);
        string Num(double v, string format) => double.IsNaN(v) ? "null" : v.ToString(format, CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"conv\",\"threads\":{threads},\"n\":{n},\"c\":{c},\"h\":{h},\"o\":{o},\"k\":{k},\"pad\":{pad},\"stride\":{stride},\"forward_ms\":{fwd * 1e3:F3},\"weight_grad_ms\":{wgrad * 1e3:F3},\"input_grad_ms\":{Num(xgrad * 1e3, "F3")},\"forward_gflops\":{flops / fwd / 1e9:F1},\"weight_grad_gflops\":{flops / wgrad / 1e9:F1},\"input_grad_gflops\":{Num(flops / xgrad / 1e9, "F1")}}}");
    }

    /// <summary>The fastest of the calls made in <paramref name="seconds"/> (at least 5, after 2 warm-up calls).</summary>
    private static double Time(Action f, double seconds)
    {
        f(); f();
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        int calls = 0;
        for (; calls < 5 || total.Elapsed.TotalSeconds < seconds; calls++)
        {
            var sw = Stopwatch.StartNew();
            f();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        // On a shared machine the process's CPU time per call is the steadier figure (stderr, beside the JSON line).
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / calls;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu_ms_per_call {cpu * 1e3:F3} ({calls} calls)"));
        return best;
    }
}
