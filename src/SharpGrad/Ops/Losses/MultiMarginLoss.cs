namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Multi-class margin (hinge) loss, PyTorch's <c>F.multi_margin_loss</c>: per sample
        /// Σ_{i≠y} max(0, margin − x_y + x_i)^p / C. Note the division by the number of classes C; the SVM loss of the
        /// seed sheets (and CS231n) is the same sum without it, see <see cref="MulticlassSvmLoss"/>.
        /// </summary>
        public static Tensor MultiMarginLoss(Tensor input, Tensor target, int p = 1, double margin = 1.0, Reduction reduction = Reduction.Mean)
        {
            var (scores, index) = ClassTargets(input, target, nameof(MultiMarginLoss));
            var perSample = HingeSum(scores, index, p, margin) / scores.ShapeRef[1];
            return Reduce(Unbatch(perSample, input, reduction), reduction, nameof(MultiMarginLoss));
        }

        /// <summary>
        /// The multiclass SVM (hinge) loss Σ_{j≠y} max(0, s_j − s_y + margin) per sample, as the seed sheets and CS231n define
        /// it: <see cref="MultiMarginLoss"/> times the number of classes.
        /// </summary>
        public static Tensor MulticlassSvmLoss(Tensor input, Tensor target, double margin = 1.0, Reduction reduction = Reduction.Mean)
        {
            var (scores, index) = ClassTargets(input, target, nameof(MulticlassSvmLoss));
            return Reduce(Unbatch(HingeSum(scores, index, 1, margin), input, reduction), reduction, nameof(MulticlassSvmLoss));
        }

        private static Tensor HingeSum(Tensor scores, Tensor index, int p, double margin)
        {
            if (p is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(p), p, "MultiMarginLoss: p must be 1 or 2.");
            var correct = scores.Gather(1, index);                         // [N, 1]
            var hinge = (scores - correct + margin).Relu();                // the j = y term is exactly max(0, margin)
            if (p == 2) hinge = hinge * hinge;
            var notTarget = 1.0 - OneHot(index.Reshape(-1), scores.ShapeRef[1], scores.DType);
            return (hinge * notTarget).Sum(1);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int MultiMarginLoss = Register(nameof(MultiMarginLoss), static c =>
        {
            // Scores spaced so that no margin term sits at its kink.
            var scores = Tensor.FromArray(new[] { 0.1, 1.9, -0.7, 0.55, 2.3, -1.4, 0.9, 0.2, -0.35, 1.25, 0.6, -2.0 }, 3, 4);
            var target = Tensor.FromArray(new long[] { 1, 0, 3 });
            c.Add("p 1", x => NN.Functional.MultiMarginLoss(x[0], target), scores.Clone());
            c.Add("p 2, sum", x => NN.Functional.MultiMarginLoss(x[0], target, 2, 0.8, NN.Reduction.Sum), scores.Clone());
            c.Add("svm", x => NN.Functional.MulticlassSvmLoss(x[0], target), scores.Clone());
            c.Add("p 1, none", x => NN.Functional.MultiMarginLoss(x[0], target, 1, 1.0, NN.Reduction.None), scores.Clone());
            c.Add("svm, sum", x => NN.Functional.MulticlassSvmLoss(x[0], target, 1.0, NN.Reduction.Sum), scores.Clone());
        });
    }
}
