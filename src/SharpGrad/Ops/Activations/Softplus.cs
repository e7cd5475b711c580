using F = SharpGrad.NN.Functional;

// The op itself, Tensor.Softplus(beta, threshold), is in Ops/Activations.cs (it predates this layout); this file
// holds its functional form and its gradient checks.
namespace SharpGrad
{
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
