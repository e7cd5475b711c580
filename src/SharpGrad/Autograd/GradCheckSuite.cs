namespace SharpGrad;

/// <summary>One op checked at one set of shapes: what <c>sharpgrad gradcheck</c> and the test suite run.</summary>
/// <param name="Op">The op's name, e.g. <c>Softmax</c>.</param>
/// <param name="Shapes">The input shapes, e.g. <c>[3, 4] · [4]</c>.</param>
/// <param name="Function">The function of the inputs whose gradient is checked.</param>
/// <param name="Inputs">Float64 inputs (drawn from a fixed seed, kept away from kinks and singularities).</param>
public sealed record GradCheckCase(string Op, string Shapes, Func<Tensor[], Tensor> Function, Tensor[] Inputs)
{
    /// <summary>Runs <see cref="GradCheck.Check(Func{Tensor[], Tensor}, Tensor[])"/> on this case.</summary>
    public GradCheckResult Run() => GradCheck.Check(Function, Inputs);

    /// <summary>"Op Shapes".</summary>
    public override string ToString() => $"{Op} {Shapes}";
}

/// <summary>
/// The float64 gradient checks of every differentiable op over several shapes, including broadcasting, size-1
/// dimensions and 0-dimensional tensors. Shared by the tests and by <c>sharpgrad gradcheck</c>, so a user can verify
/// the gradients on their own machine.
/// </summary>
public static class GradCheckSuite
{
    private static readonly int[][] UnaryShapes = [[], [5], [2, 3], [1, 4, 1]];

    /// <summary>Every case, in a fixed order; the inputs are regenerated on each call from seed 2024.</summary>
    public static IReadOnlyList<GradCheckCase> Cases()
    {
        var g = new Generator(2024UL);
        var cases = new List<GradCheckCase>();
        Tensor N(params int[] s) => Tensor.Randn(s, g, DType.Float64);
        string Fmt(params int[][] shapes) => string.Join(" · ", shapes.Select(s => SharpGrad.Shapes.Format(s)));
        void Add(string op, Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
            cases.Add(new GradCheckCase(op, Fmt(inputs.Select(t => t.ShapeRef).ToArray()), f, inputs));

        foreach (var s in UnaryShapes)
        {
            Add("Sum", x => x[0].Sum(), N(s));
            Add("Mean", x => x[0].Mean(), N(s));
            Add("Max", x => x[0].Max(), N(s));
            Add("Min", x => x[0].Min(), N(s));
            Add("Reshape", x => x[0].Reshape(-1) * Tensor.Arange(0, x[0].Numel, 1, DType.Float64), N(s));
            Add("Clone", x => x[0].Clone(), N(s));
        }

        foreach (var (s, dim) in new[] { (new[] { 4 }, 0), (new[] { 3, 4 }, 1), (new[] { 3, 4 }, 0), (new[] { 2, 3, 4 }, 1), (new[] { 2, 1, 3 }, -1), (new[] { 3, 1 }, 1) })
        {
            string d = $"dim {dim}";
            Add($"Sum({d})", x => x[0].Sum(dim), N(s));
            Add($"Sum({d}, keep)", x => x[0].Sum(dim, keepDim: true), N(s));
            Add($"Mean({d})", x => x[0].Mean(dim), N(s));
            Add($"Max({d})", x => x[0].Max(dim), N(s));
            Add($"Min({d}, keep)", x => x[0].Min(dim, keepDim: true), N(s));
            Add($"Unsqueeze({d})", x => x[0].Unsqueeze(dim), N(s));
            Add($"Squeeze({d})", x => x[0].Squeeze(dim), N(s));
            Add($"Narrow({d})", x => x[0].Narrow(dim, x[0].Size(dim) - 1, 1), N(s));
            Add($"IndexSelect({d})", x => x[0].IndexSelect(dim, Tensor.FromArray(new long[] { 0, x[0].Size(dim) - 1, 0 })), N(s));
            Add($"Gather({d})", x =>
            {
                var shape = x[0].Shape;
                int dd = dim < 0 ? dim + shape.Length : dim;
                var gen = new Generator(7UL);
                var idx = new long[x[0].Numel];
                for (int i = 0; i < idx.Length; i++) idx[i] = gen.NextInt(shape[dd]);
                return x[0].Gather(dim, Tensor.FromArray(idx, shape));
            }, N(s));
            Add($"Concat({d})", x => Tensor.Concat([x[0], x[1] * 2.0], dim), N(s), N(s));
            Add($"Stack({d})", x => Tensor.Stack([x[0], x[1]], dim), N(s), N(s));
        }

        Add("Squeeze()", x => x[0].Squeeze(), N(1, 3, 1));
        Add("Flatten(1)", x => x[0].Flatten(1), N(2, 3, 4));
        Add("Transpose", x => x[0].Transpose(0, 2), N(2, 3, 4));
        Add("Permute", x => x[0].Permute(2, 0, 1), N(2, 3, 4));
        Add("Expand", x => x[0].Expand(2, 3, 4), N(3, 1));
        Add("ArgMax-gather", x => x[0].Gather(1, x[0].ArgMax(1, keepDim: true)), N(3, 5));

        int[][][] matmulShapes = [[[3, 4], [4, 5]], [[4], [4, 2]], [[3, 4], [4]], [[4], [4]], [[2, 3, 4], [4, 5]], [[2, 1, 3, 4], [3, 4, 2]], [[1, 4], [4, 1]]];
        foreach (var s in matmulShapes) Add("MatMul", x => x[0].MatMul(x[1]), N(s[0]), N(s[1]));

        // A composite: the multinomial logistic loss of a linear model, the seed 003/004 workhorse.
        Add("LogSoftmax+Gather (cross-entropy)", x =>
            -x[0].MatMul(x[1]).LogSoftmax(1).Gather(1, Tensor.FromArray(new long[] { 2, 0, 1, 2 }, 4, 1)).Mean(), N(4, 3), N(3, 3));
        cases.AddRange(GradChecks.Cases()); // the ops that declare their checks in their own files
        return cases;
    }
}
