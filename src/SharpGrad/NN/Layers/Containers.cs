using System.Collections;
using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Holds modules in a list so that their parameters are registered (named "0", "1", ...), without defining how they
/// are called (PyTorch: <c>nn.ModuleList</c>). Iterate it in the owner's Forward.
/// </summary>
public sealed class ModuleList : Module, IReadOnlyList<Module>
{
    private readonly List<Module> _modules = [];

    /// <summary>Creates the list.</summary>
    public ModuleList(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module (PyTorch: <c>append</c>).</summary>
    public ModuleList Add(Module module)
    {
        _modules.Add(RegisterModule(_modules.Count.ToString(CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => _modules.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => _modules[index];

    /// <summary>Not defined: a ModuleList has no order of calls; its owner calls the modules.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("ModuleList has no Forward of its own: iterate it in the Forward of the module that owns it (or use Sequential).");

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _modules.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Holds modules by name so that their parameters are registered under those names (PyTorch: <c>nn.ModuleDict</c>).</summary>
public sealed class ModuleDict : Module, IReadOnlyDictionary<string, Module>
{
    private readonly Dictionary<string, Module> _modules = [];
    private readonly List<string> _order = [];

    /// <summary>Adds a module under <paramref name="name"/> (no '.' in it; unique).</summary>
    public ModuleDict Add(string name, Module module)
    {
        _modules.Add(name, RegisterModule(name, module));
        _order.Add(name);
        return this;
    }

    /// <summary>The module named <paramref name="key"/>.</summary>
    public Module this[string key] => _modules.TryGetValue(key, out var m) ? m
        : throw new KeyNotFoundException($"ModuleDict has no module '{key}'; it has {(_order.Count == 0 ? "none" : string.Join(", ", _order))}.");

    /// <summary>Names in insertion order.</summary>
    public IEnumerable<string> Keys => _order;
    /// <summary>Modules in insertion order.</summary>
    public IEnumerable<Module> Values => _order.Select(k => _modules[k]);
    /// <summary>Number of modules.</summary>
    public int Count => _order.Count;
    /// <inheritdoc/>
    public bool ContainsKey(string key) => _modules.ContainsKey(key);
    /// <inheritdoc/>
    public bool TryGetValue(string key, out Module value) => _modules.TryGetValue(key, out value!);

    /// <summary>Not defined: its owner calls the modules.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("ModuleDict has no Forward of its own: call its modules from the Forward of the module that owns it.");

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() => _order.Select(k => new KeyValuePair<string, Module>(k, _modules[k])).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Splits dimension <c>dim</c> into <c>sizes</c> (PyTorch: <c>nn.Unflatten</c>), e.g. [N, 784] → [N, 1, 28, 28].</summary>
public sealed class Unflatten : Module
{
    /// <summary>Creates the layer.</summary>
    public Unflatten(int dim, params int[] sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Length == 0 || sizes.Any(s => s <= 0 && s != -1) || sizes.Count(s => s == -1) > 1)
            throw new ArgumentException($"Unflatten: sizes must be positive (one may be -1); got [{string.Join(", ", sizes)}].", nameof(sizes));
        Dim = dim;
        Sizes = sizes.ToArray();
    }

    /// <summary>The dimension split.</summary>
    public int Dim { get; }
    /// <summary>The sizes it becomes.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = input.Shape;
        int d = Dim < 0 ? Dim + shape.Length : Dim;
        if (d < 0 || d >= shape.Length)
            throw new ArgumentException($"Unflatten: dim {Dim} is out of range for shape {Shapes.Format(shape)}.", nameof(input));
        int known = Sizes.Where(s => s != -1).Aggregate(1, (a, b) => a * b);
        var sizes = Sizes.Select(s => s == -1 ? (known == 0 ? 0 : shape[d] / known) : s).ToArray();
        if (sizes.Aggregate(1, (a, b) => a * b) != shape[d])
            throw new ArgumentException($"Unflatten: sizes [{string.Join(", ", Sizes)}] do not multiply to dimension {d}'s size {shape[d]} (shape {Shapes.Format(shape)}).", nameof(input));
        return input.Reshape([.. shape[..d], .. sizes, .. shape[(d + 1)..]]);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Unflatten(dim={Dim}, unflattened_size=({string.Join(", ", Sizes)}))");
}
