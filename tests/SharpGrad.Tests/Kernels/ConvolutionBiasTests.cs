using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The direct convolution forward adds its bias inside the GEMM micro-kernel, to the finished sums before the store
/// (<see cref="IGemmKernel{T}.Run"/>'s row bias), instead of to each tile after it is stored
/// (<see cref="ImplicitConv.BiasAfterStore"/>): the same two roundings, so the same bits. Checked on the micro-kernels
/// themselves and on whole convolutions, against the former path and against the output without bias plus the bias.
/// </summary>
[Collection(GemmCollection.Name)]
public class ConvolutionBiasTests
{
    /// <summary>
    /// Each micro-kernel's row bias gives bit for bit its tile stored without it and then the bias added row by row, for
    /// C not read (beta zero), added (beta one) and scaled (alpha and beta other than one), in float32 and float64; the
    /// columns past the tile are left alone.
    /// </summary>
    [Fact]
    public unsafe void MicroKernelRowBiasIsTheStoredTilePlusTheBias()
    {
        RowBias<float, GemmKernel256<float>>();
        RowBias<double, GemmKernel256<double>>();
        RowBias<float, GemmKernelScalar<float>>();
        RowBias<double, GemmKernelScalar<double>>();
        if (Vector512.IsHardwareAccelerated)
        {
            RowBias<float, GemmKernel512<float>>();
            RowBias<double, GemmKernel512<double>>();
        }
    }

    private static unsafe void RowBias<T, TK>() where T : unmanaged, IFloatingPointIeee754<T> where TK : struct, IGemmKernel<T>
    {
        int mr = TK.MR, nr = TK.NR, ldc = nr + 3;
        var rng = new Random(mr * 100 + nr + sizeof(T));
        foreach (int kc in new[] { 1, 25, 77 })
            foreach (var (alpha, beta) in new[] { (1.0, 0.0), (1.0, 1.0), (0.75, -1.5) })
            {
                T[] a = Values<T>(rng, kc * mr), b = Values<T>(rng, kc * nr), bias = Values<T>(rng, mr), c0 = Values<T>(rng, mr * ldc);
                T[] fused = (T[])c0.Clone(), after = (T[])c0.Clone();
                T ta = T.CreateChecked(alpha), tb = T.CreateChecked(beta);
                fixed (T* pa = a, pb = b, pbias = bias, pf = fused, pafter = after)
                {
                    TK.Run(kc, pa, pb, nr, pf, ldc, ta, tb, null, pbias);
                    TK.Run(kc, pa, pb, nr, pafter, ldc, ta, tb);
                }
                for (int r = 0; r < mr; r++)
                    for (int j = 0; j < nr; j++) after[r * ldc + j] += bias[r];
                Assert.Equal(Bits(after), Bits(fused));
                Assert.NotEqual(Bits(c0), Bits(fused));
            }
    }

    /// <summary>
    /// Whole direct convolutions (Winograd off) in float32 and float64 on 1 and 2 threads: the bias added in the kernel
    /// (with the next strip's output prefetched, <see cref="ImplicitConv.PrefetchNextOutput"/>) gives bit for bit the
    /// former path's output (neither) and the output without bias plus the bias. The CNN's first layer (whole
    /// tiles, one k block), several k blocks, a last row tile of 4 channels and strips across images, stride 2.
    /// </summary>
    [Theory]
    [InlineData(64, 1, 32, 28, 28, 5, 0, 1)]   // the CNN's first layer
    [InlineData(3, 16, 20, 13, 11, 5, 2, 1)]   // 400 column rows; 20 channels: a 4-row last tile; strips across images
    [InlineData(2, 40, 16, 12, 12, 5, 0, 1)]   // 1000 column rows: several k blocks
    [InlineData(5, 3, 8, 9, 9, 3, 1, 2)]       // stride 2
    [InlineData(1, 2, 9, 33, 35, 3, 1, 1)]     // one image, 9 channels
    public void KernelBiasGivesTheFormerOutput(int n, int c, int o, int h, int w, int k, int pad, int stride)
    {
        Forward<float>(n, c, o, h, w, k, pad, stride);
        Forward<double>(n, c, o, h, w, k, pad, stride);
    }

    private static unsafe void Forward<T>(int n, int c, int o, int h, int w, int k, int pad, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(n * 7919 + c * 131 + o * 17 + h * 5 + w + k * 3 + pad + sizeof(T));
        var g = new ConvGeometry(c, h, w, k, k, stride, stride, pad, pad, 1, 1);
        int positions = g.OutHeight * g.OutWidth;
        T[] x = Values<T>(rng, n * c * h * w), wt = Values<T>(rng, o * g.ColumnRows), bias = Values<T>(rng, o);
        T[] Run(bool withBias, bool after, int threads, bool prefetch = true)
        {
            var y = new T[n * o * positions];
            bool saved = ImplicitConv.BiasAfterStore, savedPrefetch = ImplicitConv.PrefetchNextOutput;
            var savedMode = Winograd.t_mode;
            ImplicitConv.BiasAfterStore = after;
            ImplicitConv.PrefetchNextOutput = prefetch;
            Winograd.t_mode = Winograd.Mode.Off;
            try
            {
                fixed (T* px = x, pw = wt, pb = bias, py = y)
                    ImplicitConv.Forward(px, n, g, pw, o, withBias ? pb : null, py, threads);
            }
            finally { ImplicitConv.BiasAfterStore = saved; ImplicitConv.PrefetchNextOutput = savedPrefetch; Winograd.t_mode = savedMode; }
            return y;
        }
        T[] plain = Run(withBias: false, after: false, threads: 1, prefetch: false);
        T[] expected = new T[plain.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < o; ch++)
                for (int p = 0; p < positions; p++)
                {
                    int at = (i * o + ch) * positions + p;
                    expected[at] = plain[at] + bias[ch];
                }
        foreach (int threads in new[] { 1, 2 })
        {
            Assert.Equal(Bits(expected), Bits(Run(withBias: true, after: true, threads, prefetch: false)));
            Assert.Equal(Bits(expected), Bits(Run(withBias: true, after: false, threads)));
        }
    }

    private static T[] Values<T>(Random rng, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = new T[count];
        for (int i = 0; i < count; i++) v[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static long[] Bits<T>(T[] v) where T : unmanaged, IFloatingPointIeee754<T> =>
        v.Select(e => typeof(T) == typeof(float) ? BitConverter.SingleToInt32Bits((float)(object)e) : BitConverter.DoubleToInt64Bits((double)(object)e)).ToArray();
}
