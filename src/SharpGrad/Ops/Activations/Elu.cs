using System.Numerics;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The exponential linear unit, elementwise (PyTorch: <c>elu</c>; Clevert et al., 2015):
        /// <c>x</c> for x &gt; 0, <c>α (eˣ − 1)</c> otherwise. <c>d/dx = 1</c> for x &gt; 0, <c>α eˣ</c> otherwise.
        /// </summary>
        public Tensor Elu(double alpha = 1.0) => EluScaled(alpha, 1.0, nameof(Elu));

        /// <summary><c>scale · ELU_α(x)</c>: ELU itself and SELU's forward and backward.</summary>
        internal Tensor EluScaled(double alpha, double scale, string op)
        {
            EnsureFloatingPoint(op);
            var y = Uninitialized(_shape, DType);
            DTypeDispatch.Float(DType, new EluKernel(this, y, alpha, scale), op);
            return Autograd.Record(y, op + "Backward", [this], g => [g * Where(Gt(0.0), ScalarLike(scale), Exp() * (alpha * scale))],
                attributes: new EluAttributes(alpha, scale));
        }

        /// <summary>
        /// One pass, <c>scale · x</c> or <c>scale · α · expm1(x)</c> (expm1 keeps the small negative values exact). Scalar:
        /// α and the scale are run-time values, which the operator structs of <see cref="Kernels.Map"/> cannot carry.
        /// </summary>
        private readonly struct EluKernel(Tensor x, Tensor y, double alpha, double scale) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                T s = T.CreateTruncating(scale), sa = T.CreateTruncating(scale * alpha);
                for (int i = 0; i < ys.Length; i++)
                {
                    T v = xs[i];
                    ys[i] = v > T.Zero ? s * v : sa * Expm1Function.Apply(v);
                }
            }
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Elu = Register(nameof(Elu), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Elu(), c.AwayFromZero(s));
            c.Add("alpha 0.5", x => x[0].Elu(0.5), c.AwayFromZero(3, 4));
            c.Add("functional", x => F.Elu(x[0], 2.0), c.AwayFromZero(7));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>ELU, <see cref="Tensor.Elu"/> (PyTorch: <c>torch.nn.functional.elu</c>).</summary>
        public static Tensor Elu(Tensor input, double alpha = 1.0)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Elu(alpha);
        }
    }
}
