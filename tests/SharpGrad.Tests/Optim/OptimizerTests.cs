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

    [Fact]
    public void ParamGroupsHaveTheirOwnLearningRateAndWeightDecay()
    {
        // Two groups on L = Σw: g = 1; group 0 lr 0.1 with L2 decay 0.5, group 1 lr 0.01 without decay.
        var a = Param(2.0);
        var b = Param(2.0);
        var opt = new Sgd([new ParamGroup([a]) { WeightDecay = 0.5 }, new ParamGroup([b]) { Lr = 0.01 }], lr: 0.1);
        (a + b).Sum().Backward();
        opt.Step();
        Assert.Equal(2 - 0.1 * (1 + 0.5 * 2), a.Item(), 14);
        Assert.Equal(2 - 0.01 * 1, b.Item(), 14);
        Assert.Equal(0.5, opt.ParamGroups[0].WeightDecay);
        Assert.Equal(0.0, opt.ParamGroups[1].WeightDecay);
        Assert.Equal(0.1, opt.ParamGroups[0].Lr);
        // A setting changed between steps is used by the next one, as in PyTorch.
        opt.ParamGroups[1].Lr = 1.0;
        opt.ZeroGrad();
        (a + b).Sum().Backward();
        opt.Step();
        Assert.Equal(2 - 0.01 - 1.0, b.Item(), 14);
    }

    [Fact]
    public void ParamGroupErrorsNameTheGroupAndSetting()
    {
        var a = Param(1.0);
        var b = Param(1.0);
        var e = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([a]), new ParamGroup([b]) { Beta1 = 0.5 }]));
        Assert.Contains("group 1 sets beta1, which Sgd does not use", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([new ParamGroup([a]), new ParamGroup([b]) { Beta2 = 1.5 }]));
        Assert.Contains("beta2 of parameter group 1", r.Message);
        var d = Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup([a]), new ParamGroup([a, b])]));
        Assert.Contains("more than once", d.Message);
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([a]) { Nesterov = true }], momentum: 0));
    }

    [Fact]
    public void GroupSettingsAreInTheStateDictAndRestored()
    {
        static void Train(Optimizer o, Tensor x, Tensor y)
        {
            o.ZeroGrad();
            (x.Pow(4) + y.Pow(2) * 3.0).Sum().Backward();
            o.Step();
        }
        var (x1, y1) = (Param(0.3, -0.2), Param(0.7));
        var opt1 = new AdamW([new ParamGroup([x1]) { WeightDecay = 0 }, new ParamGroup([y1]) { Lr = 0.02, Beta1 = 0.8 }], lr: 0.05);
        for (int t = 0; t < 5; t++) Train(opt1, x1, y1);
        opt1.ParamGroups[0].Lr = 0.01; // as a schedule would
        var state = opt1.StateDict();
        Assert.Equal(0.8, state["param_groups.1.beta1"].Item());
        Assert.Equal(0.0, state["param_groups.0.weight_decay"].Item());
        Assert.Equal(new long[] { 1 }, state["param_groups.1.params"].ToArray<long>());

        var (x2, y2) = (Param(x1.ToArray<double>()), Param(y1.ToArray<double>()));
        var opt2 = new AdamW([new ParamGroup([x2]), new ParamGroup([y2])], lr: 0.05); // defaults everywhere until loaded
        opt2.LoadStateDict(state);
        Assert.Equal(0.01, opt2.ParamGroups[0].Lr);
        Assert.Equal(0.8, opt2.ParamGroups[1].Beta1);
        Assert.Equal(0.0, opt2.ParamGroups[0].WeightDecay);
        for (int t = 0; t < 5; t++) { Train(opt1, x1, y1); Train(opt2, x2, y2); }
        Assert.Equal(x1.ToArray<double>(), x2.ToArray<double>());
        Assert.Equal(y1.ToArray<double>(), y2.ToArray<double>());

        // Other groupings do not fit, and say why.
        var opt3 = new AdamW([new ParamGroup([Param(1, 2)]), new ParamGroup([Param(3.0)])]);
        Assert.Null(opt3.CheckStateDict(state));
        var one = new AdamW([Param(1, 2), Param(3.0)]);
        Assert.Contains("param_groups", one.CheckStateDict(state));
        var sgd = new Sgd([new ParamGroup([Param(1, 2)]), new ParamGroup([Param(3.0)])]);
        Assert.Contains("beta1", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(state)).Message);
        state["param_groups.1.beta1"] = Tensor.Scalar(1.5, DType.Float64);
        Assert.Contains("beta1", opt3.CheckStateDict(state));
    }

    [Fact]
    public void AStateWithoutGroupsStillLoads()
    {
        // Optimizer states written before groups existed hold step, lr and the per-parameter buffers only.
        var w = Param(1.0, 2.0);
        var opt = new Sgd([new ParamGroup([w]) { Momentum = 0.9 }], lr: 0.1);
        var old = new OrderedDictionary<string, Tensor>
        {
            ["step"] = Tensor.FromArray(new long[] { 3 }).Reshape(),
            ["lr"] = Tensor.Scalar(0.05, DType.Float64),
            ["0.momentum_buffer"] = Tensor.FromArray(new[] { 0.5, -0.5 }),
        };
        opt.LoadStateDict(old);
        Assert.Equal(3, opt.StepCount);
        Assert.Equal(0.05, opt.LearningRate);
        (w * Tensor.FromArray(new[] { 1.0, 1.0 })).Sum().Backward();
        opt.Step();
        // b = 0.9 b + g; θ -= lr b
        TestUtil.AllClose([1 - 0.05 * (0.45 + 1), 2 - 0.05 * (-0.45 + 1)], w, 1e-14, 1e-14);
    }

    private sealed class CountingSgd(IEnumerable<Tensor> p) : Optimizer(p, 0.1)
    {
        public int Steps;
        public override void Step() { Steps++; base.Step(); }
        protected override void Update<T>(int index, Span<T> parameter, ReadOnlySpan<T> gradient)
        {
            T lr = T.CreateTruncating(GroupOf(index).Lr!.Value);
            for (int i = 0; i < parameter.Length; i++) parameter[i] -= lr * gradient[i];
        }
    }

    [Fact]
    public void StepIsVirtual()
    {
        var w = Param(1.0);
        var opt = new CountingSgd([w]);
        Optimizer asBase = opt;
        (w * 3.0).Sum().Backward();
        asBase.Step();
        Assert.Equal(1, opt.Steps);
        Assert.Equal(1 - 0.3, w.Item(), 14);
    }

    [Fact]
    public void PlateauReducesAfterPatienceAndKeepsItsState()
    {
        var w = Param(1.0);
        var opt = new Sgd([w], lr: 1.0);
        var s = new ReduceLROnPlateau(opt, patience: 1, factor: 0.5);
        Assert.Throws<InvalidOperationException>(() => s.Step());
        s.Step(1.0); s.Step(1.0);   // one bad epoch: within patience
        Assert.Equal(1.0, opt.LearningRate);
        s.Step(1.0);               // two: reduce
        Assert.Equal(0.5, opt.LearningRate);
        var state = s.StateDict();
        var s2 = new ReduceLROnPlateau(new Sgd([Param(1.0)], lr: 1.0), patience: 1, factor: 0.5);
        s2.LoadStateDict(state);
        Assert.Equal((1.0, 0, 3), (s2.Best, s2.BadEpochs, s2.Epoch));
    }

    [Fact]
    public void SchedulesSetEachGroupFromItsOwnBase()
    {
        var opt = new Sgd([new ParamGroup([Param(1.0)]), new ParamGroup([Param(1.0)]) { Lr = 0.01 }], lr: 0.1);
        var warm = new LinearLR(opt, startFactor: 0.5, totalIters: 2);
        Assert.Equal(0.05, opt.ParamGroups[0].Lr!.Value, 15);
        Assert.Equal(0.005, opt.ParamGroups[1].Lr!.Value, 15);
        warm.Step(); warm.Step();
        Assert.Equal(0.1, opt.ParamGroups[0].Lr!.Value, 15);
        Assert.Equal(0.01, opt.ParamGroups[1].Lr!.Value, 15);
    }
}
