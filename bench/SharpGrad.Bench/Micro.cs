using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;

/// <summary>Scratch micro-timings (not a compare.sh row).</summary>
internal static class Micro
{
    public static string Run(Dictionary<string, string> options)
    {
        int n = 512 * 1024, reps = 50;
        var x = new float[n]; var g = new float[n]; var y = new float[n];
        var rng = new Random(1);
        for (int i = 0; i < n; i++) { x[i] = (float)(rng.NextDouble() * 6 - 3); g[i] = 1; }
        double T(Action a) { for (int i = 0; i < 3; i++) a(); var sw = Stopwatch.StartNew(); for (int i = 0; i < reps; i++) a(); return sw.Elapsed.TotalMilliseconds / reps; }
        double gelu = T(() => Map.Unary<float, GeluFunction>(x, y));
        double geluGrad = T(() => Map.Ternary<float, GeluGradFunction>(g, x, x, y));
        double exp = T(() => Map.Unary<float, ExpFunction>(x, y));
        double copy = T(() => x.AsSpan().CopyTo(y));
        var tx = Tensor.FromArray(x, 1024, 512);
        double tgelu = T(() => { using var s = new TensorScope(); tx.Gelu(); });
        return string.Create(CultureInfo.InvariantCulture, $"{{\"gelu_ms\":{gelu:F3},\"gelu_grad_ms\":{geluGrad:F3},\"exp_ms\":{exp:F3},\"copy_ms\":{copy:F3},\"tensor_gelu_ms\":{tgelu:F3}}}");
    }
}
