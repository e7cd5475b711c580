using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

public class LossTests
{
    // Seed 004 Q4: W x + b = (-2.85, 0.86, 0.28); with the correct class 2 (0-based; the sheet's y has its 1 in a 4th row).
    private static readonly double[] W = [0.01, -0.05, 0.1, 0.05, 0.7, 0.2, 0.05, 0.16, 0.0, -0.45, -0.2, 0.03];
    private static readonly double[] X = [-15, 22, -44, 56];
    private static readonly double[] B = [0.0, 0.2, -0.3];

    private static Tensor Scores() => Tensor.FromArray(W, 3, 4).MatMul(Tensor.FromArray(X)) + Tensor.FromArray(B);

    [Fact]
    public void Seed004Q4HingeAndCrossEntropyOfOneSample()
    {
        var s = Scores();
        TestUtil.AllClose([-2.85, 0.86, 0.28], s, 1e-12, 1e-12);
        var label = Tensor.FromArray(new long[] { 2 }).Reshape();
        // Independent: Σ_{j≠y} max(0, s_j − s_y + 1) and −log softmax(s)_y by hand.
        double hinge = Math.Max(0, -2.85 - 0.28 + 1) + Math.Max(0, 0.86 - 0.28 + 1);
        double ce = Math.Log(Math.Exp(-2.85) + Math.Exp(0.86) + Math.Exp(0.28)) - 0.28;
        Assert.Equal(hinge, F.MulticlassSvmLoss(s, label).Item(), 12);
        Assert.Equal(1.58, F.MulticlassSvmLoss(s, label).Item(), 12);
        Assert.Equal(ce, F.CrossEntropy(s, label).Item(), 12);
        Assert.Equal(1.040, F.CrossEntropy(s, label).Item(), 3);
        Assert.Equal(hinge / 3, F.MultiMarginLoss(s, label).Item(), 12); // PyTorch's variant divides by C
    }

