using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    /// <summary>The shapes and options of one call; spans are [slices, rows, features] row-major.</summary>
    public readonly record struct Problem(int Slices, int Lq, int Lk, int D, int Dv, double Scale, bool Causal, double DropoutP, ulong Seed,
        int[]? MaskOffsets, int MaskRowStride, int MaskColStride, bool MaskIsBool);

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
    /// first transposed into <paramref name="kt"/> [D, cols], so each row of scores is one <see cref="AccumulateRow{T}"/>
    /// over D with the keys in the vector lanes (a dot product per (row, key) costs a call and a horizontal sum for
    /// every 32 features of a typical head).
    /// </summary>
    private static void Scores<T>(in Problem pr, int slice, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> mask, int r0, int rows, int c0, int cols, Span<T> s, Span<T> kt)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.CreateTruncating(pr.Scale);
        int d = pr.D;
        Transpose(k.Slice(c0 * d, cols * d), cols, d, kt);
        for (int r = 0; r < rows; r++)
        {
            var sr = s.Slice(r * cols, cols);
            sr.Clear();
            AccumulateRow(q.Slice((r0 + r) * d, d), 1, d, kt, cols, sr, cols);
            TensorPrimitives.Multiply(sr, scale, sr);
            if (pr.MaskOffsets is { } offsets)
            {
                int baseOffset = offsets[slice] + (r0 + r) * pr.MaskRowStride;
                for (int c = 0; c < cols; c++)
                {
                    T m = mask[baseOffset + (c0 + c) * pr.MaskColStride];
                    if (pr.MaskIsBool) { if (m == T.Zero) sr[c] = T.NegativeInfinity; }
                    else sr[c] += m;
                }
            }
            if (pr.Causal)
                for (int c = Math.Max(0, r0 + r + 1 - c0); c < cols; c++) sr[c] = T.NegativeInfinity;
        }
    }

    /// <summary><paramref name="dst"/> [cols, rows] = <paramref name="src"/> [rows, cols]ᵀ.</summary>
    private static void Transpose<T>(ReadOnlySpan<T> src, int rows, int cols, Span<T> dst)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = src.Slice(r * cols, cols);
            for (int c = 0; c < row.Length; c++) dst[c * rows + r] = row[c];
        }
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
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv;
        var s = new T[BlockRows * BlockKeys];
        var kt = new T[d * BlockKeys];
        var m = new T[BlockRows];
        var l = new T[BlockRows];
        T keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        for (int slice = first; slice < last; slice++)
        {
            var qs = q.Slice(slice * lq * d, lq * d);
            var ks = k.Slice(slice * lk * d, lk * d);
            var vs = v.Slice(slice * lk * dv, lk * dv);
            var os = o.Slice(slice * lq * dv, lq * dv);
            for (int r0 = 0; r0 < lq; r0 += BlockRows)
            {
                int rows = Math.Min(BlockRows, lq - r0);
                os.Slice(r0 * dv, rows * dv).Clear();
                m.AsSpan().Fill(T.NegativeInfinity);
                l.AsSpan().Clear();
                int keysEnd = pr.Causal ? Math.Min(lk, r0 + rows) : lk;
                for (int c0 = 0; c0 < keysEnd; c0 += BlockKeys)
                {
                    int cols = Math.Min(BlockKeys, keysEnd - c0);
                    var sb = s.AsSpan(0, rows * cols);
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, sb, kt);
                    for (int r = 0; r < rows; r++)
                    {
                        var sr = sb.Slice(r * cols, cols);
                        T blockMax = TensorPrimitives.Max<T>(sr);
                        T mNew = T.Max(m[r], blockMax);
                        if (T.IsNegativeInfinity(mNew)) continue; // nothing attended yet
                        T correction = T.Exp(m[r] - mNew);
                        var orow = os.Slice((r0 + r) * dv, dv);
                        if (correction != T.One) TensorPrimitives.Multiply(orow, correction, orow);
                        FloatExp.ExpShifted(sr, mNew); // the probabilities (unnormalised); masked keys give 0
                        T rowSum = TensorPrimitives.Sum<T>(sr);
                        if (pr.DropoutP > 0)
                            for (int c = 0; c < cols; c++)
                                sr[c] = Keep(pr.Seed, slice, r0 + r, c0 + c, lq, lk, pr.DropoutP) ? sr[c] * keepScale : T.Zero;
                        AccumulateRow<T>(sr, 1, cols, vs.Slice(c0 * dv), dv, orow, dv);
                        l[r] = l[r] * correction + rowSum;
                        m[r] = mNew;
                    }
                }
                for (int r = 0; r < rows; r++)
                {
                    var orow = os.Slice((r0 + r) * dv, dv);
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
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv;
        var s = new T[BlockRows * BlockKeys];
        var ds = new T[BlockRows * BlockKeys];
        var kt = new T[Math.Max(d, dv) * BlockKeys];
        var delta = new T[BlockRows];
        T scale = T.CreateTruncating(pr.Scale), keepScale = T.CreateTruncating(1 / (1 - pr.DropoutP));
        for (int slice = first; slice < last; slice++)
        {
            var qs = q.Slice(slice * lq * d, lq * d);
            var ks = k.Slice(slice * lk * d, lk * d);
            var vs = v.Slice(slice * lk * dv, lk * dv);
            var os = o.Slice(slice * lq * dv, lq * dv);
            var gos = go.Slice(slice * lq * dv, lq * dv);
            var gqs = gq.Slice(slice * lq * d, lq * d);
            var gks = gk.Slice(slice * lk * d, lk * d);
            var gvs = gv.Slice(slice * lk * dv, lk * dv);
            gqs.Clear(); gks.Clear(); gvs.Clear();
            for (int r0 = 0; r0 < lq; r0 += BlockRows)
            {
                int rows = Math.Min(BlockRows, lq - r0);
                for (int r = 0; r < rows; r++) delta[r] = TensorPrimitives.Dot<T>(gos.Slice((r0 + r) * dv, dv), os.Slice((r0 + r) * dv, dv));
                int keysEnd = pr.Causal ? Math.Min(lk, r0 + rows) : lk;
                for (int c0 = 0; c0 < keysEnd; c0 += BlockKeys)
                {
                    int cols = Math.Min(BlockKeys, keysEnd - c0);
                    var pb = s.AsSpan(0, rows * cols);
                    var db = ds.AsSpan(0, rows * cols);
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, pb, kt);
                    Transpose(vs.Slice(c0 * dv, cols * dv), cols, dv, kt); // Vᵀ of the block, for dO Vᵀ
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
                        dr.Clear();
                        AccumulateRow<T>(gos.Slice((r0 + r) * dv, dv), 1, dv, kt, cols, dr, cols); // dO Vᵀ
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
                    for (int c = 0; c < cols; c++)
                    {
                        AccumulateRow<T>(pb.Slice(c), cols, rows, gos.Slice(r0 * dv), dv, gvs.Slice((c0 + c) * dv, dv), dv); // dV += (P∘Z)ᵀ dO
                        AccumulateRow<T>(db.Slice(c), cols, rows, qs.Slice(r0 * d), d, gks.Slice((c0 + c) * d, d), d); // dK += dSᵀ Q
                    }
                    for (int r = 0; r < rows; r++)
                        AccumulateRow<T>(db.Slice(r * cols, cols), 1, cols, ks.Slice(c0 * d), d, gqs.Slice((r0 + r) * d, d), d); // dQ += dS K
                }
            }
        }
    }
}
