namespace SharpGrad.Tests.Tensors;

public class TensorTests
{
    [Fact]
    public void FromArrayKeepsDataShapeAndStrides()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal([3, 1], t.Strides);
        Assert.Equal(6, t.Numel);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
        Assert.Equal([6], Tensor.FromArray(new double[6]).Shape);
    }

    [Fact]
    public void FromArrayCopiesItsInput()
    {
        var data = new double[] { 1, 2 };
        var t = Tensor.FromArray(data);
        data[0] = 99;
        Assert.Equal(1.0, t.ToArray<double>()[0]);
    }

    [Fact]
    public void ShapeThatDoesNotFitTheDataIsAnErrorNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("5", e.Message);
    }

    [Fact]
    public void ShapeIsACopy()
    {
        var t = Tensor.Zeros(2, 3);
        t.Shape[0] = 7;
        Assert.Equal([2, 3], t.Shape);
    }

    [Fact]
    public void Factories()
    {
        Assert.Equal(new float[] { 0, 0, 0, 0 }, Tensor.Zeros(2, 2).ToArray<float>());
        Assert.Equal(new double[] { 1, 1, 1 }, Tensor.Ones([3], DType.Float64).ToArray<double>());
        Assert.Equal(new double[] { 2.5, 2.5 }, Tensor.Full([2], 2.5, DType.Float64).ToArray<double>());
        Assert.Equal(new float[] { 0, 1, 2, 3 }, Tensor.Arange(4).ToArray<float>());
        Assert.Equal(new double[] { 1, 1.5, 2, 2.5 }, Tensor.Arange(1, 3, 0.5, DType.Float64).ToArray<double>());
        Assert.Equal(new float[] { 1, 0, 0, 0, 1, 0 }, Tensor.Eye(2, 3).ToArray<float>());
        Assert.Empty(Tensor.Arange(3, 1).ToArray<float>());
        Assert.Equal(0, Tensor.Scalar(4.0).Rank);
        Assert.Equal(4.0, Tensor.Scalar(4.0).Item());
    }

    [Fact]
    public void ItemNeedsExactlyOneElement()
    {
        Assert.Equal(3.0, Tensor.FromArray(new double[] { 3 }).Item());
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());
        Assert.Contains("[2]", e.Message);
    }

    [Fact]
    public void SameSeedSameStreamDifferentSeedDifferentStream()
    {
        var a = Tensor.Randn([100], new Generator(5)).ToArray<float>();
        var b = Tensor.Randn([100], new Generator(5)).ToArray<float>();
        var c = Tensor.Randn([100], new Generator(6)).ToArray<float>();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void GeneratorMatchesTheDocumentedAlgorithm()
    {
        // SplitMix64 then xoshiro256**, recomputed here independently with BigInteger-free ulong arithmetic.
        ulong x = 42;
        ulong Mix() { ulong z = x += 0x9E3779B97F4A7C15UL; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL; z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL; return z ^ (z >> 31); }
        ulong[] s = [Mix(), Mix(), Mix(), Mix()];
        ulong Next()
        {
            ulong r = ulong.RotateLeft(s[1] * 5, 7) * 9, t = s[1] << 17;
            s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = ulong.RotateLeft(s[3], 45);
            return r;
        }
        var g = new Generator(42UL);
        for (int i = 0; i < 10; i++) Assert.Equal(Next(), g.NextUInt64());
    }

    [Fact]
    public void RandomSamplesHaveTheRightMoments()
    {
        var n = Tensor.Randn([200_000], new Generator(1), DType.Float64).ToArray<double>();
        double mean = n.Average(), var = n.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(var, 0.98, 1.02);
        var u = Tensor.Rand([200_000], new Generator(2), DType.Float64).ToArray<double>();
        Assert.All(u, v => Assert.InRange(v, 0.0, 1.0 - 1e-17));
        Assert.InRange(u.Average(), 0.495, 0.505);
    }

    [Fact]
    public void PermutationIsAPermutation()
    {
        var p = new Generator(3).Permutation(1000);
        Assert.Equal(Enumerable.Range(0, 1000), p.Order());
        Assert.NotEqual(Enumerable.Range(0, 1000), p);
    }

    [Fact]
    public void ToConvertsAndKeepsGradientFlowing()
    {
        var x = TestUtil.Leaf([1.5, -2.25], 2);
        var y = x.To(DType.Float32);
        Assert.Equal(DType.Float32, y.DType);
        Assert.Equal(new float[] { 1.5f, -2.25f }, y.ToArray<float>());
        (y * 3.0).Sum().Backward();
        Assert.Equal(DType.Float64, x.Grad!.DType);
        Assert.Equal(new double[] { 3, 3 }, x.Grad.ToArray<double>());
        Assert.Equal(new long[] { 1, -2 }, x.To(DType.Int64).ToArray<long>());
    }

    [Fact]
    public void DetachSharesValuesButNotTheGraph()
    {
        var x = TestUtil.Leaf([1, 2], 2);
        var y = (x * 2.0).Detach();
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Equal(new double[] { 2, 4 }, y.ToArray<double>());
    }

    [Fact]
    public void ToStringLooksLikePyTorch()
    {
        Assert.Equal("tensor([[1., 2.],\n        [3., 4.]])", Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2).ToString());
        Assert.Equal("tensor([0.5000, -1.2500], dtype=float64, requires_grad=True)", TestUtil.Leaf([0.5, -1.25], 2).ToString());
        Assert.Equal("tensor(3, dtype=int64)", Tensor.FromArray(new long[] { 3 }).Reshape().ToString());
        var big = Tensor.Arange(2000).ToString();
        Assert.Contains("...", big);
        Assert.Contains("1999.", big);
        Assert.Contains("grad_fn=<MulBackward>", (TestUtil.Leaf([1.0], 1) * 2.0).ToString());
    }

    [Fact]
    public void Int64TensorsRejectArithmeticWithAClearMessage()
    {
        var labels = Tensor.FromArray(new long[] { 1, 2 });
        var e = Assert.Throws<NotSupportedException>(() => labels + labels);
        Assert.Contains("int64", e.Message);
        Assert.Throws<InvalidOperationException>(() => labels.RequiresGrad = true);
    }

    [Fact]
    public void MixedFloatTypesPromoteToFloat64()
    {
        var a = Tensor.FromArray(new float[] { 1.5f });
        var b = Tensor.FromArray(new double[] { 0.25 });
        var c = a + b;
        Assert.Equal(DType.Float64, c.DType);
        Assert.Equal(1.75, c.Item());
    }
}
