using System.Numerics;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Mish, <c>x · tanh(softplus(x))</c>, elementwise (PyTorch: <c>mish</c>; Misra, 2019). With <c>t = tanh(softplus(x))</c>,
        /// <c>d/dx = t + x · σ(x) · (1 − t²)</c>.
        /// </summary>
        public Tensor Mish()
        {
            var y = Map1<MishFunction>(this, nameof(Mish));
            return Autograd.Record(y, "MishBackward", [this], g =>
            {
                var t = Softplus().Tanh();
                return [g * (t + this * Sigmoid() * (1.0 - t * t))];
            });
        }
    }

    /// <summary>
    /// With <c>n = eˣ</c>, <c>tanh(log(1 + n)) = (n² + 2n) / (n² + 2n + 2)</c>: one exponential and no tanh or log. Above
    /// x = 20 the factor is 1 to within 1e-17 (and n² would overflow float), so x itself is returned.
    /// </summary>
    internal readonly struct MishFunction : IUnaryFunction
    {
        private const double Cut = 20;

        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (x > T.CreateTruncating(Cut)) return x;
            T n = T.Exp(x), t = n * (n + T.CreateTruncating(2));
            return x * t / (t + T.CreateTruncating(2));
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var two = TV.Create(T.CreateTruncating(2));
            var n = TV.Exp(x);
            var t = n * (n + two);
            return TV.ConditionalSelect(TV.GreaterThan(x, TV.Create(T.CreateTruncating(Cut))), x, x * t / (t + two));
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Mish = Register(nameof(Mish), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Mish(), c.Normal(s));
            c.Add("wide", x => x[0].Mish(), c.Uniform(-8, 8, 9));
            c.Add("functional", x => F.Mish(x[0]), c.Normal(2, 3));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Mish, <see cref="Tensor.Mish"/> (PyTorch: <c>torch.nn.functional.mish</c>).</summary>
        public static Tensor Mish(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Mish();
        }
    }
}
