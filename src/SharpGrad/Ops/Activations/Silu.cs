using System.Numerics;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The sigmoid-weighted linear unit (swish), <c>SiLU(x) = x · σ(x)</c>, elementwise (PyTorch: <c>silu</c>);
        /// <c>d/dx = σ(x) · (1 + x · (1 − σ(x)))</c>.
        /// </summary>
        public Tensor Silu()
        {
            var y = Map1<SiluFunction>(this, nameof(Silu));
            return Autograd.Record(y, "SiluBackward", [this], g =>
            {
                var s = Sigmoid();
                return [g * (s * (this * (1.0 - s) + 1.0))];
            });
        }
    }

    /// <summary><c>x / (1 + e^(−x))</c>: one exponential; for very negative x, e^(−x) = ∞ gives −0 rather than NaN.</summary>
    internal readonly struct SiluFunction : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x / (T.One + T.Exp(-x));
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x / (TV.One + TV.Exp(-x));
    }

    internal static partial class GradChecks
    {
        internal static readonly int Silu = Register(nameof(Silu), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Silu(), c.Normal(s));
            c.Add("functional", x => F.Silu(x[0]), c.Uniform(-6, 6, 3, 4));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>SiLU, <see cref="Tensor.Silu"/> (PyTorch: <c>torch.nn.functional.silu</c>).</summary>
        public static Tensor Silu(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Silu();
        }
    }
}
