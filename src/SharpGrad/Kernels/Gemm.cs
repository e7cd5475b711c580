using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// General matrix multiply on row-major spans: <c>C = op(A) op(B) (+ C when accumulate)</c>, where op is the identity or
/// the transpose. A is m x k after op, B is k x n after op, C is m x n. This is the straightforward kernel: rows of C are
/// updated with vectorised axpy (B not transposed) or dot products (B transposed), blocked over k so that a block of B
/// rows stays in cache. The packed, register-tiled GEMM replaces it behind this same signature.
/// </summary>
internal static class Gemm
{
    private const int KBlock = 256;

    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
            throw new ArgumentException($"Gemm: buffers too small for m={m}, n={n}, k={k}.");
        if (!accumulate) c.Slice(0, m * n).Clear();
        if (m == 0 || n == 0 || k == 0) return;

        if (transB)
        {
            // C[i, j] += dot(A row i, B row j): both operands are read contiguously.
            T[]? rowBuffer = transA ? new T[k] : null;
            for (int i = 0; i < m; i++)
            {
                ReadOnlySpan<T> aRow;
                if (transA)
                {
                    for (int p = 0; p < k; p++) rowBuffer![p] = a[p * m + i];
                    aRow = rowBuffer;
                }
                else aRow = a.Slice(i * k, k);
                Span<T> cRow = c.Slice(i * n, n);
                for (int j = 0; j < n; j++) cRow[j] += TensorPrimitives.Dot(aRow, b.Slice(j * k, k));
            }
            return;
        }

        for (int p0 = 0; p0 < k; p0 += KBlock)
        {
            int p1 = Math.Min(k, p0 + KBlock);
            for (int i = 0; i < m; i++)
            {
                Span<T> cRow = c.Slice(i * n, n);
                for (int p = p0; p < p1; p++)
                {
                    T aip = transA ? a[p * m + i] : a[i * k + p];
                    if (aip == T.Zero) continue;
                    TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), aip, cRow, cRow);
                }
            }
        }
    }
}
