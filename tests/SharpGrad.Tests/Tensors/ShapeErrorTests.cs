namespace SharpGrad.Tests.Tensors;

public class ShapeErrorTests
{
    [Fact]
    public void BroadcastMismatchNamesTheOpAndBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("Add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void MatMulMismatchNamesBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).MatMul(Tensor.Zeros(4, 5)));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 5]", e.Message);
    }

    [Fact]
    public void BadDimensionsAndIndices()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).Sum(2));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Reshape(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).Narrow(1, 2, 2));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).IndexSelect(1, Tensor.FromArray(new long[] { 0, 3 })));
        Assert.Contains("index 3", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).IndexSelect(1, Tensor.FromArray(new float[] { 0 })));
        Assert.Throws<ArgumentException>(() => Tensor.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(3, 3)], 1));
        Assert.Throws<ArgumentException>(() => Tensor.Stack([Tensor.Zeros(2), Tensor.Zeros(3)]));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Permute(0, 0));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Expand(3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(3).Softmax(0, 0));
    }

    [Fact]
    public void ShapeOpsProduceTheRightLayout()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, x.Transpose(0, 1).ToArray<float>());
        Assert.Equal([3, 2], x.Transpose(0, 1).Shape);
        var y = Tensor.Arange(24).Reshape(2, 3, 4).Permute(2, 0, 1);
        Assert.Equal([4, 2, 3], y.Shape);
        Assert.Equal(13f, y.ToArray<float>()[1 * 6 + 1 * 3 + 0]); // y[1,1,0] = x[1,0,1] = 12 + 1
        Assert.Equal([2, 1, 3], x.Unsqueeze(1).Shape);
        Assert.Equal([2, 3], x.Unsqueeze(0).Squeeze().Shape);
        Assert.Equal([2, 3], x.Squeeze(0).Shape);
        Assert.Equal([6], x.Flatten().Shape);
        Assert.Equal([3, 2], x.Reshape(-1, 2).Shape);
        Assert.Equal(new float[] { 1, 2, 4, 5 }, x.Narrow(1, 1, 2).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5 }, Tensor.Concat([x, x], 1).ToArray<float>());
        Assert.Equal([2, 2, 3], Tensor.Stack([x, x]).Shape);
        Assert.Equal([2, 3, 2], Tensor.Stack([x, x], -1).Shape);
        Assert.Equal(new float[] { 2, 0, 2, 5, 3, 5 }, x.IndexSelect(1, Tensor.FromArray(new long[] { 2, 0, -1 })).ToArray<float>());
        Assert.Equal(new float[] { 2, 0, 4, 4 }, x.Gather(1, Tensor.FromArray(new long[] { 2, 0, 1, 1 }, 2, 2)).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 2, 0, 1, 2 }, Tensor.Arange(3).Expand(2, 3).ToArray<float>());
    }

    [Fact]
    public void ReductionsAndArgMax()
    {
        var x = Tensor.FromArray(new double[] { 1, 5, 3, 4, 2, 6 }, 2, 3);
        Assert.Equal(21, x.Sum().Item());
        Assert.Equal(3.5, x.Mean().Item());
        Assert.Equal(new double[] { 5, 7, 9 }, x.Sum(0).ToArray<double>());
        Assert.Equal(new double[] { 3, 4 }, x.Mean(1).ToArray<double>());
        Assert.Equal([2, 1], x.Max(1, keepDim: true).Shape);
        Assert.Equal(new double[] { 5, 6 }, x.Max(1).ToArray<double>());
        Assert.Equal(new double[] { 1, 2, 3 }, x.Min(0).ToArray<double>());
        Assert.Equal(new long[] { 1, 2 }, x.ArgMax(1).ToArray<long>());
        Assert.Equal(DType.Int64, x.ArgMax(1).DType);
        Assert.Equal(5L, x.ArgMax().ToArray<long>()[0]);
        Assert.Equal(1.0, Tensor.FromArray(new long[] { 1, 2 }).Eq(Tensor.FromArray(new long[] { 1, 3 })).To(DType.Float32).Sum().Item());
    }
}
