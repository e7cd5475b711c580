namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Smooth L1 loss (PyTorch: <c>F.smooth_l1_loss</c>): with d = x − y, ½d²/β where |d| &lt; β and |d| − ½β elsewhere;
        /// β = 0 is the L1 loss. It is <see cref="HuberLoss"/> divided by β.
        /// </summary>
        public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
        {
            SameShape(input, target, nameof(SmoothL1Loss));
            if (!(beta >= 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "SmoothL1Loss: beta must be finite and ≥ 0.");
            var a = (input - target).Abs();
            if (beta == 0) return Reduce(a, reduction, nameof(SmoothL1Loss));
            var quadratic = a.Clamp(max: beta);
            return Reduce(quadratic * quadratic * (0.5 / beta) + (a - quadratic), reduction, nameof(SmoothL1Loss));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int SmoothL1Loss = Register(nameof(SmoothL1Loss), static c =>
        {
            // Inputs placed so that the differences lie on both pieces, away from the joins at |d| = β and d = 0.
            var target = Tensor.FromArray(new[] { 0.3, -1.1, 0.8, 0.0, 2.0, -0.5, 1.2, 0.7 }, 2, 4);
            var input = target + Tensor.FromArray(new[] { -2.5, -0.6, -0.2, 0.3, 0.45, 1.7, 0.15, -1.2 }, 2, 4);
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"beta 0.8, {r}", x => NN.Functional.SmoothL1Loss(x[0], x[1], r, 0.8), input.Clone(), target.Clone());
            c.Add("beta 0 (L1)", x => NN.Functional.SmoothL1Loss(x[0], x[1], NN.Reduction.Mean, 0), input.Clone(), target.Clone());
        });
    }
}
