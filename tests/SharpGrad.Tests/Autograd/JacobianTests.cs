namespace SharpGrad.Tests.Autograd;

public class JacobianTests
{
    [Fact]
    public void SoftmaxJacobianIsDiagSMinusSSt()
    {
        var z = Tensor.FromArray(new[] { 0.3, -1.2, 2.0, 0.5 });
        var j = Jacobian.Compute(t => t.Softmax(0), z);
        Assert.Equal([4, 4], j.Shape);
        // Independent closed form from the softmax values computed in plain C#.
        var e = new[] { 0.3, -1.2, 2.0, 0.5 }.Select(Math.Exp).ToArray();
        var s = e.Select(v => v / e.Sum()).ToArray();
        var expected = new double[16];
        for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++) expected[a * 4 + b] = (a == b ? s[a] : 0) - s[a] * s[b];
        TestUtil.AllClose(expected, j, 1e-12, 1e-14);
    }

    [Fact]
    public void SigmoidJacobianIsDiagonalSTimesOneMinusS()
    {
        var x = Tensor.FromArray(new[] { -3.0, 0.0, 1.5 });
        var j = Jacobian.Compute(t => t.Sigmoid(), x).ToArray<double>();
        double[] xs = [-3.0, 0.0, 1.5];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
            {
                double s = 1 / (1 + Math.Exp(-xs[a]));
                Assert.Equal(a == b ? s * (1 - s) : 0.0, j[a * 3 + b], 14);
            }
    }

    [Fact]
    public void JacobianShapeIsOutputShapeThenInputShape()
    {
        var w = Tensor.Randn([2, 3], new Generator(1), DType.Float64);
        var x = Tensor.Randn([3], new Generator(2), DType.Float64);
        var j = Jacobian.Compute(t => w.MatMul(t), x);
        Assert.Equal([2, 3], j.Shape);
        TestUtil.AllClose(w.ToArray<double>(), j); // d(Wx)/dx = W
    }

    [Fact]
    public void MultinomialLogisticLossHessianIsPsdAndMatchesTheClosedForm()
    {
        // Seed 003 Q1: for L(W) = -log softmax(W x)_y, the Hessian w.r.t. W is (diag(p) - p pᵀ) ⊗ x xᵀ, which is PSD.
        var g = new Generator(11);
        double[] x = [0.5, -1.0, 2.0];
        int label = 1;
        var w = Tensor.Randn([3, 3], g, DType.Float64);
        var xt = Tensor.FromArray(x, 3, 1);
        var h = Hessian.Compute(W => -W.MatMul(xt).Reshape(3).LogSoftmax(0).Narrow(0, label, 1).Sum(), w);
        Assert.Equal([3, 3, 3, 3], h.Shape);

        var wv = w.ToArray<double>();
        var logits = Enumerable.Range(0, 3).Select(k => wv[k * 3] * x[0] + wv[k * 3 + 1] * x[1] + wv[k * 3 + 2] * x[2]).ToArray();
        var ex = logits.Select(v => Math.Exp(v - logits.Max())).ToArray();
        var p = ex.Select(v => v / ex.Sum()).ToArray();
        var expected = new double[81];
        for (int a = 0; a < 3; a++) for (int i = 0; i < 3; i++) for (int b = 0; b < 3; b++) for (int j = 0; j < 3; j++)
            expected[((a * 3 + i) * 3 + b) * 3 + j] = ((a == b ? p[a] : 0) - p[a] * p[b]) * x[i] * x[j];
        TestUtil.AllClose(expected, h, 1e-10, 1e-12);

        // PSD: vᵀ H v ≥ 0 for many random v (up to rounding).
        var hv = h.ToArray<double>();
        for (int trial = 0; trial < 200; trial++)
        {
            var v = Enumerable.Range(0, 9).Select(_ => g.NextNormal()).ToArray();
            double q = 0;
            for (int r = 0; r < 9; r++) for (int c = 0; c < 9; c++) q += v[r] * hv[r * 9 + c] * v[c];
            Assert.True(q >= -1e-12, $"vᵀHv = {q}");
        }
    }

    [Fact]
    public void HessianOfAQuadraticIsItsMatrix()
    {
        // f(x) = xᵀ A x has Hessian A + Aᵀ.
        var a = Tensor.FromArray(new[] { 1.0, 2, 0, -1, 3, 1, 0.5, 0, 2 }, 3, 3);
        var h = Hessian.Compute(x => x.MatMul(a.MatMul(x)), Tensor.FromArray(new[] { 0.1, 0.2, 0.3 }));
        var av = a.ToArray<double>();
        var expected = new double[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) expected[i * 3 + j] = av[i * 3 + j] + av[j * 3 + i];
        TestUtil.AllClose(expected, h, 1e-12, 1e-12);
    }
}
