namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Binary cross-entropy of probabilities p against targets y in [0, 1] (PyTorch: <c>F.binary_cross_entropy</c>):
        /// −w (y log p + (1 − y) log(1 − p)), with each log clamped at −100 as PyTorch does so p = 0 or 1 stays finite, and
        /// an optional <paramref name="weight"/> broadcast over the elements.
        /// </summary>
        public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null)
        {
            SameShape(input, target, nameof(BinaryCrossEntropy));
            var loss = -(target * input.Log().Clamp(min: -100) + (1.0 - target) * (1.0 - input).Log().Clamp(min: -100));
            if (weight is not null) loss = loss * weight;
            return Reduce(loss, reduction, nameof(BinaryCrossEntropy));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int BinaryCrossEntropy = Register(nameof(BinaryCrossEntropy), static c =>
        {
            c.Add(x => NN.Functional.BinaryCrossEntropy(x[0].Sigmoid(), x[1]), c.Normal(3, 4), c.Uniform(0, 1, 3, 4));
            var bits = Tensor.FromArray(new[] { 1.0, 0, 0, 1, 1, 0 }, 2, 3);
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"0/1 target, {r}", x => NN.Functional.BinaryCrossEntropy(x[0], bits, r), c.Uniform(0.05, 0.95, 2, 3));
            c.Add("weight, sum", x => NN.Functional.BinaryCrossEntropy(x[0].Sigmoid(), x[1], NN.Reduction.Sum, Tensor.FromArray(new[] { 0.5, 1, 2, 3.0 })),
                c.Normal(3, 4), c.Uniform(0, 1, 3, 4));
        });
    }
}
