namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The vector p-norm over <paramref name="dim"/> (all elements when null), <c>(Σ |x|^p)^(1/p)</c> (PyTorch:
        /// <c>norm(p, dim, keepdim)</c> / <c>linalg.vector_norm</c>): p = 2 (Euclidean), 1 (sum of magnitudes),
        /// <see cref="double.PositiveInfinity"/> (largest magnitude) or any other positive p. Gradients as PyTorch's:
        /// <c>g · x / ‖x‖</c> for p = 2 (0 where the norm is 0), <c>g · sign x</c> for p = 1, for ∞ <c>g · sign x</c>
        /// shared among the elements of largest magnitude, and <c>g · sign x · |x|^(p−1) / ‖x‖^(p−1)</c> otherwise.
        /// </summary>
        public Tensor Norm(double p = 2, int? dim = null, bool keepDim = false)
        {
            EnsureFloatingPoint(nameof(Norm));
            if (!(p > 0)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Norm: p must be positive (1, 2, infinity or another positive value); got {p} for a tensor of shape {Shapes.Format(_shape)}.");
            int d = dim is int k ? Shapes.WrapDim(k, Rank, nameof(Norm)) : -1;
            if (Rank == 0) d = -1; // a 0-d tensor's one dimension is all of it
            Tensor y;
            using (Autograd.NoGrad())
            {
                var flat = d < 0 ? Reshape(-1) : this;
                int rd = d < 0 ? 0 : d;
                y = p switch
                {
                    2 => flat.Square().Sum(rd, keepDim).Sqrt(),
                    1 => flat.Abs().Sum(rd, keepDim),
                    double.PositiveInfinity => flat.Numel == 0 ? flat.Abs().Sum(rd, keepDim) : flat.Abs().Max(rd, keepDim),
                    _ => flat.Abs().Pow(p).Sum(rd, keepDim).Pow(1 / p),
                };
                if (d < 0) y = y.Reshape(ReducedShape(d, keepDim));
            }
            y = y.Detach();
            if (!Autograd.ShouldRecord(this)) return y;
            return Autograd.Record(y, "NormBackward", [this], g =>
            {
                var gk = ReducedGradient(g, d, keepDim);
                var yk = ReducedGradient(y, d, keepDim);
                switch (p)
                {
                    case 2: return [Where(yk.Eq(0.0), 0.0, this / yk) * gk];
                    case 1: return [Sign() * gk];
                    case double.PositiveInfinity:
                        var top = Abs().Eq(yk).To(DType);
                        var ties = d < 0 ? top.Sum() : top.Sum(d, keepDim: true);
                        return [Sign() * top / ties * gk];
                    default:
                        var scaled = Sign() * Abs().Pow(p - 1);
                        return [scaled * Where(yk.Eq(0.0), 0.0, gk / yk.Pow(p - 1))];
                }
            });
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Norm = Register(nameof(Norm), static c =>
        {
            c.Add("2, all", x => x[0].Norm(), c.Normal(3, 4));
            c.Add("2, dim 1", x => x[0].Norm(2, 1), c.Normal(3, 4));
            c.Add("2, dim 0, keepDim", x => x[0].Norm(2, 0, keepDim: true), c.Normal(3, 2, 2));
            c.Add("1, dim -1", x => x[0].Norm(1, -1), c.AwayFromZero(2, 5));
            c.Add("1, all", x => x[0].Norm(1), c.AwayFromZero(7));
            c.Add("inf, dim 1", x => x[0].Norm(double.PositiveInfinity, 1), c.AwayFromZero(3, 4));
            c.Add("inf, all", x => x[0].Norm(double.PositiveInfinity), c.AwayFromZero(2, 3));
            c.Add("3, dim 0", x => x[0].Norm(3, 0), c.AwayFromZero(4, 3));
            c.Add("1.5, all", x => x[0].Norm(1.5), c.AwayFromZero(5));
        });
    }
}
