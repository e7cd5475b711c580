namespace SharpGrad.Tests.Autograd;

using Autograd = SharpGrad.Autograd;

public class AutogradTests
{
    [Fact]
    public void Seed002Q1ScalarGraphAndOneStep()
    {
        // L = (w1 + w2) w3 at (1, 2.3, 5.7): by hand dL/dw1 = dL/dw2 = w3 = 5.7, dL/dw3 = w1 + w2 = 3.3.
        var w1 = TestUtil.Leaf([1.0], 1);
        var w2 = TestUtil.Leaf([2.3], 1);
        var w3 = TestUtil.Leaf([5.7], 1);
        var loss = ((w1 + w2) * w3).Sum();
        Assert.Equal(3.3 * 5.7, loss.Item(), 12);
        loss.Backward();
        Assert.Equal(5.7, w1.Grad!.Item(), 12);
        Assert.Equal(5.7, w2.Grad!.Item(), 12);
        Assert.Equal(3.3, w3.Grad!.Item(), 12);

        // One gradient-descent step with lr 0.01: the sheet's 0.943, 2.243, 5.667 and L = 18.055 (rounded to 3 places).
        double n1 = 1.0 - 0.01 * 5.7, n2 = 2.3 - 0.01 * 5.7, n3 = 5.7 - 0.01 * 3.3;
        using (Autograd.NoGrad())
        {
            var s1 = w1 - w1.Grad * 0.01; var s2 = w2 - w2.Grad * 0.01; var s3 = w3 - w3.Grad * 0.01;
            Assert.Equal(n1, s1.Item(), 12);
            Assert.Equal(0.943, s1.Item(), 3);
            Assert.Equal(2.243, s2.Item(), 3);
            Assert.Equal(5.667, s3.Item(), 3);
            double after = ((s1 + s2) * s3).Item();
            Assert.Equal((n1 + n2) * n3, after, 12);
            Assert.Equal(18.055, after, 3);
            Assert.True(after < loss.Item());
        }
    }

