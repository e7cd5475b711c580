using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Scaled dot-product attention without the attention matrix (the FlashAttention scheme: Dao et al., 2022): for each
/// (batch·head) slice, queries are taken in blocks of <see cref="BlockRows"/> rows and keys in blocks of
/// <see cref="BlockKeys"/>; a block of scores lives in a per-thread scratch of BlockRows × BlockKeys and is folded
/// into the output with the online softmax (running maximum m and normaliser l per row). The forward keeps only the
/// per-row log-sum-exp <c>L = m + log l</c>; the backward recomputes each block's probabilities from it.
/// </summary>
/// <remarks>
/// Work is split over (batch·head) slices, one slice wholly on one thread, so every sum has a fixed order and results
/// do not depend on the thread count. Dropout on the probabilities uses a counter-based generator (a hash of the
/// seed and the element's (slice, row, key) position), so the backward regenerates the forward's mask exactly without
/// storing it.
/// </remarks>
internal static class FlashAttention
{
    public const int BlockRows = 32, BlockKeys = 64;

    /// <summary>
    /// The shapes and options of one call. With <paramref name="PackedHeads"/> = 0 the spans are [slices, rows, features]
    /// row-major. With <paramref name="PackedHeads"/> = H &gt; 0 (self-attention, Lq = Lk, D = Dv) slice n is batch n / H,
    /// head n % H, and q, k and v are read in place from one [batch, L, 3·H·D] array (a fused in-projection's output:
    /// queries, then keys, then values, each head's D features side by side) and the output is written as
    /// [batch, L, H·D]: no head split or merge copies. Either way every slice runs the same arithmetic in the same order.
    /// <paramref name="Blocked"/> sends a problem the small-tile path would take through the blocked one (tests compare
    /// the two).
    /// </summary>
    public readonly record struct Problem(int Slices, int Lq, int Lk, int D, int Dv, double Scale, bool Causal, double DropoutP, ulong Seed,
        int[]? MaskOffsets, int MaskRowStride, int MaskColStride, bool MaskIsBool, int PackedHeads = 0, bool Blocked = false)
    {
        /// <summary>Distance between two rows of q.</summary>
        public int QStride => PackedHeads > 0 ? 3 * PackedHeads * D : D;
        /// <summary>Distance between two rows of k.</summary>
        public int KStride => PackedHeads > 0 ? 3 * PackedHeads * D : D;
        /// <summary>Distance between two rows of v.</summary>
        public int VStride => PackedHeads > 0 ? 3 * PackedHeads * D : Dv;
        /// <summary>Distance between two rows of the output (and of its gradient).</summary>
        public int OStride => PackedHeads > 0 ? PackedHeads * Dv : Dv;
        /// <summary>Where slice <paramref name="n"/>'s first query row starts.</summary>
        public int QStart(int n) => PackedHeads > 0 ? n / PackedHeads * Lq * QStride + n % PackedHeads * D : n * Lq * D;
        /// <summary>Where slice <paramref name="n"/>'s first key row starts.</summary>
        public int KStart(int n) => PackedHeads > 0 ? QStart(n) + PackedHeads * D : n * Lk * D;
        /// <summary>Where slice <paramref name="n"/>'s first value row starts.</summary>
        public int VStart(int n) => PackedHeads > 0 ? QStart(n) + 2 * PackedHeads * D : n * Lk * Dv;
        /// <summary>Where slice <paramref name="n"/>'s first output row starts.</summary>
        public int OStart(int n) => PackedHeads > 0 ? n / PackedHeads * Lq * OStride + n % PackedHeads * Dv : n * Lq * Dv;
        /// <summary><see cref="QStart"/>, <see cref="KStart"/>, <see cref="VStart"/> and <see cref="OStart"/> of slice <paramref name="n"/> from one division.</summary>
        public (int Q, int K, int V, int O) Starts(int n)
        {
            if (PackedHeads == 0) return (n * Lq * D, n * Lk * D, n * Lk * Dv, n * Lq * Dv);
            int batch = Math.DivRem(n, PackedHeads, out int head), q = batch * Lq * QStride + head * D;
            return (q, q + PackedHeads * D, q + 2 * PackedHeads * D, batch * Lq * OStride + head * Dv);
        }
    }

