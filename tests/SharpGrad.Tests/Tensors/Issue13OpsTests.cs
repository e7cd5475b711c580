using SharpGrad.NN;

namespace SharpGrad.Tests.Tensors;

/// <summary>
/// Behaviour of the issue-13 math, activation, reduction and normalisation ops that gradient checks and PyTorch golden
/// values do not pin down: ties, NaN ordering, zero gradients that must be recorded, refused double backward, argument
/// errors, running statistics. Expected values are worked out by hand (or from PyTorch 1.13's documented behaviour).
/// </summary>
public sealed class Issue13OpsTests
{
    private static Tensor Leaf(double[] v, params int[] shape) => TestUtil.Leaf(v, shape);

    [Fact]
    public void ArgMinTakesTheFirstOfTiedMinimaAndTheFirstNaN()
    {
        Assert.Equal(1L, (long)Tensor.FromArray(new double[] { 3, 1, 1, 2 }).ArgMin().Item());
        Assert.Equal(1L, (long)Tensor.FromArray(new double[] { 3, double.NaN, 0, double.NaN }).ArgMin(0).Item());
        // Along dim 0 of [[2, 0], [1, 0], [1, -1]]: column 0 ties at rows 1 and 2, column 1 has its minimum at row 2.
        var m = Tensor.FromArray(new double[] { 2, 0, 1, 0, 1, -1 }, 3, 2).ArgMin(0);
        Assert.Equal(new long[] { 1, 2 }, m.ToArray<long>());
        Assert.Equal(DType.Int64, m.DType);
        // Along dim 1 of [[2, 0], [0, 0], [1, -1]]: row 1 ties.
        var keep = Tensor.FromArray(new double[] { 2, 0, 0, 0, 1, -1 }, 3, 2).ArgMin(1, keepDim: true);
        Assert.Equal(new[] { 3, 1 }, keep.Shape);
        Assert.Equal(new long[] { 1, 0, 1 }, keep.ToArray<long>());
    }

    [Fact]
    public void SortIsStableAndPutsNaNAboveEveryNumber()
    {
        var x = Tensor.FromArray(new double[] { 2, 1, 2, 1, 0 });
        var (v, i) = x.Sort();
        Assert.Equal(new double[] { 0, 1, 1, 2, 2 }, v.ToArray<double>());
        Assert.Equal(new long[] { 4, 1, 3, 0, 2 }, i.ToArray<long>());
        (v, i) = x.Sort(descending: true);
        Assert.Equal(new double[] { 2, 2, 1, 1, 0 }, v.ToArray<double>());
        Assert.Equal(new long[] { 0, 2, 1, 3, 4 }, i.ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 1, 3, 4 }, x.ArgSort(descending: true).ToArray<long>());

