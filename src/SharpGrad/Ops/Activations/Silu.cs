using System.Numerics;
using System.Runtime.Intrinsics;
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
        public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => x / (Vector128<T>.One + VMath.Exp(-x));
        public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => x / (Vector256<T>.One + VMath.Exp(-x));
        public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => x / (Vector512<T>.One + VMath.Exp(-x));
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