    [Fact]
    public void Seed004Q4TheSheetsFourEntryLabelIsAClearError()
    {
        var s = Scores();
        var y = Tensor.FromArray(new double[] { 0, 0, 0, 1 });
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(s, y));
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[3]", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => F.CrossEntropy(s, Tensor.FromArray(new long[] { 3 }).Reshape()));
        Assert.Contains("class 3", e2.Message);
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros(2, 3), Tensor.FromArray(new long[] { 0, -1 })));
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros(2, 3), Tensor.FromArray(new long[] { 0, 1, 2 })));
        Assert.Throws<ArgumentException>(() => F.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
    }

    [Fact]
    public void Seed004Q2CrossEntropyGradientIsSoftmaxMinusOneHotTimesX()
    {
        var w = Tensor.FromArray(W, 3, 4);
        w.RequiresGrad = true;
        var loss = F.CrossEntropy(w.MatMul(Tensor.FromArray(X)) + Tensor.FromArray(B), Tensor.FromArray(new long[] { 2 }).Reshape());
        loss.Backward();
        double[] s = [-2.85, 0.86, 0.28];
        double z = s.Sum(Math.Exp);
        var expected = new double[12];
        for (int k = 0; k < 3; k++) for (int j = 0; j < 4; j++) expected[k * 4 + j] = (Math.Exp(s[k]) / z - (k == 2 ? 1 : 0)) * X[j];
        TestUtil.AllClose(expected, w.Grad!, 1e-10, 1e-12);
    }

    [Fact]
    public void Seed004Q3KlDivergenceBothDirectionsAndGradients()
    {
        double[] pc = [1, 6, 12, 5, 2, 8, 12, 4], qc = [1, 3, 6, 8, 15, 10, 5, 2];
        double[] p = pc.Select(v => v / pc.Sum()).ToArray(), q = qc.Select(v => v / qc.Sum()).ToArray();
        double klpq = p.Zip(q, (a, b) => a * Math.Log(a / b)).Sum(), klqp = q.Zip(p, (a, b) => a * Math.Log(a / b)).Sum();
        var P = Tensor.FromArray(pc);
        var Q = Tensor.FromArray(qc);
        Assert.Equal(klpq, SharpGrad.Theory.KlDivergence.FromCounts(P, Q).Item(), 12);
        Assert.Equal(klqp, SharpGrad.Theory.KlDivergence.FromCounts(Q, P).Item(), 12);
        Assert.Equal(0.352, klpq, 3);
        Assert.Equal(0.484, klqp, 3);
        // The sheet's gradients with respect to q (as a free vector): ∂KL(p‖q)/∂q_d = −p_d/q_d and ∂KL(q‖p)/∂q_d = log(q_d/p_d) + 1.
        var qt = TestUtil.Leaf(q, 8);
        F.KlDiv(qt.Log(), Tensor.FromArray(p), Reduction.Sum).Backward();
        TestUtil.AllClose(p.Zip(q, (a, b) => -a / b).ToArray(), qt.Grad!, 1e-12, 1e-12);
        var qt2 = TestUtil.Leaf(q, 8);
        F.KlDiv(Tensor.FromArray(p).Log(), qt2, Reduction.Sum).Backward();
        TestUtil.AllClose(q.Zip(p, (a, b) => Math.Log(a / b) + 1).ToArray(), qt2.Grad!, 1e-12, 1e-12);
    }

    [Fact]
    public void LossValuesAgainstClosedForms()
    {
        var x = Tensor.FromArray(new[] { 0.5, -1.0, 2.0, 3.0 });
        var y = Tensor.FromArray(new[] { 0.0, 1.0, 2.5, -1.0 });
        Assert.Equal((0.25 + 4 + 0.25 + 16) / 4, F.MseLoss(x, y).Item(), 12);
        Assert.Equal(0.25 + 4 + 0.25 + 16, F.MseLoss(x, y, Reduction.Sum).Item(), 12);
        Assert.Equal([4], F.MseLoss(x, y, Reduction.None).Shape);
        // Huber δ = 1: ½·0.25, 2 − ½, ½·0.25, 4 − ½.
        Assert.Equal((0.125 + 1.5 + 0.125 + 3.5) / 4, F.HuberLoss(x, y).Item(), 12);
        var z = Tensor.FromArray(new[] { 0.0, 30.0, -30.0 });
        var t = Tensor.FromArray(new[] { 1.0, 0.0, 1.0 });
        double[] expected = [Math.Log(2), 30 + Math.Log(1 + Math.Exp(-30)), 30 + Math.Log(1 + Math.Exp(-30))];
        TestUtil.AllClose(expected, F.BinaryCrossEntropyWithLogits(z, t, Reduction.None), 1e-12, 1e-12);
        var zl = TestUtil.Leaf([0.0], 1);
        F.BinaryCrossEntropyWithLogits(zl, Tensor.FromArray(new[] { 1.0 })).Backward();
        Assert.Equal(-0.5, zl.Grad!.Item(), 12); // σ(0) − 1, also at exactly 0
        var pr = Tensor.FromArray(new[] { 0.0, 1.0, 0.3 });
        var bce = F.BinaryCrossEntropy(pr, Tensor.FromArray(new[] { 1.0, 0.0, 1.0 }), Reduction.None);
        TestUtil.AllClose([100.0, 100.0, -Math.Log(0.3)], bce, 1e-12, 0); // log(0) clamped at -100, as PyTorch
    }

    [Fact]
    public void LabelSmoothingMatchesItsDefinition()
    {
        var logits = Tensor.FromArray(new[] { 1.0, 2.0, 0.5, -1.0, 0.0, 3.0 }, 2, 3);
        var labels = Tensor.FromArray(new long[] { 1, 2 });
        var logp = logits.LogSoftmax(1).ToArray<double>();
        double eps = 0.2, total = 0;
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
            {
                double q = (c == (n == 0 ? 1 : 2) ? 1 - eps : 0) + eps / 3;
                total -= q * logp[n * 3 + c];
            }
        Assert.Equal(total / 2, F.CrossEntropy(logits, labels, labelSmoothing: eps).Item(), 12);
        // Probability targets equal to the smoothed one-hot give the same value.
        var soft = Tensor.FromArray(new[] { eps / 3, 1 - eps + eps / 3, eps / 3, eps / 3, eps / 3, 1 - eps + eps / 3 }, 2, 3);
        Assert.Equal(total / 2, F.CrossEntropy(logits, soft).Item(), 12);
    }

    [Fact]
    public void FloatClassTargetsSayTheyMustBeInt64()
    {
        // A CSV's labels arrive as Float64: the error must say what to do, not only that the shapes differ.
        var scores = Tensor.Zeros(5, 3);
        var labels = Tensor.FromArray(new double[] { 0, 2, 1, 1, 0 });
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(scores, labels));
        Assert.Contains("class targets must be Int64", e.Message);
        Assert.Contains("To(DType.Int64)", e.Message);
        Assert.Contains("Float64", e.Message);
        var n = Assert.Throws<ArgumentException>(() => F.NllLoss(scores.LogSoftmax(1), labels));
        Assert.Contains("class targets must be Int64", n.Message);
        // Converted, they work and give the uniform loss log 3.
        Assert.Equal(Math.Log(3), F.CrossEntropy(scores, labels.To(DType.Int64)).Item(), 6);
    }

    [Fact]
    public void ClassWeightAndIgnoreIndexByHand()
    {
        // Two samples, three classes; sample 1 is ignored. Mean = w_y0 · (−logp[0, y0]) / w_y0 = −logp[0, y0].
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 0.5, 3.0, -1.0, 0.0 }, 2, 3);
        var y = Tensor.FromArray(new long[] { 1, -100 });
        var w = Tensor.FromArray(new[] { 1.0, 4.0, 2.0 });
        double lse0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(0.5));
        Assert.Equal(lse0 - 2, F.CrossEntropy(x, y, weight: w).Item(), 12);
        Assert.Equal(4 * (lse0 - 2), F.CrossEntropy(x, y, Reduction.Sum, weight: w).Item(), 12);
        var none = F.CrossEntropy(x, y, Reduction.None, weight: w).ToArray<double>();
        Assert.Equal(0.0, none[1]);
        // All ignored: the mean is 0/0 = NaN, as in PyTorch.
        Assert.True(double.IsNaN(F.CrossEntropy(x, Tensor.FromArray(new long[] { -100, -100 })).Item()));
        var bad = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, y, weight: Tensor.FromArray(new[] { 1.0, 2.0 })));
        Assert.Contains("[3]", bad.Message);
    }

    [Fact]
    public void CrossEntropyHasOneBackwardRuleThatDifferentiatesTwice()
    {
        // The Hessian of mean CE over one sample is (diag(p) − p pᵀ) / N, N = 1; from the one recorded rule.
        var x = Tensor.FromArray(new[] { 0.2, -0.5, 1.0 }, 1, 3);
        x.RequiresGrad = true;
        var loss = F.CrossEntropy(x, Tensor.FromArray(new long[] { 2 }));
        Assert.Equal("CrossEntropyBackward", loss.GradFn!.Name);
        var gx = SharpGrad.Autograd.Grad(loss, [x], createGraph: true)[0];
        var p = x.Detach().Softmax(1).ToArray<double>();
        for (int j = 0; j < 3; j++)
        {
            var row = SharpGrad.Autograd.Grad(gx.Narrow(1, j, 1).Sum(), [x], retainGraph: true)[0].ToArray<double>();
            for (int k = 0; k < 3; k++) Assert.Equal((j == k ? p[j] : 0) - p[j] * p[k], row[k], 12);
        }
    }
}
