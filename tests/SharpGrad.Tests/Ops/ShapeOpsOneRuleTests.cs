namespace SharpGrad.Tests.Ops;

using Autograd = SharpGrad.Autograd;

/// <summary>
/// The shape/reduction ops after the move to one file and one backward rule each: element-moving ops for every dtype
/// (values worked by hand, as torch 1.13 gives them), Concat's dtype promotion, the one recorded rule used for first
/// and second order alike (Hessians in closed form), and the error an empty max names.
/// </summary>
public class ShapeOpsOneRuleTests
{
    [Fact]
    public void ExpandWorksForInt64AndBool()
    {
        // torch.tensor([[1], [2], [3]]).expand(2, 3, 2)
        var i = Tensor.FromArray(new long[] { 1, 2, 3 }, 3, 1).Expand(2, 3, 2);
        Assert.Equal(DType.Int64, i.DType);
        Assert.Equal(new[] { 2, 3, 2 }, i.Shape);
        Assert.Equal(new long[] { 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3 }, i.ToArray<long>());
        // torch.tensor([True, False]).expand(3, 2)
        var b = Tensor.FromArray(new long[] { 1, 0 }).To(DType.Bool).Expand(3, 2);
        Assert.Equal(new[] { true, false, true, false, true, false }, b.ToBoolArray());
    }

    [Fact]
    public void PermuteAndTransposeWorkForInt64()
    {
        var x = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5 }, 2, 3);
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, x.Transpose(0, 1).ToArray<long>());
        Assert.Equal(new long[] { 0, 3, 1, 4, 2, 5 }, x.Permute(1, 0).ToArray<long>());
    }

    [Fact]
    public void ConcatPromotesMixedDTypesAsPyTorch()
    {
        // torch.cat([torch.tensor([1, 2]), torch.tensor([True, False])]) is int64 [1, 2, 1, 0].
        var y = Tensor.Concat([Tensor.FromArray(new long[] { 1, 2 }), Tensor.FromArray(new long[] { 1, 0 }).To(DType.Bool)]);
        Assert.Equal(DType.Int64, y.DType);
        Assert.Equal(new long[] { 1, 2, 1, 0 }, y.ToArray<long>());
        var f = Tensor.Concat([Tensor.FromArray(new long[] { 3 }), Tensor.FromArray(new[] { 0.5f })]);
        Assert.Equal(DType.Float32, f.DType);
        Assert.Equal(new[] { 3f, 0.5f }, f.ToArray<float>());
    }

    [Fact]
    public void SumOverADimHasTheSameRuleForFirstAndSecondOrder()
    {
        // f(x) = Σ_i (Σ_j x_ij)² for x of shape [2, 3]: ∂f/∂x_ij = 2 s_i and ∂²f/∂x_ij∂x_kl = 2 [i = k].
        var x = Tensor.FromArray(new[] { 0.5, -1.0, 2.0, 3.0, 0.25, -0.75 }, 2, 3);
        x.RequiresGrad = true;
        var s = x.Sum(1);
        var g = Autograd.Grad((s * s).Sum(), [x], createGraph: true)[0];
        Assert.Equal(new[] { 3.0, 3.0, 3.0, 5.0, 5.0, 5.0 }, g.ToArray<double>());
        // Row 0 of the Hessian, as the gradient of g[0, 0]: 2 on row 0, 0 on row 1.
        var h = Autograd.Grad(g.Narrow(0, 0, 1).Narrow(1, 0, 1).Sum(), [x])[0];
        Assert.Equal(new[] { 2.0, 2.0, 2.0, 0.0, 0.0, 0.0 }, h.ToArray<double>());
        var plain = Autograd.Grad((x.Sum(1) * x.Sum(1)).Sum(), [x])[0];
        Assert.Equal(g.ToArray<double>(), plain.ToArray<double>());
    }

    [Fact]
    public void MeanHessianIsConstant()
    {
        // f(x) = mean(x)² over n = 4: ∂f/∂x_i = 2 mean / n, ∂²f/∂x_i∂x_j = 2 / n² = 0.125.
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0, 6.0 });
        x.RequiresGrad = true;
        var g = Autograd.Grad(x.Mean() * x.Mean(), [x], createGraph: true)[0];
        Assert.Equal(new[] { 1.5, 1.5, 1.5, 1.5 }, g.ToArray<double>());
        var h = Autograd.Grad(g.Narrow(0, 2, 1).Sum(), [x])[0];
        Assert.Equal(new[] { 0.125, 0.125, 0.125, 0.125 }, h.ToArray<double>());
    }

    [Fact]
    public void MaxOverAnEmptyDimensionNamesTheOpAndShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 0).Max(1));
        Assert.Contains("Max", e.Message);
        Assert.Contains("[2, 0]", e.Message);
        Assert.Equal(new[] { 0.0, 0.0 }, Tensor.Zeros(2, 0).To(DType.Float64).Sum(1).ToArray<double>());
    }
}
