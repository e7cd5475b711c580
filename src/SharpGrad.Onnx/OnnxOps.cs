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
        AddLosses(t);
        AddLogic(t);
        AddRound2(t);
        AddRecurrent(t);
        return t;
    }

    private static Tensor[] One(Tensor t) => [t];

    /// <summary>
    /// A unary op on floats; on Int64 it runs in Float64 and converts back, which is exact while every value and result
    /// stays within ±2^53 (checked: outside it the node is refused rather than rounded).
    /// </summary>
    private static Op Unary(Func<Tensor, Tensor> f) => n => [Elementwise(n, ts => f(ts[0]), 1)];

    private static Op Binary(Func<Tensor, Tensor, Tensor> f, bool truncate = false) => n => [Elementwise(n, ts => f(ts[0], ts[1]), 2, truncate)];

    /// <summary>Variadic Max/Min/Sum/Mean: a fold over the inputs with broadcasting.</summary>
    private static Op Fold(Func<Tensor, Tensor, Tensor> f, bool mean = false) => n =>
    {
        if (n.InputCount == 0) throw n.Bad("at least one input is required");
        return [Elementwise(n, ts =>
        {
            Tensor acc = ts[0];
            for (int i = 1; i < ts.Length; i++) acc = f(acc, ts[i]);
            if (mean && ts.Length > 1) acc /= ts.Length;
            return acc;
        }, n.InputCount)];
    };

    private const double MaxExactInteger = 9007199254740992; // 2^53: every integer up to it is exact in a double

    /// <summary>Runs <paramref name="f"/> on the first <paramref name="arity"/> inputs: floats as they are, all-Int64 through Float64.</summary>
    private static Tensor Elementwise(OnnxNode n, Func<Tensor[], Tensor> f, int arity, bool truncate = false)
    {
        var ts = new Tensor[arity];
        for (int i = 0; i < arity; i++) ts[i] = n.In(i);
        if (ts.All(t => t.DType.IsFloatingPoint())) return f(ts);
        if (!ts.All(t => t.DType == DType.Int64))
        {
            var bad = ts.Select((t, i) => (t, i)).First(p => !p.t.DType.IsFloatingPoint());
            throw n.UnsupportedType(bad.t, bad.i);
        }
        for (int i = 0; i < arity; i++)
        {
            foreach (long v in ts[i].ToArray<long>())
                if (Math.Abs((double)v) > MaxExactInteger) throw n.Unsupported($"int64 input {i} with |value| above 2^53 (computed in float64)");
            ts[i] = ts[i].To(DType.Float64);
        }
        var result = f(ts);
        double[] values = result.ToArray<double>();
        var longs = new long[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            double v = truncate ? Math.Truncate(values[k]) : values[k];
            if (double.IsNaN(v) || Math.Abs(v) > MaxExactInteger || v != Math.Floor(v))
                throw n.Unsupported($"an int64 result {values[k]} that is not an integer within 2^53 (computed in float64)");
            longs[k] = (long)v;
        }
        return OnnxTensors.Make(longs, result.Shape);
    }

    /// <summary>Axes in [0, rank), sorted, each once.</summary>
    private static int[] NormalizeAxes(OnnxNode n, IEnumerable<long> axes, int rank)
    {
        var list = axes.Select(a => n.Axis(a, rank)).Distinct().Order().ToArray();
        return list;
    }
}
