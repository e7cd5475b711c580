using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The backward rules of Linear, MSE, ReLU and cross-entropy (each op has one) against central finite differences in
/// float64 and closed forms, their forwards against the formulas evaluated here element by element, and their second
/// derivatives (Hessians through createGraph) against finite differences of the gradient.
/// </summary>
public class FusedPathTests
{
    private static void AssertClose(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.ShapeRef, actual.ShapeRef);
        TestUtil.AllClose(expected.To(DType.Float64).ToArray<double>(), actual.To(DType.Float64).ToArray<double>(), tol, tol, what);
    }

    private static Tensor Leaf(int[] shape, Generator g, DType dtype = DType.Float64)
    {
        var t = Tensor.Randn(shape, g, dtype);
        t.RequiresGrad = true;
        return t;
    }

    public static TheoryData<int[], int, bool> LinearShapes() => new()
    {
        { new[] { 5 }, 3, true },          // unbatched
        { new[] { 1, 7 }, 4, true },       // one row: the matrix-vector path
        { new[] { 3, 6 }, 5, false },      // a few rows, no bias
        { new[] { 4, 9 }, 2, true },       // the largest small-row case
        { new[] { 5, 8 }, 6, true },       // the GEMM path
        { new[] { 70, 33 }, 17, true },    // GEMM with edge tiles
        { new[] { 2, 3, 4 }, 3, true },    // leading batch dimensions
    };

    [Theory]
    [MemberData(nameof(LinearShapes))]
    public void LinearMatchesTheSumAndItsBackwardMatchesFiniteDifferences(int[] inShape, int outF, bool withBias)
    {
        var g = new Generator(41);
        int inF = inShape[^1];
        var x = Leaf(inShape, g);
        var w = Leaf([outF, inF], g);
        var b = withBias ? Leaf([outF], g) : null;
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        Func<Tensor[], Tensor> f = t => F.Linear(t[0], t[1], t.Length > 2 ? t[2] : null);

        // Forward against the sum written out.
        var y = f(inputs);
        Assert.Equal((int[])[.. inShape[..^1], outF], y.ShapeRef);
        double[] xs = x.ToArray<double>(), ws = w.ToArray<double>(), ys = y.ToArray<double>();
        int rows = xs.Length / inF;
        var expected = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b is null ? 0 : b.ToArray<double>()[o];
                for (int i = 0; i < inF; i++) s += xs[r * inF + i] * ws[o * inF + i];
                expected[r * outF + o] = s;
            }
        TestUtil.AllClose(expected, ys, 1e-12, 1e-12, "forward");

        var check = GradCheck.Check(f, inputs);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void LinearComputesOnlyTheGradientsThatAreNeeded()
    {
        var g = new Generator(42);
        var x = Tensor.Randn([3, 4], g, DType.Float64); // data: no gradient
        var w = Leaf([2, 4], g);
        var b = Leaf([2], g);
        F.Linear(x, w, b).Sum().Backward();
        Assert.Null(x.Grad);
        // d/dW Σ (x Wᵀ + b) = 1ᵀ x for every output row; d/db = the number of rows.
        var colSums = x.Sum(0).ToArray<double>();
        TestUtil.AllClose([.. colSums, .. colSums], w.Grad!, 1e-12, 1e-12);
        TestUtil.AllClose([3.0, 3.0], b.Grad!, 1e-12, 1e-12);
    }

    [Fact]
    public void LinearFloat32SmallAndLargeBatchesAgreeWithFloat64()
    {
        var g = new Generator(43);
        foreach (int rows in new[] { 1, 2, 4, 5, 64 })
        {
            var x64 = Tensor.Randn([rows, 50], g, DType.Float64);
            var w64 = Tensor.Randn([20, 50], g, DType.Float64);
            var b64 = Tensor.Randn([20], g, DType.Float64);
            var gy = Tensor.Randn([rows, 20], g, DType.Float64);
            Tensor[] Run(DType dt)
            {
                var x = x64.To(dt); x.RequiresGrad = true;
                var w = w64.To(dt); w.RequiresGrad = true;
                var b = b64.To(dt); b.RequiresGrad = true;
                var y = F.Linear(x, w, b);
                y.Backward(gy.To(dt));
                return [y, x.Grad!, w.Grad!, b.Grad!];
            }
            var r32 = Run(DType.Float32);
            var r64 = Run(DType.Float64);
            for (int i = 0; i < 4; i++) AssertClose(r64[i], r32[i], 1e-4, $"rows {rows}, result {i}");
        }
    }

    [Fact]
    public void LinearHessianMatchesFiniteDifferencesOfTheGradient()
    {
        var g = new Generator(44);
        var w = Tensor.Randn([3, 4], g, DType.Float64);
        var x = Tensor.Randn([2, 4], g, DType.Float64);
        // Σ Linear(x)²: its Hessian (2 WᵀW for every row) is not zero, so Linear's rule is differentiated twice.
        Func<Tensor, Tensor> f = z => { var h = F.Linear(z, w); return (h * h).Sum(); };
        var hessian = Hessian.Compute(f, x).ToArray<double>();
        var numeric = NumericHessian(f, x);
        TestUtil.AllClose(numeric, hessian, 1e-6, 1e-6);
    }

    [Theory]
    [InlineData(Reduction.Mean, true)]
    [InlineData(Reduction.Mean, false)]
    [InlineData(Reduction.Sum, true)]
    [InlineData(Reduction.Sum, false)]
    public void MseLossMatchesTheSumAndItsBackwardMatchesFiniteDifferences(Reduction reduction, bool targetNeedsGrad)
    {
        var g = new Generator(46);
        var x = Leaf([4, 3], g);
        var t = targetNeedsGrad ? Leaf([4, 3], g) : Tensor.Randn([4, 3], g, DType.Float64);
        Func<Tensor[], Tensor> f = v => F.MseLoss(v[0], v.Length > 1 ? v[1] : t, reduction);
        Tensor[] inputs = targetNeedsGrad ? [x, t] : [x];

        // Forward against the sum written out.
        double[] xs = x.ToArray<double>(), ts = t.ToArray<double>();
        double expected = 0;
        for (int i = 0; i < xs.Length; i++) expected += (xs[i] - ts[i]) * (xs[i] - ts[i]);
        if (reduction == Reduction.Mean) expected /= xs.Length;
        Assert.Equal(expected, f(inputs).Item(), 12);

        var check = GradCheck.Check(f, inputs);
        Assert.True(check.Passed, check.ToString());
        if (!targetNeedsGrad)
        {
            F.MseLoss(x, t, reduction).Backward();
            Assert.Null(t.Grad);
        }
    }

    [Fact]
    public void MseLossFloat32AgreesWithFloat64AndItsHessianIsTwoOverN()
    {
        var g = new Generator(47);
        var x64 = Tensor.Randn([5, 2], g, DType.Float64);
        var t64 = Tensor.Randn([5, 2], g, DType.Float64);
        var x32 = x64.To(DType.Float32); x32.RequiresGrad = true;
        var l32 = F.MseLoss(x32, t64.To(DType.Float32));
        l32.Backward();
        var x = x64.Detach(); x.RequiresGrad = true;
        var l64 = F.MseLoss(x, t64);
        l64.Backward();
        Assert.Equal(l64.Item(), l32.Item(), 5);
        AssertClose(x.Grad!, x32.Grad!, 1e-5, "gradient");
        // d²/dx² of mean (x − t)² is (2/n)·I.
        var hessian = Hessian.Compute(z => F.MseLoss(z, t64), x64).ToArray<double>();
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                Assert.Equal(i == j ? 0.2 : 0.0, hessian[i * 10 + j], 12);
    }

    [Fact]
    public void ReluOnATensorLargeEnoughToSplitOverTheCoresMatchesTheDefinition()
    {
        // 300,001 elements: 19 blocks of 16,384 (the last one short), split over the cores; zeros, negatives and a NaN.
        var g = new Generator(48);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var values = Tensor.Randn([300_001], g, DType.Float64).ToArray<double>();
            values[0] = 0; values[1] = -0.0; values[16_384] = double.NaN; values[300_000] = -1;
            var x = Tensor.FromArray(values, values.Length).To(dtype);
            x.RequiresGrad = true;
            var gy = Tensor.Randn([values.Length], g, DType.Float64);
            var y = x.Relu();
            y.Backward(gy.To(dtype));
            double[] ys = y.To(DType.Float64).ToArray<double>(), dx = x.Grad!.To(DType.Float64).ToArray<double>(), gs = gy.To(dtype).To(DType.Float64).ToArray<double>();
            double[] xs = x.To(DType.Float64).ToArray<double>();
            for (int i = 0; i < values.Length; i++)
            {
                double expectedY = double.IsNaN(xs[i]) ? double.NaN : Math.Max(xs[i], 0);
                if (!(ys[i].Equals(expectedY))) Assert.Fail($"{dtype} forward at {i}: {ys[i]} for x = {xs[i]}");
                double expectedDx = xs[i] > 0 ? gs[i] : 0;
                if (!(dx[i].Equals(expectedDx))) Assert.Fail($"{dtype} backward at {i}: {dx[i]} for x = {xs[i]}, g = {gs[i]}");
            }
        }
    }

    [Fact]
    public void ReluBackwardIsTheUpstreamGradientWherePositiveAndItsProductWithZeroElsewhere()
    {
        var g = new Generator(45);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var values = Tensor.Randn([37], g, DType.Float64).ToArray<double>();
            values[3] = 0; values[10] = -0.0; values[20] = double.PositiveInfinity; values[21] = double.NegativeInfinity;
            var x = Tensor.FromArray(values).To(dtype);
            x.RequiresGrad = true;
            var gv = Tensor.Randn([37], g, DType.Float64).ToArray<double>();
            gv[5] = double.PositiveInfinity; gv[6] = double.NaN; // where x < 0: ∞·0 and NaN·0 are NaN, as in PyTorch
            var gt = Tensor.FromArray(gv).To(dtype);
            var dx = SharpGrad.Autograd.Grad(x.Relu(), [x], gt)[0];
            // g where x > 0, g·0 elsewhere (g as rounded to the dtype; the product is exact).
            double[] gs = gt.To(DType.Float64).ToArray<double>(), xv = x.To(DType.Float64).ToArray<double>();
            var expected = new double[37];
            for (int i = 0; i < 37; i++) expected[i] = gs[i] * (xv[i] > 0 ? 1 : 0);
            Assert.Equal(expected, dx.To(DType.Float64).ToArray<double>());
        }
        var xs = Leaf([4, 5], g);
        var check = GradCheck.Check(t => t[0].Relu(), xs);
        Assert.True(check.Passed, check.ToString());
    }

    public static TheoryData<Reduction, double, bool> CrossEntropyCases()
    {
        var d = new TheoryData<Reduction, double, bool>();
        foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
            foreach (double s in new[] { 0.0, 0.1 })
                foreach (bool unbatched in new[] { false, true })
                    d.Add(r, s, unbatched);
        return d;
    }

    [Theory]
    [MemberData(nameof(CrossEntropyCases))]
    public void CrossEntropyMatchesTheFormulaAndItsBackwardMatchesFiniteDifferences(Reduction reduction, double smoothing, bool unbatched)
    {
        var g = new Generator(46);
        int n = unbatched ? 1 : 6, c = 5;
        var x = unbatched ? Leaf([c], g) : Leaf([n, c], g);
        long[] labels = unbatched ? [3] : [0, 4, 2, 2, 1, 3];
        var target = unbatched ? Tensor.FromArray(labels).Reshape() : Tensor.FromArray(labels);
        Func<Tensor[], Tensor> f = t => F.CrossEntropy(t[0], target, reduction, smoothing);

        // Forward: −Σ_c q_c log softmax(x)_c with the log-sum-exp written out.
        var xs = x.ToArray<double>();
        var perSample = new double[n];
        for (int r = 0; r < n; r++)
        {
            double m = double.NegativeInfinity;
            for (int k = 0; k < c; k++) m = Math.Max(m, xs[r * c + k]);
            double s = 0;
            for (int k = 0; k < c; k++) s += Math.Exp(xs[r * c + k] - m);
            double lse = m + Math.Log(s);
            for (int k = 0; k < c; k++)
            {
                double q = (k == labels[r] ? 1 - smoothing : 0) + smoothing / c;
                perSample[r] -= q * (xs[r * c + k] - lse);
            }
        }
        var y = f([x]);
        double[] expected = reduction switch
        {
            Reduction.Mean => [perSample.Average()],
            Reduction.Sum => [perSample.Sum()],
            _ => perSample,
        };
        int[] expectedShape = reduction == Reduction.None && !unbatched ? [n] : [];
        Assert.Equal(expectedShape, y.ShapeRef);
        TestUtil.AllClose(expected, y, 1e-12, 1e-12, "forward");

        var check = GradCheck.Check(f, x);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void CrossEntropyFloat32FusedPathAgreesWithFloat64AndStaysFiniteForLargeLogits()
    {
        var g = new Generator(47);
        var x64 = Tensor.Randn([8, 10], g, DType.Float64) * 30.0 + 1e4; // large: without the max shift exp overflows
        var target = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5, 6, 9 });
        Tensor[] Run(DType dt)
        {
            var x = x64.To(dt); x.RequiresGrad = true;
            var loss = F.CrossEntropy(x, target, labelSmoothing: 0.05);
            loss.Backward();
            return [loss, x.Grad!];
        }
        var r32 = Run(DType.Float32);
        var r64 = Run(DType.Float64);
        Assert.True(double.IsFinite(r32[0].Item()));
        AssertClose(r64[0], r32[0], 1e-3, "loss"); // logits near 1e4 carry float32 rounding of ~1e-3 absolute
        AssertClose(r64[1], r32[1], 1e-3, "gradient");
    }

    [Fact]
    public void CrossEntropyHessianMatchesFiniteDifferencesOfTheGradient()
    {
        var g = new Generator(48);
        var x = Tensor.Randn([3, 4], g, DType.Float64);
        var target = Tensor.FromArray(new long[] { 1, 0, 3 });
        Func<Tensor, Tensor> f = z => F.CrossEntropy(z, target, labelSmoothing: 0.2);
        var hessian = Hessian.Compute(f, x).ToArray<double>();
        TestUtil.AllClose(NumericHessian(f, x), hessian, 1e-6, 1e-6);
    }

    [Fact]
    public void CrossEntropyOfAnEmptyBatchIsNaNForTheMeanAndZeroForTheSum()
    {
        var x = Tensor.Zeros([0, 3], DType.Float64);
        var target = Tensor.FromArray(Array.Empty<long>());
        Assert.True(double.IsNaN(F.CrossEntropy(x, target).Item()));
        Assert.Equal(0.0, F.CrossEntropy(x, target, Reduction.Sum).Item());
    }

    /// <summary>Central differences of the first-order gradient: H[i, j] ≈ (∇f(x + h e_j) − ∇f(x − h e_j))_i / 2h.</summary>
    private static double[] NumericHessian(Func<Tensor, Tensor> f, Tensor x)
    {
        int n = x.Numel;
        double h = 1e-5;
        var result = new double[n * n];
        var data = x.ToArray<double>();
        double[] Gradient(double[] at)
        {
            var z = Tensor.FromArray(at, x.ShapeRef);
            z.RequiresGrad = true;
            return SharpGrad.Autograd.Grad(f(z), [z])[0].ToArray<double>();
        }
        for (int j = 0; j < n; j++)
        {
            var plus = (double[])data.Clone(); plus[j] += h;
            var minus = (double[])data.Clone(); minus[j] -= h;
            double[] gp = Gradient(plus), gm = Gradient(minus);
            for (int i = 0; i < n; i++) result[i * n + j] = (gp[i] - gm[i]) / (2 * h);
        }
        return result;
    }
}
