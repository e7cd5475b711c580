namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Binary cross-entropy of logits z (PyTorch: <c>F.binary_cross_entropy_with_logits</c>):
        /// −w (p_w y log σ(z) + (1 − y) log(1 − σ(z))) = w ((1 − y) z + (1 + (p_w − 1) y) softplus(−z)), computed without
        /// ever forming σ(z), so any finite z is safe. <paramref name="posWeight"/> p_w weighs the positive term (per class:
        /// it broadcasts against the last dimension, e.g. [C] for [N, C] logits); <paramref name="weight"/> w broadcasts
        /// over the elements.
        /// </summary>
        public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null,
            Tensor? posWeight = null)
        {
            SameShape(input, target, nameof(BinaryCrossEntropyWithLogits));
            Tensor loss;
            if (posWeight is null) loss = input.Softplus() - target * input;
            else
            {
                var logWeight = (posWeight - 1.0) * target + 1.0;
                loss = (1.0 - target) * input + logWeight * (-input).Softplus();
            }
            if (weight is not null) loss = loss * weight;
            return Reduce(loss, reduction, nameof(BinaryCrossEntropyWithLogits));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int BinaryCrossEntropyWithLogits = Register(nameof(BinaryCrossEntropyWithLogits), static c =>
        {
            c.Add(x => NN.Functional.BinaryCrossEntropyWithLogits(x[0], x[1]), c.Normal(3, 4), c.Uniform(0, 1, 3, 4));
            c.Add("posWeight, weight", x => NN.Functional.BinaryCrossEntropyWithLogits(x[0], x[1], NN.Reduction.Sum, x[3], x[2]),
                c.Normal(3, 4), c.Uniform(0, 1, 3, 4), c.Positive(4), c.Positive(3, 1));
            c.Add("posWeight, none", x => NN.Functional.BinaryCrossEntropyWithLogits(x[0], x[1], NN.Reduction.None, posWeight: x[2]),
                c.Normal(5), c.Uniform(0, 1, 5), c.Positive(5));
        });
    }
}
