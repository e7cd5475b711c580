using System.Numerics;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The piecewise-linear sigmoid <c>min(max(x + 3, 0), 6) / 6</c>, elementwise (PyTorch: <c>hardsigmoid</c>). The
        /// gradient is 1/6 for −3 &lt; x &lt; 3 and 0 elsewhere (the ends included, as in PyTorch).
        /// </summary>
        public Tensor HardSigmoid()
        {
            var y = Map1<HardSigmoidFunction>(this, nameof(HardSigmoid));
            return Autograd.Record(y, "HardSigmoidBackward", [this], g =>
                [g * Where(Gt(-3.0).LogicalAnd(Lt(3.0)), ScalarLike(1.0 / 6), ScalarLike(0))]);
        }
    }

    /// <summary><c>min(max(x + 3, 0), 6) / 6</c>, in PyTorch's order of operations (so the roundings agree).</summary>
    internal readonly struct HardSigmoidFunction : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T six = T.CreateTruncating(6);
            return T.Min(T.Max(x + T.CreateTruncating(3), T.Zero), six) / six;
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var six = TV.Create(T.CreateTruncating(6));
            return TV.Min(TV.Max(x + TV.Create(T.CreateTruncating(3)), TV.Zero), six) / six;
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int HardSigmoid = Register(nameof(HardSigmoid), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].HardSigmoid(), c.Uniform(-2.9, 2.9, s));
            c.Add("flat parts", x => x[0].HardSigmoid(), c.Uniform(3.1, 6, 4));
            c.Add("functional", x => F.HardSigmoid(-x[0]), c.Uniform(-2.9, 2.9, 5));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Hard sigmoid, <see cref="Tensor.HardSigmoid"/> (PyTorch: <c>torch.nn.functional.hardsigmoid</c>).</summary>
        public static Tensor HardSigmoid(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.HardSigmoid();
        }
    }
}
