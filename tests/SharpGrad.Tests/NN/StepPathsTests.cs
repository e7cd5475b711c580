using System.Numerics;
using System.Runtime.InteropServices;
using SharpGrad.Kernels;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The transformer step's non-product kernels against their former versions (<see cref="StepPaths.Old"/>): attention's
/// register transpose, eight-row products and overwriting (not clear-then-add) products give the same bits forward and
/// backward. LayerNorm's one-pass rows sum a row in another order, so its output and input gradient (and, through the
/// saved statistics, the weight and bias gradients) move by rounding: both paths are bounded against float64; the weight
/// and bias gradient kernels themselves give the same bits from the same statistics. The switch is process-wide, so
/// these tests run alone.
/// </summary>
[Collection(GemmCollection.Name)]
public class StepPathsTests
{
    [Theory]
    [InlineData(true, 16, 16, 32)]  // the LM's per-head shape: eight-row blocks, a 16×16 transpose pair
    [InlineData(true, 12, 12, 16)]  // eight rows then four, 12 keys transposed in registers
    [InlineData(true, 4, 9, 6)]     // causal with more keys than queries: key rows past the limit get no product
    [InlineData(false, 13, 7, 20)]  // eight rows, then four, then one; 20 features: a vector and a scalar tail
    public void AttentionKernelsGiveTheFormerBits(bool causal, int lq, int lk, int d)
    {
        Check<float>(causal, lq, lk, d);
        Check<double>(causal, lq, Math.Min(lk, 8), d);
    }

