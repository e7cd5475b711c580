using System.Numerics;
using System.Runtime.InteropServices;
using SharpGrad.Kernels;

namespace SharpGrad.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, with
/// PyTorch's update rule (<c>torch.optim.SGD</c>):
/// d = g + λθ; b ← μb + (1 − τ)d (b = d on the first step); d = d + μb (Nesterov) or d = b; θ ← θ − η d.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer over one group; invalid hyper-parameters throw, naming the value.</summary>
    public Sgd(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>
    /// Creates the optimizer over parameter groups; the arguments are the defaults for settings a group leaves unset.
    /// Invalid hyper-parameters throw, naming the value and the group.
    /// </summary>
    public Sgd(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(groups, lr)
    {
        CheckNonNegative(momentum, nameof(momentum));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        (Momentum, Dampening, WeightDecay, Nesterov) = (momentum, dampening, weightDecay, nesterov);
        ConfigureGroups(nameof(Sgd), ["weight_decay", "momentum", "dampening", "nesterov"], g =>
        {
            g.Momentum ??= momentum;
            g.Dampening ??= dampening;
            g.WeightDecay ??= weightDecay;
            g.Nesterov ??= nesterov;
        });
    }

    /// <summary>μ, for groups that set none.</summary>
    public double Momentum { get; }
    /// <summary>τ, for groups that set none.</summary>
    public double Dampening { get; }
    /// <summary>λ (L2 penalty added to the gradient), for groups that set none.</summary>
    public double WeightDecay { get; }
    /// <summary>Whether the Nesterov form is used, for groups that set nothing.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void CheckGroup(ParamGroup group, int index)
    {
        base.CheckGroup(group, index);
        double momentum = group.Momentum ?? 0, dampening = group.Dampening ?? 0;
        CheckNonNegative(momentum, index, "momentum");
        CheckNonNegative(group.WeightDecay ?? 0, index, "weightDecay");
        if (!double.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "Sgd: dampening must be finite.");
        if (group.Nesterov == true && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Nesterov momentum requires a positive momentum and zero dampening{(ParamGroups.Count > 1 ? $" (parameter group {index})" : "")}.", "nesterov");
    }

    internal override bool HasOuterUpdate(int index) => GroupOf(index).Momentum!.Value == 0;

    /// <inheritdoc/>
    private protected override bool UpdateOuter<T>(int index, Span<T> p, Span<T> g, int columns, ReadOnlySpan<T> a, T[] x, bool storeGradient)
    {
        // Plain SGD only (with momentum, the gradient then the update, in blocks).
        if (!HasOuterUpdate(index)) return false;
        var group = GroupOf(index);
        double weightDecay = group.WeightDecay!.Value;
        T lr = T.CreateTruncating(group.Lr!.Value), wd = T.CreateTruncating(weightDecay);
        OptimizerKernels.SgdOuter(p, g, columns, a, x, lr, wd, weightDecay != 0, storeGradient);
        return true;
    }

    /// <inheritdoc/>
    private protected override unsafe bool UpdateMean<T>(int index, Span<T> p, T* x0, T* x1, Span<T> mean)
    {
        if (mean.Length < p.Length) throw new ArgumentException("Sgd: the mean is shorter than the parameter.");
        Update(index, p, ref MemoryMarshal.GetReference(mean), new MeanOfTwo<T>(x0, x1, T.One / (T.One + T.One)));
        return true;
    }

    /// <inheritdoc/>
    protected override void Update<T>(int index, Span<T> p, ReadOnlySpan<T> g)
    {
        if (g.Length < p.Length) throw new ArgumentException("Sgd: the gradient is shorter than the parameter.");
        Update(index, p, ref MemoryMarshal.GetReference(g), default(StoredGradient<T>));
    }

    /// <summary><see cref="Update{T}(int, Span{T}, ReadOnlySpan{T})"/> with the gradient taken from <paramref name="source"/> at <paramref name="rg"/>.</summary>
    private void Update<T, TG>(int index, Span<T> p, ref T rg, TG source) where T : unmanaged, IFloatingPointIeee754<T> where TG : struct, IGradientSource<T>
    {
        var group = GroupOf(index);
        double momentum = group.Momentum!.Value, weightDecay = group.WeightDecay!.Value;
        T lr = T.CreateTruncating(group.Lr!.Value), wd = T.CreateTruncating(weightDecay);
        T mu = T.CreateTruncating(momentum), damp = T.CreateTruncating(1 - group.Dampening!.Value);
        if (momentum == 0)
        {
            OptimizerKernels.Sgd(p, ref rg, source, lr, wd, weightDecay != 0);
            return;
        }
        bool first = !HasState(index, "momentum_buffer");
        Span<T> buf = State<T>(index, "momentum_buffer");
        OptimizerKernels.SgdMomentum(p, ref rg, source, buf, lr, wd, mu, damp, weightDecay != 0, first, group.Nesterov!.Value, FlushSubnormalState);
    }
}
