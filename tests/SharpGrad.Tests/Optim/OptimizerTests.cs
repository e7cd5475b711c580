using SharpGrad.Optim;

namespace SharpGrad.Tests.Optim;

public class OptimizerTests
{
    private static Tensor Param(params double[] v) => TestUtil.Leaf(v, v.Length);

    [Fact]
    public void SgdStepIsThetaMinusLrTimesGradient()
    {
        // Seed 002 Q1 as an optimizer step: w = (1, 2.3, 5.7), L = (w1 + w2) w3, lr 0.01.
        var w = Param(1, 2.3, 5.7);
        var opt = new Sgd([w], lr: 0.01);
        ((w.Narrow(0, 0, 1) + w.Narrow(0, 1, 1)) * w.Narrow(0, 2, 1)).Sum().Backward();
        opt.Step();
        TestUtil.AllClose([1 - 0.057, 2.3 - 0.057, 5.7 - 0.033], w, 1e-14, 1e-14);
        Assert.Equal(1, opt.StepCount);
    }

    [Fact]
    public void SgdMomentumByHand()
    {
        var w = Param(1.0);
        var opt = new Sgd([w], lr: 0.1, momentum: 0.9);
        double theta = 1, buf = 0;
        for (int t = 0; t < 5; t++)
        {
            opt.ZeroGrad();
            (w * w).Sum().Backward(); // g = 2θ
            opt.Step();
            double g = 2 * theta;
            buf = t == 0 ? g : 0.9 * buf + g;
            theta -= 0.1 * buf;
        }
        Assert.Equal(theta, w.Item(), 14);
    }

    [Fact]
    public void AdamMatchesThePublishedAlgorithmWithBiasCorrection()
    {
        // Seed 002 Q4: Adam as in Kingma & Ba, Algorithm 1, written out here in doubles.
        var w = Param(0.5, -1.5);
        var opt = new Adam([w], lr: 0.05);
        double[] theta = [0.5, -1.5], m = new double[2], v = new double[2];
        for (int t = 1; t <= 20; t++)
        {
            opt.ZeroGrad();
            (w.Pow(4) - w * 3.0).Sum().Backward();
            opt.Step();
            for (int i = 0; i < 2; i++)
            {
                double g = 4 * Math.Pow(theta[i], 3) - 3;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mHat = m[i] / (1 - Math.Pow(0.9, t)), vHat = v[i] / (1 - Math.Pow(0.999, t));
                theta[i] -= 0.05 * mHat / (Math.Sqrt(vHat) + 1e-8);
            }
        }
        TestUtil.AllClose(theta, w, 1e-12, 1e-12);
    }

    [Fact]
    public void AdamFirstStepMovesEachCoordinateByTheLearningRate()
    {
        // With bias correction, m̂ = g and v̂ = g² after one step, so |Δθ| = lr·|g|/(|g| + ε) ≈ lr whatever the gradient's scale.
        var w = Param(1.0, 1.0);
        var opt = new Adam([w], lr: 0.01);
        (w * Tensor.FromArray(new[] { 1000.0, 0.001 })).Sum().Backward();
        opt.Step();
        TestUtil.AllClose([0.99, 1 - 0.01 * 0.001 / (0.001 + 1e-8)], w, 1e-12, 1e-14);
    }

    [Fact]
    public void HyperParametersAreValidatedWithTheValueNamed()
    {
        var w = Param(1.0);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], lr: -1));
        Assert.Contains("lr", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([w], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([w], eps: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([w], alpha: -0.1));
        Assert.Throws<ArgumentException>(() => new Sgd([w], momentum: 0, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd([Tensor.Zeros(2)]));
        Assert.Throws<ArgumentException>(() => new Sgd(Array.Empty<Tensor>()));
    }

    [Fact]
    public void StateDictRoundTripResumesExactly()
    {
        static Tensor Loss(Tensor w) => (w.Pow(4) - w * 3.0).Sum();
        var a = Param(0.3, 0.7);
        var optA = new Adam([a], lr: 0.05, amsgrad: true);
        for (int t = 0; t < 10; t++) { optA.ZeroGrad(); Loss(a).Backward(); optA.Step(); }
        var b = Param(a.ToArray<double>());
        var optB = new Adam([b], lr: 0.05, amsgrad: true);
        optB.LoadStateDict(optA.StateDict());
        Assert.Equal(10, optB.StepCount);
        for (int t = 0; t < 10; t++)
        {
            optA.ZeroGrad(); Loss(a).Backward(); optA.Step();
            optB.ZeroGrad(); Loss(b).Backward(); optB.Step();
        }
        Assert.Equal(a.ToArray<double>(), b.ToArray<double>());
        Assert.Contains("0.exp_avg", optA.StateDict().Keys);
        Assert.Contains("0.max_exp_avg_sq", optA.StateDict().Keys);
    }

    [Fact]
    public void SchedulersFollowTheirClosedForms()
    {
        var w = Param(1.0);
        var opt = new Sgd([w], lr: 0.1);
        var step = new StepLR(opt, stepSize: 3, gamma: 0.5);
        var rates = new List<double>();
        for (int e = 0; e < 7; e++) { rates.Add(opt.LearningRate); step.Step(); }
        TestUtil.AllClose([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rates.ToArray(), 1e-15, 0);
        var opt2 = new Sgd([w], lr: 1.0);
        var cos = new CosineAnnealingLR(opt2, tMax: 4, etaMin: 0.1);
        cos.Step(); cos.Step();
        Assert.Equal(0.1 + 0.9 * 0.5, opt2.LearningRate, 14);
        cos.Step(); cos.Step();
        Assert.Equal(0.1, opt2.LearningRate, 14);
    }

    [Fact]
    public void AdamWDecaysWeightsIndependentlyOfTheGradient()
    {
        var w = Param(2.0);
        var opt = new AdamW([w], lr: 0.1, weightDecay: 0.5);
        (w * 0.0).Sum().Backward(); // zero gradient: only the decoupled decay acts
        opt.Step();
        Assert.Equal(2.0 * (1 - 0.1 * 0.5), w.Item(), 12);
    }
}