        var n = Tensor.FromArray(new double[] { 1, double.NaN, 0 });
        (v, i) = n.Sort();
        Assert.Equal(new long[] { 2, 0, 1 }, i.ToArray<long>());
        Assert.True(double.IsNaN(v.ToArray<double>()[2]));
        (v, i) = n.Sort(descending: true);
        Assert.Equal(new long[] { 1, 0, 2 }, i.ToArray<long>());
        Assert.Equal(1L, (long)n.TopK(1).Indices.Item());
    }

    [Fact]
    public void TopKTakesTheEarlierOfTiedValuesAndSortsFromTheMostExtreme()
    {
        var (v, i) = Tensor.FromArray(new double[] { 1, 3, 3, 2 }).TopK(2);
        Assert.Equal(new double[] { 3, 3 }, v.ToArray<double>());
        Assert.Equal(new long[] { 1, 2 }, i.ToArray<long>());
        (v, i) = Tensor.FromArray(new double[] { 1, 3, 1, 2 }).TopK(3, largest: false);
        Assert.Equal(new double[] { 1, 1, 2 }, v.ToArray<double>());
        Assert.Equal(new long[] { 0, 2, 3 }, i.ToArray<long>());
    }

    [Fact]
    public void SortAndTopKGradientsGoBackToTheSourcePositions()
    {
        var x = Leaf([2, 1, 2], 3);
        x.Sort().Values.Backward(Tensor.FromArray(new double[] { 10, 20, 30 }));
        Assert.Equal(new double[] { 20, 10, 30 }, x.Grad!.ToArray<double>());

        var y = Leaf([5, 7, 1, 7], 2, 2);
        y.TopK(1, dim: 0).Values.Backward(Tensor.FromArray(new double[] { 1, 2 }, 1, 2));
        Assert.Equal(new double[] { 1, 2, 0, 0 }, y.Grad!.ToArray<double>());
    }

    [Fact]
    public void BadKAndBadDimensionsAreRefusedNamingTheOp()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => x.TopK(4));
        Assert.Contains("TopK", e.Message);
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.TopK(-1));
        Assert.Contains("TopK", Assert.Throws<ArgumentOutOfRangeException>(() => x.TopK(1, dim: 2)).Message);
        Assert.Contains("Sort", Assert.Throws<ArgumentOutOfRangeException>(() => x.Sort(-3)).Message);
        Assert.Contains("ArgMin", Assert.Throws<ArgumentOutOfRangeException>(() => x.ArgMin(2)).Message);
        Assert.Contains("CumSum", Assert.Throws<ArgumentOutOfRangeException>(() => x.CumSum(5)).Message);
        Assert.Contains("CumProd", Assert.Throws<ArgumentOutOfRangeException>(() => x.CumProd(-3)).Message);
        Assert.Contains("Var", Assert.Throws<ArgumentOutOfRangeException>(() => x.Var(2)).Message);
        Assert.Contains("Prod", Assert.Throws<ArgumentOutOfRangeException>(() => x.Prod(3)).Message);
        Assert.Contains("Norm", Assert.Throws<ArgumentOutOfRangeException>(() => x.Norm(0)).Message);
        Assert.Contains("Norm", Assert.Throws<ArgumentOutOfRangeException>(() => x.Norm(-1)).Message);
        Assert.Contains("Var", Assert.Throws<ArgumentOutOfRangeException>(() => x.Var(correction: -1)).Message);
        Assert.Contains("ArgMin", Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 0).ArgMin(1)).Message);
    }

    [Fact]
    public void PiecewiseConstantOpsRecordZeroGradients()
    {
        foreach (var (name, f) in new (string, Func<Tensor, Tensor>)[]
                 { ("Floor", t => t.Floor()), ("Ceil", t => t.Ceil()), ("Round", t => t.Round()), ("Sign", t => t.Sign()) })
        {
            var x = Leaf([-1.5, 0.25, 2.5], 3);
            var y = f(x);
            Assert.True(y.RequiresGrad, $"{name} does not record its (zero) gradient");
            y.Sum().Backward();
            Assert.NotNull(x.Grad);
            Assert.Equal(new double[] { 0, 0, 0 }, x.Grad!.ToArray<double>());
        }
    }

    [Fact]
    public void RemainderHasTheDivisorsSign()
    {
        var x = Tensor.FromArray(new double[] { -1, 1, 5.5, -5.5, 6 });
        Assert.Equal(new double[] { 2, 1, 2.5, 0.5, 0 }, x.Remainder(3).ToArray<double>());
        Assert.Equal(new double[] { -1, -2, -0.5, -2.5, 0 }, x.Remainder(-3).ToArray<double>());
        Assert.True(double.IsNaN(x.Remainder(0).ToArray<double>()[0]));
    }

    [Fact]
    public void InfinityNormSharesTheGradientAmongTiedMaxima()
    {
        // PyTorch 1.13: vector_norm([1, -3, 3, 2], inf) = 3, gradient [0, -0.5, 0.5, 0].
        var x = Leaf([1, -3, 3, 2], 4);
        var n = x.Norm(double.PositiveInfinity);
        Assert.Equal(3.0, n.Item());
        n.Backward();
        Assert.Equal(new double[] { 0, -0.5, 0.5, 0 }, x.Grad!.ToArray<double>());

        var m = Leaf([1, -3, 3, 2, 0.5, 4, -1, 0], 2, 4);
        var nm = m.Norm(double.PositiveInfinity, 1);
        Assert.Equal(new double[] { 3, 4 }, nm.ToArray<double>());
        nm.Backward(Tensor.FromArray(new double[] { 1, 2 }));
        Assert.Equal(new double[] { 0, -0.5, 0.5, 0, 0, 2, 0, 0 }, m.Grad!.ToArray<double>());
    }

    [Fact]
    public void EuclideanNormOfZerosHasAZeroGradient()
    {
        var x = Leaf([0, 0, 0], 3);
        x.Norm().Backward();
        Assert.Equal(new double[] { 0, 0, 0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void VarianceOfOneValueWithCorrectionIsNaN()
    {
        Assert.True(double.IsNaN(Tensor.FromArray(new double[] { 5 }).Var().Item()));
        Assert.Equal(0.0, Tensor.FromArray(new double[] { 5 }).Var(correction: 0).Item());
        // Population and sample variance of 1..4: 1.25 and 5/3.
        var x = Tensor.FromArray(new double[] { 1, 2, 3, 4 });
        Assert.Equal(1.25, x.Var(correction: 0).Item(), 14);
        Assert.Equal(5.0 / 3, x.Var(0).Item(), 14);
    }

    [Fact]
    public void FusedFirstOrderBackwardsRefuseDoubleBackward()
    {
        var x = Leaf([1, 2, 4, 3, 0.5, -1], 2, 3);
        foreach (var (name, f) in new (string, Func<Tensor, Tensor>)[]
                 { ("LayerNormBackward", t => Functional.LayerNorm(t, [3])), ("ProdBackward", t => t.Prod(1)), ("CumProdBackward", t => t.CumProd(1)) })
        {
            var e = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad(f(x).Square().Sum(), [x], createGraph: true));
            Assert.Contains(name, e.Message);
        }
        // The composite ones differentiate twice: d²/dx² of Σ CumSum(x)² is finite and defined.
        var g = SharpGrad.Autograd.Grad(x.CumSum(1).Square().Sum(), [x], createGraph: true)[0];
        Assert.True(g.RequiresGrad);
    }

    [Fact]
    public void LayerNormRefusesShapesThatDoNotMatch()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ArgumentException>(() => Functional.LayerNorm(x, [4]));
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("weight", Assert.Throws<ArgumentException>(() => Functional.LayerNorm(x, [3], Tensor.Ones(4))).Message);
        Assert.Contains("GroupNorm", Assert.Throws<ArgumentOutOfRangeException>(() => Functional.GroupNorm(Tensor.Zeros(2, 3, 4), 2)).Message);
        Assert.Contains("Prelu", Assert.Throws<ArgumentException>(() => Functional.Prelu(Tensor.Zeros(2, 3, 4), Tensor.Ones(4))).Message);
    }

    [Fact]
    public void InstanceNormMovesTheRunningStatisticsTowardsTheBatchAverages()
    {
        // Two samples, one channel, three positions: planes [1, 2, 6] (mean 3, unbiased variance 7) and [0, 0, 3]
        // (mean 1, unbiased variance 3). Batch averages: mean 2, variance 5.
        var x = Tensor.FromArray(new double[] { 1, 2, 6, 0, 0, 3 }, 2, 1, 3);
        var rm = Tensor.FromArray(new double[] { 1.0 });
        var rv = Tensor.FromArray(new double[] { 2.0 });
        var y = Functional.InstanceNorm(x, rm, rv, momentum: 0.25);
        Assert.Equal(0.75 * 1 + 0.25 * 2, rm.Item(), 14);
        Assert.Equal(0.75 * 2 + 0.25 * 5, rv.Item(), 14);
        // Normalised with the population variance: plane 0 has variance 14/3.
        double s = Math.Sqrt(14.0 / 3 + 1e-5);
        TestUtil.AllClose([-2 / s, -1 / s, 3 / s], y.ToArray<double>()[..3], 1e-12, 1e-12);
    }

    [Fact]
    public void SoftplusKeepsItsOldValuesAndFollowsTheThreshold()
    {
        var x = Tensor.FromArray(new double[] { -30, -1, 0, 1, 19.5, 25 });
        var y = x.Softplus().ToArray<double>();
        // log(1 + e^−30) by its series, e^−30 − e^−60/2: 1 + e^−30 itself would round.
        double[] exact = [Math.Exp(-30) - Math.Exp(-60) / 2, Math.Log(1 + Math.Exp(-1)), Math.Log(2), Math.Log(1 + Math.E), 19.5 + Math.Log(1 + Math.Exp(-19.5)), 25];
        TestUtil.AllClose(exact, y, 1e-14, 0);
        // beta 2, threshold 3: 2x > 3 gives x itself.
        var z = Tensor.FromArray(new double[] { 1, 2 }).Softplus(2, 3).ToArray<double>();
        Assert.Equal(Math.Log(1 + Math.Exp(2)) / 2, z[0], 14);
        Assert.Equal(2.0, z[1]);
    }

    [Fact]
    public void Log1pAndExpm1KeepTinyValues()
    {
        var x = Tensor.FromArray(new double[] { 1e-20, -1e-18, 1e-10 }, 3);
        // log1p(x) = x − x²/2 + … and expm1(x) = x + x²/2 + … to full precision at these sizes.
        TestUtil.AllClose([1e-20, -1e-18, 1e-10 - 5e-21], x.Log1p().ToArray<double>(), 1e-15, 0);
        TestUtil.AllClose([1e-20, -1e-18, 1e-10 + 5e-21], x.Expm1().ToArray<double>(), 1e-15, 0);
        var f = Tensor.FromArray(new float[] { 1e-20f, 3e-8f }, 2);
        TestUtil.AllClose([1e-20, 3e-8], f.Log1p().ToArray<double>(), 1e-6, 0);
        TestUtil.AllClose([1e-20, 3e-8], f.Expm1().ToArray<double>(), 1e-6, 0);
    }
}
