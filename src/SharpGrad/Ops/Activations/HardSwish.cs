using System.Numerics;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// <c>x · min(max(x + 3, 0), 6) / 6</c>, elementwise (PyTorch: <c>hardswish</c>; MobileNetV3). The gradient is 0
        /// for x &lt; −3, <c>x/3 + 1/2</c> for −3 ≤ x ≤ 3 and 1 above, PyTorch's choice at the two kinks.
        /// </summary>
        public Tensor HardSwish()
        {
            var y = Map1<HardSwishFunction>(this, nameof(HardSwish));
            return Autograd.Record(y, "HardSwishBackward", [this], g =>
                [g * Where(Lt(-3.0), 0.0, Where(Le(3.0), this / 3.0 + 0.5, 1.0))]);
        }
    }

    /// <summary><c>x · min(max(x + 3, 0), 6) / 6</c>, in PyTorch's order of operations.</summary>
    internal readonly struct HardSwishFunction : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T six = T.CreateTruncating(6);
            return x * T.Min(T.Max(x + T.CreateTruncating(3), T.Zero), six) / six;
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var six = TV.Create(T.CreateTruncating(6));
            return x * TV.Min(TV.Max(x + TV.Create(T.CreateTruncating(3)), TV.Zero), six) / six;
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int HardSwish = Register(nameof(HardSwish), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].HardSwish(), c.Uniform(-2.9, 2.9, s));
            c.Add("outer parts", x => x[0].HardSwish(), c.Uniform(3.1, 6, 4));
            c.Add("functional", x => F.HardSwish(-x[0]), c.Uniform(3.1, 6, 4));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Hard swish, <see cref="Tensor.HardSwish"/> (PyTorch: <c>torch.nn.functional.hardswish</c>).</summary>
        public static Tensor HardSwish(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.HardSwish();
        }
    }
}
