using System.Numerics;
using System.Numerics.Tensors;

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

    /// <summary>Scores of one block into <paramref name="s"/>: <c>scale · q·k + mask</c>, −∞ where masked.</summary>
    private static void Scores<T>(in Problem pr, int slice, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> mask, int r0, int rows, int c0, int cols, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = T.CreateTruncating(pr.Scale);
        int d = pr.D;
        for (int r = 0; r < rows; r++)
        {
            var qr = q.Slice((r0 + r) * d, d);
            var sr = s.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++) sr[c] = TensorPrimitives.Dot(qr, k.Slice((c0 + c) * d, d)) * scale;
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

    /// <summary>
    /// Forward over slices [first, last): <paramref name="o"/> [slices, Lq, Dv] and the log-sum-exp <paramref name="lse"/>
    /// [slices, Lq] (−∞ for a row with every key masked, whose output is NaN as in PyTorch).
    /// </summary>
    public static void Forward<T>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, Span<T> o, Span<T> lse, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv;
        var s = new T[BlockRows * BlockKeys];
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
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, sb);
                    for (int r = 0; r < rows; r++)
                    {
                        var sr = sb.Slice(r * cols, cols);
                        T blockMax = TensorPrimitives.Max(sr);
                        T mNew = T.Max(m[r], blockMax);
                        if (T.IsNegativeInfinity(mNew)) continue; // nothing attended yet
                        T correction = T.Exp(m[r] - mNew);
                        var orow = os.Slice((r0 + r) * dv, dv);
                        if (correction != T.One) TensorPrimitives.Multiply(orow, correction, orow);
                        T rowSum = T.Zero;
                        for (int c = 0; c < cols; c++)
                        {
                            T p = T.Exp(sr[c] - mNew);
                            rowSum += p;
                            if (p == T.Zero) continue;
                            if (pr.DropoutP > 0)
                            {
                                if (!Keep(pr.Seed, slice, r0 + r, c0 + c, lq, lk, pr.DropoutP)) continue;
                                p *= keepScale;
                            }
                            TensorPrimitives.MultiplyAdd(vs.Slice((c0 + c) * dv, dv), p, orow, orow);
                        }
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
    /// </summary>
    public static void Backward<T>(in Problem pr, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> o,
        ReadOnlySpan<T> lse, ReadOnlySpan<T> go, Span<T> gq, Span<T> gk, Span<T> gv, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lq = pr.Lq, lk = pr.Lk, d = pr.D, dv = pr.Dv;
        var s = new T[BlockRows * BlockKeys];
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
                for (int r = 0; r < rows; r++) delta[r] = TensorPrimitives.Dot(gos.Slice((r0 + r) * dv, dv), os.Slice((r0 + r) * dv, dv));
                int keysEnd = pr.Causal ? Math.Min(lk, r0 + rows) : lk;
                for (int c0 = 0; c0 < keysEnd; c0 += BlockKeys)
                {
                    int cols = Math.Min(BlockKeys, keysEnd - c0);
                    var sb = s.AsSpan(0, rows * cols);
                    Scores(pr, slice, qs, ks, mask, r0, rows, c0, cols, sb);
                    for (int r = 0; r < rows; r++)
                    {
                        T rowLse = lse[slice * lq + r0 + r];
                        if (T.IsNegativeInfinity(rowLse)) continue; // a fully masked row: no gradient (its output is NaN)
                        var qrow = qs.Slice((r0 + r) * d, d);
                        var gorow = gos.Slice((r0 + r) * dv, dv);
                        var gqrow = gqs.Slice((r0 + r) * d, d);
                        for (int c = 0; c < cols; c++)
                        {
                            T p = T.Exp(sb[r * cols + c] - rowLse);
                            if (p == T.Zero) continue;
                            T z = T.One;
                            if (pr.DropoutP > 0) z = Keep(pr.Seed, slice, r0 + r, c0 + c, lq, lk, pr.DropoutP) ? keepScale : T.Zero;
                            var vrow = vs.Slice((c0 + c) * dv, dv);
                            if (z != T.Zero) TensorPrimitives.MultiplyAdd(gorow, p * z, gvs.Slice((c0 + c) * dv, dv), gvs.Slice((c0 + c) * dv, dv));
                            T dp = z * TensorPrimitives.Dot(gorow, vrow);
                            T ds = p * (dp - delta[r]) * scale;
                            if (ds == T.Zero) continue;
                            TensorPrimitives.MultiplyAdd(ks.Slice((c0 + c) * d, d), ds, gqrow, gqrow);
                            var gkrow = gks.Slice((c0 + c) * d, d);
                            TensorPrimitives.MultiplyAdd(qrow, ds, gkrow, gkrow);
                        }
                    }
                }
            }
        }
    }
}
