using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// A register-tiled GEMM micro-kernel: <c>C[0..MR, 0..NR] = alpha * sum_p A(r, p) B(p, j) + beta * C</c> over one
/// k-block, with the MR x NR tile of C held in registers for the whole block. A is a packed strip,
/// <c>A(r, p) = a[p * MR + r]</c>; B row p is the NR contiguous values at <c>b + p * rsb</c> (rsb = NR for a packed
/// strip, the leading dimension when B is read in place). When beta is zero C is not read (so NaN in C does not leak).
/// Each C element is one sequence of fused multiply-adds in increasing p, whatever thread or tile computes it: that is
/// what makes the GEMM bit-identical for any thread count.
/// </summary>
internal interface IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Rows of the register tile (the broadcast operand, A).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile (the vector operand, B).</summary>
    static abstract int NR { get; }

    /// <summary>
    /// Runs the tile. <paramref name="prefetch"/>, when not null, is where the next packed strip of B (the caller's next
    /// operand) continues: a kernel may ask for a few of its cache lines along the way (<see cref="GemmVector.PrefetchAlong"/>);
    /// a hint only, never read. <paramref name="rowBias"/>, when not null, holds MR values, the r-th added to row r of
    /// the result before it is stored: <c>C = (alpha * acc + beta * C) + rowBias[r]</c>, the same two roundings as
    /// storing the tile and then adding the bias to it (a convolution's bias, added while the tile is in registers).
    /// </summary>
    static abstract unsafe void Run(int kc, T* a, T* b, nint rsb, T* c, nint ldc, T alpha, T beta, byte* prefetch = null, T* rowBias = null);
}

/// <summary>Vector helpers that pick the float or double intrinsic; the JIT folds the type tests away.</summary>
internal static class GemmVector
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>
    /// Asks for the C tile (rows x lines cache lines) before the k loop, so that its trip from L2/L3 overlaps the
    /// arithmetic instead of stalling the write-back (C is far larger than L1 and is revisited once per k block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchTile(byte* c, nint rowBytes, int rows, int lines)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < rows; r++, c += rowBytes)
            for (int l = 0; l < lines; l++) Sse.Prefetch0(c + 64 * l);
    }

    /// <summary>
    /// Asks for the next two cache lines of a stream the caller reads next (the next packed strip of B) and returns where
    /// the stream continues. A kernel calls it every 16 k steps: two lines at a time, spread over its run, keep the
    /// requests from piling up in the miss buffers while the strip arrives from L3 or memory (a strip asked for all at
    /// once, or into L2 with PREFETCHT1, measured no gain; spread, it measured about 5% on strips streamed from 16 MB).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe byte* PrefetchAlong(byte* stream)
    {
        if (Sse.IsSupported) { Sse.Prefetch0(stream); Sse.Prefetch0(stream + 64); }
        return stream + 128;
    }

    /// <summary><c>c = alpha * acc</c> (beta zero: C not read) or <c>c = fma(alpha, acc, beta * c)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store<T>(T* c, Vector512<T> acc, Vector512<T> alpha, Vector512<T> beta, bool readC) where T : unmanaged
    {
        if (readC) Fma(alpha, acc, beta * Vector512.Load(c)).Store(c);
        else (alpha * acc).Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store<T>(T* c, Vector256<T> acc, Vector256<T> alpha, Vector256<T> beta, bool readC) where T : unmanaged
    {
        if (readC) Fma(alpha, acc, beta * Vector256.Load(c)).Store(c);
        else (alpha * acc).Store(c);
    }

    /// <summary>
    /// One row of a two-vector tile: <see cref="Store{T}(T*, Vector512{T}, Vector512{T}, Vector512{T}, bool)"/> of
    /// both halves, then <c>rowBias[r]</c> added to the rounded result (as an add to the stored row would) when
    /// <paramref name="rowBias"/> is not null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreRow<T>(T* c, Vector512<T> lo, Vector512<T> hi, Vector512<T> alpha, Vector512<T> beta, bool readC, T* rowBias, int r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* c1 = c + Vector512<T>.Count;
        if (rowBias == null) { Store(c, lo, alpha, beta, readC); Store(c1, hi, alpha, beta, readC); return; }
        var bias = Vector512.Create(rowBias[r]);
        if (readC)
        {
            (Fma(alpha, lo, beta * Vector512.Load(c)) + bias).Store(c);
            (Fma(alpha, hi, beta * Vector512.Load(c1)) + bias).Store(c1);
        }
        else
        {
            (alpha * lo + bias).Store(c);
            (alpha * hi + bias).Store(c1);
        }
    }

    /// <summary>The 256-bit form of <see cref="StoreRow{T}(T*, Vector512{T}, Vector512{T}, Vector512{T}, Vector512{T}, bool, T*, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreRow<T>(T* c, Vector256<T> lo, Vector256<T> hi, Vector256<T> alpha, Vector256<T> beta, bool readC, T* rowBias, int r)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* c1 = c + Vector256<T>.Count;
        if (rowBias == null) { Store(c, lo, alpha, beta, readC); Store(c1, hi, alpha, beta, readC); return; }
        var bias = Vector256.Create(rowBias[r]);
        if (readC)
        {
            (Fma(alpha, lo, beta * Vector256.Load(c)) + bias).Store(c);
            (Fma(alpha, hi, beta * Vector256.Load(c1)) + bias).Store(c1);
        }
        else
        {
            (alpha * lo + bias).Store(c);
            (alpha * hi + bias).Store(c1);
        }
    }
}

