namespace SharpGrad.Optim;

/// <summary>
/// A group of parameters with its own hyper-parameters (PyTorch: an entry of <c>optimizer.param_groups</c>), e.g. to
/// keep biases and normalisation weights out of weight decay:
/// <code>new AdamW([new ParamGroup(weights), new ParamGroup(biases) { WeightDecay = 0 }], lr: 1e-3)</code>
/// A setting left unset (null) takes the optimizer's value when the optimizer is created; after that every setting the
/// optimizer uses is set, and changing one (as the schedulers do with <see cref="Lr"/>) takes effect at the next step.
/// Settings the optimizer does not use must stay unset (an error names them otherwise).
/// </summary>
public sealed class ParamGroup
{
    private readonly Tensor[] _parameters;

    /// <summary>Creates a group of <paramref name="parameters"/> (each a leaf that requires gradients).</summary>
    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
    }

    /// <summary>The group's parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>Learning rate η (PyTorch: <c>lr</c>).</summary>
    public double? Lr { get; set; }

    /// <summary>
    /// The learning rate schedules start from (PyTorch: <c>initial_lr</c>): the group's rate when the optimizer was
    /// created, unless a schedule such as <see cref="OneCycleLR"/> sets its own.
    /// </summary>
    public double InitialLr { get; set; }

    /// <summary>Weight decay λ (L2 penalty for Sgd, Adam and RmsProp; decoupled decay for AdamW).</summary>
    public double? WeightDecay { get; set; }

    /// <summary>Momentum μ (Sgd, RmsProp).</summary>
    public double? Momentum { get; set; }

    /// <summary>Dampening τ (Sgd).</summary>
    public double? Dampening { get; set; }

    /// <summary>Nesterov momentum (Sgd).</summary>
    public bool? Nesterov { get; set; }

    /// <summary>β₁, the decay of Adam's first moment (PyTorch: <c>betas[0]</c>).</summary>
    public double? Beta1 { get; set; }

    /// <summary>β₂, the decay of Adam's second moment (PyTorch: <c>betas[1]</c>).</summary>
    public double? Beta2 { get; set; }

    /// <summary>ε, added to the denominator (Adam, AdamW, RmsProp).</summary>
    public double? Eps { get; set; }

    /// <summary>The AMSGrad variant (Adam, AdamW).</summary>
    public bool? AmsGrad { get; set; }

    /// <summary>α, the decay of the squared-gradient average (RmsProp).</summary>
    public double? Alpha { get; set; }

    /// <summary>Whether the gradient's variance normalises the step (RmsProp).</summary>
    public bool? Centered { get; set; }

    /// <summary>The settings as (state-dict name, value) pairs, unset ones left out; booleans are 0 or 1.</summary>
    internal IEnumerable<(string Name, double Value)> Settings()
    {
        static double B(bool b) => b ? 1 : 0;
        if (Lr is double lr) yield return ("lr", lr);
        yield return ("initial_lr", InitialLr);
        if (WeightDecay is double wd) yield return ("weight_decay", wd);
        if (Momentum is double m) yield return ("momentum", m);
        if (Dampening is double d) yield return ("dampening", d);
        if (Nesterov is bool n) yield return ("nesterov", B(n));
        if (Beta1 is double b1) yield return ("beta1", b1);
        if (Beta2 is double b2) yield return ("beta2", b2);
        if (Eps is double e) yield return ("eps", e);
        if (AmsGrad is bool a) yield return ("amsgrad", B(a));
        if (Alpha is double al) yield return ("alpha", al);
        if (Centered is bool c) yield return ("centered", B(c));
    }

    /// <summary>Sets the setting named as in <see cref="Settings"/>; false for an unknown name.</summary>
    internal bool TrySet(string name, double value)
    {
        switch (name)
        {
            case "lr": Lr = value; break;
            case "initial_lr": InitialLr = value; break;
            case "weight_decay": WeightDecay = value; break;
            case "momentum": Momentum = value; break;
            case "dampening": Dampening = value; break;
            case "nesterov": Nesterov = value != 0; break;
            case "beta1": Beta1 = value; break;
            case "beta2": Beta2 = value; break;
            case "eps": Eps = value; break;
            case "amsgrad": AmsGrad = value != 0; break;
            case "alpha": Alpha = value; break;
            case "centered": Centered = value != 0; break;
            default: return false;
        }
        return true;
    }
}
