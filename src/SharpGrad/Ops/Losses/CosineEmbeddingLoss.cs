namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Cosine embedding loss (PyTorch: <c>F.cosine_embedding_loss</c>): with cos = x₁·x₂ / √((‖x₁‖² + 1e-12)(‖x₂‖² + 1e-12))
        /// per row, 1 − cos where the target is 1 and max(0, cos − margin) where it is −1 (0 for any other target).
        /// Inputs [N, D] with targets [N], or [D] with a 0-d target.
        /// </summary>
        public static Tensor CosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin = 0, Reduction reduction = Reduction.Mean)
        {
            ArgumentNullException.ThrowIfNull(input1);
            ArgumentNullException.ThrowIfNull(input2);
            ArgumentNullException.ThrowIfNull(target);
            const string op = nameof(CosineEmbeddingLoss);
            if (target.Rank > 1) throw new ArgumentException($"{op}: expected a 0-d or 1-d target; got shape {Shapes.Format(target.ShapeRef)}.");
            int want = target.Rank + 1;
            if (input1.Rank != want || input2.Rank != want)
                throw new ArgumentException($"{op}: a target of shape {Shapes.Format(target.ShapeRef)} takes {want}-d inputs; got {Shapes.Format(input1.ShapeRef)} and {Shapes.Format(input2.ShapeRef)}.");
            if (target.Rank == 1 && (input1.ShapeRef[0] != target.ShapeRef[0] || input2.ShapeRef[0] != target.ShapeRef[0]))
                throw new ArgumentException($"{op}: inputs {Shapes.Format(input1.ShapeRef)} and {Shapes.Format(input2.ShapeRef)} need one target per row; got {Shapes.Format(target.ShapeRef)}.");
            int d = target.Rank;
            const double epsilon = 1e-12;
            var dot = (input1 * input2).Sum(d);
            var denominator = (((input1 * input1).Sum(d) + epsilon) * ((input2 * input2).Sum(d) + epsilon)).Sqrt();
            var cos = dot / denominator;
            var t = target.DType.IsFloatingPoint() ? target.To(cos.DType) : target.To(DType.Float64).To(cos.DType);
            var loss = Tensor.Where(t.Eq(1), 1.0 - cos, 0.0) + Tensor.Where(t.Eq(-1), (cos - margin).Clamp(min: 0), 0.0);
            return Reduce(loss, reduction, op);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int CosineEmbeddingLoss = Register(nameof(CosineEmbeddingLoss), static c =>
        {
            var target = Tensor.FromArray(new[] { 1.0, -1, -1, 1, -1 });
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"{r}", x => NN.Functional.CosineEmbeddingLoss(x[0], x[1], target, -0.5, r), c.Normal(5, 3), c.Normal(5, 3));
            c.Add("unbatched", x => NN.Functional.CosineEmbeddingLoss(x[0], x[1], Tensor.Scalar(-1.0, DType.Float64), -0.9), c.Normal(4), c.Normal(4));
        });
    }
}
