namespace SharpGrad;

/// <summary>
/// The registry of gradient checks that ops declare in their own files. Each op file adds one line to this partial
/// class, <c>internal static readonly int MyOp = Register("MyOp", static c =&gt; { c.Add(...); });</c>, so the list
/// that <see cref="GradCheckSuite"/> (and with it the tests and <c>sharpgrad gradcheck</c>) runs is the union of the
/// files and is never kept by hand. The registrations run as this class's static initialiser, the first time the
/// list is read.
/// </summary>
internal static partial class GradChecks
{
    // No initialiser on purpose: the registrations (field initialisers in other files, in an order the compiler
    // chooses) create it on first use, so none of them can run before it exists.
    private static List<(string Op, Action<GradCheckBuilder> Build)>? s_ops;

    /// <summary>Adds an op's case builder; the value returned only gives the registering field something to hold.</summary>
    internal static int Register(string op, Action<GradCheckBuilder> build)
    {
        (s_ops ??= []).Add((op, build));
        return s_ops.Count;
    }

    /// <summary>
    /// Every registered op's cases, ops in ordinal name order. Each op draws its inputs from a generator seeded by its
    /// name, so adding an op never changes another op's inputs.
    /// </summary>
    internal static List<GradCheckCase> Cases()
    {
        var ops = (s_ops ?? []).ToList();
        ops.Sort((a, b) => string.CompareOrdinal(a.Op, b.Op));
        var cases = new List<GradCheckCase>();
        foreach (var (op, build) in ops) build(new GradCheckBuilder(op, cases));
        return cases;
    }
}

/// <summary>
/// Makes the float64 gradient-check cases of one op: inputs from a generator seeded by the op's name, in the shapes
/// and ranges an op needs (away from kinks, positive for logarithms ...).
/// </summary>
internal sealed class GradCheckBuilder
{
    private readonly string _op;
    private readonly List<GradCheckCase> _sink;

    internal GradCheckBuilder(string op, List<GradCheckCase> sink)
    {
        _op = op;
        _sink = sink;
        ulong seed = 14695981039346656037UL; // FNV-1a of the name: stable across runs and platforms
        foreach (char ch in op) seed = (seed ^ ch) * 1099511628211UL;
        Generator = new Generator(seed);
    }

    /// <summary>The generator the inputs come from.</summary>
    public Generator Generator { get; }

    /// <summary>The shapes elementwise ops are checked at: 0-d, a vector, a matrix, and one with size-1 dimensions.</summary>
    public static readonly int[][] ElementwiseShapes = [[], [5], [2, 3], [1, 4, 1]];

    /// <summary>Standard normal float64 values.</summary>
    public Tensor Normal(params int[] shape) => Tensor.Randn(shape, Generator, DType.Float64);

    /// <summary>Uniform float64 values in [low, high).</summary>
    public Tensor Uniform(double low, double high, params int[] shape) => Tensor.Uniform(shape, low, high, Generator, DType.Float64);

    /// <summary>Values in [0.5, 1.5): away from 0, for logarithms, roots and divisions.</summary>
    public Tensor Positive(params int[] shape) => Uniform(0.5, 1.5, shape);

    /// <summary>Normal values pushed at least 0.1 away from 0, for ops with a kink or a jump there.</summary>
    public Tensor AwayFromZero(params int[] shape)
    {
        var t = Normal(shape);
        var d = t.Array<double>();
        for (int i = 0; i < d.Length; i++) d[i] = Math.CopySign(0.1 + Math.Abs(d[i]), d[i]);
        return t;
    }

    /// <summary>Adds a case named after the op.</summary>
    public void Add(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Add(null, f, inputs);

    /// <summary>Adds a case named <c>Op(variant)</c>, e.g. <c>Gelu(tanh)</c>.</summary>
    public void Add(string? variant, Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        string name = variant is null ? _op : $"{_op}({variant})";
        _sink.Add(new GradCheckCase(name, string.Join(" · ", inputs.Select(t => Shapes.Format(t.ShapeRef))), f, inputs));
    }
}
