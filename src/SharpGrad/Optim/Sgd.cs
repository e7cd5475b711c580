using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, with
/// PyTorch's update rule (<c>torch.optim.SGD</c>):
/// d = g + λθ; b ← μb + (1 − τ)d (b = d on the first step); d = d + μb (Nesterov) or d = b; θ ← θ − η d.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer; invalid hyper-parameters throw, naming the value.</summary>
    public Sgd(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        CheckNonNegative(momentum, nameof(momentum));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a positive momentum and zero dampening.", nameof(nesterov));
        (Momentum, Dampening, WeightDecay, Nesterov) = (momentum, dampening, weightDecay, nesterov);
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }
    /// <summary>τ.</summary>
    public double Dampening { get; }
    /// <summary>λ (L2 penalty added to the gradient).</summary>
    public double WeightDecay { get; }
    /// <summary>Whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void Update<T>(int index, Span<T> p, ReadOnlySpan<T> g)
    {
        T lr = T.CreateTruncating(LearningRate), wd = T.CreateTruncating(WeightDecay);
        T mu = T.CreateTruncating(Momentum), damp = T.CreateTruncating(1 - Dampening);
        if (Momentum == 0)
        {
            OptimizerKernels.Sgd(p, g, lr, wd, WeightDecay != 0);
            return;
        }
        bool first = !HasState(index, "momentum_buffer");
        Span<T> buf = State<T>(index, "momentum_buffer");
        OptimizerKernels.SgdMomentum(p, g, buf, lr, wd, mu, damp, WeightDecay != 0, first, Nesterov, FlushSubnormalState);
    }
}
