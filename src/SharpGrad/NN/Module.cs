using System.Text;

namespace SharpGrad.NN;

/// <summary>
/// Base class of every layer and model (PyTorch: <c>torch.nn.Module</c>). A module registers its parameters, buffers
/// and children explicitly in its constructor — no reflection, so the order is fixed, trimming and AOT are safe, and a
/// forgotten registration is caught by the tests rather than silently losing a parameter.
/// </summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>; Dropout and BatchNorm read it.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output (PyTorch: <c>forward</c>, called as <c>module(x)</c>).</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Registers a trainable tensor under <paramref name="name"/>; it is made to require gradients.</summary>
    protected Tensor RegisterParameter(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckName(name);
        parameter.RequiresGrad = true;
        TensorScope.Escape(parameter); // a module made inside a TensorScope keeps its parameters
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>Registers a non-trainable tensor that belongs to the state (e.g. BatchNorm's running mean).</summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckName(name);
        TensorScope.Escape(buffer);
        _buffers.Add(new(name, buffer));
        return buffer;
    }

    /// <summary>Registers a child module; its parameters appear under <c>name.</c>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A module cannot be its own child.", nameof(module));
        _children.Add(new(name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Invalid name '{name}': names must be non-empty and contain no '.'.", nameof(name));
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(p => p.Key == name) || _children.Any(p => p.Key == name))
            throw new ArgumentException($"{GetType().Name} already has a member named '{name}'.", nameof(name));
    }

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _children;

    /// <summary>This module and every descendant, depth first.</summary>
    public IEnumerable<Module> Modules()
    {
        var stack = new Stack<Module>();
        stack.Push(this);
        while (stack.Count > 0)
        {
            var m = stack.Pop();
            yield return m;
            for (int i = m._children.Count - 1; i >= 0; i--) stack.Push(m._children[i].Value);
        }
    }

    /// <summary>
    /// Every parameter with its dotted path (<c>0.weight</c>, <c>fc1.bias</c>), in registration order, each tensor once
    /// even when shared (PyTorch: <c>named_parameters()</c>).
    /// </summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters() => Walk(m => m._parameters, dedupe: true);

    /// <summary>Every buffer with its dotted path (PyTorch: <c>named_buffers()</c>).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers() => Walk(m => m._buffers, dedupe: true);

    /// <summary>Every parameter, in the order of <see cref="NamedParameters"/> (PyTorch: <c>parameters()</c>).</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>Total number of trainable elements.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Numel);

    private IEnumerable<KeyValuePair<string, Tensor>> Walk(Func<Module, List<KeyValuePair<string, Tensor>>> select, bool dedupe)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var result = new List<KeyValuePair<string, Tensor>>();
        void Visit(Module m, string prefix)
        {
            foreach (var (name, t) in select(m))
                if (!dedupe || seen.Add(t)) result.Add(new(prefix + name, t));
            foreach (var (name, child) in m._children) Visit(child, prefix + name + ".");
        }
        Visit(this, "");
        return result;
    }

    /// <summary>Sets training mode on this module and every descendant (PyTorch: <c>train(mode)</c>).</summary>
    public Module Train(bool mode = true)
    {
        foreach (var m in Modules()) m.Training = mode;
        return this;
    }

    /// <summary>Sets evaluation mode (PyTorch: <c>eval()</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradient of every parameter (PyTorch: <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters())
        {
            TensorScope.Adopt(p.Grad);
            p.Grad = null;
        }
    }

    /// <summary>
    /// Copies of every parameter and buffer by dotted name, parameters first then buffers, each in registration order
    /// (PyTorch: <c>state_dict()</c>). The copies are detached: changing them does not change the model.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t) in NamedParameters()) d[name] = t.Detach().Clone();
        foreach (var (name, t) in NamedBuffers()) d[name] = t.Detach().Clone();
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers (PyTorch:
    /// <c>load_state_dict</c>). Shapes must match exactly. With <paramref name="strict"/>, a missing or unexpected key is an
    /// error listing them all, and nothing is changed; without it, the keys in common are loaded and the rest reported.
    /// </summary>
    public StateDictLoadResult LoadStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = NamedParameters().Concat(NamedBuffers()).ToDictionary(p => p.Key, p => p.Value);
        var given = state.ToList();
        var missing = own.Keys.Where(k => !given.Any(g => g.Key == k)).ToList();
        var unexpected = given.Where(g => !own.ContainsKey(g.Key)).Select(g => g.Key).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException($"LoadStateDict: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}].", nameof(state));
        foreach (var (name, value) in given)
        {
            if (!own.TryGetValue(name, out var target)) continue;
            if (!Shapes.Equal(target.ShapeRef, value.ShapeRef))
                throw new ArgumentException($"LoadStateDict: '{name}' has shape {Shapes.Format(value.ShapeRef)} in the state but {Shapes.Format(target.ShapeRef)} in the model.", nameof(state));
        }
        foreach (var (name, value) in given)
            if (own.TryGetValue(name, out var target)) target.CopyFrom(value);
        return new StateDictLoadResult(missing, unexpected);
    }

    /// <summary>One line per module, indented like PyTorch's repr.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb, this, 0);
        return sb.ToString();

        static void Append(StringBuilder sb, Module m, int indent)
        {
            sb.Append(m.Describe());
            if (m._children.Count == 0) return;
            sb.Append("(\n");
            foreach (var (name, child) in m._children)
            {
                sb.Append(' ', indent + 2).Append('(').Append(name).Append("): ");
                Append(sb, child, indent + 2);
                sb.Append('\n');
            }
            sb.Append(' ', indent).Append(')');
        }
    }

    /// <summary>The module's one-line description, e.g. <c>Linear(in_features=784, out_features=10, bias=True)</c>.</summary>
    protected virtual string Describe() => GetType().Name + (_children.Count == 0 ? "()" : "");
}

/// <summary>What <see cref="Module.LoadStateDict"/> did not match.</summary>
/// <param name="MissingKeys">Names the model has but the state did not provide.</param>
/// <param name="UnexpectedKeys">Names the state provided that the model does not have.</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
