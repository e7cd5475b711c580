using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The GEMM of <see cref="Gemm"/> for small or skinny shapes (see <see cref="Gemm.IsSmall"/>), by direct loops with no
/// packing, no plan and no thread pool: <c>C = act(op(A) op(B) (+ C) + bias)</c>. When B is not transposed, a row of
/// C is computed a few vectors at a time, each element as the k-ordered chain of fused multiply-adds that the packed
/// micro-kernels also compute (so for k within one of their k blocks the two agree to the bit); when only B is
/// transposed, each element is a vectorised dot product of two contiguous rows (4 x 4 blocks of them at a time, large
/// products split by rows of C over the cores). Each element is computed by one thread in an order fixed by the shape,
/// so results do not depend on the thread count.
/// </summary>
internal static unsafe class SmallGemm
{
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T* a, nint lda, T* b, nint ldb,
        bool accumulate, T* c, nint ldc, T* bias, GemmActivation activation)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!transB) RowsOfB(transA, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        else if (!transA) Dots(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        else
        {
            for (int i = 0; i < m; i++)
            {
                T* ci = c + i * ldc;
                for (int j = 0; j < n; j++)
                {
                    T s = T.Zero;
                    T* bj = b + j * ldb;
                    for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(a[p * lda + i], bj[p], s);
                    ci[j] = accumulate ? s + ci[j] : s;
                }
            }
        }
        if (bias != null || activation != GemmActivation.None) GemmEpilogue.Apply(c, ldc, m, n, bias, activation);
    }

    /// <summary>C[i, :] (+)= Σ_p op(A)[i, p] B[p, :], vectorised along the row, the k sum kept in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsOfB<T>(bool transA, int m, int n, int k, T* a, nint lda, T* b, nint ldb, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        int w = Vector256.IsHardwareAccelerated ? Vector256<T>.Count : int.MaxValue;
        for (int i = 0; i < m; i++)
        {
            T* ci = c + i * ldc;
            T* ai = a + i * aRow;
            int j = 0;
            if (n >= w)
            {
                for (; j <= n - 4 * w; j += 4 * w)
                {
                    Vector256<T> c0 = Vector256<T>.Zero, c1 = c0, c2 = c0, c3 = c0;
                    T* bp = b + j;
                    for (int p = 0; p < k; p++, bp += ldb)
                    {
                        var x = Vector256.Create(ai[p * aCol]);
                        c0 = Fma(x, Vector256.Load(bp), c0);
                        c1 = Fma(x, Vector256.Load(bp + w), c1);
                        c2 = Fma(x, Vector256.Load(bp + 2 * w), c2);
                        c3 = Fma(x, Vector256.Load(bp + 3 * w), c3);
                    }
                    Store(ci + j, c0, accumulate);
                    Store(ci + j + w, c1, accumulate);
                    Store(ci + j + 2 * w, c2, accumulate);
                    Store(ci + j + 3 * w, c3, accumulate);
                }
                for (; j <= n - w; j += w)
                {
                    Vector256<T> c0 = Vector256<T>.Zero;
                    T* bp = b + j;
                    for (int p = 0; p < k; p++, bp += ldb) c0 = Fma(Vector256.Create(ai[p * aCol]), Vector256.Load(bp), c0);
                    Store(ci + j, c0, accumulate);
                }
            }
            for (; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(ai[p * aCol], b[p * ldb + j], s);
                ci[j] = accumulate ? s + ci[j] : s;
            }
        }
    }

    /// <summary>k is summed in blocks of this many terms, so that the rows of A and B a block reads stay in L2.</summary>
    internal const int DotBlock = 2048;

    /// <summary>Above this many multiply-adds, the row tiles of C are split over the cores (each element still has one owner).</summary>
    internal const long DotParallelMultiplyAdds = 1 << 21;

    /// <summary>
    /// C[i, j] (+)= ⟨A[i, :], B[j, :]⟩ (A not transposed, B transposed: both rows contiguous in k). With AVX-512, 4 x 4
    /// blocks of dot products share their loads (8 vector loads feed 16 fused multiply-adds); k runs in blocks of
    /// <see cref="DotBlock"/>, each block's sum added to C, so a long k (a convolution's weight gradient sums over every
    /// output position of the batch) streams A and B from L2 rather than memory. Large products split the rows of C over
    /// the cores; the sum order of an element depends only on k, never on the split.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots<T>(int m, int n, int k, T* a, nint lda, T* b, nint ldb, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int tiles = (m + 3) / 4;
        long work = (long)m * n * k;
        if (work < DotParallelMultiplyAdds || tiles < 2) DotRows(0, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        else DotsParallel(tiles, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    }

    // Apart from Dots: the lambda's captured parameters would otherwise be hoisted into a closure object allocated on
    // every call, the small serial products included.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DotsParallel<T>(int tiles, int m, int n, int k, T* a, nint lda, T* b, nint ldb, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        RangeWork.Run(tiles, long.MaxValue, (first, last) =>
            DotRows(4 * first, Math.Min(m, 4 * last), n, k, (T*)pa, lda, (T*)pb, ldb, accumulate, (T*)pc, ldc));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRows<T>(int i0, int i1, int n, int k, T* a, nint lda, T* b, nint ldb, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p0 = 0; p0 < k; p0 += DotBlock)
        {
            int kb = Math.Min(DotBlock, k - p0);
            bool add = accumulate || p0 > 0;
            int i = i0;
            if (Vector512.IsHardwareAccelerated && kb >= Vector512<T>.Count)
            {
                for (; i + 4 <= i1; i += 4)
                {
                    int j = 0;
                    for (; j + 4 <= n; j += 4) Dot4x4(kb, a + i * lda + p0, lda, b + j * ldb + p0, ldb, add, c + i * ldc + j, ldc);
                    for (; j < n; j++)
                        for (int r = i; r < i + 4; r++) c[r * ldc + j] = DotAdd(kb, a + r * lda + p0, b + j * ldb + p0, add ? c[r * ldc + j] : T.Zero);
                }
            }
            for (; i < i1; i++)
            {
                // Four columns at a time share the loads of A's row (a batch of one: C is one row of dot products).
                int j = 0;
                for (; j + 4 <= n; j += 4) DotAdd4(kb, a + i * lda + p0, b + j * ldb + p0, ldb, add, c + i * ldc + j);
                for (; j < n; j++) c[i * ldc + j] = DotAdd(kb, a + i * lda + p0, b + j * ldb + p0, add ? c[i * ldc + j] : T.Zero);
            }
        }
    }

    /// <summary>A 4 x 4 block of C (+)= the dot products of 4 rows of A with 4 rows of B over kb terms (kb ≥ one vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4<T>(int kb, T* a, nint lda, T* b, nint ldb, bool add, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> s00 = Vector512<T>.Zero, s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        Vector512<T> s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        T* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        T* b0 = b, b1 = b + ldb, b2 = b + 2 * ldb, b3 = b + 3 * ldb;
        int p = 0;
        for (; p <= kb - w; p += w)
        {
            var y0 = Vector512.Load(b0 + p); var y1 = Vector512.Load(b1 + p); var y2 = Vector512.Load(b2 + p); var y3 = Vector512.Load(b3 + p);
            var x = Vector512.Load(a0 + p);
            s00 = GemmVector.Fma(x, y0, s00); s01 = GemmVector.Fma(x, y1, s01); s02 = GemmVector.Fma(x, y2, s02); s03 = GemmVector.Fma(x, y3, s03);
            x = Vector512.Load(a1 + p);
            s10 = GemmVector.Fma(x, y0, s10); s11 = GemmVector.Fma(x, y1, s11); s12 = GemmVector.Fma(x, y2, s12); s13 = GemmVector.Fma(x, y3, s13);
            x = Vector512.Load(a2 + p);
            s20 = GemmVector.Fma(x, y0, s20); s21 = GemmVector.Fma(x, y1, s21); s22 = GemmVector.Fma(x, y2, s22); s23 = GemmVector.Fma(x, y3, s23);
            x = Vector512.Load(a3 + p);
            s30 = GemmVector.Fma(x, y0, s30); s31 = GemmVector.Fma(x, y1, s31); s32 = GemmVector.Fma(x, y2, s32); s33 = GemmVector.Fma(x, y3, s33);
        }
        Finish(c, add, Vector512.Sum(s00), Vector512.Sum(s01), Vector512.Sum(s02), Vector512.Sum(s03), p, kb, a0, b0, b1, b2, b3);
        Finish(c + ldc, add, Vector512.Sum(s10), Vector512.Sum(s11), Vector512.Sum(s12), Vector512.Sum(s13), p, kb, a1, b0, b1, b2, b3);
        Finish(c + 2 * ldc, add, Vector512.Sum(s20), Vector512.Sum(s21), Vector512.Sum(s22), Vector512.Sum(s23), p, kb, a2, b0, b1, b2, b3);
        Finish(c + 3 * ldc, add, Vector512.Sum(s30), Vector512.Sum(s31), Vector512.Sum(s32), Vector512.Sum(s33), p, kb, a3, b0, b1, b2, b3);
    }

    /// <summary>One row of a 4 x 4 block: the vector sums plus the scalar tail [p, kb), then into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T>(T* c, bool add, T s0, T s1, T s2, T s3, int p, int kb, T* ar, T* b0, T* b1, T* b2, T* b3)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (; p < kb; p++)
        {
            T x = ar[p];
            s0 = T.FusedMultiplyAdd(x, b0[p], s0); s1 = T.FusedMultiplyAdd(x, b1[p], s1);
            s2 = T.FusedMultiplyAdd(x, b2[p], s2); s3 = T.FusedMultiplyAdd(x, b3[p], s3);
        }
        if (add) { c[0] += s0; c[1] += s1; c[2] += s2; c[3] += s3; }
        else { c[0] = s0; c[1] = s1; c[2] = s2; c[3] = s3; }
    }

    /// <summary><c>init + ⟨x[0..k), y[0..k)⟩</c>, vectorised (four Vector256 accumulators), for the edges of the 4 x 4 blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T DotAdd<T>(int k, T* x, T* y, T init) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256.IsHardwareAccelerated ? Vector256<T>.Count : int.MaxValue;
        T s = T.Zero;
        int p = 0;
        if (k >= w)
        {
            Vector256<T> s0 = Vector256<T>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (; p <= k - 4 * w; p += 4 * w)
            {
                s0 = Fma(Vector256.Load(x + p), Vector256.Load(y + p), s0);
                s1 = Fma(Vector256.Load(x + p + w), Vector256.Load(y + p + w), s1);
                s2 = Fma(Vector256.Load(x + p + 2 * w), Vector256.Load(y + p + 2 * w), s2);
                s3 = Fma(Vector256.Load(x + p + 3 * w), Vector256.Load(y + p + 3 * w), s3);
            }
            for (; p <= k - w; p += w) s0 = Fma(Vector256.Load(x + p), Vector256.Load(y + p), s0);
            s = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; p < k; p++) s = T.FusedMultiplyAdd(x[p], y[p], s);
        return init + s;
    }

    /// <summary>
    /// <c>c[j] = (add ? c[j] : 0) + ⟨x[0..k), y_j[0..k)⟩</c> for the four rows y_j = y + j·ldy: four <see cref="DotAdd"/>
    /// calls computed together, each element with exactly DotAdd's operations in DotAdd's order (so the same bits), but
    /// every load of x serving four fused multiply-adds instead of one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotAdd4<T>(int k, T* x, T* y, nint ldy, bool add, T* c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256.IsHardwareAccelerated ? Vector256<T>.Count : int.MaxValue;
        T* y0 = y, y1 = y + ldy, y2 = y + 2 * ldy, y3 = y + 3 * ldy;
        T r0 = T.Zero, r1 = T.Zero, r2 = T.Zero, r3 = T.Zero;
        int p = 0;
        if (k >= w)
        {
            Vector256<T> s00 = Vector256<T>.Zero, s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            Vector256<T> s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
            for (; p <= k - 4 * w; p += 4 * w)
            {
                var x0 = Vector256.Load(x + p); var x1 = Vector256.Load(x + p + w);
                var x2 = Vector256.Load(x + p + 2 * w); var x3 = Vector256.Load(x + p + 3 * w);
                s00 = Fma(x0, Vector256.Load(y0 + p), s00); s01 = Fma(x1, Vector256.Load(y0 + p + w), s01);
                s02 = Fma(x2, Vector256.Load(y0 + p + 2 * w), s02); s03 = Fma(x3, Vector256.Load(y0 + p + 3 * w), s03);
                s10 = Fma(x0, Vector256.Load(y1 + p), s10); s11 = Fma(x1, Vector256.Load(y1 + p + w), s11);
                s12 = Fma(x2, Vector256.Load(y1 + p + 2 * w), s12); s13 = Fma(x3, Vector256.Load(y1 + p + 3 * w), s13);
                s20 = Fma(x0, Vector256.Load(y2 + p), s20); s21 = Fma(x1, Vector256.Load(y2 + p + w), s21);
                s22 = Fma(x2, Vector256.Load(y2 + p + 2 * w), s22); s23 = Fma(x3, Vector256.Load(y2 + p + 3 * w), s23);
                s30 = Fma(x0, Vector256.Load(y3 + p), s30); s31 = Fma(x1, Vector256.Load(y3 + p + w), s31);
                s32 = Fma(x2, Vector256.Load(y3 + p + 2 * w), s32); s33 = Fma(x3, Vector256.Load(y3 + p + 3 * w), s33);
            }
            for (; p <= k - w; p += w)
            {
                var x0 = Vector256.Load(x + p);
                s00 = Fma(x0, Vector256.Load(y0 + p), s00); s10 = Fma(x0, Vector256.Load(y1 + p), s10);
                s20 = Fma(x0, Vector256.Load(y2 + p), s20); s30 = Fma(x0, Vector256.Load(y3 + p), s30);
            }
            r0 = Vector256.Sum((s00 + s01) + (s02 + s03));
            r1 = Vector256.Sum((s10 + s11) + (s12 + s13));
            r2 = Vector256.Sum((s20 + s21) + (s22 + s23));
            r3 = Vector256.Sum((s30 + s31) + (s32 + s33));
        }
        for (; p < k; p++)
        {
            T xp = x[p];
            r0 = T.FusedMultiplyAdd(xp, y0[p], r0); r1 = T.FusedMultiplyAdd(xp, y1[p], r1);
            r2 = T.FusedMultiplyAdd(xp, y2[p], r2); r3 = T.FusedMultiplyAdd(xp, y3[p], r3);
        }
        c[0] = (add ? c[0] : T.Zero) + r0;
        c[1] = (add ? c[1] : T.Zero) + r1;
        c[2] = (add ? c[2] : T.Zero) + r2;
        c[3] = (add ? c[3] : T.Zero) + r3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> z) where T : unmanaged => GemmVector.Fma(x, y, z);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* c, Vector256<T> acc, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (accumulate) (acc + Vector256.Load(c)).Store(c);
        else acc.Store(c);
    }
}