    private static void Check<T>(bool causal, int lq, int lk, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int slices = 5;
        var rng = new Random(lq * 100 + lk * 10 + d);
        T[] Random(int n) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() * 4 - 2)).ToArray();
        var pr = new FlashAttention.Problem(slices, lq, lk, d, d, 1 / Math.Sqrt(d), causal, 0, 0, null, 0, 0, false);
        Assert.True(FlashAttention.SmallTileWidth<T>(pr) > 0);
        T[] q = Random(slices * lq * d), k = Random(slices * lk * d), v = Random(slices * lk * d), go = Random(slices * lq * d);

        (T[] O, T[] Lse, T[] Gq, T[] Gk, T[] Gv) Run(bool old)
        {
            bool saved = StepPaths.Old;
            StepPaths.Old = old;
            try
            {
                // Outputs start as NaN: whatever a path does not write shows.
                T[] Nan(int n) => Enumerable.Repeat(T.NaN, n).ToArray();
                T[] o = Nan(slices * lq * d), lse = Nan(slices * lq), gq = Nan(q.Length), gk = Nan(k.Length), gv = Nan(v.Length);
                FlashAttention.Forward<T>(pr, q, k, v, [], o, lse, 0, slices);
                FlashAttention.Backward<T>(pr, q, k, v, [], o, lse, go, gq, gk, gv, 0, slices);
                return (o, lse, gq, gk, gv);
            }
            finally { StepPaths.Old = saved; }
        }

        var before = Run(true);
        var after = Run(false);
        foreach (var (x, y) in new[] { (before.O, after.O), (before.Lse, after.Lse), (before.Gq, after.Gq), (before.Gk, after.Gk), (before.Gv, after.Gv) })
        {
            Assert.DoesNotContain(y, T.IsNaN);
            Assert.True(MemoryMarshal.AsBytes(x.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(y.AsSpan())), "different bits");
        }
        if (causal && lk > lq) Assert.Equal(T.Zero, after.Gk[lq * d]); // a key no query reaches
        Assert.Contains(after.Gk, x => x != T.Zero);
    }

    [Theory]
    [InlineData(true, 16, 16, 32, 0.0, false)]   // the LM's per-head shape: full rows, two-vector dO·O
    [InlineData(false, 16, 16, 48, 0.0, false)]  // three vectors per dO·O
    [InlineData(false, 8, 16, 16, 0.0, true)]    // one vector per dO·O, additive mask
    [InlineData(true, 12, 12, 32, 0.0, false)]   // rows shorter than a vector: the sums stay TensorPrimitives'
    [InlineData(true, 13, 13, 16, 0.0, false)]   // causal trimming with a last block of five rows
    [InlineData(false, 9, 16, 20, 0.0, false)]   // 20 features: dO·O by TensorPrimitives, divisions vector + scalar
    [InlineData(true, 16, 16, 32, 0.25, false)]  // dropout
    [InlineData(false, 16, 16, 160, 0.0, false)] // ten vectors of features: past the inline dO·O's eight
    [InlineData(false, 8, 8, 128, 0.0, false)]   // eight vectors of features: the inline dO·O's last
    [InlineData(true, 20, 9, 16, 0.0, false)]    // causal, more queries than keys: blocks reaching past the last key
    [InlineData(true, 5, 14, 32, 0.0, false)]    // causal, more keys than queries: keys past the limit get no product
    public void AttentionRowStatisticsAndCausalTrimmingGiveTheFormerBits(bool causal, int lq, int lk, int d, double dropout, bool additiveMask)
    {
        CheckFormerAttention<float>(causal, lq, lk, d, dropout, additiveMask);
        CheckFormerAttention<double>(causal, Math.Min(lq, 8), Math.Min(lk, 8), d, dropout, additiveMask);
    }

    /// <summary>
    /// The small-tile path with its row maxima, sums, divisions and dO·O inline and its causal products trimmed against
    /// the same path with a TensorPrimitives call per row and whole products (<see cref="StepPaths.OldAttention"/>): the
    /// same bits, forward and backward, on packed heads (the transformer's layout) where the shape allows, with scores
    /// large enough that the rows' sums round; and the same with and without the next slice's prefetch.
    /// </summary>
    private static void CheckFormerAttention<T>(bool causal, int lq, int lk, int d, double dropout, bool additiveMask) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int batch = 3, heads = 2;
        var rng = new Random(lq * 1000 + lk * 10 + d);
        T[] Random(int n, double scale) => Enumerable.Range(0, n).Select(_ => T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        int slices = batch * heads, width = 3 * heads * d;
        int[]? offsets = additiveMask ? new int[slices] : null; // one [Lq, Lk] mask shared by every slice
        T[] mask = additiveMask ? Random(lq * lk, 3) : [];
        // Packed heads (one [batch, L, 3·heads·d] array) where the shape allows it, separate q, k, v otherwise.
        var pr = new FlashAttention.Problem(slices, lq, lk, d, d, 1 / Math.Sqrt(d), causal, dropout, 77, offsets, lk, 1, false, lk == lq ? heads : 0);
        Assert.True(FlashAttention.SmallTileWidth<T>(pr) > 0);
        bool packed = pr.PackedHeads > 0;
        T[] q = Random(packed ? batch * lq * width : slices * lq * d, 3), k = packed ? q : Random(slices * lk * d, 3), v = packed ? q : Random(slices * lk * d, 1);
        int outLength = slices * lq * d;
        T[] go = Random(outLength, 1);

        T[][] Run(bool old, bool prefetch = true)
        {
            bool saved = StepPaths.OldAttention, savedPrefetch = StepPaths.AttentionPrefetch;
            StepPaths.OldAttention = old;
            StepPaths.AttentionPrefetch = prefetch;
            try
            {
                T[] Nan(int n) => Enumerable.Repeat(T.NaN, n).ToArray();
                T[] o = Nan(outLength), lse = Nan(slices * lq), gq = Nan(q.Length);
                T[] gk = packed ? gq : Nan(k.Length), gv = packed ? gq : Nan(v.Length);
                FlashAttention.Forward<T>(pr, q, k, v, mask, o, lse, 0, slices);
                FlashAttention.Backward<T>(pr, q, k, v, mask, o, lse, go, gq, gk, gv, 0, slices);
                return packed ? [o, lse, gq] : [o, lse, gq, gk, gv];
            }
            finally { StepPaths.OldAttention = saved; StepPaths.AttentionPrefetch = savedPrefetch; }
        }

        var before = Run(true, prefetch: false);
        var after = Run(false);
        var unprefetched = Run(false, prefetch: false);
        for (int i = 0; i < before.Length; i++)
        {
            Assert.DoesNotContain(after[i], T.IsNaN);
            Assert.Contains(after[i], x => x != T.Zero);
            Assert.True(MemoryMarshal.AsBytes(before[i].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(after[i].AsSpan())), $"output {i}: different bits");
            Assert.True(MemoryMarshal.AsBytes(unprefetched[i].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(after[i].AsSpan())), $"output {i}: prefetch changed bits");
        }
    }

    [Theory]
    [InlineData(1024, 128, true, true)]  // the LM's LayerNorm
    [InlineData(50, 37, true, true)]     // two vectors, a third, then a scalar tail
    [InlineData(20, 8, false, true)]     // shorter than a vector: all scalar
    [InlineData(40, 96, true, false)]    // weight only
    [InlineData(30, 64, false, false)]   // no affine map
    public void LayerNormRowsMatchTheFormerPathAndDouble(int rows, int width, bool weight, bool bias)
    {
        var g = new Generator(5);
        var x = Tensor.Randn([rows, width], g) * 3 + 1;
        var w = weight ? Tensor.Randn([width], g) : null;
        var b = bias ? Tensor.Randn([width], g) : null;
        var gy = Tensor.Randn([rows, width], g);

        float[][] Run(bool old)
        {
            bool saved = StepPaths.Old;
            StepPaths.Old = old;
            try
            {
                var xl = x.Clone();
                xl.RequiresGrad = true;
                var wl = w?.Clone();
                var bl = b?.Clone();
                if (wl is not null) wl.RequiresGrad = true;
                if (bl is not null) bl.RequiresGrad = true;
                var y = F.LayerNorm(xl, [width], wl, bl);
                Tensor[] leaves = [xl, .. new[] { wl, bl }.OfType<Tensor>()];
                var grads = SharpGrad.Autograd.Grad(y, leaves, gy);
                return [y.ToArray<float>(), .. grads.Select(t => t.ToArray<float>())];
            }
            finally { StepPaths.Old = saved; }
        }

        var before = Run(true);
        var after = Run(false);
        // y and dx against float64 (the row's mean, population variance and the fused backward rule), both paths.
        float[] xs = x.ToArray<float>(), gs = gy.ToArray<float>();
        float[]? ws = w?.ToArray<float>(), bs = b?.ToArray<float>();
        double Xhat(int r, int c)
        {
            double mean = 0, variance = 0;
            for (int j = 0; j < width; j++) mean += xs[r * width + j];
            mean /= width;
            for (int j = 0; j < width; j++) variance += (xs[r * width + j] - mean) * (xs[r * width + j] - mean);
            return (xs[r * width + c] - mean) / Math.Sqrt(variance / width + 1e-5);
        }
        double worstBefore = 0, worstAfter = 0;
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, variance = 0, sg = 0, sgx = 0;
            for (int c = 0; c < width; c++) mean += xs[r * width + c];
            mean /= width;
            for (int c = 0; c < width; c++) variance += (xs[r * width + c] - mean) * (xs[r * width + c] - mean);
            double rstd = 1 / Math.Sqrt(variance / width + 1e-5);
            var xhat = new double[width];
            var gh = new double[width];
            for (int c = 0; c < width; c++)
            {
                xhat[c] = (xs[r * width + c] - mean) * rstd;
                gh[c] = gs[r * width + c] * (ws?[c] ?? 1.0);
                sg += gh[c];
                sgx += gh[c] * xhat[c];
            }
            for (int c = 0; c < width; c++)
            {
                int i = r * width + c;
                double y = xhat[c] * (ws?[c] ?? 1.0) + (bs?[c] ?? 0.0);
                double dx = (gh[c] - sg / width - xhat[c] * sgx / width) * rstd;
                foreach (var (values, isAfter) in new[] { (before, false), (after, true) })
                {
                    double e = Math.Max(Math.Abs(values[0][i] - y) / (1 + Math.Abs(y)), Math.Abs(values[1][i] - dx) / (1 + Math.Abs(dx)));
                    if (isAfter) worstAfter = Math.Max(worstAfter, e); else worstBefore = Math.Max(worstBefore, e);
                }
            }
        }
        for (int i = 2; i < after.Length; i++) // the weight's and bias's gradients (rows' sums) against float64 too
        {
            bool isWeight = weight && i == 2;
            for (int c = 0; c < width; c++)
            {
                double sum = 0;
                for (int r = 0; r < rows; r++) sum += gs[r * width + c] * (isWeight ? Xhat(r, c) : 1.0);
                Assert.True(Math.Abs(after[i][c] - sum) <= 1e-5 * rows && Math.Abs(before[i][c] - sum) <= 1e-5 * rows, $"affine gradient {i - 2}[{c}]: {after[i][c]}, float64 {sum}");
            }
        }
        Assert.True(worstAfter <= 2e-6, $"one-pass rows: worst relative error {worstAfter} vs float64");
        Assert.True(worstBefore <= 2e-6, $"former rows: worst relative error {worstBefore} vs float64");
    }

    [Theory]
    [InlineData(1024, 128)]
    [InlineData(33, 64)]
    public void LayerNormAffineGradientKernelsGiveTheSameBits(int rows, int width)
    {
        var rng = new Random(rows + width);
        float[] x = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(rng.NextDouble() * 6 - 2))];
        float[] g = [.. Enumerable.Range(0, rows * width).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        double[] means = [.. Enumerable.Range(0, rows).Select(_ => rng.NextDouble())];
        double[] rstds = [.. Enumerable.Range(0, rows).Select(_ => 0.5 + rng.NextDouble())];
        float[] dwBefore = new float[width], dbBefore = new float[width], dwAfter = new float[width], dbAfter = new float[width];
        for (int c0 = 0; c0 < width; c0 += 32)
        {
            F.LayerNormAffineGrad(x, g, dwBefore, dbBefore, rows, width, means, rstds, c0, c0 + 32);
            F.LayerNormAffineGradInRegisters(x, g, dwAfter, dbAfter, rows, width, means, rstds, c0);
        }
        Assert.Contains(dwAfter, v => v != 0);
        Assert.True(MemoryMarshal.AsBytes(dwBefore.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(dwAfter.AsSpan())), "dw: different bits");
        Assert.True(MemoryMarshal.AsBytes(dbBefore.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(dbAfter.AsSpan())), "db: different bits");
    }
}