/// <summary>
/// AVX-512: an 8 x (2 vectors) tile (fp32 8x32, fp64 8x16): 16 accumulators, 2 B vectors and a broadcast. The narrow
/// tile keeps a KC=256-deep strip of packed B within 32 KB of L1, and 8 rows divide the batch sizes (64, 128, 256)
/// and feature counts (784 = 98 x 8) that dominate training, so edge tiles are rare. A taller 12-row tile (24
/// accumulators) was tried on Zen 5, with its two full-width 512-bit FMA pipes, and measured no gain: this tile already
/// runs at 97% of a core's FMA peak on operands held in L2, so what remains is in the memory hierarchy.
/// </summary>
internal readonly struct GemmKernel512<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 8;
    public static int NR => 2 * Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, T* b, nint rsb, T* c, nint ldc, T alpha, T beta, byte* prefetch = null, T* rowBias = null)
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        GemmVector.PrefetchTile((byte*)c, ldc * sizeof(T), 8, 2 * Vector512<T>.Count * sizeof(T) / 64);
        for (int p = 0; p < kc; p++)
        {
            if ((p & 15) == 0 && prefetch != null) prefetch = GemmVector.PrefetchAlong(prefetch);
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var x = Vector512.Create(a[0]);
            c00 = GemmVector.Fma(x, b0, c00); c01 = GemmVector.Fma(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = GemmVector.Fma(x, b0, c10); c11 = GemmVector.Fma(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = GemmVector.Fma(x, b0, c20); c21 = GemmVector.Fma(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = GemmVector.Fma(x, b0, c30); c31 = GemmVector.Fma(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = GemmVector.Fma(x, b0, c40); c41 = GemmVector.Fma(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = GemmVector.Fma(x, b0, c50); c51 = GemmVector.Fma(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = GemmVector.Fma(x, b0, c60); c61 = GemmVector.Fma(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = GemmVector.Fma(x, b0, c70); c71 = GemmVector.Fma(x, b1, c71);
            a += 8;
            b += rsb;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        bool readC = beta != T.Zero;
        GemmVector.StoreRow(c, c00, c01, va, vb, readC, rowBias, 0); c += ldc;
        GemmVector.StoreRow(c, c10, c11, va, vb, readC, rowBias, 1); c += ldc;
        GemmVector.StoreRow(c, c20, c21, va, vb, readC, rowBias, 2); c += ldc;
        GemmVector.StoreRow(c, c30, c31, va, vb, readC, rowBias, 3); c += ldc;
        GemmVector.StoreRow(c, c40, c41, va, vb, readC, rowBias, 4); c += ldc;
        GemmVector.StoreRow(c, c50, c51, va, vb, readC, rowBias, 5); c += ldc;
        GemmVector.StoreRow(c, c60, c61, va, vb, readC, rowBias, 6); c += ldc;
        GemmVector.StoreRow(c, c70, c71, va, vb, readC, rowBias, 7);
    }
}

/// <summary>
/// The left half of <see cref="GemmKernel512{T}"/>'s tile, 8 x (1 vector) (fp32 8x16, fp64 8x8), for the last strip of
/// C when at most half of it is real columns (784 = 24 x 32 + 16, a 10-class output): the same packed A and B strip
/// (row stride rsb, of which it reads the first vector), each element the same fused multiply-add chain in increasing p
/// and the same store, so the values are those of the full tile's left half, at half the arithmetic and written to C
/// directly when the half is whole. <see cref="GemmTuning.HalfEdge"/> switches it.
/// </summary>
internal static class GemmKernel512Half<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, T* b, nint rsb, T* c, nint ldc, T alpha, T beta)
    {
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        GemmVector.PrefetchTile((byte*)c, ldc * sizeof(T), 8, Vector512<T>.Count * sizeof(T) / 64);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            c0 = GemmVector.Fma(Vector512.Create(a[0]), b0, c0);
            c1 = GemmVector.Fma(Vector512.Create(a[1]), b0, c1);
            c2 = GemmVector.Fma(Vector512.Create(a[2]), b0, c2);
            c3 = GemmVector.Fma(Vector512.Create(a[3]), b0, c3);
            c4 = GemmVector.Fma(Vector512.Create(a[4]), b0, c4);
            c5 = GemmVector.Fma(Vector512.Create(a[5]), b0, c5);
            c6 = GemmVector.Fma(Vector512.Create(a[6]), b0, c6);
            c7 = GemmVector.Fma(Vector512.Create(a[7]), b0, c7);
            a += 8;
            b += rsb;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        bool readC = beta != T.Zero;
        GemmVector.Store(c, c0, va, vb, readC); c += ldc;
        GemmVector.Store(c, c1, va, vb, readC); c += ldc;
        GemmVector.Store(c, c2, va, vb, readC); c += ldc;
        GemmVector.Store(c, c3, va, vb, readC); c += ldc;
        GemmVector.Store(c, c4, va, vb, readC); c += ldc;
        GemmVector.Store(c, c5, va, vb, readC); c += ldc;
        GemmVector.Store(c, c6, va, vb, readC); c += ldc;
        GemmVector.Store(c, c7, va, vb, readC);
    }
}

/// <summary>
/// The 8 x (2 vectors) AVX-512 tile with its broadcast operand read in place: tile row r is the k-contiguous row
/// <c>a + r * lda</c> of a row-major matrix (no packing). Each element is the one fused multiply-add chain in increasing
/// p of <see cref="GemmKernel512{T}"/> on a packed strip of the same rows: the same values. Two forms: the raw sums into
/// a scratch tile, for <see cref="SmallRowsNT{T}"/> (A a layer's weight), and the tile stored into C as
/// <see cref="GemmKernel512{T}"/> stores it (<c>alpha acc</c>, or <c>fma(alpha, acc, beta C)</c>), for the packed plan's
/// non-transposed A used against few strips of B (<see cref="GemmTuning.AInPlace"/>).
/// </summary>
internal static class GemmKernel512RowsOfA<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The raw sums of the tile into <paramref name="t"/> (8 rows of NR), B a packed strip (<c>b + p * NR</c>): what
    /// <see cref="SmallRowsNT{T}"/> writes back transposed. No C tile to prefetch, no scaling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, nint lda, T* b, T* t)
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        T* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda, a6 = a + 6 * lda, a7 = a + 7 * lda;
        for (int p = 0; p < kc; p++)
        {
            if ((p & 15) == 0 && Sse.IsSupported)
            {
                // Eight row streams of A (a weight, often in L3): each row's line 4 lines ahead is asked for once.
                Sse.Prefetch0(a0 + p + 64); Sse.Prefetch0(a1 + p + 64); Sse.Prefetch0(a2 + p + 64); Sse.Prefetch0(a3 + p + 64);
                Sse.Prefetch0(a4 + p + 64); Sse.Prefetch0(a5 + p + 64); Sse.Prefetch0(a6 + p + 64); Sse.Prefetch0(a7 + p + 64);
            }
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var x = Vector512.Create(a0[p]);
            c00 = GemmVector.Fma(x, b0, c00); c01 = GemmVector.Fma(x, b1, c01);
            x = Vector512.Create(a1[p]);
            c10 = GemmVector.Fma(x, b0, c10); c11 = GemmVector.Fma(x, b1, c11);
            x = Vector512.Create(a2[p]);
            c20 = GemmVector.Fma(x, b0, c20); c21 = GemmVector.Fma(x, b1, c21);
            x = Vector512.Create(a3[p]);
            c30 = GemmVector.Fma(x, b0, c30); c31 = GemmVector.Fma(x, b1, c31);
            x = Vector512.Create(a4[p]);
            c40 = GemmVector.Fma(x, b0, c40); c41 = GemmVector.Fma(x, b1, c41);
            x = Vector512.Create(a5[p]);
            c50 = GemmVector.Fma(x, b0, c50); c51 = GemmVector.Fma(x, b1, c51);
            x = Vector512.Create(a6[p]);
            c60 = GemmVector.Fma(x, b0, c60); c61 = GemmVector.Fma(x, b1, c61);
            x = Vector512.Create(a7[p]);
            c70 = GemmVector.Fma(x, b0, c70); c71 = GemmVector.Fma(x, b1, c71);
            b += 2 * w;
        }
        c00.Store(t); c01.Store(t + w); t += 2 * w;
        c10.Store(t); c11.Store(t + w); t += 2 * w;
        c20.Store(t); c21.Store(t + w); t += 2 * w;
        c30.Store(t); c31.Store(t + w); t += 2 * w;
        c40.Store(t); c41.Store(t + w); t += 2 * w;
        c50.Store(t); c51.Store(t + w); t += 2 * w;
        c60.Store(t); c61.Store(t + w); t += 2 * w;
        c70.Store(t); c71.Store(t + w);
    }

    /// <summary>
    /// The tile stored into C as <see cref="GemmKernel512{T}"/> stores it, B row p at <c>b + p * rsb</c>;
    /// <paramref name="prefetch"/> as that kernel's (the next packed strip of B).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, nint lda, T* b, nint rsb, T* c, nint ldc, T alpha, T beta, byte* prefetch = null)
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        T* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda, a6 = a + 6 * lda, a7 = a + 7 * lda;
        GemmVector.PrefetchTile((byte*)c, ldc * sizeof(T), 8, 2 * Vector512<T>.Count * sizeof(T) / 64);
        for (int p = 0; p < kc; p++)
        {
            if ((p & 15) == 0 && Sse.IsSupported)
            {
                // Eight row streams of A (a weight, often in L3): each row's line 4 lines ahead is asked for once.
                Sse.Prefetch0(a0 + p + 64); Sse.Prefetch0(a1 + p + 64); Sse.Prefetch0(a2 + p + 64); Sse.Prefetch0(a3 + p + 64);
                Sse.Prefetch0(a4 + p + 64); Sse.Prefetch0(a5 + p + 64); Sse.Prefetch0(a6 + p + 64); Sse.Prefetch0(a7 + p + 64);
                if (prefetch != null) prefetch = GemmVector.PrefetchAlong(prefetch);
            }
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var x = Vector512.Create(a0[p]);
            c00 = GemmVector.Fma(x, b0, c00); c01 = GemmVector.Fma(x, b1, c01);
            x = Vector512.Create(a1[p]);
            c10 = GemmVector.Fma(x, b0, c10); c11 = GemmVector.Fma(x, b1, c11);
            x = Vector512.Create(a2[p]);
            c20 = GemmVector.Fma(x, b0, c20); c21 = GemmVector.Fma(x, b1, c21);
            x = Vector512.Create(a3[p]);
            c30 = GemmVector.Fma(x, b0, c30); c31 = GemmVector.Fma(x, b1, c31);
            x = Vector512.Create(a4[p]);
            c40 = GemmVector.Fma(x, b0, c40); c41 = GemmVector.Fma(x, b1, c41);
            x = Vector512.Create(a5[p]);
            c50 = GemmVector.Fma(x, b0, c50); c51 = GemmVector.Fma(x, b1, c51);
            x = Vector512.Create(a6[p]);
            c60 = GemmVector.Fma(x, b0, c60); c61 = GemmVector.Fma(x, b1, c61);
            x = Vector512.Create(a7[p]);
            c70 = GemmVector.Fma(x, b0, c70); c71 = GemmVector.Fma(x, b1, c71);
            b += rsb;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        bool readC = beta != T.Zero;
        GemmVector.StoreRow(c, c00, c01, va, vb, readC, null, 0); c += ldc;
        GemmVector.StoreRow(c, c10, c11, va, vb, readC, null, 1); c += ldc;
        GemmVector.StoreRow(c, c20, c21, va, vb, readC, null, 2); c += ldc;
        GemmVector.StoreRow(c, c30, c31, va, vb, readC, null, 3); c += ldc;
        GemmVector.StoreRow(c, c40, c41, va, vb, readC, null, 4); c += ldc;
        GemmVector.StoreRow(c, c50, c51, va, vb, readC, null, 5); c += ldc;
        GemmVector.StoreRow(c, c60, c61, va, vb, readC, null, 6); c += ldc;
        GemmVector.StoreRow(c, c70, c71, va, vb, readC, null, 7);
    }
}

/// <summary>
/// The left half of <see cref="GemmKernel512RowsOfA{T}"/>'s tile, 8 x (1 vector), A read in place (tile row r at
/// <c>a + r * lda</c>): <see cref="GemmKernel512Half{T}"/>'s chains and stores on the rows of A where they are, for a last
/// strip of at most half its columns against an A read in place (<see cref="GemmTuning.AInPlace"/>).
/// </summary>
internal static class GemmKernel512HalfRowsOfA<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, nint lda, T* b, nint rsb, T* c, nint ldc, T alpha, T beta)
    {
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        T* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda, a6 = a + 6 * lda, a7 = a + 7 * lda;
        GemmVector.PrefetchTile((byte*)c, ldc * sizeof(T), 8, Vector512<T>.Count * sizeof(T) / 64);
        for (int p = 0; p < kc; p++)
        {
            if ((p & 15) == 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(a0 + p + 64); Sse.Prefetch0(a1 + p + 64); Sse.Prefetch0(a2 + p + 64); Sse.Prefetch0(a3 + p + 64);
                Sse.Prefetch0(a4 + p + 64); Sse.Prefetch0(a5 + p + 64); Sse.Prefetch0(a6 + p + 64); Sse.Prefetch0(a7 + p + 64);
            }
            var b0 = Vector512.Load(b);
            c0 = GemmVector.Fma(Vector512.Create(a0[p]), b0, c0);
            c1 = GemmVector.Fma(Vector512.Create(a1[p]), b0, c1);
            c2 = GemmVector.Fma(Vector512.Create(a2[p]), b0, c2);
            c3 = GemmVector.Fma(Vector512.Create(a3[p]), b0, c3);
            c4 = GemmVector.Fma(Vector512.Create(a4[p]), b0, c4);
            c5 = GemmVector.Fma(Vector512.Create(a5[p]), b0, c5);
            c6 = GemmVector.Fma(Vector512.Create(a6[p]), b0, c6);
            c7 = GemmVector.Fma(Vector512.Create(a7[p]), b0, c7);
            b += rsb;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        bool readC = beta != T.Zero;
        GemmVector.Store(c, c0, va, vb, readC); c += ldc;
        GemmVector.Store(c, c1, va, vb, readC); c += ldc;
        GemmVector.Store(c, c2, va, vb, readC); c += ldc;
        GemmVector.Store(c, c3, va, vb, readC); c += ldc;
        GemmVector.Store(c, c4, va, vb, readC); c += ldc;
        GemmVector.Store(c, c5, va, vb, readC); c += ldc;
        GemmVector.Store(c, c6, va, vb, readC); c += ldc;
        GemmVector.Store(c, c7, va, vb, readC);
    }
}

/// <summary>AVX2: a 6 x (2 vectors) tile, 12 accumulators (fp32 6x16, fp64 6x8): 15 of the 16 ymm registers.</summary>
internal readonly struct GemmKernel256<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 6;
    public static int NR => 2 * Vector256<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(int kc, T* a, T* b, nint rsb, T* c, nint ldc, T alpha, T beta, byte* prefetch = null, T* rowBias = null)
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        GemmVector.PrefetchTile((byte*)c, ldc * sizeof(T), 6, 1);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            var x = Vector256.Create(a[0]); c00 = GemmVector.Fma(x, b0, c00); c01 = GemmVector.Fma(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = GemmVector.Fma(x, b0, c10); c11 = GemmVector.Fma(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = GemmVector.Fma(x, b0, c20); c21 = GemmVector.Fma(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = GemmVector.Fma(x, b0, c30); c31 = GemmVector.Fma(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = GemmVector.Fma(x, b0, c40); c41 = GemmVector.Fma(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = GemmVector.Fma(x, b0, c50); c51 = GemmVector.Fma(x, b1, c51);
            a += 6;
            b += rsb;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        bool readC = beta != T.Zero;
        T* r = c;
        GemmVector.StoreRow(r, c00, c01, va, vb, readC, rowBias, 0); r += ldc;
        GemmVector.StoreRow(r, c10, c11, va, vb, readC, rowBias, 1); r += ldc;
        GemmVector.StoreRow(r, c20, c21, va, vb, readC, rowBias, 2); r += ldc;
        GemmVector.StoreRow(r, c30, c31, va, vb, readC, rowBias, 3); r += ldc;
        GemmVector.StoreRow(r, c40, c41, va, vb, readC, rowBias, 4); r += ldc;
        GemmVector.StoreRow(r, c50, c51, va, vb, readC, rowBias, 5);
    }
}

/// <summary>Portable fallback: a 4 x 4 scalar tile with the same fused multiply-add order as the vector kernels.</summary>
internal readonly struct GemmKernelScalar<T> : IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int MR => 4;
    public static int NR => 4;

    public static unsafe void Run(int kc, T* a, T* b, nint rsb, T* c, nint ldc, T alpha, T beta, byte* prefetch = null, T* rowBias = null)
    {
        T c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero, c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
        T c20 = T.Zero, c21 = T.Zero, c22 = T.Zero, c23 = T.Zero, c30 = T.Zero, c31 = T.Zero, c32 = T.Zero, c33 = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            T b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            T x = a[0]; c00 = T.FusedMultiplyAdd(x, b0, c00); c01 = T.FusedMultiplyAdd(x, b1, c01); c02 = T.FusedMultiplyAdd(x, b2, c02); c03 = T.FusedMultiplyAdd(x, b3, c03);
            x = a[1]; c10 = T.FusedMultiplyAdd(x, b0, c10); c11 = T.FusedMultiplyAdd(x, b1, c11); c12 = T.FusedMultiplyAdd(x, b2, c12); c13 = T.FusedMultiplyAdd(x, b3, c13);
            x = a[2]; c20 = T.FusedMultiplyAdd(x, b0, c20); c21 = T.FusedMultiplyAdd(x, b1, c21); c22 = T.FusedMultiplyAdd(x, b2, c22); c23 = T.FusedMultiplyAdd(x, b3, c23);
            x = a[3]; c30 = T.FusedMultiplyAdd(x, b0, c30); c31 = T.FusedMultiplyAdd(x, b1, c31); c32 = T.FusedMultiplyAdd(x, b2, c32); c33 = T.FusedMultiplyAdd(x, b3, c33);
            a += 4;
            b += rsb;
        }
        bool readC = beta != T.Zero;
        StoreRow(c, c00, c01, c02, c03, alpha, beta, readC, rowBias, 0);
        StoreRow(c + ldc, c10, c11, c12, c13, alpha, beta, readC, rowBias, 1);
        StoreRow(c + 2 * ldc, c20, c21, c22, c23, alpha, beta, readC, rowBias, 2);
        StoreRow(c + 3 * ldc, c30, c31, c32, c33, alpha, beta, readC, rowBias, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(T* c, T v0, T v1, T v2, T v3, T alpha, T beta, bool readC, T* rowBias, int r)
    {
        if (readC)
        {
            v0 = T.FusedMultiplyAdd(alpha, v0, beta * c[0]); v1 = T.FusedMultiplyAdd(alpha, v1, beta * c[1]);
            v2 = T.FusedMultiplyAdd(alpha, v2, beta * c[2]); v3 = T.FusedMultiplyAdd(alpha, v3, beta * c[3]);
        }
        else { v0 = alpha * v0; v1 = alpha * v1; v2 = alpha * v2; v3 = alpha * v3; }
        if (rowBias != null) { T bias = rowBias[r]; v0 += bias; v1 += bias; v2 += bias; v3 += bias; }
        c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3;
    }
}
