namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Cosine similarity along <paramref name="dim"/> (PyTorch: <c>F.cosine_similarity</c>):
        /// Σ (x₁ / max(‖x₁‖, ε)) (x₂ / max(‖x₂‖, ε)), each norm clamped at <paramref name="eps"/> as PyTorch 1.13 does; the
        /// inputs broadcast against each other and <paramref name="dim"/> is removed.
        /// </summary>
        public static Tensor CosineSimilarity(Tensor x1, Tensor x2, int dim = 1, double eps = 1e-8)
        {
            ArgumentNullException.ThrowIfNull(x1);
            ArgumentNullException.ThrowIfNull(x2);
            if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "CosineSimilarity: eps must be ≥ 0.");
            int rank = Math.Max(x1.Rank, x2.Rank);
            if (rank == 0) throw new ArgumentException("CosineSimilarity: the inputs are 0-dimensional; they need the dimension to compare along.");
            int d = Shapes.WrapDim(dim, rank, nameof(CosineSimilarity));
            var a = x1.Rank < rank ? x1.Reshape([.. Enumerable.Repeat(1, rank - x1.Rank), .. x1.ShapeRef]) : x1;
            var b = x2.Rank < rank ? x2.Reshape([.. Enumerable.Repeat(1, rank - x2.Rank), .. x2.ShapeRef]) : x2;
            var na = a.Norm(2, d, keepDim: true).Clamp(min: eps);
            var nb = b.Norm(2, d, keepDim: true).Clamp(min: eps);
            return (a / na * (b / nb)).Sum(d);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int CosineSimilarity = Register(nameof(CosineSimilarity), static c =>
        {
            c.Add("dim 1", x => NN.Functional.CosineSimilarity(x[0], x[1]), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("dim -1, broadcast", x => NN.Functional.CosineSimilarity(x[0], x[1], -1), c.Normal(2, 3, 5), c.Normal(3, 5));
            c.Add("dim 0", x => NN.Functional.CosineSimilarity(x[0], x[1], 0), c.Normal(4), c.Normal(4));
        });
    }
}
