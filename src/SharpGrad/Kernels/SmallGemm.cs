using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The GEMM of <see cref="Gemm"/> for small or skinny shapes (see <see cref="Gemm.IsSmall"/>), by direct loops with no
/// packing, no plan and no thread pool: <c>C = act(op(A) op(B) (+ C) + bias)</c>. When B is not transposed, a row of
/// C is computed a few vectors at a time, each element as the k-ordered chain of fused multiply-adds that the packed
/// micro-kernels also compute (so for k within one of their k blocks the two agree to the bit); when only B is
/// transposed, each element is a vectorised dot product of two contiguous rows. One thread, so results do not depend on
/// the thread count.
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
        if (bias != null || activation != GemmActivation.None)
        {
            for (int i = 0; i < m; i++)
            {
                T* ci = c + i * ldc;
                for (int j = 0; j < n; j++)
                {
                    T v = ci[j];
                    if (bias != null) v += bias[j];
                    if (activation == GemmActivation.Relu) v = v > T.Zero ? v : T.Zero;
                    ci[j] = v;
                }
            }
        }
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

    /// <summary>C[i, j] (+)= ⟨A[i, :], B[j, :]⟩ (A not transposed, B transposed: both rows contiguous in k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots<T>(int m, int n, int k, T* a, nint lda, T* b, nint ldb, bool accumulate, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256.IsHardwareAccelerated ? Vector256<T>.Count : int.MaxValue;
        for (int i = 0; i < m; i++)
        {
            T* ai = a + i * lda, ci = c + i * ldc;
            for (int j = 0; j < n; j++)
            {
                T* bj = b + j * ldb;
                T s = T.Zero;
                int p = 0;
                if (k >= w)
                {
                    Vector256<T> s0 = Vector256<T>.Zero, s1 = s0, s2 = s0, s3 = s0;
                    for (; p <= k - 4 * w; p += 4 * w)
                    {
                        s0 = Fma(Vector256.Load(ai + p), Vector256.Load(bj + p), s0);
                        s1 = Fma(Vector256.Load(ai + p + w), Vector256.Load(bj + p + w), s1);
                        s2 = Fma(Vector256.Load(ai + p + 2 * w), Vector256.Load(bj + p + 2 * w), s2);
                        s3 = Fma(Vector256.Load(ai + p + 3 * w), Vector256.Load(bj + p + 3 * w), s3);
                    }
                    for (; p <= k - w; p += w) s0 = Fma(Vector256.Load(ai + p), Vector256.Load(bj + p), s0);
                    s = Vector256.Sum((s0 + s1) + (s2 + s3));
                }
                for (; p < k; p++) s = T.FusedMultiplyAdd(ai[p], bj[p], s);
                ci[j] = accumulate ? s + ci[j] : s;
            }
        }
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
