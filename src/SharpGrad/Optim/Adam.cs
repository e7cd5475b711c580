using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpGrad.Kernels;

namespace SharpGrad.Optim;

/// <summary>
/// Adam (Kingma and Ba, 2015) exactly as published, with bias correction, as <c>torch.optim.Adam</c> computes it:
/// g ← g + λθ; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; m̂ = m / (1 − β₁ᵗ); v̂ = v / (1 − β₂ᵗ);
/// θ ← θ − η m̂ / (√v̂ + ε). With amsgrad, v̂ uses the running maximum of v.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates the optimizer over one group; invalid hyper-parameters throw, naming the value.</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>
    /// Creates the optimizer over parameter groups; the arguments are the defaults for settings a group leaves unset.
    /// Invalid hyper-parameters throw, naming the value and the group.
    /// </summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false) : base(groups, lr)
    {
        CheckBeta(beta1, nameof(beta1));
        CheckBeta(beta2, nameof(beta2));
        CheckNonNegative(eps, nameof(eps));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        (Beta1, Beta2, Eps, WeightDecay, AmsGrad) = (beta1, beta2, eps, weightDecay, amsgrad);
        ConfigureGroups(GetType().Name, ["weight_decay", "beta1", "beta2", "eps", "amsgrad"], g =>
        {
            g.Beta1 ??= beta1;
            g.Beta2 ??= beta2;
            g.Eps ??= eps;
            g.WeightDecay ??= weightDecay;
            g.AmsGrad ??= amsgrad;
        });
    }

    /// <summary>β₁, the decay of the first moment, for groups that set none.</summary>
    public double Beta1 { get; }
    /// <summary>β₂, the decay of the second moment, for groups that set none.</summary>
    public double Beta2 { get; }
    /// <summary>ε, added to the denominator, for groups that set none.</summary>
    public double Eps { get; }
    /// <summary>λ: an L2 penalty for Adam, decoupled decay for AdamW; for groups that set none.</summary>
    public double WeightDecay { get; }
    /// <summary>Whether the AMSGrad variant is used, for groups that set nothing.</summary>
    public bool AmsGrad { get; }

    /// <summary>Whether weight decay is decoupled from the gradient (AdamW) rather than added to it (Adam).</summary>
    protected virtual bool DecoupledWeightDecay => false;

    /// <inheritdoc/>
    protected override void CheckGroup(ParamGroup group, int index)
    {
        base.CheckGroup(group, index);
        CheckBeta(group.Beta1 ?? 0, index, "beta1");
        CheckBeta(group.Beta2 ?? 0, index, "beta2");
        CheckNonNegative(group.Eps ?? 0, index, "eps");
        CheckNonNegative(group.WeightDecay ?? 0, index, "weightDecay");
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update<T>(int index, Span<T> p, ReadOnlySpan<T> g)
    {
        var c = Constants<T>(index, out bool coupled, out bool decoupled, out bool ams);
        Span<T> m = State<T>(index, "exp_avg"), v = State<T>(index, "exp_avg_sq");
        Span<T> vMax = ams ? State<T>(index, "max_exp_avg_sq") : default;
        OptimizerKernels.Adam(p, g, m, v, vMax, c, coupled, decoupled, FlushSubnormalState);
    }

    internal override bool HasOuterUpdate(int index) => true;

    /// <inheritdoc/>
    private protected override unsafe bool UpdateMean<T>(int index, Span<T> p, T* x0, T* x1, Span<T> mean)
    {
        var c = Constants<T>(index, out bool coupled, out bool decoupled, out bool ams);
        Span<T> m = State<T>(index, "exp_avg"), v = State<T>(index, "exp_avg_sq");
        Span<T> vMax = ams ? State<T>(index, "max_exp_avg_sq") : default;
        if (mean.Length < p.Length) throw new ArgumentException("Adam: the mean is shorter than the parameter.");
        OptimizerKernels.Adam(p, ref MemoryMarshal.GetReference(mean), new MeanOfTwo<T>(x0, x1, T.One / (T.One + T.One)), m, v, vMax, c, coupled, decoupled, FlushSubnormalState);
        return true;
    }

    /// <inheritdoc/>
    private protected override bool UpdateOuter<T>(int index, Span<T> p, Span<T> g, int columns, ReadOnlySpan<T> a, T[] x, bool storeGradient)
    {
        var c = Constants<T>(index, out bool coupled, out bool decoupled, out bool ams);
        Span<T> m = State<T>(index, "exp_avg"), v = State<T>(index, "exp_avg_sq");
        Span<T> vMax = ams ? State<T>(index, "max_exp_avg_sq") : default;
        for (int r = 0, o = 0; r < a.Length; r++, o += columns)
            OptimizerKernels.Adam(p.Slice(o, columns), ref g[o], new OuterProductRow<T>(a[r], x, storeGradient), m.Slice(o, columns), v.Slice(o, columns),
                ams ? vMax.Slice(o, columns) : default, c, coupled, decoupled, FlushSubnormalState);
        return true;
    }

    /// <summary>The constants of this step's update of parameter <paramref name="index"/>, and its kind of weight decay and amsgrad.</summary>
    private OptimizerKernels.AdamConstants<T> Constants<T>(int index, out bool coupledDecay, out bool decoupledDecay, out bool ams)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var group = GroupOf(index);
        double beta1 = group.Beta1!.Value, beta2 = group.Beta2!.Value, weightDecay = group.WeightDecay!.Value, lr = group.Lr!.Value;
        long t = StepCount;
        T b1 = T.CreateTruncating(beta1), b2 = T.CreateTruncating(beta2), eps = T.CreateTruncating(group.Eps!.Value);
        T oneMinusB1 = T.CreateTruncating(1 - beta1), oneMinusB2 = T.CreateTruncating(1 - beta2), wd = T.CreateTruncating(weightDecay);
        // Bias corrections in double, as PyTorch computes them on Python floats.
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        T stepSize = T.CreateTruncating(lr / bc1), bc2Sqrt = T.CreateTruncating(Math.Sqrt(bc2));
        T decay = T.One - T.CreateTruncating(lr * weightDecay);
        bool hasDecay = weightDecay != 0;
        (coupledDecay, decoupledDecay, ams) = (hasDecay && !DecoupledWeightDecay, hasDecay && DecoupledWeightDecay, group.AmsGrad!.Value);
        return new OptimizerKernels.AdamConstants<T>(b1, b2, oneMinusB1, oneMinusB2, eps, wd, decay, stepSize, bc2Sqrt);
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay θ ← θ(1 − ηλ) before the Adam step, as
/// <c>torch.optim.AdamW</c> (default λ = 0.01).
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer over one group; invalid hyper-parameters throw, naming the value.</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0.01, bool amsgrad = false) : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>Creates the optimizer over parameter groups; the arguments are the defaults for settings a group leaves unset.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0.01, bool amsgrad = false) : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <inheritdoc/>
    protected override bool DecoupledWeightDecay => true;
}
