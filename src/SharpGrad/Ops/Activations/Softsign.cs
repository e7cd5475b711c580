using System.Numerics;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary><c>x / (1 + |x|)</c>, elementwise (PyTorch: <c>softsign</c>); <c>d/dx = 1 / (1 + |x|)²</c>.</summary>
        public Tensor Softsign()
        {
            var y = Map1<SoftsignFunction>(this, nameof(Softsign));
            return Autograd.Record(y, "SoftsignBackward", [this], g => [g / (Abs() + 1.0).Square()]);
        }
    }

    /// <summary>x / (1 + |x|).</summary>
    internal readonly struct SoftsignFunction : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x / (T.One + T.Abs(x));
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x / (TV.One + TV.Abs(x));
    }

    internal static partial class GradChecks
    {
        internal static readonly int Softsign = Register(nameof(Softsign), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Softsign(), c.AwayFromZero(s));
            c.Add("functional", x => F.Softsign(x[0]), c.AwayFromZero(2, 3));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Softsign, <see cref="Tensor.Softsign"/> (PyTorch: <c>torch.nn.functional.softsign</c>).</summary>
        public static Tensor Softsign(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Softsign();
        }
    }
}
