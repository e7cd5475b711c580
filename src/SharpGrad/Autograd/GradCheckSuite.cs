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
        // Inputs kept at least 0.1 away from 0, for ops with a kink or singularity there (|x|, relu, max ties...).
        Tensor AwayFromZero(params int[] s)
        {
            var t = Tensor.Randn(s, g, DType.Float64);
            var d = t.Array<double>();
            for (int i = 0; i < d.Length; i++) d[i] = Math.CopySign(0.1 + Math.Abs(d[i]), d[i]);
            return t;
        }
        Tensor Positive(params int[] s)
        {
            var t = Tensor.Rand(s, g, DType.Float64);
            var d = t.Array<double>();
            for (int i = 0; i < d.Length; i++) d[i] += 0.5;
            return t;
        }
        string Fmt(params int[][] shapes) => string.Join(" · ", shapes.Select(s => SharpGrad.Shapes.Format(s)));
        void Add(string op, Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
            cases.Add(new GradCheckCase(op, Fmt(inputs.Select(t => t.ShapeRef).ToArray()), f, inputs));

        int[][][] binaryShapes = [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [3, 1]], [[], [3]], [[2, 1, 3], []]];
        foreach (var s in binaryShapes)
        {
            Add("Add", x => x[0] + x[1], N(s[0]), N(s[1]));
            Add("Sub", x => x[0] - x[1], N(s[0]), N(s[1]));
            Add("Mul", x => x[0] * x[1], N(s[0]), N(s[1]));
            Add("Div", x => x[0] / x[1], N(s[0]), Positive(s[1]));
            Add("Maximum", x => Tensor.Maximum(x[0], x[1]), N(s[0]), N(s[1]));
            Add("Minimum", x => Tensor.Minimum(x[0], x[1]), N(s[0]), N(s[1]));
            Add("Pow(tensor)", x => x[0].Pow(x[1]), Positive(s[0]), N(s[1]));
        }
        Add("Add(scalar)", x => 2.5 + x[0] - 1.0, N(3, 2));
        Add("Mul(scalar)", x => 3.0 * x[0] / 2.0, N(3, 2));
        Add("Div(scalar/x)", x => 1.5 / x[0], Positive(4));

        foreach (var s in UnaryShapes)
        {
            Add("Neg", x => -x[0], N(s));
            Add("Exp", x => x[0].Exp(), N(s));
            Add("Log", x => x[0].Log(), Positive(s));
            Add("Sqrt", x => x[0].Sqrt(), Positive(s));
            Add("Pow(2.5)", x => x[0].Pow(2.5), Positive(s));
            Add("Pow(3)", x => x[0].Pow(3), N(s));
            Add("Abs", x => x[0].Abs(), AwayFromZero(s));
            Add("Clamp", x => x[0].Clamp(-0.3, 0.8), N(s));
            Add("Relu", x => x[0].Relu(), AwayFromZero(s));
            Add("LeakyRelu", x => x[0].LeakyRelu(0.1), AwayFromZero(s));
            Add("Sigmoid", x => x[0].Sigmoid(), N(s));
            Add("Tanh", x => x[0].Tanh(), N(s));
            Add("Heaviside", x => x[0].Heaviside(), AwayFromZero(s));
            Add("Clone", x => x[0].Clone(), N(s));
        }

        foreach (var (s, dim) in new[] { (new[] { 4 }, 0), (new[] { 3, 4 }, 1), (new[] { 3, 4 }, 0), (new[] { 2, 3, 4 }, 1), (new[] { 2, 1, 3 }, -1), (new[] { 3, 1 }, 1) })
        {
            string d = $"dim {dim}";
            Add($"Softmax({d})", x => x[0].Softmax(dim), N(s));
            Add($"Softmax({d}, T=0.5)", x => x[0].Softmax(dim, 0.5), N(s));
            Add($"LogSoftmax({d})", x => x[0].LogSoftmax(dim), N(s));
            Add($"LogSumExp({d})", x => x[0].LogSumExp(dim), N(s));
            Add($"LogSumExp({d}, keep)", x => x[0].LogSumExp(dim, keepDim: true), N(s));
        }



        // A composite: the multinomial logistic loss of a linear model, the seed 003/004 workhorse.
        Add("LogSoftmax+Gather (cross-entropy)", x =>
            -x[0].MatMul(x[1]).LogSoftmax(1).Gather(1, Tensor.FromArray(new long[] { 2, 0, 1, 2 }, 4, 1)).Mean(), N(4, 3), N(3, 3));
        cases.AddRange(GradChecks.Cases()); // the ops that declare their checks in their own files
        return cases;
    }
}
