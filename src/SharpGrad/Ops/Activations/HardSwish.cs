using System.Numerics;
using System.Runtime.Intrinsics;
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
        public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var six = Vector128.Create(T.CreateTruncating(6));
            return x * Vector128.Min(Vector128.Max(x + Vector128.Create(T.CreateTruncating(3)), Vector128<T>.Zero), six) / six;
        }
        public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var six = Vector256.Create(T.CreateTruncating(6));
            return x * Vector256.Min(Vector256.Max(x + Vector256.Create(T.CreateTruncating(3)), Vector256<T>.Zero), six) / six;
        }
        public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var six = Vector512.Create(T.CreateTruncating(6));
            return x * Vector512.Min(Vector512.Max(x + Vector512.Create(T.CreateTruncating(3)), Vector512<T>.Zero), six) / six;
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
