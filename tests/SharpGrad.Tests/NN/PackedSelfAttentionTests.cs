using SharpGrad.Kernels;
using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Self-attention read straight out of the fused in-projection (<see cref="F.PackedSelfAttention"/>): the heads are read
/// in place from [batch, L, 3·E] and written merged as [batch, L, E]. It must give the bits of the split → attention →
/// merge composition, forward and backward, for 1 and 2 threads; be within float32 rounding of a float64 softmax
/// attention written with plain ops; and MultiheadAttention's self-attention must give the same output and parameter
/// gradients through it as through the per-part projections, within float32 rounding (the products sum in another order).
/// </summary>
[Collection(SharpGrad.Tests.Kernels.GemmCollection.Name)] // sets Gemm.MaxThreads
public class PackedSelfAttentionTests
{
    private static Tensor Leaf(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>The composition the packed op replaces: split q, k, v into heads, attend, merge the heads.</summary>
    private static Tensor SplitAttendMerge(Tensor qkv, int heads, Tensor? mask, double p, bool causal, Generator? generator)
    {
        int b = qkv.Size(0), l = qkv.Size(1), e = qkv.Size(2) / 3, hd = e / heads;
        Tensor Part(int i) => qkv.Narrow(2, i * e, e).Reshape(b, l, heads, hd).Transpose(1, 2);
        var o = F.ScaledDotProductAttention(Part(0), Part(1), Part(2), mask, p, causal, generator: generator);
        return o.Transpose(1, 2).Reshape(b, l, e);
    }

    public static TheoryData<int, int, int, int, string> Cases() => new()
    {
        { 2, 5, 2, 4, "none" },
        { 64, 16, 4, 32, "causal" },   // the LM's shape
        { 2, 70, 3, 5, "causal" },     // several query blocks
        { 3, 6, 2, 4, "bool" },
        { 2, 7, 2, 3, "additive" },
        { 2, 9, 2, 4, "dropout" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PackedIsBitIdenticalToSplitAttendMerge(int b, int l, int heads, int hd, string kind)
    {
        var g = new Generator(21);
        int e = heads * hd;
        Tensor? mask = kind switch
        {
            "bool" => Tensor.Randn([b, 1, l, l], g).Gt(-0.3).LogicalOr(Tensor.Arange(l).Eq(0).Reshape(1, 1, 1, l)),
            "additive" => Tensor.Randn([l, l], g),
            _ => null,
        };
        bool causal = kind == "causal";
        double p = kind == "dropout" ? 0.25 : 0;
        int saved = Gemm.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Gemm.MaxThreads = threads;
                var qkv = Leaf(Tensor.Randn([b, l, 3 * e], g));
                var gy = Tensor.Randn([b, l, e], g);
                var packed = F.PackedSelfAttention(qkv, heads, mask, p, causal, new Generator(5));
                Assert.Equal("PackedSelfAttentionBackward", packed.GradFnName);
                var gPacked = SharpGrad.Autograd.Grad(packed, [qkv], gy)[0];
                var plain = SplitAttendMerge(qkv, heads, mask, p, causal, new Generator(5));
                var gPlain = SharpGrad.Autograd.Grad(plain, [qkv], gy)[0];
                Assert.Equal(new[] { b, l, e }, packed.ShapeRef);
                Assert.Equal(plain.ToArray<float>(), packed.ToArray<float>());
                Assert.Equal(gPlain.ToArray<float>(), gPacked.ToArray<float>());
            }
        }
        finally
        {
            Gemm.MaxThreads = saved;
        }
    }

    [Fact]
    public void Float32IsWithinRoundingOfAFloat64SoftmaxAttention()
    {
        var g = new Generator(22);
        int b = 3, l = 11, heads = 2, hd = 8, e = heads * hd;
        var x = Tensor.Randn([b, l, 3 * e], g);
        var gy = Tensor.Randn([b, l, e], g);
        var q32 = Leaf(x.Clone());
        var y32 = F.PackedSelfAttention(q32, heads, isCausal: true);
        var g32 = SharpGrad.Autograd.Grad(y32, [q32], gy)[0];

        // float64, written out: scores, causal mask, softmax, weighted values, heads merged by hand.
        var q64 = Leaf(x.To(DType.Float64));
        Tensor Heads(int part) => q64.Narrow(2, part * e, e).Reshape(b, l, heads, hd).Permute(0, 2, 1, 3);
        var scores = Heads(0).MatMul(Heads(1).Transpose(2, 3)) * (1 / Math.Sqrt(hd));
        var future = Tensor.Arange(l).Reshape(l, 1).Lt(Tensor.Arange(l).Reshape(1, l)); // key after query
        var y64 = scores.MaskedFill(future, double.NegativeInfinity).Softmax(-1).MatMul(Heads(2)).Permute(0, 2, 1, 3).Reshape(b, l, e);
        var g64 = SharpGrad.Autograd.Grad(y64, [q64], gy.To(DType.Float64))[0];

        AssertClose("y", y64.ToArray<double>(), y32.ToArray<float>());
        AssertClose("dqkv", g64.ToArray<double>(), g32.ToArray<float>());
    }

    private static void AssertClose(string what, double[] expected, float[] actual)
    {
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-5 * scale, $"{what}[{i}] = {actual[i]}, float64 gives {expected[i]}");
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void MultiheadSelfAttentionGivesTheSameThroughThePackedPath(bool batchFirst, bool causal)
    {
        var g = new Generator(23);
        var mha = new MultiheadAttention(16, 4, 0, true, batchFirst, new Generator(3));
        mha.Train();
        var x = Leaf(Tensor.Randn(batchFirst ? [5, 9, 16] : [9, 5, 16], g));
        var gy = Tensor.Randn(x.ShapeRef, g);
        Tensor[] leaves = [x, .. mha.Parameters()];

        // One tensor as query, key and value: the packed path.
        var packed = mha.Forward(x, x, x, isCausal: causal, needWeights: false).Output;
        var gPacked = SharpGrad.Autograd.Grad(packed, leaves, gy);
        // Three tensor objects (the same values): the per-part projections and the head split/merge.
        var x2 = x * 1.0;
        var plain = mha.Forward(x, x2, x2, isCausal: causal, needWeights: false).Output;
        var gPlain = SharpGrad.Autograd.Grad(plain, leaves, gy);

        // One in-projection product of width 3·E sums in another order than three of width E (and the input gradient
        // is one product over 3·E instead of three added): equal up to float32 rounding, not bit for bit.
        AssertClose("output", Array.ConvertAll(plain.ToArray<float>(), v => (double)v), packed.ToArray<float>());
        for (int i = 0; i < leaves.Length; i++)
            AssertClose($"gradient {i}", Array.ConvertAll(gPlain[i].ToArray<float>(), v => (double)v), gPacked[i].ToArray<float>());
        Assert.NotEqual(0, gPacked[1].Abs().Max().Item()); // the in-projection weight gets a gradient
    }

    [Theory]
    [InlineData(16, 32, 16)] // the LM's score blocks: one float32 vector per row
    [InlineData(9, 16, 32)]
    [InlineData(7, 5, 37)]   // vector and scalar columns, a leftover row group
    [InlineData(3, 8, 3)]    // fewer rows than one group
    public void FourRowAccumulationGivesTheBitsOfOneRowAtATime(int rows, int count, int n)
    {
        var g = new Generator(24);
        int aRowStride = count + 3, bStride = n + 2, cRowStride = n + 1;
        float[] a = Tensor.Randn([rows * aRowStride], g).ToArray<float>(), b = Tensor.Randn([count * bStride], g).ToArray<float>();
        float[] c0 = Tensor.Randn([rows * cRowStride], g).ToArray<float>();
        float[] one = (float[])c0.Clone(), four = (float[])c0.Clone();
        for (int r = 0; r < rows; r++) FlashAttention.AccumulateRow<float>(a.AsSpan(r * aRowStride), 1, count, b, bStride, one.AsSpan(r * cRowStride), n);
        FlashAttention.AccumulateRows<float>(a, aRowStride, 1, count, b, bStride, four, cRowStride, n, rows);
        Assert.Equal(one, four);
        // And the sums themselves, in double: c + Σ_j a b.
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
            {
                double expected = c0[r * cRowStride + i];
                for (int j = 0; j < count; j++) expected += (double)a[r * aRowStride + j] * b[j * bStride + i];
                Assert.True(Math.Abs(four[r * cRowStride + i] - expected) <= 1e-5 * (1 + count), $"row {r}, column {i}: {four[r * cRowStride + i]} vs {expected}");
            }
    }

    [Fact]
    public void BadPackedShapesAreRefusedWithTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => F.PackedSelfAttention(Tensor.Zeros(2, 3, 10), 2));
        Assert.Contains("[2, 3, 10]", e.Message);
        Assert.Throws<ArgumentException>(() => F.PackedSelfAttention(Tensor.Zeros(2, 3, 12), 2, Tensor.Zeros(3, 3), isCausal: true));
    }

    [Fact]
    public void MasksOfAWrongDTypeOrShapeAreRefusedByBothEntryPoints()
    {
        // Scores are [2, 2, 3, 3] for both: batch 2, 2 heads, 3 positions, head dim 2.
        var q = Tensor.Zeros(2, 2, 3, 2);
        var qkv = Tensor.Zeros(2, 3, 12);
        var intMask = Tensor.Zeros([3, 3], DType.Int64);
        var wideMask = Tensor.Zeros(3, 4);
        var e1 = Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, q, q, intMask));
        var e2 = Assert.Throws<ArgumentException>(() => F.PackedSelfAttention(qkv, 2, intMask));
        Assert.All(new[] { e1, e2 }, e => Assert.Contains("int64", e.Message));
        var e3 = Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, q, q, wideMask));
        var e4 = Assert.Throws<ArgumentException>(() => F.PackedSelfAttention(qkv, 2, wideMask));
        Assert.All(new[] { e3, e4 }, e => { Assert.Contains("[3, 4]", e.Message); Assert.Contains("[2, 2, 3, 3]", e.Message); });
        // A mask of more dimensions than the scores is refused even when its extra dimension is 1.
        Assert.Throws<ArgumentException>(() => F.PackedSelfAttention(qkv, 2, Tensor.Zeros(1, 1, 1, 3, 3)));
    }
}
