namespace SharpGrad.Onnx;

/// <summary>
/// The importer's operator table: ONNX <c>op_type</c> to an implementation over SharpGrad's public ops, so an imported
/// graph records on the tape and trains. Adding an operator is one entry here (or in a partial file by family).
/// </summary>
internal static partial class OnnxOps
{
    internal delegate Tensor[] Op(OnnxNode node);

    public static readonly Dictionary<string, Op> Table = Build();

    private static Dictionary<string, Op> Build()
    {
        var t = new Dictionary<string, Op>(StringComparer.Ordinal);
        AddMath(t);
        AddShape(t);
        AddNeural(t);
        return t;
    }

    private static Tensor[] One(Tensor t) => [t];

    /// <summary>A unary float op: refuses Int64 input with a dtype message instead of an arithmetic error.</summary>
    private static Op Unary(Func<Tensor, Tensor> f) => n => { n.RequireFloat(0); return [f(n.In(0))]; };

    private static Op Binary(Func<Tensor, Tensor, Tensor> f) => n => { n.RequireFloat(0, 1); return [f(n.In(0), n.In(1))]; };

    /// <summary>Variadic Max/Min/Sum/Mean: a fold over the inputs with broadcasting.</summary>
    private static Op Fold(Func<Tensor, Tensor, Tensor> f, bool mean = false) => n =>
    {
        if (n.InputCount == 0) throw n.Bad("at least one input is required");
        for (int i = 0; i < n.InputCount; i++) n.RequireFloat(i);
        Tensor acc = n.In(0);
        for (int i = 1; i < n.InputCount; i++) acc = f(acc, n.In(i));
        if (mean && n.InputCount > 1) acc /= n.InputCount;
        return [acc];
    };

    /// <summary>Axes in [0, rank), sorted, each once.</summary>
    private static int[] NormalizeAxes(OnnxNode n, IEnumerable<long> axes, int rank)
    {
        var list = axes.Select(a => n.Axis(a, rank)).Distinct().Order().ToArray();
        return list;
    }
}
