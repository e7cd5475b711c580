using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Packing for the blocked GEMM: copies a block of op(A) or op(B) into the order the micro-kernel reads, padding the
/// edge strips with zeros so that the kernel never needs a tail. Transposes happen here, in the copy, never as a
/// separate pass.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [0, rows) x columns [0, kc) of op(A) into strips of <paramref name="mr"/> rows:
    /// <c>dst[s * mr * kc + p * mr + r] = op(A)[s * mr + r, p]</c>, zero for rows past the end.
    /// <paramref name="a"/> points at op(A)[0, 0]; op(A)[i, p] is <c>a[i * lda + p]</c>, or <c>a[p * lda + i]</c> when transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(T* dst, T* a, nint lda, bool trans, int rows, int kc, int mr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (trans && mr == 8 && rows >= 16)
        {
            // Whole strips of a transposed A a group at a time, each source row read once across the group's strips
            // (strip by strip, a row's 64-byte line would be fetched again for the next strip, a whole block later).
            int whole = rows / 8 * 8;
            for (int i0 = 0; i0 < whole; i0 += TransGroup * 8)
            {
                int strips = Math.Min(TransGroup, (whole - i0) / 8);
                T* src = a + i0, d = dst + (nint)i0 * kc;
                for (int p = 0; p < kc; p++, src += lda)
                    for (int s = 0; s < strips; s++) Copy8(d + (nint)s * 8 * kc + p * 8, src + s * 8);
            }
            if (whole == rows) return;
            dst += (nint)whole * kc;
            a += whole;
            rows -= whole;
        }
        for (int i0 = 0; i0 < rows; i0 += mr, dst += mr * kc)
        {
            int h = Math.Min(mr, rows - i0);
            if (trans)
            {
                // op(A)[i, p] = a[p * lda + i]: each k step is mr contiguous values.
                T* src = a + i0;
                if (h == 8 && mr == 8)
                {
                    for (int p = 0; p < kc; p++, src += lda) Copy8(dst + p * 8, src);
                }
                else
                {
                    for (int p = 0; p < kc; p++, src += lda)
                    {
                        T* d = dst + p * mr;
                        int r = 0;
                        for (; r < h; r++) d[r] = src[r];
                        for (; r < mr; r++) d[r] = T.Zero;
                    }
                }
            }
            else
            {
                // op(A)[i, p] = a[i * lda + p]: mr row streams interleaved.
                T* src = a + i0 * lda;
                if (h == 8 && mr == 8)
                {
                    T* s0 = src, s1 = src + lda, s2 = src + 2 * lda, s3 = src + 3 * lda;
                    T* s4 = src + 4 * lda, s5 = src + 5 * lda, s6 = src + 6 * lda, s7 = src + 7 * lda;
                    int p = 0;
                    if (Avx.IsSupported && typeof(T) == typeof(float))
                    {
                        // 8 x 8 blocks: 8 rows of 8 k-steps in, 8 k-steps of 8 rows out, in registers.
                        for (; p + 8 <= kc; p += 8) Transpose8x8((float*)src + p, lda, (float*)dst + p * 8, 8);
                    }
                    else if (Avx.IsSupported && typeof(T) == typeof(double))
                    {
                        for (; p + 4 <= kc; p += 4)
                        {
                            Transpose4x4((double*)src + p, lda, (double*)dst + p * 8, 8);
                            Transpose4x4((double*)src + 4 * lda + p, lda, (double*)dst + p * 8 + 4, 8);
                        }
                    }
                    T* d = dst + p * 8;
                    for (; p < kc; p++, d += 8)
                    {
                        d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
                        d[4] = s4[p]; d[5] = s5[p]; d[6] = s6[p]; d[7] = s7[p];
                    }
                }
                else
                {
                    for (int r = 0; r < mr; r++)
                    {
                        T* d = dst + r;
                        if (r < h)
                        {
                            T* s = src + r * lda;
                            for (int p = 0; p < kc; p++) d[p * mr] = s[p];
                        }
                        else
                        {
                            for (int p = 0; p < kc; p++) d[p * mr] = T.Zero;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Strips of 8 a transposed A's packing fills together: 64 values, a few cache lines of each source row.</summary>
    private const int TransGroup = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy8<T>(T* d, T* s) where T : unmanaged
    {
        if (sizeof(T) == 4 && Vector256.IsHardwareAccelerated) Vector256.Store(Vector256.Load((float*)s), (float*)d);
        else if (sizeof(T) == 8 && Vector512.IsHardwareAccelerated) Vector512.Store(Vector512.Load((double*)s), (double*)d);
        else { for (int r = 0; r < 8; r++) d[r] = s[r]; }
    }

    /// <summary>
    /// Packs rows [0, kc) x columns [0, cols) of op(B) into strips of <paramref name="nr"/> columns:
    /// <c>dst[s * kc * nr + p * nr + j] = op(B)[p, s * nr + j]</c>, zero for columns past the end.
    /// op(B)[p, j] is <c>b[p * ldb + j]</c>, or <c>b[j * ldb + p]</c> when transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T>(T* dst, T* b, nint ldb, bool trans, int kc, int cols, int nr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int full = cols / nr;
        if (!trans && full > 0 && Vector512.IsHardwareAccelerated && nr % Vector512<T>.Count == 0)
        {
            // Row by row: each row of B is read once, front to back (one stream for the prefetcher), and its NR-wide
            // pieces go to the full strips; a strip-by-strip order would instead walk B down columns.
            int vw = Vector512<T>.Count;
            nint strip = kc * nr;
            for (int p = 0; p < kc; p++)
            {
                T* src = b + p * ldb;
                T* d = dst + p * nr;
                for (int s = 0; s < full; s++, src += nr, d += strip)
                    for (int j = 0; j < nr; j += vw) Vector512.Store(Vector512.Load(src + j), d + j);
            }
            if (full * nr < cols) PackBStrip(dst + full * strip, b + full * nr, ldb, trans, kc, cols - full * nr, nr);
            return;
        }
        for (int j0 = 0; j0 < cols; j0 += nr, dst += kc * nr)
            PackBStrip(dst, trans ? b + j0 * ldb : b + j0, ldb, trans, kc, Math.Min(nr, cols - j0), nr);
    }

    /// <summary>
    /// The write-back of an edge tile the kernel computed into scratch, with the same operations as the kernel's own
    /// store: <c>c = fma(alpha, t, beta * c)</c>, or <c>alpha * t</c> when beta is zero (C not read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MergeTile<T>(T* t, nint ldt, T* c, nint ldc, int h, int w, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool readC = beta != T.Zero;
        for (int r = 0; r < h; r++, t += ldt, c += ldc)
        {
            if (readC) for (int j = 0; j < w; j++) c[j] = T.FusedMultiplyAdd(alpha, t[j], beta * c[j]);
            else for (int j = 0; j < w; j++) c[j] = alpha * t[j];
        }
    }

    /// <summary>One strip of <see cref="PackB{T}"/>: <paramref name="w"/> valid columns, padded with zeros to nr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBStrip<T>(T* dst, T* b, nint ldb, bool trans, int kc, int w, int nr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!trans)
        {
            if (w == nr && Vector512.IsHardwareAccelerated && nr % Vector512<T>.Count == 0)
            {
                int vw = Vector512<T>.Count;
                for (int p = 0; p < kc; p++, b += ldb, dst += nr)
                    for (int j = 0; j < nr; j += vw) Vector512.Store(Vector512.Load(b + j), dst + j);
            }
            else if (w == nr && Vector256.IsHardwareAccelerated && nr % Vector256<T>.Count == 0)
            {
                int vw = Vector256<T>.Count;
                for (int p = 0; p < kc; p++, b += ldb, dst += nr)
                    for (int j = 0; j < nr; j += vw) Vector256.Store(Vector256.Load(b + j), dst + j);
            }
            else
            {
                for (int p = 0; p < kc; p++, b += ldb, dst += nr)
                {
                    int j = 0;
                    for (; j < w; j++) dst[j] = b[j];
                    for (; j < nr; j++) dst[j] = T.Zero;
                }
            }
            return;
        }

        // Transposed: column j of the strip is row j of the stored B, contiguous in p. Square blocks are transposed in
        // registers (8 x 8 floats, 4 x 4 doubles); the rest, four rows at a time.
        if (w == nr && Avx.IsSupported && typeof(T) == typeof(float) && nr % 8 == 0)
        {
            int p = 0;
            for (; p + 8 <= kc; p += 8)
            {
                // The strip reads nr rows of B side by side, each a short stretch: too many streams for the hardware
                // prefetcher, so each row's line PrefetchAhead floats ahead is asked for once per line (B is often a
                // weight just written by the optimizer, in L3 rather than L2).
                if (PrefetchAhead > 0 && (p & 15) == 0 && p + PrefetchAhead < kc && Sse.IsSupported)
                    for (int j = 0; j < nr; j++) Sse.Prefetch0((float*)b + j * ldb + p + PrefetchAhead);
                for (int j = 0; j < nr; j += 8) Transpose8x8((float*)b + j * ldb + p, ldb, (float*)dst + p * nr + j, nr);
            }
            for (; p < kc; p++)
                for (int j = 0; j < nr; j++) dst[p * nr + j] = b[j * ldb + p];
            return;
        }
        if (w == nr && Avx.IsSupported && typeof(T) == typeof(double) && nr % 4 == 0)
        {
            int p = 0;
            for (; p + 4 <= kc; p += 4)
                for (int j = 0; j < nr; j += 4) Transpose4x4((double*)b + j * ldb + p, ldb, (double*)dst + p * nr + j, nr);
            for (; p < kc; p++)
                for (int j = 0; j < nr; j++) dst[p * nr + j] = b[j * ldb + p];
            return;
        }
        int jj = 0;
        for (; jj + 4 <= w; jj += 4)
        {
            T* s0 = b + jj * ldb, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
            T* d = dst + jj;
            for (int p = 0; p < kc; p++, d += nr)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
            }
        }
        for (; jj < w; jj++)
        {
            T* s = b + jj * ldb;
            T* d = dst + jj;
            for (int p = 0; p < kc; p++, d += nr) *d = s[p];
        }
        if (w < nr)
        {
            for (int p = 0; p < kc; p++)
                for (int j = w; j < nr; j++) dst[p * nr + j] = T.Zero;
        }
    }

    /// <summary>How far ahead (in floats along k) the transposed packing of B prefetches each row; 0 turns it off (bench sweeps).</summary>
    internal static int PrefetchAhead = 64;

    /// <summary><c>dst[q * dstStride + r] = src[r * srcStride + q]</c> for an 8 x 8 block of floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride); var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride); var r7 = Avx.LoadVector256(src + 7 * srcStride);
        Transpose8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(dst, r0); Avx.Store(dst + dstStride, r1); Avx.Store(dst + 2 * dstStride, r2); Avx.Store(dst + 3 * dstStride, r3);
        Avx.Store(dst + 4 * dstStride, r4); Avx.Store(dst + 5 * dstStride, r5); Avx.Store(dst + 6 * dstStride, r6); Avx.Store(dst + 7 * dstStride, r7);
    }

    /// <summary>Transposes in registers the 8 x 8 block of floats whose rows are r0..r7 (row k becomes column k); needs AVX.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20); r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20); r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31); r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31); r7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary><c>dst[q * dstStride + r] = src[r * srcStride + q]</c> for a 4 x 4 block of doubles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(double* src, nint srcStride, double* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        Avx.Store(dst, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(t1, t3, 0x31));
    }
}
