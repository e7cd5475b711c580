namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Mean absolute error (PyTorch: <c>F.l1_loss</c>): |x − y| reduced; the gradient at x = y is 0, as PyTorch's.</summary>
        public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
        {
            SameShape(input, target, nameof(L1Loss));
            return Reduce((input - target).Abs(), reduction, nameof(L1Loss));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int L1Loss = Register(nameof(L1Loss), static c =>
        {
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"{r}", x => NN.Functional.L1Loss(x[0], x[1], r), c.Uniform(1.5, 3, 3, 4), c.Uniform(-1, 1, 3, 4)); // x − y kept away from 0
        });
    }
}
