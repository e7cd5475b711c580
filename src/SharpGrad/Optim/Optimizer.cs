using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Optim;

/// <summary>
/// Base of the optimizers (PyTorch: <c>torch.optim.Optimizer</c>). It keeps the parameter list, the learning rate,
/// the step count and the per-parameter state (created lazily on the first step, exportable for checkpoints); a
/// subclass writes only the update of one parameter.
/// </summary>
public abstract class Optimizer
{
    private readonly Tensor[] _parameters;
    private readonly Dictionary<string, Tensor>[] _state;

    /// <summary>Takes the parameters to optimise (each must require gradients) and the initial learning rate.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("The optimizer got an empty parameter list.", nameof(parameters));
        for (int i = 0; i < _parameters.Length; i++)
            if (!_parameters[i].RequiresGrad || !_parameters[i].IsLeaf)
                throw new ArgumentException($"Parameter {i} (shape {Shapes.Format(_parameters[i].ShapeRef)}) is not a leaf that requires gradients.", nameof(parameters));
        _state = new Dictionary<string, Tensor>[_parameters.Length];
        for (int i = 0; i < _state.Length; i++) _state[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        CheckNonNegative(lr, nameof(lr));
        LearningRate = lr;
        InitialLearningRate = lr;
    }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The current learning rate; schedulers change it.</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate the optimizer was created with (schedulers compute from it).</summary>
    public double InitialLearningRate { get; }

    /// <summary>
    /// Whether running averages that decay below the smallest normal floating-point number (about 1.2e-38 in float32)
    /// are stored as 0 (default true). A weight whose gradient stays 0 (an always-black pixel, say) has moments that
    /// shrink geometrically and turn subnormal after a few hundred steps; x86 computes on subnormals through slow
    /// microcode assists, which made an Adam step over such a model an order of magnitude slower. What is flushed
    /// would move a parameter by less than 1e-30, so the trajectory is unchanged for any parameter that is not itself
    /// nearly 0; set false for IEEE arithmetic throughout (PyTorch's default, <c>torch.set_flush_denormal(False)</c>).
    /// </summary>
    public bool FlushSubnormalState { get; set; } = true;

    /// <summary>Number of completed <see cref="Step"/> calls.</summary>
    public long StepCount { get; private set; }

    /// <summary>Clears every parameter's gradient (PyTorch: <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            TensorScope.Adopt(p.Grad);
            p.Grad = null;
        }
    }

    /// <summary>Updates every parameter that has a gradient, outside the tape (PyTorch: <c>step()</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step()
    {
        StepCount++;
        using var _ = Autograd.NoGrad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p.Grad is null) continue;
            if (!Shapes.Equal(p.Grad.ShapeRef, p.ShapeRef))
                throw new InvalidOperationException($"Parameter {i}: gradient shape {Shapes.Format(p.Grad.ShapeRef)} differs from the parameter's {Shapes.Format(p.ShapeRef)}.");
            var grad = p.Grad.DType == p.DType ? p.Grad : p.Grad.To(p.DType);
            if (p.DType == DType.Float32) Update<float>(i, p.Span<float>(), grad.Span<float>());
            else Update<double>(i, p.Span<double>(), grad.Span<double>());
        }
    }

    /// <summary>
    /// Updates parameter <paramref name="index"/> in place from its gradient. Called once per parameter per step, with
    /// spans of the parameter's own dtype; state comes from <see cref="State{T}"/>.
    /// </summary>
    protected abstract void Update<T>(int index, Span<T> parameter, ReadOnlySpan<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The named state buffer of a parameter, created as zeros (or as a copy of <paramref name="initial"/>) on first use.</summary>
    protected Span<T> State<T>(int index, string name, ReadOnlySpan<T> initial = default) where T : unmanaged
    {
        if (!_state[index].TryGetValue(name, out var t))
        {
            var p = _parameters[index];
            t = Tensor.Empty(p.ShapeRef, p.DType);
            TensorScope.Escape(t); // state lives as long as the optimizer
            if (!initial.IsEmpty) initial.CopyTo(t.Span<T>());
            _state[index][name] = t;
        }
        return t.Span<T>();
    }

    /// <summary>Whether a parameter already has the named state.</summary>
    protected bool HasState(int index, string name) => _state[index].ContainsKey(name);

    /// <summary>
    /// The optimizer's state as named tensors: <c>step</c>, <c>lr</c>, and per parameter <c>{index}.{name}</c> (e.g.
    /// <c>0.exp_avg</c>), copies in a fixed order. Together with the parameters it lets training resume exactly.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>
        {
            ["step"] = Tensor.FromArray(new[] { StepCount }).Reshape(),
            ["lr"] = Tensor.Scalar(LearningRate, DType.Float64),
        };
        for (int i = 0; i < _state.Length; i++)
            foreach (var (name, t) in _state[i].OrderBy(kv => kv.Key, StringComparer.Ordinal))
                d[string.Create(CultureInfo.InvariantCulture, $"{i}.{name}")] = t.Detach().Clone();
        return d;
    }

    /// <summary>Restores a state produced by <see cref="StateDict"/> for the same parameter list.</summary>
    public void LoadStateDict(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var fresh = new Dictionary<string, Tensor>[_state.Length];
        for (int i = 0; i < fresh.Length; i++) fresh[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long step = 0; double lr = LearningRate;
        foreach (var (key, value) in state)
        {
            if (key == "step") { step = (long)value.Item(); continue; }
            if (key == "lr") { lr = value.Item(); continue; }
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || !int.TryParse(key.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= _parameters.Length)
                throw new ArgumentException($"Optimizer state: unexpected key '{key}' for {_parameters.Length} parameters.", nameof(state));
            if (!Shapes.Equal(value.ShapeRef, _parameters[i].ShapeRef))
                throw new ArgumentException($"Optimizer state: '{key}' has shape {Shapes.Format(value.ShapeRef)} but parameter {i} has {Shapes.Format(_parameters[i].ShapeRef)}.", nameof(state));
            fresh[i][key[(dot + 1)..]] = value.To(_parameters[i].DType).Detach().Clone();
        }
        for (int i = 0; i < _state.Length; i++) _state[i] = fresh[i];
        StepCount = step;
        LearningRate = lr;
    }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the hyper-parameter unless it is ≥ 0 and finite.</summary>
    protected static void CheckNonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)} (must be a finite value ≥ 0).");
    }

    /// <summary>Throws unless 0 ≤ value &lt; 1.</summary>
    protected static void CheckBeta(double value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"Invalid {name}: {value.ToString(CultureInfo.InvariantCulture)} (must be in [0, 1)).");
    }
}
