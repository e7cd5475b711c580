using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Divides each vector along <paramref name="dim"/> by its p-norm, <c>x / max(‖x‖_p, eps)</c> (PyTorch:
        /// <c>torch.nn.functional.normalize</c>); eps keeps zero vectors at zero. See <see cref="Tensor.Norm"/> for p.
        /// </summary>
        public static Tensor Normalize(Tensor input, double p = 2, int dim = 1, double eps = 1e-12)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input / input.Norm(p, dim, keepDim: true).Clamp(min: eps);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Normalize = Register(nameof(Normalize), static c =>
        {
            c.Add("2, dim 1", x => F.Normalize(x[0]), c.Normal(3, 4));
            c.Add("1, dim -1", x => F.Normalize(x[0], 1, -1), c.AwayFromZero(2, 3, 4));
            c.Add("3, dim 0", x => F.Normalize(x[0], 3, 0), c.AwayFromZero(4, 2));
        });
    }
}
