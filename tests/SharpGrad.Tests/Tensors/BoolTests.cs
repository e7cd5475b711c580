namespace SharpGrad.Tests.Tensors;

/// <summary>DType.Bool: storage, conversions, printing and the rules for arithmetic, against PyTorch's behaviour.</summary>
public class BoolTests
{
    [Fact]
    public void ComparisonsGiveBoolAndConvertAsPyTorch()
    {
        var x = Tensor.FromArray(new[] { -1.0, 0.0, 2.0, double.NaN });
        var gt = x.Gt(0);
        Assert.Equal(DType.Bool, gt.DType);
        Assert.Equal(new[] { false, false, true, false }, gt.ToBoolArray());
        Assert.Equal(new[] { true, true, true, true }, x.Ne(5).ToBoolArray());
        Assert.Equal(new[] { 0.0, 0.0, 1.0, 0.0 }, gt.To(DType.Float64).ToArray<double>());
        Assert.Equal(new long[] { 0, 0, 1, 0 }, gt.ToArray<long>());
        // float -> bool: non-zero and NaN are true (torch.tensor([-1., 0., 2., nan]).bool()).
        Assert.Equal(new[] { true, false, true, true }, x.To(DType.Bool).ToBoolArray());
        Assert.Equal("tensor([False, False, True, False], dtype=bool)", gt.ToString());
    }

    [Fact]
    public void AccuracyIsComputedThroughAFloatConversion()
    {
        var pred = Tensor.FromArray(new long[] { 1, 2, 3, 4 });
        var truth = Tensor.FromArray(new long[] { 1, 0, 3, 0 });
        Assert.Equal(0.5, pred.Eq(truth).To(DType.Float32).Mean().Item());
        var e = Assert.Throws<NotSupportedException>(() => pred.Eq(truth).Mean());
        Assert.Contains("bool", e.Message);
        Assert.Contains("To(DType.Float32)", e.Message);
    }

    [Fact]
    public void BoolCannotRequireGradAndWhereNeedsBool()
    {
        var m = Tensor.FromArray(new[] { true, false });
        Assert.Throws<InvalidOperationException>(() => m.RequiresGrad = true);
        var x = Tensor.FromArray(new[] { 1.0, 2.0 });
        var e = Assert.Throws<ArgumentException>(() => Tensor.Where(x, x, x));
        Assert.Contains("must be a Bool tensor", e.Message);
        Assert.Equal(new[] { 1.0, -1.0 }, Tensor.Where(m, x, -1.0).ToArray<double>());
    }

    [Fact]
    public void DoubleBackwardThroughGeluIsRefusedWithAMessage()
    {
        var x = Tensor.FromArray(new[] { 0.3, -1.2 }, 2);
        x.RequiresGrad = true;
        var y = x.Gelu().Sum();
        var e = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad(y, [x], createGraph: true));
        Assert.Contains("GeluBackward", e.Message);
        // First order works and is the closed form Φ(x) + x φ(x).
        var g = SharpGrad.Autograd.Grad(x.Gelu().Sum(), [x])[0].ToArray<double>();
        double[] xs = [0.3, -1.2];
        for (int i = 0; i < 2; i++)
        {
            double cdf = 0.5 * (1 + SharpGrad.ErfFunction.Erf(xs[i] / Math.Sqrt(2))), pdf = Math.Exp(-xs[i] * xs[i] / 2) / Math.Sqrt(2 * Math.PI);
            Assert.Equal(cdf + xs[i] * pdf, g[i], 12);
        }
    }

    [Fact]
    public void ErfMatchesKnownValues()
    {
        // erf(0.5), erf(1), erf(2), erf(3) to 16 digits (Abramowitz and Stegun, table 7.1 / DLMF).
        var x = Tensor.FromArray(new[] { 0.5, 1.0, 2.0, 3.0, -1.0, 0.0 });
        double[] expected = [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, 0.9999779095030014, -0.8427007929497149, 0.0];
        var y = x.Erf().ToArray<double>();
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(expected[i] - y[i]) <= 4e-16, $"erf({x.ToArray<double>()[i]}) = {y[i]:R}, expected {expected[i]:R}");
    }
}

public class BoolMovementTests
{
    private static readonly bool[] Values = [true, false, false, true, true, false];

    [Fact]
    public void OpsThatMoveElementsKeepBoolValues()
    {
        // Each result written out by hand from Values laid out as [[T, F, F], [T, T, F]].
        var m = Tensor.FromArray(Values, 2, 3);
        Assert.Equal(new[] { true, true, false, true, false, false }, m.Transpose(0, 1).ToBoolArray());
        Assert.Equal(new[] { false, false, true, false }, m.Narrow(1, 1, 2).ToBoolArray());
        Assert.Equal(new[] { true, false, false, true, true, false, true, false, false }, Tensor.Concat([m, m.Narrow(0, 0, 1)], 0).ToBoolArray());
        Assert.Equal(new[] { true, true, false, true, false, false }, m.IndexSelect(0, Tensor.FromArray(new long[] { 1, 0 })).ToBoolArray());
        Assert.Equal(new[] { false, true }, m.Gather(1, Tensor.FromArray(new long[] { 2, 0 }, 2, 1)).ToBoolArray());
        var filled = Tensor.FromArray(new bool[3]);
        filled.Fill(1);
        Assert.Equal(new[] { true, true, true }, filled.ToBoolArray());
    }
}
