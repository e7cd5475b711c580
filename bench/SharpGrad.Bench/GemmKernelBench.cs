using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SharpGrad.Kernels;

/// <summary>
/// The packed GEMM's micro-kernel alone, on one thread (workload <c>gemm-kernel</c>): <c>--a-strips</c> packed strips of
/// A (MR x KC each; 1 = one strip, 30 = a 240-row block) against <c>--b-strips</c> packed strips of B (KC x NR each),
/// in the blocked loop's order (every A strip against one B strip, then the next B strip), each call on its own tile of
/// a C with row stride <c>--ldc</c>, <c>--beta</c> 0 (C written) or 1 (C read and written, as every k block but the
/// first). Reports GFLOP/s and the fraction of this thread's measured FMA peak (<see cref="FmaPeak"/>): with everything
/// in L1/L2 it says how close the kernel's own instruction stream runs to two FMAs a cycle.
/// </summary>
internal static unsafe class GemmKernelBench
{
    public static string Run(Dictionary<string, string> options)
    {
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int kc = Int("kc", 512), aStrips = Int("a-strips", 1), bStrips = Int("b-strips", 1), ldc = Int("ldc", 2048);
        float beta = Int("beta", 1);
        // --c-reuse 1: every B strip's calls write the first strip's tiles of C (C stays in L1/L2); --prefetch 1: each call
        // asks for its share of the next B strip, as the blocked loop does (GemmTuning.PrefetchNextStrip).
        bool cReuse = Int("c-reuse", 0) == 1, prefetchNext = Int("prefetch", 1) == 1;
        double seconds = double.Parse(options.GetValueOrDefault("seconds", "1"), CultureInfo.InvariantCulture);
        int mr = GemmKernel512<float>.MR, nr = GemmKernel512<float>.NR;
        if (bStrips * nr > ldc) throw new ArgumentException("--ldc must hold b-strips x NR columns");
        nuint aLen = (nuint)(aStrips * mr * kc), bLen = (nuint)(bStrips * nr * kc), cLen = (nuint)(aStrips * mr * ldc);
        float* a = (float*)NativeMemory.AlignedAlloc(aLen * 4, 64), b = (float*)NativeMemory.AlignedAlloc(bLen * 4, 64);
        float* c = (float*)NativeMemory.AlignedAlloc(cLen * 4, 64);
        var g = new Random(1);
        for (nuint i = 0; i < aLen; i++) a[i] = (float)(g.NextDouble() - 0.5);
        for (nuint i = 0; i < bLen; i++) b[i] = (float)(g.NextDouble() - 0.5);
        new Span<float>(c, (int)cLen).Clear();
        void Sweep()
        {
            nint perCall = (kc + 15) / 16 * 128, stripBytes = (nint)kc * nr * 4;
            for (int s = 0; s < bStrips; s++)
            {
                byte* next = prefetchNext && s + 1 < bStrips ? (byte*)(b + (s + 1) * nr * kc) : null;
                for (int i = 0; i < aStrips; i++)
                {
                    nint offset = i * perCall;
                    byte* pf = next != null && offset < stripBytes ? next + offset : null;
                    GemmKernel512<float>.Run(kc, a + i * mr * kc, b + s * nr * kc, nr, c + i * mr * ldc + (cReuse ? 0 : s * nr), ldc, 1f, beta, pf);
                }
            }
        }
        long sweeps = 1;
        while (true)
        {
            var sw = Stopwatch.StartNew();
            for (long r = 0; r < sweeps; r++) Sweep();
            if (sw.Elapsed.TotalSeconds > seconds / 8) { sweeps = Math.Max(1, (long)(sweeps * seconds / sw.Elapsed.TotalSeconds / 5)); break; }
            sweeps *= 2;
        }
        double best = double.MaxValue;
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (long r = 0; r < sweeps; r++) Sweep();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / sweeps);
        }
        double gflops = 2.0 * aStrips * mr * bStrips * nr * kc / best / 1e9;
        string peakLine = FmaPeak.Run(1, 0.5);
        int at = peakLine.IndexOf("\"gflops\":", StringComparison.Ordinal) + 9;
        double peak = double.Parse(peakLine[at..peakLine.IndexOf('}', at)], CultureInfo.InvariantCulture);
        NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"gemm-kernel\",\"mr\":{mr},\"nr\":{nr},\"kc\":{kc},\"a_strips\":{aStrips},\"b_strips\":{bStrips},\"ldc\":{ldc},\"beta\":{beta},\"c_reuse\":{(cReuse ? 1 : 0)},\"prefetch\":{(prefetchNext ? 1 : 0)},\"gflops\":{gflops:F2},\"peak_gflops\":{peak:F2},\"of_peak\":{gflops / peak:F3}}}");
    }

    /// <summary>
    /// Workload <c>gemm-pack</c>: packing a k x n row-major B (<c>--k</c>, <c>--n</c>, <c>--tb 1</c> transposed) into
    /// 512-deep blocks of NR strips, one thread, best of several passes: <c>--mode rows</c> the whole width row by row
    /// (<see cref="GemmPacking.PackB{T}"/>, the packing run's order), <c>--mode strips</c> strip by strip
    /// (<see cref="GemmPacking.PackBStrip{T}"/>, a strip when first needed). GB/s of packed B written.
    /// </summary>
    public static string Pack(Dictionary<string, string> options)
    {
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int k = Int("k", 2048), n = Int("n", 2048), group = Int("group", 1);
        bool tb = Int("tb", 0) == 1;
        string mode = options.GetValueOrDefault("mode", "rows");
        int nr = GemmKernel512<float>.NR, kc = GemmTuning.BlockDepth<float>(nr, k);
        int nPad = (n + nr - 1) / nr * nr;
        float* b = (float*)NativeMemory.AlignedAlloc((nuint)k * (nuint)n * 4, 64), dst = (float*)NativeMemory.AlignedAlloc((nuint)k * (nuint)nPad * 4, 64);
        for (long i = 0; i < (long)k * n; i++) b[i] = i % 7;
        nint ldb = tb ? k : n;
        void Pass()
        {
            for (int pc = 0; pc < k; pc += kc)
            {
                int kcCur = Math.Min(kc, k - pc);
                float* panel = dst + (nint)pc * nPad;
                if (mode == "rows") GemmPacking.PackB(panel, tb ? b + pc : b + (nint)pc * n, ldb, tb, kcCur, n, nr);
                else
                    for (int j0 = 0; j0 < n; j0 += nr * group)
                    {
                        int cols = Math.Min(nr * group, n - j0);
                        float* src = tb ? b + (nint)j0 * ldb + pc : b + (nint)pc * n + j0;
                        if (group == 1) GemmPacking.PackBStrip(panel + (nint)j0 * kcCur, src, ldb, tb, kcCur, cols, nr);
                        else GemmPacking.PackB(panel + (nint)j0 * kcCur, src, ldb, tb, kcCur, cols, nr);
                    }
            }
        }
        Pass();
        double best = double.MaxValue;
        for (int rep = 0; rep < 20; rep++)
        {
            var sw = Stopwatch.StartNew();
            Pass();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(dst);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"gemm-pack\",\"k\":{k},\"n\":{n},\"tb\":{(tb ? 1 : 0)},\"mode\":\"{mode}\",\"group\":{group},\"ms\":{best * 1e3:F3},\"gbps\":{(double)k * nPad * 4 / best / 1e9:F2}}}");
    }
}
