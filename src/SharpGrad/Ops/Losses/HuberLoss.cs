namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Huber loss (PyTorch: <c>F.huber_loss</c>): ½d² where |d| &lt; δ, δ(|d| − ½δ) elsewhere, with d = x − y.
        /// </summary>
        public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
        {
            SameShape(input, target, nameof(HuberLoss));
            if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "HuberLoss: delta must be positive.");
            var a = (input - target).Abs();
            var quadratic = a.Clamp(max: delta);
            var linear = a - quadratic;
            return Reduce(quadratic * quadratic * 0.5 + linear * delta, reduction, nameof(HuberLoss));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int HuberLoss = Register(nameof(HuberLoss), static c =>
        {
            var target = Tensor.FromArray(new[] { 0.3, -1.1, 0.8, 0.0, 2.0, -0.5 }, 2, 3);
            var input = target + Tensor.FromArray(new[] { -2.5, -0.6, 0.2, 1.3, 0.45, -1.7 }, 2, 3); // away from |d| = δ
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"delta 1, {r}", x => NN.Functional.HuberLoss(x[0], x[1], r), input.Clone(), target.Clone());
            c.Add("delta 0.5", x => NN.Functional.HuberLoss(x[0], x[1], NN.Reduction.Mean, 0.5), input.Clone(), target.Clone());
        });
    }
}
