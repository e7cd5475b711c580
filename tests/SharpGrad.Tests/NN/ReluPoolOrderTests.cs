using SharpGrad.NN;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Sequential runs a ReLU layer followed by a MaxPool2d layer as the pool then the ReLU. Max pooling commutes with a
/// monotone function, and the gradient reaches the same input element (the first maximum of its window) with the same
/// ReLU mask, so values and gradients must be the float32 bits of the two layers applied in their written order, also
/// with ties, windows of only negative values or zeros, and NaN.
/// </summary>
public class ReluPoolOrderTests
{
    private static Tensor Unfused(Sequential model, Tensor x)
    {
        for (int i = 0; i < model.Count; i++) x = model[i].Forward(x);
        return x;
    }

    public static TheoryData<int, int, int, int, bool> Pools() => new()
    {
        { 2, 2, 0, 1, false },  // the CNNs' 2x2 pool
        { 3, 2, 1, 1, false },  // overlapping windows, padding
        { 3, 2, 1, 1, true },   // ceil mode: windows past the edge
        { 2, 1, 0, 2, false },  // dilated
    };

    [Theory]
    [MemberData(nameof(Pools))]
    public void PoolThenReluIsBitIdenticalToReluThenPool(int kernel, int stride, int padding, int dilation, bool ceil)
    {
        var g = new Generator(11);
        var model = new Sequential(new Conv2d(2, 3, 3, generator: g), new ReLU(), new MaxPool2d(kernel, stride, padding, dilation, ceil), new Flatten());
        // Values rounded to a coarse grid: many ties, exact zeros and all-negative windows.
        var x = (Tensor.Randn([4, 2, 11, 11], g) * 2).Round() * 0.5;
        x.RequiresGrad = true;
        var fused = model.Forward(x);
        var gy = Tensor.Randn(fused.ShapeRef, g);
        var fusedGrads = SharpGrad.Autograd.Grad(fused, [x, .. model.Parameters()], gy);
        var plain = Unfused(model, x);
        var plainGrads = SharpGrad.Autograd.Grad(plain, [x, .. model.Parameters()], gy);
        Assert.Equal(plain.ToArray<float>(), fused.ToArray<float>());
        for (int i = 0; i < plainGrads.Length; i++) Assert.Equal(plainGrads[i].ToArray<float>(), fusedGrads[i].ToArray<float>());
    }

    [Fact]
    public void NaNAndTiesGiveTheSameValuesAndGradients()
    {
        float nan = float.NaN;
        var x = Tensor.FromArray(new float[]
        {
            -1, -2, 0, 0,   1, 1, nan, 2,
            -3, -1, 0, -1,  1, 0, 3, nan,
        }, 1, 1, 2, 8);
        x.RequiresGrad = true;
        var model = new Sequential(new ReLU(), new MaxPool2d(2));
        var fused = model.Forward(x);
        var gy = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 1, 1, 1, 4);
        var fusedGrad = SharpGrad.Autograd.Grad(fused, [x], gy)[0];
        var plain = Unfused(model, x);
        var plainGrad = SharpGrad.Autograd.Grad(plain, [x], gy)[0];
        Assert.Equal(plain.ToArray<float>(), fused.ToArray<float>());
        Assert.Equal(plainGrad.ToArray<float>(), fusedGrad.ToArray<float>());
        Assert.Equal("ReluBackward", fused.GradFnName);
    }
}
