namespace SharpGrad.NN;

/// <summary>
/// The float64 gradient checks of the layers' functional forms and of every loss, in the same form as
/// <see cref="GradCheckSuite"/> (which covers the tensor ops); <c>sharpgrad gradcheck</c> runs both.
/// </summary>
public static class NNGradCheckSuite
{
    /// <summary>Every case, in a fixed order; inputs are regenerated on each call from seed 2025.</summary>
    public static IReadOnlyList<GradCheckCase> Cases()
    {
        var g = new Generator(2025UL);
        var cases = new List<GradCheckCase>();
        Tensor N(params int[] s) => Tensor.Randn(s, g, DType.Float64);
        Tensor Labels(int n, int classes) => Tensor.FromArray(Enumerable.Range(0, n).Select(_ => (long)g.NextInt(classes)).ToArray());
        Tensor Probabilities(int n, int c) => Tensor.Randn([n, c], g, DType.Float64).Softmax(1).Detach();
        Tensor Between(double lo, double hi, params int[] s) => Tensor.Uniform(s, lo, hi, g, DType.Float64);
        void Add(string op, Func<Tensor[], Tensor> f, params Tensor[] inputs) =>
            cases.Add(new GradCheckCase(op, string.Join(" · ", inputs.Select(t => Shapes.Format(t.ShapeRef))), f, inputs));

        Add("Linear", x => Functional.Linear(x[0], x[1], x[2]), N(4, 5), N(3, 5), N(3));
        Add("Linear (batched, no bias)", x => Functional.Linear(x[0], x[1]), N(2, 3, 5), N(4, 5));
        foreach (var (k, stride, pad, dil) in new[] { (2, 2, 0, 1), (3, 2, 1, 1), (2, 1, 1, 2), (3, 3, 0, 1) })
        {
            string cfg = $"(k{k} s{stride} p{pad} d{dil})";
            Add($"MaxPool2d{cfg}", x => Functional.MaxPool2d(x[0], k, stride, pad, dil), N(2, 2, 7, 6));
            if (dil == 1) Add($"AvgPool2d{cfg}", x => Functional.AvgPool2d(x[0], k, stride, pad), N(2, 2, 7, 6));
        }
        Add("BatchNorm (train, [N, C])", x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true), N(6, 3), N(3), N(3));
        Add("BatchNorm (train, [N, C, H, W])", x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true), N(3, 2, 3, 2), N(2), N(2));
        Add("BatchNorm (eval)", x => Functional.BatchNorm(x[0], Tensor.FromArray(new[] { 0.1, -0.2 }), Tensor.FromArray(new[] { 1.5, 0.5 }), x[1], x[2], training: false), N(4, 2), N(2), N(2));
        Add("Softplus", x => x[0].Softplus(), N(3, 4));

        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            string r = reduction.ToString();
            Add($"MseLoss({r})", x => Functional.MseLoss(x[0], x[1], reduction), N(4, 3), N(4, 3));
            Add($"HuberLoss({r})", x => Functional.HuberLoss(x[0], x[1], reduction, 0.7), N(4, 3), N(4, 3));
            var labels = Labels(5, 4);
            Add($"CrossEntropy({r})", x => Functional.CrossEntropy(x[0], labels, reduction), N(5, 4));
            Add($"CrossEntropy({r}, smoothing 0.1)", x => Functional.CrossEntropy(x[0], labels, reduction, 0.1), N(5, 4));
            var probs = Probabilities(5, 4);
            Add($"CrossEntropy({r}, probabilities)", x => Functional.CrossEntropy(x[0], probs, reduction), N(5, 4));
            Add($"NllLoss({r})", x => Functional.NllLoss(x[0].LogSoftmax(1), labels, reduction), N(5, 4));
            var bits = Tensor.FromArray(Enumerable.Range(0, 6).Select(_ => (double)g.NextInt(2)).ToArray(), 2, 3);
            Add($"BinaryCrossEntropy({r})", x => Functional.BinaryCrossEntropy(x[0], bits, reduction), Between(0.05, 0.95, 2, 3));
            Add($"BinaryCrossEntropyWithLogits({r})", x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1], reduction), N(2, 3), Between(0, 1, 2, 3));
            Add($"MultiMarginLoss({r})", x => Functional.MultiMarginLoss(x[0], labels, 1, 1.0, reduction), N(5, 4));
            Add($"MultiMarginLoss({r}, p=2)", x => Functional.MultiMarginLoss(x[0], labels, 2, 0.5, reduction), N(5, 4));
            Add($"MulticlassSvmLoss({r})", x => Functional.MulticlassSvmLoss(x[0], labels, 1.0, reduction), N(5, 4));
            Add($"KlDiv({r})", x => Functional.KlDiv(x[0].LogSoftmax(1), x[1].Softmax(1), reduction), N(3, 4), N(3, 4));
        }
        Add("KlDiv(BatchMean, log target)", x => Functional.KlDiv(x[0].LogSoftmax(1), x[1].LogSoftmax(1), Reduction.BatchMean, logTarget: true), N(3, 4), N(3, 4));
        return cases;
    }
}
