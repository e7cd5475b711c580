using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Elementwise softplus <c>log(1 + e^(βx)) / β</c>, computed as <c>(max(βx, 0) + log1p(e^−|βx|)) / β</c> so it never
        /// overflows; where <c>βx &gt; threshold</c> it is x itself, as in PyTorch (PyTorch: <c>softplus(beta=1,
        /// threshold=20)</c>). Its derivative is <c>σ(βx)</c> (1/2 at 0), and 1 above the threshold.
        /// </summary>
        public Tensor Softplus(double beta = 1, double threshold = 20)
        {
            EnsureFloatingPoint(nameof(Softplus));
            if (beta == 0 || double.IsNaN(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "Softplus: beta must be a non-zero number.");
            Tensor y;
            using (Autograd.NoGrad())
            {
                var bx = beta == 1 ? this : this * beta;
                var soft = bx.Relu() + (-bx.Abs()).Exp().Log1p();
                if (beta != 1) soft = soft / beta;
                y = Where(bx.Gt(threshold), this, soft);
            }
            y = y.Detach();
            return Autograd.Record(y, "SoftplusBackward", [this], g =>
            {
                var bx = beta == 1 ? this : this * beta;
                return [g * Where(bx.Gt(threshold), ScalarLike(1), bx.Sigmoid())];
            }, attributes: new SoftplusAttributes(beta, threshold));
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Softplus = Register(nameof(Softplus), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Softplus(), c.Normal(s));
            c.Add("beta 2", x => x[0].Softplus(beta: 2), c.Normal(3, 4));
            c.Add("beta 0.5, threshold 1", x => x[0].Softplus(0.5, 1), c.Uniform(-6, 6, 9));
            c.Add("above threshold", x => x[0].Softplus(threshold: 5), c.Uniform(5.5, 9, 4));
            c.Add("functional", x => F.Softplus(x[0], 3, 4), c.Normal(7));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Softplus, <see cref="Tensor.Softplus"/> (PyTorch: <c>torch.nn.functional.softplus</c>).</summary>
        public static Tensor Softplus(Tensor input, double beta = 1, double threshold = 20)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Softplus(beta, threshold);
        }
    }
}
