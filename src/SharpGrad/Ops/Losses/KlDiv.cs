namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// PyTorch's <c>F.kl_div</c>: the input holds log-probabilities log q, the target probabilities p (or log p when
        /// <paramref name="logTarget"/>); the pointwise loss is p (log p − log q), 0 where p = 0. <see cref="Reduction.BatchMean"/>
        /// divides the sum by the batch size, which is KL(p‖q) per sample; Mean averages over every element, as PyTorch does.
        /// </summary>
        public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
        {
            SameShape(input, target, nameof(KlDiv));
            Tensor pointwise = logTarget
                ? target.Exp() * (target - input)
                : target * ((target + target.Eq(0)).Log() - input); // p log p → 0 as p → 0: log 1 where p = 0 (NumPy's xlogy)
            return reduction == Reduction.BatchMean
                ? pointwise.Sum() / (input.Rank == 0 ? 1 : input.ShapeRef[0])
                : Reduce(pointwise, reduction, nameof(KlDiv));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int KlDiv = Register(nameof(KlDiv), static c =>
        {
            c.Add("batchmean", x => NN.Functional.KlDiv(x[0].LogSoftmax(1), x[1].Softmax(1), NN.Reduction.BatchMean), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("mean", x => NN.Functional.KlDiv(x[0].LogSoftmax(1), x[1].Softmax(1), NN.Reduction.Mean), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("none", x => NN.Functional.KlDiv(x[0].LogSoftmax(1), x[1].Softmax(1), NN.Reduction.None), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("logTarget, sum", x => NN.Functional.KlDiv(x[0].LogSoftmax(1), x[1].LogSoftmax(1), NN.Reduction.Sum, logTarget: true), c.Normal(3, 4), c.Normal(3, 4));
        });
    }
}
