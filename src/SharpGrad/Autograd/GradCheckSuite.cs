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
            Add("Clone", x => x[0].Clone(), N(s));
        }

        // A composite: the multinomial logistic loss of a linear model, the seed 003/004 workhorse.
        Add("LogSoftmax+Gather (cross-entropy)", x =>
            -x[0].MatMul(x[1]).LogSoftmax(1).Gather(1, Tensor.FromArray(new long[] { 2, 0, 1, 2 }, 4, 1)).Mean(), N(4, 3), N(3, 3));
        cases.AddRange(GradChecks.Cases()); // the ops that declare their checks in their own files
        return cases;
    }
}
