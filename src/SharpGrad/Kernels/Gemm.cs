using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>
/// General matrix multiply on row-major spans, the one primitive behind MatMul (forward and backward), Linear and
/// convolution (im2col): <c>C = act(alpha op(A) op(B) + beta C + bias)</c>, where op is the identity or the transpose,
/// op(A) is m x k, op(B) is k x n, C is m x n and bias (optional) has one value per column of C. The work is done by
/// <see cref="GemmPacked"/> (packed operands, register-tiled micro-kernels, all cores), or for tiny and skinny products
/// (<see cref="IsSmall"/>: a batch of one, an outer product, a 4 x 2 layer) by <see cref="SmallGemm"/>'s direct loops;
/// the result is bit-identical for every thread count because threads split C, never the k sum, and the choice of path
/// depends on the shape alone.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>
    /// Upper bound on the threads one GEMM uses: by default every core (<see cref="Environment.ProcessorCount"/>); 1
    /// makes every call single-threaded. Results do not depend on it.
    /// </summary>
    internal static int MaxThreads
    {
        get => s_maxThreads;
        set => s_maxThreads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Gemm.MaxThreads must be at least 1.");
    }

    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// Below this many flops (2 m n k) one thread does the whole product: waking a second costs more than it saves.
    /// </summary>
    internal const double ParallelThresholdFlops = 2.0 * 64 * 64 * 64;

    /// <summary>
    /// <c>C = op(A) op(B)</c>, or <c>C += op(A) op(B)</c> when <paramref name="accumulate"/>, with dense row-major
    /// operands: A is stored m x k (k x m when <paramref name="transA"/>), B is stored k x n (n x k when
    /// <paramref name="transB"/>), C is m x n.
    /// </summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Multiply(transA, transB, m, n, k, T.One, a, Math.Max(1, transA ? m : k), b, Math.Max(1, transB ? k : n),
            accumulate ? T.One : T.Zero, c, Math.Max(1, n));

    /// <summary>
    /// <c>C = act(alpha op(A) op(B) + beta C + bias)</c> with leading dimensions (the distance between consecutive
    /// stored rows): op(A)[i, p] is <c>a[i * lda + p]</c>, or <c>a[p * lda + i]</c> when <paramref name="transA"/>;
    /// op(B)[p, j] is <c>b[p * ldb + j]</c>, or <c>b[j * ldb + p]</c> when <paramref name="transB"/>; C[i, j] is
    /// <c>c[i * ldc + j]</c>. When beta is zero C is only written (NaN in it does not propagate), as in BLAS. The bias
    /// (length n, or empty) and the activation are applied once, after the whole k sum. <paramref name="rowShares"/>: the
    /// packed kernels give each thread a share of C's rows whenever there are enough (not columns, as for few rows), so
    /// that a parameter's gradient is cut as its update and its forward product cut the parameter (see
    /// <see cref="GemmInstruction{T}"/>); only who computes what changes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc,
        ReadOnlySpan<T> bias = default, GemmActivation activation = GemmActivation.None, bool rowShares = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: negative size m={m}, n={n}, k={k}.");
        CheckOperand("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckOperand("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckOperand("C", c.Length, m, n, ldc);
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"Gemm: bias has {bias.Length} values, C has {n} columns.", nameof(bias));
        if (m == 0 || n == 0) return;
        fixed (T* pa = a, pb = b, pc = c, pbias = bias)
        {
            T* biasPtr = bias.IsEmpty ? null : pbias;
            if (k == 0 || alpha == T.Zero)
            {
                ScaleAndEpilogue(m, n, beta, pc, ldc, biasPtr, activation);
                return;
            }
            if (IsSmall(transA, transB, m, n, k) && alpha == T.One && (beta == T.Zero || beta == T.One))
            {
                SmallGemm.Run(transA, transB, m, n, k, pa, lda, pb, ldb, beta == T.One, pc, ldc, biasPtr, activation);
                return;
            }
            if (BatchTreeApplies(transA, transB, m, n, k, ldc) && alpha == T.One && beta == T.Zero && biasPtr == null && activation == GemmActivation.None)
            {
                var partials = BatchProduct<T>.t_partials ?? [];
                BatchTree.Sum(new BatchProduct<T>(m, n, pa, lda, pb, ldb), 0, 1, k, BatchTree.LeafImages, pc, m * n, ref partials);
                BatchProduct<T>.t_partials = partials;
                return;
            }
            RunPacked(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, biasPtr, activation, rowShares);
        }
    }

    /// <summary>
    /// A product with one of the GELU epilogues, which use an auxiliary matrix <paramref name="aux"/> of C's shape and
    /// leading dimension: <see cref="GemmActivation.GeluKeepDerivative"/> (with <c>v = op(A) op(B) + bias</c>,
    /// <c>C = GELU(v)</c>, <c>aux = GELU'(v)</c>), <see cref="GemmActivation.Gelu"/> (C alone; aux may be empty) or
    /// <see cref="GemmActivation.ScaleByAux"/> (<c>C = op(A) op(B) · aux</c>, no bias).
    /// The packed kernels apply it to each tile while it is in cache; the direct loops of small products apply it after
    /// the product. Values are those of the product followed by the elementwise op.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyGelu<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, ReadOnlySpan<T> bias,
        GemmActivation activation, Span<T> aux)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (activation is not (GemmActivation.GeluKeepDerivative or GemmActivation.Gelu or GemmActivation.ScaleByAux))
            throw new ArgumentException($"Gemm.MultiplyGelu: activation {activation} is not a GELU epilogue.", nameof(activation));
        if (activation == GemmActivation.ScaleByAux && !bias.IsEmpty)
            throw new ArgumentException("Gemm.MultiplyGelu: the GELU gradient epilogue takes no bias.", nameof(bias));
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: negative size m={m}, n={n}, k={k}.");
        CheckOperand("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckOperand("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckOperand("C", c.Length, m, n, ldc);
        if (activation != GemmActivation.Gelu) CheckOperand("aux", aux.Length, m, n, ldc);
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"Gemm: bias has {bias.Length} values, C has {n} columns.", nameof(bias));
        if (m == 0 || n == 0) return;
        fixed (T* pa = a, pb = b, pc = c, pbias = bias, paux = aux)
        {
            T* biasPtr = bias.IsEmpty ? null : pbias;
            if (k == 0 || IsSmall(transA, transB, m, n, k))
            {
                if (k == 0) ScaleAndEpilogue(m, n, T.Zero, pc, ldc, biasPtr, GemmActivation.None);
                else SmallGemm.Run(transA, transB, m, n, k, pa, lda, pb, ldb, false, pc, ldc, biasPtr, GemmActivation.None);
                GemmEpilogue.Apply(pc, ldc, m, n, null, activation, activation == GemmActivation.Gelu ? null : paux);
                return;
            }
            int threads = 2.0 * m * n * k < ParallelThresholdFlops ? 1 : s_maxThreads;
            GemmPacked.Run(transA, transB, m, n, k, T.One, pa, lda, pb, ldb, T.Zero, pc, ldc, biasPtr, activation, threads, paux);
        }
    }

    /// <summary>
    /// The packed kernels, behind a call the JIT does not inline: their whole plan would otherwise be compiled into
    /// this entry point (and into every caller it is inlined into), which small products never need.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunPacked<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* pa, int lda, T* pb, int ldb,
        T beta, T* pc, int ldc, T* biasPtr, GemmActivation activation, bool rowShares)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Inside a pool part (a fused update's block) one part: the pool would run every part on this thread anyway.
        int threads = 2.0 * m * n * k < ParallelThresholdFlops || WorkerPool.InsidePart ? 1 : s_maxThreads;
        GemmPacked.Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, biasPtr, activation, threads, rowShares: rowShares);
    }

    /// <summary>
    /// Whether a product is done by <see cref="SmallGemm"/>'s direct loops rather than the packed kernels (measured on
    /// AVX-512 and AVX2 machines): when it is tiny, so that packing and planning would cost more than the arithmetic;
    /// or when C has a row or two (a batch of one), so that packing the other operand would cost about as much as using
    /// it once; or, with B not transposed, when C has a few rows or the product is an outer product (k of 1 or 2) and
    /// its rows are at least a vector wide; or, with only B transposed, when C is small and k long enough for the dot
    /// products to run in vectors.
    /// </summary>
    internal static bool IsSmall(bool transA, bool transB, int m, int n, int k)
    {
        long mnk = (long)m * n * k;
        if (mnk <= TinyMultiplyAdds) return true;
        if (transA && transB) return false;
        if (m <= 2) return true;
        if (!transB) return (m <= 4 || k <= 2) && n >= 8;
        return !transA && k >= 32 && (long)m * n <= 1024;
    }

    /// <summary>
    /// Whether <c>C = Aᵀ B</c> (a packed product, C contiguous) is summed over k as <see cref="BatchTree"/>'s interleaved
    /// tree, leaves of <see cref="BatchTree.LeafImages"/> rows: the products whose depth is a batch and whose output is
    /// small (a Linear weight gradient of at most <see cref="BatchTreeMaxOutput"/> elements, as a classifier's), so that a
    /// batch gives bit for bit the sum of what its interleaved halves give alone, as two data-parallel processes add them.
    /// Larger outputs keep one pass over k: there the leaves' extra passes over C would cost (measured on the MLP's
    /// 784 x 256 weight gradient, see the commit), so their sums still round differently at 2B and 2 x B. So do depths
    /// beyond <see cref="BatchTreeMaxDepth"/>: a 128 x 128 x 1024 product (a transformer's projection over 64 sequences
    /// of 16 positions) ran at 79 instead of 186 GFLOP/s as 64 leaves, and there the rows are positions, which a
    /// data-parallel split deals out by sequence, not row by row, so the row tree would not give the property anyway.
    /// And so do outputs of more than <see cref="BatchTreeMaxRows"/> rows: a 128 x 128 output over 64 rows ran at 29
    /// instead of 106 GFLOP/s as four leaves (each leaf a product of its own, split over the threads), while a
    /// classifier's 10 x 3136 ran at 123 against 115.
    /// </summary>
    internal static bool BatchTreeApplies(bool transA, bool transB, int m, int n, int k, int ldc) =>
        transA && !transB && k > BatchTree.LeafImages && k <= BatchTreeMaxDepth && m <= BatchTreeMaxRows && ldc == n
        && (long)m * n <= BatchTreeMaxOutput && !IsSmall(transA, transB, m, n, k);

    /// <summary>The most rows of C (a weight gradient's output features: a classifier's classes) <see cref="BatchTreeApplies"/> to.</summary>
    internal const int BatchTreeMaxRows = 16;

    /// <summary>The deepest product (a batch of at most this many samples: 16 leaves) <see cref="BatchTreeApplies"/> to.</summary>
    internal const int BatchTreeMaxDepth = 256;

    /// <summary>Elements of C up to which <see cref="BatchTreeApplies"/> (64 KB of float32: the leaves' C stays in L2).</summary>
    internal const int BatchTreeMaxOutput = 16384;

    /// <summary>The leaves of a product summed as <see cref="BatchTree"/>'s tree over k: Aᵀ B over rows first + i·stride of A and B.</summary>
    private readonly unsafe struct BatchProduct<T>(int m, int n, T* a, int lda, T* b, int ldb) : IBatchLeaves<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] internal static AlignedBuffer<T>[]? t_partials;

        public void Leaf(int first, int stride, int count, T* dst)
        {
            int ldaLeaf = lda * stride, ldbLeaf = ldb * stride;
            Multiply(true, false, m, n, count, T.One, new ReadOnlySpan<T>(a + (nint)first * lda, (count - 1) * ldaLeaf + m), ldaLeaf,
                new ReadOnlySpan<T>(b + (nint)first * ldb, (count - 1) * ldbLeaf + n), ldbLeaf, T.Zero, new Span<T>(dst, m * n), n);
        }

        public void Combine(T* dst, T* odd, int size) => BatchTree.Add(dst, odd, size);
    }

    /// <summary>Products of at most this many multiply-adds always take the direct loops.</summary>
    internal const long TinyMultiplyAdds = 512;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckOperand(string name, int length, int rows, int cols, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Gemm: the leading dimension of {name} is {ld}, less than its {cols} columns.", name);
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"Gemm: {name} ({rows} x {cols}, leading dimension {ld}) needs {needed} values; the span has {length}.", name);
    }

    /// <summary>The degenerate product (k = 0 or alpha = 0): <c>C = act(beta C + bias)</c>, A and B not read.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ScaleAndEpilogue<T>(int m, int n, T beta, T* c, nint ldc, T* bias, GemmActivation activation)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            T* row = c + i * ldc;
            for (int j = 0; j < n; j++) row[j] = beta == T.Zero ? T.Zero : beta * row[j];
        }
        GemmEpilogue.Apply(c, ldc, m, n, bias, activation);
    }
}
