using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.Optim;

/// <summary>
/// RMSprop as <c>torch.optim.RMSprop</c> computes it: g ← g + λθ; s ← αs + (1 − α)g²; with centered, a ← αa + (1 − α)g
/// and the denominator √(s − a²) + ε, else √s + ε; with momentum, b ← μb + g/denom and θ ← θ − ηb, else θ ← θ − η g/denom.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer; invalid hyper-parameters throw, naming the value.</summary>
    public RmsProp(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false) : base(parameters, lr)
    {
        CheckBeta(alpha, nameof(alpha));
        CheckNonNegative(eps, nameof(eps));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        CheckNonNegative(momentum, nameof(momentum));
        (Alpha, Eps, WeightDecay, Momentum, Centered) = (alpha, eps, weightDecay, momentum, centered);
    }

    /// <summary>α, the decay of the squared-gradient average.</summary>
    public double Alpha { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }
    /// <summary>λ.</summary>
    public double WeightDecay { get; }
    /// <summary>μ.</summary>
    public double Momentum { get; }
    /// <summary>Whether the gradient's variance (rather than its second moment) normalises the step.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected override void Update<T>(int index, Span<T> p, ReadOnlySpan<T> g)
    {
        T lr = T.CreateTruncating(LearningRate), a = T.CreateTruncating(Alpha), oneMinusA = T.CreateTruncating(1 - Alpha);
        T eps = T.CreateTruncating(Eps), wd = T.CreateTruncating(WeightDecay), mu = T.CreateTruncating(Momentum);
        Span<T> sq = State<T>(index, "square_avg");
        Span<T> avg = Centered ? State<T>(index, "grad_avg") : default;
        Span<T> buf = Momentum > 0 ? State<T>(index, "momentum_buffer") : default;
        OptimizerKernels.RmsProp(p, g, sq, avg, buf, lr, a, oneMinusA, eps, wd, mu, WeightDecay != 0, FlushSubnormalState);
    }
}