    [Fact]
    public void AValueUsedTwiceAccumulates()
    {
        var x = TestUtil.Leaf([3.0], 1);
        var y = (x * x + x).Sum(); // dy/dx = 2x + 1 = 7
        y.Backward();
        Assert.Equal(7.0, x.Grad!.Item());
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCallsUntilReset()
    {
        var x = TestUtil.Leaf([2.0], 1);
        (x * 3.0).Sum().Backward();
        (x * 3.0).Sum().Backward();
        Assert.Equal(6.0, x.Grad!.Item());
        x.Grad = null;
        (x * 4.0).Sum().Backward();
        Assert.Equal(4.0, x.Grad!.Item());
    }

    [Fact]
    public void HundredThousandOpChainDoesNotOverflowTheStack()
    {
        var x = TestUtil.Leaf([1.0], 1);
        var y = x;
        for (int i = 0; i < 100_000; i++) y = y * 1.00001;
        y.Sum().Backward();
        Assert.Equal(Math.Pow(1.00001, 100_000), x.Grad!.Item(), 6);
    }

    [Fact]
    public void BackwardTwiceOnAFreedGraphIsAClearError()
    {
        var x = TestUtil.Leaf([1.0, 2.0], 2);
        var y = (x.Exp() * x).Sum();
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("second time", e.Message);
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void RetainGraphAllowsASecondPass()
    {
        var x = TestUtil.Leaf([1.0, 2.0], 2);
        var y = (x * x).Sum();
        y.Backward(null, retainGraph: true);
        y.Backward();
        TestUtil.AllClose([4.0, 8.0], x.Grad!);
    }

    [Fact]
    public void NoGradRecordsNothingAndRestoresTheMode()
    {
        var x = TestUtil.Leaf([1.0], 1);
        Assert.True(Autograd.IsGradEnabled);
        Tensor y;
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsGradEnabled);
            y = x * 2.0 + 1.0;
            using (Autograd.NoGrad()) { }
            Assert.False(Autograd.IsGradEnabled);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Null(y.GradFnName);
        Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
    }

    [Fact]
    public void RequiresGradPropagatesOnlyFromInputsThatNeedIt()
    {
        var a = TestUtil.Leaf([1.0], 1);
        var b = Tensor.FromArray(new[] { 2.0 });
        Assert.True((a * b).RequiresGrad);
        Assert.False((b * b).RequiresGrad);
        Assert.Equal("MulBackward", (a * b).GradFnName);
        (a * b).Sum().Backward();
        Assert.Null(b.Grad);
        Assert.Equal(2.0, a.Grad!.Item());
    }

    [Fact]
    public void BroadcastInputsGetGradientsOfTheirOwnShape()
    {
        var a = TestUtil.Leaf([1, 2, 3, 4, 5, 6], 2, 3);
        var bias = TestUtil.Leaf([10, 20, 30], 3);
        var col = TestUtil.Leaf([1, 2], 2, 1);
        var scalar = TestUtil.Leaf([2.0], 1);
        ((a + bias) * col * scalar.Reshape()).Sum().Backward();
        Assert.Equal([3], bias.Grad!.Shape);
        TestUtil.AllClose([(1 + 2) * 2.0, 6, 6], bias.Grad);           // sum over rows of col * scalar
        Assert.Equal([2, 1], col.Grad!.Shape);
        TestUtil.AllClose([(11 + 22 + 33) * 2.0, (14 + 25 + 36) * 2.0], col.Grad);
        Assert.Equal([1], scalar.Grad!.Shape);
        TestUtil.AllClose([66 + 2 * 75.0], scalar.Grad);
    }

    [Fact]
    public void BackwardWithAnExplicitGradient()
    {
        var x = TestUtil.Leaf([1, 2, 3], 3);
        var y = x * x;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[3]", e.Message);
        y.Backward(Tensor.FromArray(new[] { 1.0, 0.5, -1 }));
        TestUtil.AllClose([2, 2, -6], x.Grad!);
        Assert.Throws<ArgumentException>(() => (x * 2.0).Backward(Tensor.FromArray(new[] { 1.0 })));
    }

    [Fact]
    public void GradOfIntermediatesAndUnusedInputs()
    {
        var x = TestUtil.Leaf([2.0], 1);
        var u = TestUtil.Leaf([5.0], 1);
        var h = x * 3.0;
        var y = (h * h).Sum();
        var grads = Autograd.Grad(y, [h, x], retainGraph: true);
        Assert.Equal(12.0, grads[0].Item()); // dy/dh = 2h
        Assert.Equal(36.0, grads[1].Item()); // dy/dx = 18x
        Assert.Null(x.Grad);                 // Grad does not touch .Grad
        Assert.Throws<InvalidOperationException>(() => Autograd.Grad(y, [u], retainGraph: true));
        Assert.Equal(0.0, Autograd.Grad(y, [u], allowUnused: true)[0].Item());
    }

    [Fact]
    public void DoubleBackwardGivesSecondDerivatives()
    {
        // y = x³ + x·eˣ: y' = 3x² + eˣ(1 + x), y'' = 6x + eˣ(2 + x).
        double v = 0.7, e = Math.Exp(v);
        var x = TestUtil.Leaf([v], 1);
        var y = (x.Pow(3) + x * x.Exp()).Sum();
        var dx = Autograd.Grad(y, [x], createGraph: true)[0];
        Assert.True(dx.RequiresGrad);
        Assert.Equal(3 * v * v + e * (1 + v), dx.Item(), 12);
        var d2 = Autograd.Grad(dx.Sum(), [x])[0];
        Assert.Equal(6 * v + e * (2 + v), d2.Item(), 12);
    }

    [Fact]
    public void ReluGradientIsTheStepAwayFromZeroAndZeroAtZero()
    {
        var x = TestUtil.Leaf([-2, -0.5, 0, 0.5, 2], 5);
        x.Relu().Sum().Backward();
        var step = x.Detach().Heaviside(0.0).ToArray<double>();
        Assert.Equal(new double[] { 0, 0, 0, 1, 1 }, x.Grad!.ToArray<double>());
        Assert.Equal(step, x.Grad.ToArray<double>());
    }
}