    /// <summary>Whether key <paramref name="c"/> is kept by dropout for (slice, row).</summary>
    public static bool Keep(ulong seed, int slice, int row, int c, int lq, int lk, double p)
    {
        ulong z = seed + (((ulong)slice * (ulong)lq + (ulong)row) * (ulong)lk + (ulong)c + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53)) >= p;
    }

    /// <summary>
    /// Scores of one block into <paramref name="s"/>: <c>scale · q·k + mask</c>, −∞ where masked. The block's keys are
    /// first transposed into <paramref name="kt"/> [D, cols], so the rows of scores are one <see cref="AccumulateRows{T}"/>
    /// over D with the keys in the vector lanes (a dot product per (row, key) costs a call and a horizontal sum for
    /// every 32 features of a typical head).
    /// </summary>
    private static void Scores<T>(in Problem pr, int slice, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> mask, int r0, int rows, int c0, int cols, Span<T> s, Span<T> kt)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.CreateTruncating(pr.Scale);
        int d = pr.D, qst = pr.QStride;
        Transpose(k.Slice(c0 * pr.KStride), cols, d, pr.KStride, kt);
        s.Slice(0, rows * cols).Clear();
        AccumulateRows(q.Slice(r0 * qst), qst, 1, d, kt, cols, s, cols, cols, rows);
        for (int r = 0; r < rows; r++)
        {
            var sr = s.Slice(r * cols, cols);
            TensorPrimitives.Multiply(sr, scale, sr);
            if (pr.MaskOffsets is not null) ApplyMask(pr, slice, r0 + r, c0, mask, sr);
            if (pr.Causal)
                for (int c = Math.Max(0, r0 + r + 1 - c0); c < cols; c++) sr[c] = T.NegativeInfinity;
        }
    }

    /// <summary>The attention mask on scores <paramref name="sr"/> of query <paramref name="row"/>, keys from <paramref name="c0"/>: −∞ where a Bool mask is false, or the additive mask added.</summary>
    private static void ApplyMask<T>(in Problem pr, int slice, int row, int c0, ReadOnlySpan<T> mask, Span<T> sr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int baseOffset = pr.MaskOffsets![slice] + row * pr.MaskRowStride;
        for (int c = 0; c < sr.Length; c++)
        {
            T m = mask[baseOffset + (c0 + c) * pr.MaskColStride];
            if (pr.MaskIsBool) { if (m == T.Zero) sr[c] = T.NegativeInfinity; }
            else sr[c] += m;
        }
    }

    /// <summary>
    /// <paramref name="dst"/> [cols, rows] = <paramref name="src"/> [rows, cols]ᵀ, the source's rows <paramref name="stride"/>
    /// apart and the destination's <paramref name="dstStride"/> apart (<paramref name="rows"/> when 0). The lengths are
    /// checked once, the copy itself is unchecked.
    /// </summary>
    private static void Transpose<T>(ReadOnlySpan<T> src, int rows, int cols, int stride, Span<T> dst, int dstStride = 0)
    {
        if (dstStride == 0) dstStride = rows;
        if (rows == 0 || cols == 0) return;
        if ((long)(rows - 1) * stride + cols > src.Length || (long)(cols - 1) * dstStride + rows > dst.Length || dstStride < rows)
            throw new ArgumentOutOfRangeException(nameof(rows), "Transpose: operands too short.");
        ref T s0 = ref MemoryMarshal.GetReference(src);
        ref T d0 = ref MemoryMarshal.GetReference(dst);
        int c0 = 0;
        if (typeof(T) == typeof(float) && Avx512F.IsSupported && dstStride == 16)
            for (; c0 + 16 <= cols; c0 += 16)
                Transpose16(ref Unsafe.As<T, float>(ref Unsafe.Add(ref s0, c0)), stride, rows, ref Unsafe.As<T, float>(ref Unsafe.Add(ref d0, c0 * 16)));
        for (int r = 0; r < rows; r++)
        {
            ref T row = ref Unsafe.Add(ref s0, r * stride);
            for (int c = c0; c < cols; c++) Unsafe.Add(ref d0, c * dstStride + r) = Unsafe.Add(ref row, c);
        }
    }

    /// <summary>
    /// 16 columns of <paramref name="rows"/> ≤ 16 float rows (<paramref name="stride"/> apart) transposed into 16 rows
    /// of 16 (lanes from <paramref name="rows"/> on set to 0), in registers: four rounds of two-source permutes, round b
    /// exchanging the bit b of the row index with the bit b of the lane index (b = 8, 4, 2, 1).
    /// </summary>
    private static void Transpose16(ref float src, int stride, int rows, ref float dst)
    {
        if (!StepPaths.Old) { Transpose16InRegisters(ref src, stride, rows, ref dst); return; }
        Span<Vector512<float>> x = stackalloc Vector512<float>[16];
        for (int r = 0; r < 16; r++) x[r] = r < rows ? Vector512.LoadUnsafe(ref src, (nuint)(r * stride)) : Vector512<float>.Zero;
        for (int b = 8; b > 0; b >>= 1)
        {
            var (low, high) = TransposeIndices(b);
            for (int i = 0; i < 16; i++)
            {
                if ((i & b) != 0) continue;
                var xi = x[i];
                var xj = x[i + b];
                x[i] = Avx512F.PermuteVar16x32x2(xi, low, xj);
                x[i + b] = Avx512F.PermuteVar16x32x2(xi, high, xj);
            }
        }
        for (int r = 0; r < 16; r++) x[r].StoreUnsafe(ref dst, (nuint)(r * 16));
    }

    /// <summary>
    /// <see cref="Transpose16"/> with the sixteen rows in sixteen locals (registers) rather than a stack array each round
    /// loads and stores: the same permutes in the same rounds, the same result.
    /// </summary>
    private static void Transpose16InRegisters(ref float src, int stride, int rows, ref float dst)
    {
        Vector512<float> x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15;
        Vector512<float> y0, y1, y2, y3, y4, y5, y6, y7, y8, y9, y10, y11, y12, y13, y14, y15;
        Vector512<int> lo, hi;
        x0 = Load(ref src, 0, stride, rows); x1 = Load(ref src, 1, stride, rows); x2 = Load(ref src, 2, stride, rows); x3 = Load(ref src, 3, stride, rows);
        x4 = Load(ref src, 4, stride, rows); x5 = Load(ref src, 5, stride, rows); x6 = Load(ref src, 6, stride, rows); x7 = Load(ref src, 7, stride, rows);
        x8 = Load(ref src, 8, stride, rows); x9 = Load(ref src, 9, stride, rows); x10 = Load(ref src, 10, stride, rows); x11 = Load(ref src, 11, stride, rows);
        x12 = Load(ref src, 12, stride, rows); x13 = Load(ref src, 13, stride, rows); x14 = Load(ref src, 14, stride, rows); x15 = Load(ref src, 15, stride, rows);
        (lo, hi) = TransposeIndices(8);
        y0 = Avx512F.PermuteVar16x32x2(x0, lo, x8); y8 = Avx512F.PermuteVar16x32x2(x0, hi, x8); y1 = Avx512F.PermuteVar16x32x2(x1, lo, x9); y9 = Avx512F.PermuteVar16x32x2(x1, hi, x9);
        y2 = Avx512F.PermuteVar16x32x2(x2, lo, x10); y10 = Avx512F.PermuteVar16x32x2(x2, hi, x10); y3 = Avx512F.PermuteVar16x32x2(x3, lo, x11); y11 = Avx512F.PermuteVar16x32x2(x3, hi, x11);
        y4 = Avx512F.PermuteVar16x32x2(x4, lo, x12); y12 = Avx512F.PermuteVar16x32x2(x4, hi, x12); y5 = Avx512F.PermuteVar16x32x2(x5, lo, x13); y13 = Avx512F.PermuteVar16x32x2(x5, hi, x13);
        y6 = Avx512F.PermuteVar16x32x2(x6, lo, x14); y14 = Avx512F.PermuteVar16x32x2(x6, hi, x14); y7 = Avx512F.PermuteVar16x32x2(x7, lo, x15); y15 = Avx512F.PermuteVar16x32x2(x7, hi, x15);
        (lo, hi) = TransposeIndices(4);
        x0 = Avx512F.PermuteVar16x32x2(y0, lo, y4); x4 = Avx512F.PermuteVar16x32x2(y0, hi, y4); x1 = Avx512F.PermuteVar16x32x2(y1, lo, y5); x5 = Avx512F.PermuteVar16x32x2(y1, hi, y5);
        x2 = Avx512F.PermuteVar16x32x2(y2, lo, y6); x6 = Avx512F.PermuteVar16x32x2(y2, hi, y6); x3 = Avx512F.PermuteVar16x32x2(y3, lo, y7); x7 = Avx512F.PermuteVar16x32x2(y3, hi, y7);
        x8 = Avx512F.PermuteVar16x32x2(y8, lo, y12); x12 = Avx512F.PermuteVar16x32x2(y8, hi, y12); x9 = Avx512F.PermuteVar16x32x2(y9, lo, y13); x13 = Avx512F.PermuteVar16x32x2(y9, hi, y13);
        x10 = Avx512F.PermuteVar16x32x2(y10, lo, y14); x14 = Avx512F.PermuteVar16x32x2(y10, hi, y14); x11 = Avx512F.PermuteVar16x32x2(y11, lo, y15); x15 = Avx512F.PermuteVar16x32x2(y11, hi, y15);
        (lo, hi) = TransposeIndices(2);
        y0 = Avx512F.PermuteVar16x32x2(x0, lo, x2); y2 = Avx512F.PermuteVar16x32x2(x0, hi, x2); y1 = Avx512F.PermuteVar16x32x2(x1, lo, x3); y3 = Avx512F.PermuteVar16x32x2(x1, hi, x3);
        y4 = Avx512F.PermuteVar16x32x2(x4, lo, x6); y6 = Avx512F.PermuteVar16x32x2(x4, hi, x6); y5 = Avx512F.PermuteVar16x32x2(x5, lo, x7); y7 = Avx512F.PermuteVar16x32x2(x5, hi, x7);
        y8 = Avx512F.PermuteVar16x32x2(x8, lo, x10); y10 = Avx512F.PermuteVar16x32x2(x8, hi, x10); y9 = Avx512F.PermuteVar16x32x2(x9, lo, x11); y11 = Avx512F.PermuteVar16x32x2(x9, hi, x11);
        y12 = Avx512F.PermuteVar16x32x2(x12, lo, x14); y14 = Avx512F.PermuteVar16x32x2(x12, hi, x14); y13 = Avx512F.PermuteVar16x32x2(x13, lo, x15); y15 = Avx512F.PermuteVar16x32x2(x13, hi, x15);
        (lo, hi) = TransposeIndices(1);
        x0 = Avx512F.PermuteVar16x32x2(y0, lo, y1); x1 = Avx512F.PermuteVar16x32x2(y0, hi, y1); x2 = Avx512F.PermuteVar16x32x2(y2, lo, y3); x3 = Avx512F.PermuteVar16x32x2(y2, hi, y3);
        x4 = Avx512F.PermuteVar16x32x2(y4, lo, y5); x5 = Avx512F.PermuteVar16x32x2(y4, hi, y5); x6 = Avx512F.PermuteVar16x32x2(y6, lo, y7); x7 = Avx512F.PermuteVar16x32x2(y6, hi, y7);
        x8 = Avx512F.PermuteVar16x32x2(y8, lo, y9); x9 = Avx512F.PermuteVar16x32x2(y8, hi, y9); x10 = Avx512F.PermuteVar16x32x2(y10, lo, y11); x11 = Avx512F.PermuteVar16x32x2(y10, hi, y11);
        x12 = Avx512F.PermuteVar16x32x2(y12, lo, y13); x13 = Avx512F.PermuteVar16x32x2(y12, hi, y13); x14 = Avx512F.PermuteVar16x32x2(y14, lo, y15); x15 = Avx512F.PermuteVar16x32x2(y14, hi, y15);
        x0.StoreUnsafe(ref dst, 0); x1.StoreUnsafe(ref dst, 16); x2.StoreUnsafe(ref dst, 32); x3.StoreUnsafe(ref dst, 48);
        x4.StoreUnsafe(ref dst, 64); x5.StoreUnsafe(ref dst, 80); x6.StoreUnsafe(ref dst, 96); x7.StoreUnsafe(ref dst, 112);
        x8.StoreUnsafe(ref dst, 128); x9.StoreUnsafe(ref dst, 144); x10.StoreUnsafe(ref dst, 160); x11.StoreUnsafe(ref dst, 176);
        x12.StoreUnsafe(ref dst, 192); x13.StoreUnsafe(ref dst, 208); x14.StoreUnsafe(ref dst, 224); x15.StoreUnsafe(ref dst, 240);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Load(ref float src, int r, int stride, int rows) =>
            r < rows ? Vector512.LoadUnsafe(ref src, (nuint)(r * stride)) : Vector512<float>.Zero;
    }

    /// <summary>
    /// For <see cref="Transpose16"/>'s round <paramref name="b"/>: lane l of the lower row takes its own lane l where bit
    /// b of l is 0 and the upper row's lane l − b where it is 1; the upper row takes the lower row's lane l + b, or its own lane l.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<int> Low, Vector512<int> High) TransposeIndices(int b)
    {
        var lane = Vector512<int>.Indices;
        var bitSet = Vector512.Equals(lane & Vector512.Create(b), Vector512.Create(b));
        var low = Vector512.ConditionalSelect(bitSet, lane + Vector512.Create(16 - b), lane);
        var high = Vector512.ConditionalSelect(bitSet, lane + Vector512.Create(16), lane + Vector512.Create(b));
        return (low, high);
    }

    /// <summary>
    /// <c>c[i] += Σ_j a[j·aStride] · b[j·bStride + i]</c> for i &lt; n, j &lt; count: one row of a small matrix product
    /// with the columns in the vector lanes. Every element is the same chain of fused multiply-adds over j in order,
    /// whichever vector width (or the scalar tail) computes it, so results do not depend on the width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AccumulateRow<T>(ReadOnlySpan<T> a, int aStride, int count, ReadOnlySpan<T> b, int bStride, Span<T> c, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count == 0 || n == 0) return;
        if ((long)(count - 1) * aStride >= a.Length || (long)(count - 1) * bStride + n > b.Length || n > c.Length)
            throw new ArgumentOutOfRangeException(nameof(n), "AccumulateRow: operands too short.");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T rc = ref MemoryMarshal.GetReference(c);
        int i = 0;
        if (Vec512<T>.IsAccelerated) i = Columns<T, Vec512<T>>(ref ra, aStride, count, ref rb, bStride, ref rc, i, n);
        if (Vec256<T>.IsAccelerated) i = Columns<T, Vec256<T>>(ref ra, aStride, count, ref rb, bStride, ref rc, i, n);
        if (Vec128<T>.IsAccelerated) i = Columns<T, Vec128<T>>(ref ra, aStride, count, ref rb, bStride, ref rc, i, n);
        for (; i < n; i++)
        {
            T acc = Unsafe.Add(ref rc, i);
            for (int j = 0; j < count; j++) acc = T.FusedMultiplyAdd(Unsafe.Add(ref ra, j * aStride), Unsafe.Add(ref rb, j * bStride + i), acc);
            Unsafe.Add(ref rc, i) = acc;
        }
    }

    /// <summary>
    /// <see cref="AccumulateRow{T}"/> for <paramref name="rowCount"/> rows at once: row r reads a from
    /// <c>a[r·aRowStride + j·aStride]</c> and adds into <c>c[r·cRowStride + i]</c>, all sharing b. Eight rows (then four)
    /// go through the vector loop together, so each load of b feeds eight independent chains of fused multiply-adds
    /// instead of one chain waiting on the previous one (the blocks of a short sequence have a single vector per row; four
    /// chains leave the FMA units half idle for their latency). With <paramref name="overwrite"/> the rows of c are
    /// written, not added to: each chain starts from +0 as it would from a cleared c. Each element is still the same
    /// chain over j in order as <see cref="AccumulateRow{T}"/>'s: the same bits. <paramref name="triangle"/> lets a
    /// causal caller's first block of eight written rows skip the terms the mask zeroes inside it (see <see cref="Triangle"/>).
    /// </summary>
    internal static void AccumulateRows<T>(ReadOnlySpan<T> a, int aRowStride, int aStride, int count, ReadOnlySpan<T> b, int bStride,
        Span<T> c, int cRowStride, int n, int rowCount, bool overwrite = false, Triangle triangle = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int r = 0;
        if (count > 0 && n > 0)
        {
            int block = StepPaths.Old ? 4 : 8;
            for (; r + block <= rowCount; r += block)
            {
                if ((long)(r + block - 1) * aRowStride + (long)(count - 1) * aStride >= a.Length || (long)(count - 1) * bStride + n > b.Length
                    || (long)(r + block - 1) * cRowStride + n > c.Length)
                    throw new ArgumentOutOfRangeException(nameof(n), "AccumulateRows: operands too short.");
                ref T ra = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), r * aRowStride);
                ref T rb = ref MemoryMarshal.GetReference(b);
                ref T rc = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), r * cRowStride);
                int i = 0;
                // Rows written (not added to), two vectors of columns per pass where they fit: each broadcast of a feeds two
                // fused multiply-adds.
                if (block == 8 && overwrite && Vec512<T>.IsAccelerated && !StepPaths.OldAttention)
                    i = Columns8Pairs<T, Vec512<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n,
                        r == 0 && !StepPaths.OldCausalBlocks ? triangle : default);
                if (block == 8 && Vec512<T>.IsAccelerated) i = Columns8<T, Vec512<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n, overwrite);
                // Half a wide vector left (a causal block's first rows need only the first keys): eight narrower chains.
                if (block == 8 && Vec256<T>.IsAccelerated && !StepPaths.OldAttention)
                    i = Columns8<T, Vec256<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n, overwrite);
                for (int half = 0; half < block; half += 4)
                    FourRows(ref Unsafe.Add(ref ra, half * aRowStride), aRowStride, aStride, count, ref rb, bStride,
                        ref Unsafe.Add(ref rc, half * cRowStride), cRowStride, i, n, overwrite);
            }
        }
        for (; r < rowCount; r++)
        {
            if (overwrite) c.Slice(r * cRowStride, n).Clear();
            AccumulateRow(a.Slice(r * aRowStride), aStride, count, b, bStride, c.Slice(r * cRowStride), n);
        }
    }

    /// <summary>The columns [i, n) of four rows of <see cref="AccumulateRows{T}"/> (operands checked by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourRows<T>(ref T ra, int aRowStride, int aStride, int count, ref T rb, int bStride, ref T rc, int cRowStride, int i, int n, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Vec512<T>.IsAccelerated) i = Columns4<T, Vec512<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n, overwrite);
        if (Vec256<T>.IsAccelerated) i = Columns4<T, Vec256<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n, overwrite);
        if (Vec128<T>.IsAccelerated) i = Columns4<T, Vec128<T>>(ref ra, aRowStride, aStride, count, ref rb, bStride, ref rc, cRowStride, i, n, overwrite);
        for (int q = 0; q < 4; q++)
            for (int ii = i; ii < n; ii++)
            {
                ref T cq = ref Unsafe.Add(ref rc, q * cRowStride + ii);
                T acc = overwrite ? T.Zero : cq;
                for (int j = 0; j < count; j++) acc = T.FusedMultiplyAdd(Unsafe.Add(ref ra, q * aRowStride + j * aStride), Unsafe.Add(ref rb, j * bStride + ii), acc);
                cq = acc;
            }
    }

    /// <summary>
    /// The columns [i, n) of eight rows of <see cref="AccumulateRows{T}"/> that fill whole vectors of
    /// <typeparamref name="TV"/>: eight accumulators, one per row, each the chain over j in order; returns where it stopped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Columns8<T, TV>(ref T a, int aRowStride, int aStride, int count, ref T b, int bStride, ref T c, int cRowStride, int i, int n, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count;
        nuint cs = (nuint)cRowStride;
        nint ast = aRowStride, a2 = 2 * ast, a3 = 3 * ast;
        for (; i <= n - w; i += w)
        {
            nuint ci = (nuint)i;
            TV acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7;
            if (overwrite) acc0 = acc1 = acc2 = acc3 = acc4 = acc5 = acc6 = acc7 = TV.Zero;
            else
            {
                acc0 = TV.Load(ref c, ci); acc1 = TV.Load(ref c, ci + cs); acc2 = TV.Load(ref c, ci + 2 * cs); acc3 = TV.Load(ref c, ci + 3 * cs);
                acc4 = TV.Load(ref c, ci + 4 * cs); acc5 = TV.Load(ref c, ci + 5 * cs); acc6 = TV.Load(ref c, ci + 6 * cs); acc7 = TV.Load(ref c, ci + 7 * cs);
            }
            // Running references to row 0's and row 4's a and to b's row j; the other rows at fixed offsets.
            ref T aj = ref a;
            ref T ak = ref Unsafe.Add(ref a, 4 * ast);
            ref T bj = ref Unsafe.Add(ref b, i);
            for (int j = 0; j < count; j++)
            {
                TV x = TV.Load(ref bj, 0);
                acc0 = TV.FusedMultiplyAdd(TV.Create(aj), x, acc0);
                acc1 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, ast)), x, acc1);
                acc2 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, a2)), x, acc2);
                acc3 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, a3)), x, acc3);
                acc4 = TV.FusedMultiplyAdd(TV.Create(ak), x, acc4);
                acc5 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref ak, ast)), x, acc5);
                acc6 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref ak, a2)), x, acc6);
                acc7 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref ak, a3)), x, acc7);
                aj = ref Unsafe.Add(ref aj, aStride);
                ak = ref Unsafe.Add(ref ak, aStride);
                bj = ref Unsafe.Add(ref bj, bStride);
            }
            acc0.Store(ref c, ci); acc1.Store(ref c, ci + cs); acc2.Store(ref c, ci + 2 * cs); acc3.Store(ref c, ci + 3 * cs);
            acc4.Store(ref c, ci + 4 * cs); acc5.Store(ref c, ci + 5 * cs); acc6.Store(ref c, ci + 6 * cs); acc7.Store(ref c, ci + 7 * cs);
        }
        return i;
    }

    /// <summary>
    /// Which terms of an eight-row block's chains a causal mask zeroes, for <see cref="Columns8Pairs{T, TV}"/> to skip:
    /// row i (0–7) of the block takes terms j with <c>j ≥ i</c> when <see cref="Leading"/> (a key's chain over the queries,
    /// which attend it from the key's own position on), and terms j with <c>j ≤ <see cref="TrailingFrom"/> − 1 + i</c>
    /// (a query's chain over the keys it attends) when TrailingFrom &gt; 0; default skips nothing. A skipped term multiplies
    /// a probability (or its gradient) the mask set to ±0, which the chain, +0 until its first nonzero term and never −0
    /// after it, absorbs exactly: the same bits for finite operands.
    /// </summary>
    internal readonly record struct Triangle(bool Leading, int TrailingFrom);

    /// <summary>
    /// <see cref="Columns8{T, TV}"/> writing its rows (each chain from +0), two vectors of columns at a time: sixteen
    /// accumulators, the same chains, each broadcast of a row's a used for both vectors, and the terms
    /// <paramref name="triangle"/> names skipped; returns where it stopped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Columns8Pairs<T, TV>(ref T a, int aRowStride, int aStride, int count, ref T b, int bStride, ref T c, int cRowStride, int i, int n,
        Triangle triangle)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count;
        nuint cs = (nuint)cRowStride, wn = (nuint)w;
        nint ast = aRowStride, a2 = 2 * ast, a3 = 3 * ast;
        // Terms [0, lead) take rows 0..j, [lead, trail) every row, [trail, count) rows j − trail + 1..7.
        int lead = triangle.Leading ? Math.Min(7, count) : 0;
        int trail = triangle.TrailingFrom > 0 ? Math.Clamp(triangle.TrailingFrom, lead, count) : count;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            nuint ci = (nuint)i, cj = ci + wn;
            TV p0, p1, p2, p3, p4, p5, p6, p7, q0, q1, q2, q3, q4, q5, q6, q7;
            p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = q0 = q1 = q2 = q3 = q4 = q5 = q6 = q7 = TV.Zero;
            ref T aj = ref a;
            ref T ak = ref Unsafe.Add(ref a, 4 * ast);
            ref T bj = ref Unsafe.Add(ref b, i);
            int j = 0;
            TV x, y, e;
            for (; j < lead; j++) // rows j down to 0
            {
                x = TV.Load(ref bj, 0); y = TV.Load(ref bj, wn);
                switch (j)
                {
                    case 6: e = TV.Create(Unsafe.Add(ref ak, a2)); p6 = TV.FusedMultiplyAdd(e, x, p6); q6 = TV.FusedMultiplyAdd(e, y, q6); goto case 5;
                    case 5: e = TV.Create(Unsafe.Add(ref ak, ast)); p5 = TV.FusedMultiplyAdd(e, x, p5); q5 = TV.FusedMultiplyAdd(e, y, q5); goto case 4;
                    case 4: e = TV.Create(ak); p4 = TV.FusedMultiplyAdd(e, x, p4); q4 = TV.FusedMultiplyAdd(e, y, q4); goto case 3;
                    case 3: e = TV.Create(Unsafe.Add(ref aj, a3)); p3 = TV.FusedMultiplyAdd(e, x, p3); q3 = TV.FusedMultiplyAdd(e, y, q3); goto case 2;
                    case 2: e = TV.Create(Unsafe.Add(ref aj, a2)); p2 = TV.FusedMultiplyAdd(e, x, p2); q2 = TV.FusedMultiplyAdd(e, y, q2); goto case 1;
                    case 1: e = TV.Create(Unsafe.Add(ref aj, ast)); p1 = TV.FusedMultiplyAdd(e, x, p1); q1 = TV.FusedMultiplyAdd(e, y, q1); goto default;
                    default: e = TV.Create(aj); p0 = TV.FusedMultiplyAdd(e, x, p0); q0 = TV.FusedMultiplyAdd(e, y, q0); break;
                }
                aj = ref Unsafe.Add(ref aj, aStride);
                ak = ref Unsafe.Add(ref ak, aStride);
                bj = ref Unsafe.Add(ref bj, bStride);
            }
            for (; j < trail; j++)
            {
                x = TV.Load(ref bj, 0); y = TV.Load(ref bj, wn);
                e = TV.Create(aj); p0 = TV.FusedMultiplyAdd(e, x, p0); q0 = TV.FusedMultiplyAdd(e, y, q0);
                e = TV.Create(Unsafe.Add(ref aj, ast)); p1 = TV.FusedMultiplyAdd(e, x, p1); q1 = TV.FusedMultiplyAdd(e, y, q1);
                e = TV.Create(Unsafe.Add(ref aj, a2)); p2 = TV.FusedMultiplyAdd(e, x, p2); q2 = TV.FusedMultiplyAdd(e, y, q2);
                e = TV.Create(Unsafe.Add(ref aj, a3)); p3 = TV.FusedMultiplyAdd(e, x, p3); q3 = TV.FusedMultiplyAdd(e, y, q3);
                e = TV.Create(ak); p4 = TV.FusedMultiplyAdd(e, x, p4); q4 = TV.FusedMultiplyAdd(e, y, q4);
                e = TV.Create(Unsafe.Add(ref ak, ast)); p5 = TV.FusedMultiplyAdd(e, x, p5); q5 = TV.FusedMultiplyAdd(e, y, q5);
                e = TV.Create(Unsafe.Add(ref ak, a2)); p6 = TV.FusedMultiplyAdd(e, x, p6); q6 = TV.FusedMultiplyAdd(e, y, q6);
                e = TV.Create(Unsafe.Add(ref ak, a3)); p7 = TV.FusedMultiplyAdd(e, x, p7); q7 = TV.FusedMultiplyAdd(e, y, q7);
                aj = ref Unsafe.Add(ref aj, aStride);
                ak = ref Unsafe.Add(ref ak, aStride);
                bj = ref Unsafe.Add(ref bj, bStride);
            }
            for (; j < count; j++) // rows j − trail + 1 up to 7
            {
                x = TV.Load(ref bj, 0); y = TV.Load(ref bj, wn);
                switch (j - trail)
                {
                    case 0: e = TV.Create(Unsafe.Add(ref aj, ast)); p1 = TV.FusedMultiplyAdd(e, x, p1); q1 = TV.FusedMultiplyAdd(e, y, q1); goto case 1;
                    case 1: e = TV.Create(Unsafe.Add(ref aj, a2)); p2 = TV.FusedMultiplyAdd(e, x, p2); q2 = TV.FusedMultiplyAdd(e, y, q2); goto case 2;
                    case 2: e = TV.Create(Unsafe.Add(ref aj, a3)); p3 = TV.FusedMultiplyAdd(e, x, p3); q3 = TV.FusedMultiplyAdd(e, y, q3); goto case 3;
                    case 3: e = TV.Create(ak); p4 = TV.FusedMultiplyAdd(e, x, p4); q4 = TV.FusedMultiplyAdd(e, y, q4); goto case 4;
                    case 4: e = TV.Create(Unsafe.Add(ref ak, ast)); p5 = TV.FusedMultiplyAdd(e, x, p5); q5 = TV.FusedMultiplyAdd(e, y, q5); goto case 5;
                    case 5: e = TV.Create(Unsafe.Add(ref ak, a2)); p6 = TV.FusedMultiplyAdd(e, x, p6); q6 = TV.FusedMultiplyAdd(e, y, q6); goto case 6;
                    case 6: e = TV.Create(Unsafe.Add(ref ak, a3)); p7 = TV.FusedMultiplyAdd(e, x, p7); q7 = TV.FusedMultiplyAdd(e, y, q7); break;
                    default: break; // past every row's reach
                }
                aj = ref Unsafe.Add(ref aj, aStride);
                ak = ref Unsafe.Add(ref ak, aStride);
                bj = ref Unsafe.Add(ref bj, bStride);
            }
            p0.Store(ref c, ci); p1.Store(ref c, ci + cs); p2.Store(ref c, ci + 2 * cs); p3.Store(ref c, ci + 3 * cs);
            p4.Store(ref c, ci + 4 * cs); p5.Store(ref c, ci + 5 * cs); p6.Store(ref c, ci + 6 * cs); p7.Store(ref c, ci + 7 * cs);
            q0.Store(ref c, cj); q1.Store(ref c, cj + cs); q2.Store(ref c, cj + 2 * cs); q3.Store(ref c, cj + 3 * cs);
            q4.Store(ref c, cj + 4 * cs); q5.Store(ref c, cj + 5 * cs); q6.Store(ref c, cj + 6 * cs); q7.Store(ref c, cj + 7 * cs);
        }
        return i;
    }

    /// <summary>The columns [i, n) of <see cref="AccumulateRows{T}"/>' four rows that fill whole vectors of <typeparamref name="TV"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Columns4<T, TV>(ref T a, int aRowStride, int aStride, int count, ref T b, int bStride, ref T c, int cRowStride, int i, int n, bool overwrite)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count;
        nuint c1 = (nuint)cRowStride, c2 = 2 * c1, c3 = 3 * c1;
        for (; i <= n - w; i += w)
        {
            nuint ci = (nuint)i;
            TV acc0, acc1, acc2, acc3;
            if (overwrite) acc0 = acc1 = acc2 = acc3 = TV.Zero;
            else { acc0 = TV.Load(ref c, ci); acc1 = TV.Load(ref c, ci + c1); acc2 = TV.Load(ref c, ci + c2); acc3 = TV.Load(ref c, ci + c3); }
            for (int j = 0; j < count; j++)
            {
                TV x = TV.Load(ref b, (nuint)(j * bStride + i));
                ref T aj = ref Unsafe.Add(ref a, j * aStride);
                acc0 = TV.FusedMultiplyAdd(TV.Create(aj), x, acc0);
                acc1 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, aRowStride)), x, acc1);
                acc2 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, 2 * aRowStride)), x, acc2);
                acc3 = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref aj, 3 * aRowStride)), x, acc3);
            }
            acc0.Store(ref c, ci);
            acc1.Store(ref c, ci + c1);
            acc2.Store(ref c, ci + c2);
            acc3.Store(ref c, ci + c3);
        }
        return i;
    }

    /// <summary>The columns [i, n) of <see cref="AccumulateRow{T}"/> that fill whole vectors of <typeparamref name="TV"/>, two at a time; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Columns<T, TV>(ref T a, int aStride, int count, ref T b, int bStride, ref T c, int i, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            TV acc0 = TV.Load(ref c, (nuint)i), acc1 = TV.Load(ref c, (nuint)(i + w));
            for (int j = 0; j < count; j++)
            {
                TV x = TV.Create(Unsafe.Add(ref a, j * aStride));
                nuint o = (nuint)(j * bStride + i);
                acc0 = TV.FusedMultiplyAdd(x, TV.Load(ref b, o), acc0);
                acc1 = TV.FusedMultiplyAdd(x, TV.Load(ref b, o + (nuint)w), acc1);
            }
            acc0.Store(ref c, (nuint)i);
            acc1.Store(ref c, (nuint)(i + w));
        }
        for (; i <= n - w; i += w)
        {
            TV acc = TV.Load(ref c, (nuint)i);
            for (int j = 0; j < count; j++)
                acc = TV.FusedMultiplyAdd(TV.Create(Unsafe.Add(ref a, j * aStride)), TV.Load(ref b, (nuint)(j * bStride + i)), acc);
            acc.Store(ref c, (nuint)i);
        }
        return i;
    }

    /// <summary>
    /// Forward over slices [first, last): <paramref name="o"/> [slices, Lq, Dv] and the log-sum-exp <paramref name="lse"/>
    /// [slices, Lq] (−∞ for a row with every key masked, whose output is NaN as in PyTorch).
    /// </summary>
    public static void Forward<T>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, Span<T> o, Span<T> lse, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (SmallTileWidth<T>(pr))
        {
            case 0: break;
            case var w when w == Vec512<T>.Count: ForwardSmall<T, Vec512<T>>(pr, q, k, v, mask, o, lse, first, last); return;
            default: ForwardSmall<T, Vec256<T>>(pr, q, k, v, mask, o, lse, first, last); return;
        }
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv, vst = pr.VStride, ost = pr.OStride;
        var s = new T[BlockRows * BlockKeys];
        var kt = new T[d * BlockKeys];
        var m = new T[BlockRows];
        var l = new T[BlockRows];
        var attends = new bool[BlockRows];
        T keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        for (int slice = first; slice < last; slice++)
        {
            var qs = q.Slice(pr.QStart(slice));
            var ks = k.Slice(pr.KStart(slice));
            var vs = v.Slice(pr.VStart(slice));
            var os = o.Slice(pr.OStart(slice));
            for (int r0 = 0; r0 < lq; r0 += BlockRows)
            {
                int rows = Math.Min(BlockRows, lq - r0);
                for (int r = 0; r < rows; r++) os.Slice((r0 + r) * ost, dv).Clear();
                m.AsSpan().Fill(T.NegativeInfinity);
                l.AsSpan().Clear();
                int keysEnd = pr.Causal ? Math.Min(lk, r0 + rows) : lk;
                for (int c0 = 0; c0 < keysEnd; c0 += BlockKeys)
                {
                    int cols = Math.Min(BlockKeys, keysEnd - c0);
                    var sb = s.AsSpan(0, rows * cols);
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, sb, kt);
                    bool skipped = false;
                    for (int r = 0; r < rows; r++)
                    {
                        var sr = sb.Slice(r * cols, cols);
                        T blockMax = TensorPrimitives.Max<T>(sr);
                        T mNew = T.Max(m[r], blockMax);
                        attends[r] = !T.IsNegativeInfinity(mNew);
                        if (!attends[r]) { skipped = true; continue; } // nothing attended yet
                        T correction = T.Exp(m[r] - mNew);
                        var orow = os.Slice((r0 + r) * ost, dv);
                        if (correction != T.One) TensorPrimitives.Multiply(orow, correction, orow);
                        FloatExp.ExpShifted(sr, mNew); // the probabilities (unnormalised); masked keys give 0
                        T rowSum = TensorPrimitives.Sum<T>(sr);
                        if (pr.DropoutP > 0)
                            for (int c = 0; c < cols; c++)
                                sr[c] = Keep(pr.Seed, slice, r0 + r, c0 + c, lq, lk, pr.DropoutP) ? sr[c] * keepScale : T.Zero;
                        l[r] = l[r] * correction + rowSum;
                        m[r] = mNew;
                    }
                    // O += P V for the block's rows (after their correction above), four rows per pass.
                    if (!skipped) AccumulateRows<T>(sb, cols, 1, cols, vs.Slice(c0 * vst), vst, os.Slice(r0 * ost), ost, dv, rows);
                    else
                        for (int r = 0; r < rows; r++)
                            if (attends[r]) AccumulateRow<T>(sb.Slice(r * cols, cols), 1, cols, vs.Slice(c0 * vst), vst, os.Slice((r0 + r) * ost, dv), dv);
                }
                for (int r = 0; r < rows; r++)
                {
                    var orow = os.Slice((r0 + r) * ost, dv);
                    TensorPrimitives.Divide(orow, l[r], orow); // l = 0 (all masked): 0/0 = NaN, as PyTorch
                    lse[slice * lq + r0 + r] = m[r] + T.Log(l[r]);
                }
            }
        }
    }

    /// <summary>
    /// Backward over slices [first, last): from the upstream gradient <paramref name="go"/> and the forward's output and
    /// log-sum-exp, the gradients of q, k and v (overwritten). With P the probabilities (recomputed per block), Z the
    /// dropout scale and Dᵢ = Σ dOᵢ·Oᵢ: dV = (P∘Z)ᵀ dO, dS = P ∘ (Z ∘ dO Vᵀ − D), dQ = scale · dS K, dK = scale · dSᵀ Q.
    /// Each is a small matrix product per block, done a row at a time by <see cref="AccumulateRow{T}"/>.
    /// </summary>
    public static void Backward<T>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> o,
        ReadOnlySpan<T> lse, ReadOnlySpan<T> go, Span<T> gq, Span<T> gk, Span<T> gv, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (SmallTileWidth<T>(pr))
        {
            case 0: break;
            case var w when w == Vec512<T>.Count: BackwardSmall<T, Vec512<T>>(pr, q, k, v, mask, o, lse, go, gq, gk, gv, first, last); return;
            default: BackwardSmall<T, Vec256<T>>(pr, q, k, v, mask, o, lse, go, gq, gk, gv, first, last); return;
        }
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv, qst = pr.QStride, kst = pr.KStride, vst = pr.VStride, ost = pr.OStride;
        var s = new T[BlockRows * BlockKeys];
        var ds = new T[BlockRows * BlockKeys];
        var kt = new T[Math.Max(d, dv) * BlockKeys];
        var delta = new T[BlockRows];
        T scale = T.CreateTruncating(pr.Scale), keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        for (int slice = first; slice < last; slice++)
        {
            var qs = q.Slice(pr.QStart(slice));
            var ks = k.Slice(pr.KStart(slice));
            var vs = v.Slice(pr.VStart(slice));
            var os = o.Slice(pr.OStart(slice));
            var gos = go.Slice(pr.OStart(slice));
            var gqs = gq.Slice(pr.QStart(slice));
            var gks = gk.Slice(pr.KStart(slice));
            var gvs = gv.Slice(pr.VStart(slice));
            ClearGradients(pr, gqs, gks, gvs);
            for (int r0 = 0; r0 < lq; r0 += BlockRows)
            {
                int rows = Math.Min(BlockRows, lq - r0);
                for (int r = 0; r < rows; r++) delta[r] = TensorPrimitives.Dot<T>(gos.Slice((r0 + r) * ost, dv), os.Slice((r0 + r) * ost, dv));
                int keysEnd = pr.Causal ? Math.Min(lk, r0 + rows) : lk;
                for (int c0 = 0; c0 < keysEnd; c0 += BlockKeys)
                {
                    int cols = Math.Min(BlockKeys, keysEnd - c0);
                    var pb = s.AsSpan(0, rows * cols);
                    var db = ds.AsSpan(0, rows * cols);
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, pb, kt);
                    Transpose(vs.Slice(c0 * vst), cols, dv, vst, kt); // Vᵀ of the block, for dO Vᵀ
                    db.Clear();
                    AccumulateRows<T>(gos.Slice(r0 * ost), ost, 1, dv, kt, cols, db, cols, cols, rows); // dO Vᵀ
                    for (int r = 0; r < rows; r++)
                    {
                        var pr_ = pb.Slice(r * cols, cols);
                        var dr = db.Slice(r * cols, cols);
                        T rowLse = lse[slice * lq + r0 + r];
                        if (T.IsNegativeInfinity(rowLse))
                        {
                            // A fully masked row: no gradient (its output is NaN).
                            pr_.Clear();
                            dr.Clear();
                            continue;
                        }
                        FloatExp.ExpShifted(pr_, rowLse); // P
                        if (pr.DropoutP > 0)
                        {
                            for (int c = 0; c < cols; c++)
                            {
                                T z = Keep(pr.Seed, slice, r0 + r, c0 + c, lq, lk, pr.DropoutP) ? keepScale : T.Zero;
                                dr[c] = pr_[c] * (z * dr[c] - delta[r]) * scale;
                                pr_[c] *= z; // P∘Z, for dV
                            }
                        }
                        else
                        {
                            TensorPrimitives.Subtract(dr, delta[r], dr);
                            TensorPrimitives.Multiply<T>(dr, pr_, dr);
                            TensorPrimitives.Multiply(dr, scale, dr);
                        }
                    }
                    AccumulateRows<T>(pb, 1, cols, rows, gos.Slice(r0 * ost), ost, gvs.Slice(c0 * vst), vst, dv, cols); // dV += (P∘Z)ᵀ dO
                    AccumulateRows<T>(db, 1, cols, rows, qs.Slice(r0 * qst), qst, gks.Slice(c0 * kst), kst, d, cols); // dK += dSᵀ Q
                    AccumulateRows<T>(db, cols, 1, cols, ks.Slice(c0 * kst), kst, gqs.Slice(r0 * qst), qst, d, rows); // dQ += dS K
                }
            }
        }
    }

    /// <summary>
    /// The vector width of the small-tile path for this problem, or 0 for the blocked path: the small-tile path takes
    /// problems whose queries fit one block (Lq ≤ <see cref="BlockRows"/>) and whose keys fit one vector of T (16 floats
    /// with AVX-512), a short context's whole attention block per slice.
    /// </summary>
    internal static int SmallTileWidth<T>(in Problem pr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (pr.Blocked || pr.Lq == 0 || pr.Lq > BlockRows || pr.Lk == 0) return 0;
        if (Vec512<T>.IsAccelerated && pr.Lk <= Vec512<T>.Count) return Vec512<T>.Count;
        if (Vec256<T>.IsAccelerated && pr.Lk <= Vec256<T>.Count) return Vec256<T>.Count;
        return 0;
    }

    /// <summary>
    /// The small-tile path's masked scores of one slice: <paramref name="s"/> [Lq, W] (W = <typeparamref name="TV"/>'s
    /// width, key c in lane c) = <c>scale · q·k</c> plus the mask, −∞ past the causal limit and in the lanes from
    /// <paramref name="cols"/> on. <paramref name="kt"/> [D, W] receives the keys transposed (lanes from cols on are never
    /// written: a fresh array keeps them 0). The same operations in the same order as the blocked path's
    /// <see cref="Scores{T}"/> with all queries and <paramref name="cols"/> keys in one block, so the same bits.
    /// </summary>
    private static void SmallScores<T, TV>(in Problem pr, int slice, ReadOnlySpan<T> qs, ReadOnlySpan<T> ks, ReadOnlySpan<T> mask, int cols,
        Span<T> kt, Span<T> s, TV lanes) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count, lq = pr.Lq;
        Transpose(ks, cols, pr.D, pr.KStride, kt, w);
        var sb = s.Slice(0, lq * w);
        bool overwrite = !StepPaths.Old;
        if (!overwrite) sb.Clear();
        QueryRows(qs, pr.QStride, 1, pr.D, kt, w, sb, w, w, lq, overwrite, TrimsCausal(pr), keysInLanes: true);
        var scale = TV.Create(T.CreateTruncating(pr.Scale));
        var negInf = TV.Create(T.NegativeInfinity);
        ref T s0 = ref MemoryMarshal.GetReference(sb);
        for (int r = 0; r < lq; r++)
        {
            nuint at = (nuint)(r * w);
            var x = TV.Load(ref s0, at) * scale;
            if (pr.MaskOffsets is not null)
            {
                x.Store(ref s0, at);
                ApplyMask(pr, slice, r, 0, mask, sb.Slice(r * w, cols));
                x = TV.Load(ref s0, at);
            }
            int limit = pr.Causal ? Math.Min(r + 1, cols) : cols;
            TV.ConditionalSelect(TV.GreaterThanOrEqual(lanes, TV.Create(T.CreateTruncating(limit))), negInf, x).Store(ref s0, at);
        }
    }

    /// <summary>
    /// Whether the small-tile path stops its products where the causal mask zeroes the rest (<see cref="QueryRows{T}"/>,
    /// <see cref="KeyRows{T}"/>): for a causal problem without another mask, unless <see cref="StepPaths"/> asks for the former path.
    /// </summary>
    private static bool TrimsCausal(in Problem pr) => pr.Causal && pr.MaskOffsets is null && !StepPaths.Old && !StepPaths.OldAttention;

    /// <summary>
    /// <see cref="AccumulateRows{T}"/> over a slice's <paramref name="rowCount"/> query rows; with <paramref name="causal"/>
    /// eight rows at a time, each pass only as far as the keys its last row attends: the columns <paramref name="n"/> when
    /// the keys are in the lanes (scores, dO·Vᵀ), else the chain's <paramref name="count"/> (P·V, dS·K). A lane left out is
    /// past every row's causal limit (the scores overwrite it with −∞, the rest never read it); a term left out multiplies a
    /// probability (or its gradient) the mask set to ±0, which a chain started at +0 absorbs exactly: the same bits as the
    /// whole product for finite operands (an infinite or NaN operand there would have made the element NaN).
    /// </summary>
    private static void QueryRows<T>(ReadOnlySpan<T> a, int aRowStride, int aStride, int count, ReadOnlySpan<T> b, int bStride,
        Span<T> c, int cRowStride, int n, int rowCount, bool overwrite, bool causal, bool keysInLanes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!causal) { AccumulateRows(a, aRowStride, aStride, count, b, bStride, c, cRowStride, n, rowCount, overwrite); return; }
        for (int r0 = 0; r0 < rowCount; r0 += 8)
        {
            int rows = Math.Min(8, rowCount - r0), reach = r0 + rows; // the block's rows attend keys [0, reach)
            AccumulateRows(a.Slice(r0 * aRowStride), aRowStride, aStride, keysInLanes ? count : Math.Min(count, reach), b, bStride,
                c.Slice(r0 * cRowStride), cRowStride, keysInLanes ? Math.Min(n, reach) : n, rows, overwrite,
                keysInLanes ? default : new Triangle(false, r0 + 1)); // row r0 + i attends keys up to r0 + i
        }
    }

    /// <summary>
    /// <see cref="AccumulateRows{T}"/> with the slice's <paramref name="keyCount"/> keys as the rows of c (dV = (P∘Z)ᵀ dO,
    /// dK = dSᵀ Q): row c's chain runs over the queries, <c>a[c + j·w]</c> · <c>b[j·bStride]</c>. With
    /// <paramref name="causal"/> each eight keys' chains start at the first of them: the earlier queries do not attend any
    /// of them, so their terms are ±0 products a chain from +0 absorbs (see <see cref="QueryRows{T}"/>).
    /// </summary>
    private static void KeyRows<T>(ReadOnlySpan<T> a, int w, int queries, ReadOnlySpan<T> b, int bStride, Span<T> c, int cRowStride, int n,
        int keyCount, bool overwrite, bool causal) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!causal) { AccumulateRows(a, 1, w, queries, b, bStride, c, cRowStride, n, keyCount, overwrite); return; }
        for (int c0 = 0; c0 < keyCount; c0 += 8)
            AccumulateRows(a.Slice(c0 * w + c0), 1, w, queries - c0, b.Slice(c0 * bStride), bStride, c.Slice(c0 * cRowStride), cRowStride, n,
                Math.Min(8, keyCount - c0), overwrite, new Triangle(true, 0)); // key c0 + i is attended from query c0 + i on
    }

    /// <summary>0, 1, …, W − 1: each lane's index.</summary>
    private static TV LaneIndices<T, TV>() where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        Span<T> index = stackalloc T[TV.Count];
        for (int i = 0; i < index.Length; i++) index[i] = T.CreateTruncating(i);
        return TV.Load(ref MemoryMarshal.GetReference(index), 0);
    }

    /// <summary>
    /// <c>x[0..cols) = e^(x − shift)</c> for one row of the small-tile path: float32 in the register (lanes past cols
    /// come out 0), float64 through <see cref="FloatExp.ExpShifted{T}"/>. Either way each element gets the value the
    /// blocked path's <see cref="FloatExp.ExpShifted{T}"/> over the row gives it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallExp<T, TV>(ref T row, Span<T> x, int cols, T shift) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        if (typeof(T) == typeof(float)) FloatExp.ExpShiftedOne<TV, T>(TV.Load(ref row, 0), TV.Create(shift)).Store(ref row, 0);
        else FloatExp.ExpShifted(x.Slice(0, cols), shift);
    }

    /// <summary>
    /// Whether a row reduction over whole vectors of <typeparamref name="TV"/> can reproduce TensorPrimitives' bits:
    /// TensorPrimitives reduces in the widest width the machine accelerates, so <typeparamref name="TV"/> must be that width.
    /// </summary>
    private static bool ReducesLikeTensorPrimitives<T, TV>() where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> =>
        TV.Count == (Vec512<T>.IsAccelerated ? Vec512<T>.Count : Vec256<T>.IsAccelerated ? Vec256<T>.Count : Vec128<T>.IsAccelerated ? Vec128<T>.Count : 0);

    /// <summary>
    /// <c>TensorPrimitives.Dot(x, y)</c> over <paramref name="n"/> elements, with the same bits, inline when n is 1 to 8
    /// whole vectors of <typeparamref name="TV"/> (see <see cref="ReducesLikeTensorPrimitives{T, TV}"/>): TensorPrimitives
    /// then keeps one vector of lanes, adds the products of vector 0, 1, … in order to a vector of zeros, adds zeros (its
    /// masked tail) and sums the lanes with the vector's Sum. Otherwise (or with <paramref name="rowCalls"/>) the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T RowDot<T, TV>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, int n, bool rowCalls) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int w = TV.Count;
        if (rowCalls || n == 0 || n % w != 0 || n > 8 * w || !ReducesLikeTensorPrimitives<T, TV>()) return TensorPrimitives.Dot<T>(x.Slice(0, n), y.Slice(0, n));
        if (x.Length < n || y.Length < n) throw new ArgumentOutOfRangeException(nameof(n), "RowDot: operands too short.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        TV lanes = TV.Zero + TV.Load(ref rx, 0) * TV.Load(ref ry, 0);
        for (int i = w; i < n; i += w) lanes += TV.Load(ref rx, (nuint)i) * TV.Load(ref ry, (nuint)i);
        return TV.Sum(lanes + TV.Zero);
    }

    /// <summary>
    /// <see cref="Forward{T}"/> for a problem <see cref="SmallTileWidth{T}"/> accepts: per slice one pass, a row of
    /// scores per vector, no online-softmax bookkeeping (a single key block needs no rescaling). Same operations in the
    /// same order as the blocked path on such a problem: the same bits (a test compares them). A row's maximum, its sum
    /// (when the keys fill the vector) and the division by it run inline on the row's vectors; the maximum is exact in
    /// any order, the sum adds the lanes as TensorPrimitives.Sum does over one vector, each quotient is one rounding.
    /// </summary>
    private static void ForwardSmall<T, TV>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, Span<T> o, Span<T> lse, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int lq = pr.Lq, lk = pr.Lk, dv = pr.Dv, w = TV.Count, ost = pr.OStride;
        int cols = pr.Causal ? Math.Min(lk, lq) : lk;
        var kt = new T[pr.D * w];
        var s = new T[lq * w];
        var l = new T[lq];
        var lanes = LaneIndices<T, TV>();
        T keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        bool rowCalls = StepPaths.Old || StepPaths.OldAttention;
        // The lanes from cols on hold −∞ (scores) and then 0 (float exps), so a full row's vector sum is the row's sum;
        // the float64 exps leave those lanes −∞, and a shorter row's TensorPrimitives sum adds in another order.
        bool vectorSums = !rowCalls && cols == w && ReducesLikeTensorPrimitives<T, TV>();
        bool prefetch = StepPaths.AttentionPrefetch;
        ref T s0 = ref MemoryMarshal.GetArrayDataReference(s);
        for (int slice = first; slice < last; slice++)
        {
            var (qStart, kStart, vStart, oStart) = pr.Starts(slice);
            // The next slice's rows in phases while this one computes (all at once, the later requests wait for the
            // earlier ones): its queries and keys now, its values and output rows after these scores.
            if (prefetch && slice + 1 < last)
            {
                var next = pr.Starts(slice + 1);
                PrefetchRows(q, next.Q, lq, pr.QStride, pr.D);
                PrefetchRows(k, next.K, lk, pr.KStride, pr.D);
            }
            var os = o.Slice(oStart);
            var lses = lse.Slice(slice * lq, lq);
            SmallScores(pr, slice, q.Slice(qStart), k.Slice(kStart), mask, cols, kt, s, lanes);
            for (int r = 0; r < lq; r++)
            {
                nuint at = (nuint)(r * w);
                var sr = s.AsSpan(r * w, w);
                var x = TV.Load(ref s0, at);
                T m = rowCalls ? TensorPrimitives.Max<T>(sr.Slice(0, cols)) : TV.MaxElement(x);
                if (T.IsNegativeInfinity(m)) // every key masked: no probabilities, output 0/0 = NaN as PyTorch
                {
                    sr.Clear();
                    l[r] = T.Zero;
                    continue;
                }
                T rowSum;
                if (typeof(T) == typeof(float))
                {
                    var p = FloatExp.ExpShiftedOne<TV, T>(x, TV.Create(m)); // lanes past cols come out 0
                    p.Store(ref s0, at);
                    rowSum = vectorSums ? TV.Sum(TV.Zero + p + TV.Zero) : TensorPrimitives.Sum<T>(sr.Slice(0, cols));
                }
                else
                {
                    FloatExp.ExpShifted(sr.Slice(0, cols), m);
                    rowSum = vectorSums ? TV.Sum(TV.Zero + TV.Load(ref s0, at) + TV.Zero) : TensorPrimitives.Sum<T>(sr.Slice(0, cols));
                }
                if (pr.DropoutP > 0)
                    for (int c = 0; c < cols; c++)
                        sr[c] = Keep(pr.Seed, slice, r, c, lq, lk, pr.DropoutP) ? sr[c] * keepScale : T.Zero;
                l[r] = rowSum;
                lses[r] = m + T.Log(rowSum);
            }
            if (prefetch && slice + 1 < last)
            {
                var next = pr.Starts(slice + 1);
                PrefetchRows(v, next.V, lk, pr.VStride, dv);
                PrefetchRows<T>(o, next.O, lq, ost, dv);
            }
            bool overwrite = !StepPaths.Old;
            if (!overwrite) for (int r = 0; r < lq; r++) os.Slice(r * ost, dv).Clear();
            QueryRows<T>(s, w, 1, cols, v.Slice(vStart), pr.VStride, os, ost, dv, lq, overwrite, TrimsCausal(pr), keysInLanes: false);
            for (int r = 0; r < lq; r++)
            {
                var orow = os.Slice(r * ost, dv);
                if (rowCalls) TensorPrimitives.Divide(orow, l[r], orow);
                else DivideRow<T, TV>(orow, l[r]);
                if (l[r] == T.Zero) lses[r] = T.NegativeInfinity;
            }
        }
    }

    /// <summary><c>x[i] /= divisor</c>, a vector at a time then element by element (each quotient rounded once either way).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DivideRow<T, TV>(Span<T> x, T divisor) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        var by = TV.Create(divisor);
        int i = 0;
        for (; i <= x.Length - TV.Count; i += TV.Count) (TV.Load(ref r, (nuint)i) / by).Store(ref r, (nuint)i);
        for (; i < x.Length; i++) Unsafe.Add(ref r, i) /= divisor;
    }

    /// <summary>
    /// <see cref="Backward{T}"/> for a problem <see cref="SmallTileWidth{T}"/> accepts: the scores, probabilities and
    /// dO·Vᵀ of a slice in rows of one vector, then the three products. Same operations in the same order as the blocked
    /// path on such a problem: the same bits (a test compares them).
    /// </summary>
    private static void BackwardSmall<T, TV>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> o,
        ReadOnlySpan<T> lse, ReadOnlySpan<T> go, Span<T> gq, Span<T> gk, Span<T> gv, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv, w = TV.Count, qst = pr.QStride, kst = pr.KStride, vst = pr.VStride, ost = pr.OStride;
        int cols = pr.Causal ? Math.Min(lk, lq) : lk;
        var kt = new T[d * w];
        var vt = new T[dv * w];
        var s = new T[lq * w];
        var ds = new T[lq * w];
        var lanes = LaneIndices<T, TV>();
        T keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        var scale = TV.Create(T.CreateTruncating(pr.Scale));
        bool rowCalls = StepPaths.Old || StepPaths.OldAttention, trim = TrimsCausal(pr), prefetch = StepPaths.AttentionPrefetch;
        for (int slice = first; slice < last; slice++)
        {
            var (qStart, kStart, vStart, oStart) = pr.Starts(slice);
            // The next slice's rows in phases while this one computes: queries and keys now, values, output and its
            // gradient after these scores, the gradients' rows after the row loop.
            if (prefetch && slice + 1 < last)
            {
                var next = pr.Starts(slice + 1);
                PrefetchRows(q, next.Q, lq, qst, d);
                PrefetchRows(k, next.K, lk, kst, d);
            }
            ReadOnlySpan<T> qs = q.Slice(qStart), ks = k.Slice(kStart), vs = v.Slice(vStart), os = o.Slice(oStart), gos = go.Slice(oStart);
            SmallScores(pr, slice, qs, ks, mask, cols, kt, s, lanes);
            if (prefetch && slice + 1 < last)
            {
                var next = pr.Starts(slice + 1);
                PrefetchRows(v, next.V, lk, vst, dv);
                PrefetchRows(o, next.O, lq, ost, dv);
                PrefetchRows(go, next.O, lq, ost, dv);
            }
            Transpose(vs, cols, dv, vst, vt, w);
            bool overwrite = !StepPaths.Old; // write the products' rows rather than clear them and add
            if (!overwrite) ds.AsSpan().Clear();
            QueryRows<T>(gos, ost, 1, dv, vt, w, ds, w, w, lq, overwrite, trim, keysInLanes: true); // dO Vᵀ
            ref T s0 = ref MemoryMarshal.GetReference(s.AsSpan());
            ref T ds0 = ref MemoryMarshal.GetReference(ds.AsSpan());
            for (int r = 0; r < lq; r++)
            {
                nuint at = (nuint)(r * w);
                T rowLse = lse[slice * lq + r];
                if (T.IsNegativeInfinity(rowLse))
                {
                    // A fully masked row: no gradient (its output is NaN).
                    s.AsSpan(r * w, w).Clear();
                    ds.AsSpan(r * w, w).Clear();
                    continue;
                }
                T delta = RowDot<T, TV>(gos.Slice(r * ost), os.Slice(r * ost), dv, rowCalls);
                SmallExp<T, TV>(ref Unsafe.Add(ref s0, at), s.AsSpan(r * w, w), cols, rowLse); // P
                if (pr.DropoutP > 0)
                {
                    for (int c = 0; c < cols; c++)
                    {
                        ref T p = ref s[r * w + c];
                        ref T dr = ref ds[r * w + c];
                        T z = Keep(pr.Seed, slice, r, c, lq, lk, pr.DropoutP) ? keepScale : T.Zero;
                        dr = p * (z * dr - delta) * T.CreateTruncating(pr.Scale);
                        p *= z; // P∘Z, for dV
                    }
                }
                else ((TV.Load(ref ds0, at) - TV.Create(delta)) * TV.Load(ref s0, at) * scale).Store(ref ds0, at);
            }
            if (prefetch && slice + 1 < last)
            {
                var next = pr.Starts(slice + 1);
                PrefetchRows<T>(gq, next.Q, lq, qst, d);
                PrefetchRows<T>(gk, next.K, lk, kst, d);
                PrefetchRows<T>(gv, next.V, lk, vst, dv);
            }
            Span<T> gqs = gq.Slice(qStart), gks = gk.Slice(kStart), gvs = gv.Slice(vStart);
            if (!overwrite) ClearGradients(pr, gqs, gks, gvs);
            else ClearKeyGradients(pr, gks, gvs, cols); // the keys past the causal limit get no product
            KeyRows<T>(s, w, lq, gos, ost, gvs, vst, dv, cols, overwrite, trim); // dV += (P∘Z)ᵀ dO
            KeyRows<T>(ds, w, lq, qs, qst, gks, kst, d, cols, overwrite, trim); // dK += dSᵀ Q
            QueryRows<T>(ds, w, 1, cols, ks, kst, gqs, qst, d, lq, overwrite, trim, keysInLanes: false); // dQ += dS K
        }
    }

    /// <summary>Zeroes one slice's rows of the key and value gradients from key <paramref name="from"/> on.</summary>
    private static void ClearKeyGradients<T>(in Problem pr, Span<T> gks, Span<T> gvs, int from) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = from; r < pr.Lk; r++) { gks.Slice(r * pr.KStride, pr.D).Clear(); gvs.Slice(r * pr.VStride, pr.Dv).Clear(); }
    }

    /// <summary>
    /// Asks for the cache lines (into L1, prefetcht0) of <paramref name="rows"/> rows of <paramref name="width"/> elements
    /// of <paramref name="x"/> from <paramref name="start"/> on, <paramref name="stride"/> apart: the small-tile path's
    /// next slice, whose operands a training step has usually evicted since it wrote them (a slice's rows are short
    /// pieces of long rows, which the hardware prefetchers do not follow). A hint only: nothing is read or written;
    /// nothing is asked for out of range.
    /// </summary>
    private static unsafe void PrefetchRows<T>(ReadOnlySpan<T> x, int start, int rows, int stride, int width) where T : unmanaged
    {
        if (!Sse.IsSupported || rows <= 0 || width <= 0 || start < 0 || start + (long)(rows - 1) * stride + width > x.Length) return;
        int bytes = width * sizeof(T);
        fixed (T* p0 = x)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* p = (byte*)(p0 + start + (nint)r * stride);
                for (int l = 0; l < bytes; l += 64) Sse.Prefetch0(p + l);
                Sse.Prefetch0(p + bytes - 1);
            }
        }
    }

    /// <summary>Zeroes one slice's rows of the three gradients (they are accumulated into).</summary>
    private static void ClearGradients<T>(in Problem pr, Span<T> gqs, Span<T> gks, Span<T> gvs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < pr.Lq; r++) gqs.Slice(r * pr.QStride, pr.D).Clear();
        ClearKeyGradients(pr, gks, gvs, 0);
    }
}
