using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// What the core does with a 512-bit fused multiply-add, measured once: some cores (Zen 5, Xeons with two FMA ports)
/// execute it at full width, as many per cycle as 256-bit ones; others (Zen 4) split it into two 256-bit halves, so it
/// has half the 256-bit rate per instruction. The GEMM's choice of micro-kernel depends on which (<see cref="GemmTuning.TallKernel"/>).
/// </summary>
internal static class FmaWidth
{
    /// <summary>Whether the processor's vendor string is AMD's ("AuthenticAMD").</summary>
    public static readonly bool IsAmd = X86Base.IsSupported && Vendor() == "AuthenticAMD";

    /// <summary>
    /// Whether 512-bit FMAs run at the 256-bit instruction rate: the same count of independent 512-bit and 256-bit FMAs
    /// is timed a few times alternately (about 0.1 ms each) and the best times compared; full width takes about the same
    /// time for both, split width twice as long for 512 bits. The threshold (1.5) sits halfway, far from both.
    /// </summary>
    public static readonly bool FullWidth512 = Vector512.IsHardwareAccelerated && Measure() < 1.5;

    private static string Vendor()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> name = stackalloc byte[12];
        BitConverter.TryWriteBytes(name, ebx);
        BitConverter.TryWriteBytes(name[4..], edx);
        BitConverter.TryWriteBytes(name[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(name);
    }

    /// <summary>The best time of the 512-bit loop over the best time of the 256-bit one.</summary>
    private static double Measure()
    {
        const int Iterations = 4096;
        long best512 = long.MaxValue, best256 = long.MaxValue;
        float sink = 0;
        for (int round = 0; round < 7; round++)
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += Run512(Iterations);
            long t1 = Stopwatch.GetTimestamp();
            sink += Run256(Iterations);
            long t2 = Stopwatch.GetTimestamp();
            best512 = Math.Min(best512, t1 - t0);
            best256 = Math.Min(best256, t2 - t1);
        }
        GC.KeepAlive(sink);
        return (double)best512 / Math.Max(1, best256);
    }

    // Twelve independent chains: enough to fill two pipes of 4-cycle latency, so the time is throughput-bound.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run512(int n)
    {
        var x = Vector512.Create(1.0000001f);
        var y = Vector512.Create(0.9999999f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, y, x); a1 = Vector512.FusedMultiplyAdd(a1, y, x);
            a2 = Vector512.FusedMultiplyAdd(a2, y, x); a3 = Vector512.FusedMultiplyAdd(a3, y, x);
            a4 = Vector512.FusedMultiplyAdd(a4, y, x); a5 = Vector512.FusedMultiplyAdd(a5, y, x);
            a6 = Vector512.FusedMultiplyAdd(a6, y, x); a7 = Vector512.FusedMultiplyAdd(a7, y, x);
            a8 = Vector512.FusedMultiplyAdd(a8, y, x); a9 = Vector512.FusedMultiplyAdd(a9, y, x);
            a10 = Vector512.FusedMultiplyAdd(a10, y, x); a11 = Vector512.FusedMultiplyAdd(a11, y, x);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run256(int n)
    {
        var x = Vector256.Create(1.0000001f);
        var y = Vector256.Create(0.9999999f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, y, x); a1 = Vector256.FusedMultiplyAdd(a1, y, x);
            a2 = Vector256.FusedMultiplyAdd(a2, y, x); a3 = Vector256.FusedMultiplyAdd(a3, y, x);
            a4 = Vector256.FusedMultiplyAdd(a4, y, x); a5 = Vector256.FusedMultiplyAdd(a5, y, x);
            a6 = Vector256.FusedMultiplyAdd(a6, y, x); a7 = Vector256.FusedMultiplyAdd(a7, y, x);
            a8 = Vector256.FusedMultiplyAdd(a8, y, x); a9 = Vector256.FusedMultiplyAdd(a9, y, x);
            a10 = Vector256.FusedMultiplyAdd(a10, y, x); a11 = Vector256.FusedMultiplyAdd(a11, y, x);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
