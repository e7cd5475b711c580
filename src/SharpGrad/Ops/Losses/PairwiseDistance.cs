namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// The p-norm distance between rows (PyTorch: <c>F.pairwise_distance</c>): ‖x₁ − x₂ + ε‖_p along the last dimension,
        /// ε added to the difference as PyTorch does (it keeps the norm's gradient finite where x₁ = x₂); the inputs
        /// broadcast against each other.
        /// </summary>
        public static Tensor PairwiseDistance(Tensor x1, Tensor x2, double p = 2, double eps = 1e-6, bool keepDim = false)
        {
            ArgumentNullException.ThrowIfNull(x1);
            ArgumentNullException.ThrowIfNull(x2);
            if (Math.Max(x1.Rank, x2.Rank) == 0) throw new ArgumentException("PairwiseDistance: the inputs are 0-dimensional; they need a dimension to measure along.");
            return (x1 - x2 + eps).Norm(p, -1, keepDim);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int PairwiseDistance = Register(nameof(PairwiseDistance), static c =>
        {
            c.Add("p 2", x => NN.Functional.PairwiseDistance(x[0], x[1]), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("p 1, keepDim", x => NN.Functional.PairwiseDistance(x[0], x[1], 1, keepDim: true), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("p 3, broadcast", x => NN.Functional.PairwiseDistance(x[0], x[1], 3), c.Normal(2, 5), c.Normal(5));
        });
    }
}
