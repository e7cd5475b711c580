using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.Optim;

/// <summary>
/// RMSprop as <c>torch.optim.RMSprop</c> computes it: g ← g + λθ; s ← αs + (1 − α)g²; with centered, a ← αa + (1 − α)g
/// and the denominator √(s − a²) + ε, else √s + ε; with momentum, b ← μb + g/denom and θ ← θ − ηb, else θ ← θ − η g/denom.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer over one group; invalid hyper-parameters throw, naming the value.</summary>
    public RmsProp(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, alpha, eps, weightDecay, momentum, centered) { }

    /// <summary>
    /// Creates the optimizer over parameter groups; the arguments are the defaults for settings a group leaves unset.
    /// Invalid hyper-parameters throw, naming the value and the group.
    /// </summary>
    public RmsProp(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false) : base(groups, lr)
    {
        CheckBeta(alpha, nameof(alpha));
        CheckNonNegative(eps, nameof(eps));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        CheckNonNegative(momentum, nameof(momentum));
        (Alpha, Eps, WeightDecay, Momentum, Centered) = (alpha, eps, weightDecay, momentum, centered);
        ConfigureGroups(nameof(RmsProp), ["weight_decay", "momentum", "eps", "alpha", "centered"], g =>
        {
            g.Alpha ??= alpha;
            g.Eps ??= eps;
            g.WeightDecay ??= weightDecay;
            g.Momentum ??= momentum;
            g.Centered ??= centered;
        });
    }

    /// <summary>α, the decay of the squared-gradient average, for groups that set none.</summary>
    public double Alpha { get; }
    /// <summary>ε, for groups that set none.</summary>
    public double Eps { get; }
    /// <summary>λ, for groups that set none.</summary>
    public double WeightDecay { get; }
    /// <summary>μ, for groups that set none.</summary>
    public double Momentum { get; }
    /// <summary>Whether the gradient's variance (rather than its second moment) normalises the step, for groups that set nothing.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected override void CheckGroup(ParamGroup group, int index)
    {
        base.CheckGroup(group, index);
        CheckBeta(group.Alpha ?? 0, index, "alpha");
        CheckNonNegative(group.Eps ?? 0, index, "eps");
        CheckNonNegative(group.WeightDecay ?? 0, index, "weightDecay");
        CheckNonNegative(group.Momentum ?? 0, index, "momentum");
    }

    /// <inheritdoc/>
    protected override void Update<T>(int index, Span<T> p, ReadOnlySpan<T> g)
    {
        var group = GroupOf(index);
        double alpha = group.Alpha!.Value, weightDecay = group.WeightDecay!.Value, momentum = group.Momentum!.Value;
        T lr = T.CreateTruncating(group.Lr!.Value), a = T.CreateTruncating(alpha), oneMinusA = T.CreateTruncating(1 - alpha);
        T eps = T.CreateTruncating(group.Eps!.Value), wd = T.CreateTruncating(weightDecay), mu = T.CreateTruncating(momentum);
        Span<T> sq = State<T>(index, "square_avg");
        Span<T> avg = group.Centered!.Value ? State<T>(index, "grad_avg") : default;
        Span<T> buf = momentum > 0 ? State<T>(index, "momentum_buffer") : default;
        OptimizerKernels.RmsProp(p, g, sq, avg, buf, lr, a, oneMinusA, eps, wd, mu, weightDecay != 0, FlushSubnormalState);
    }
}
