using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Elementwise clamp to [<paramref name="min"/>, <paramref name="max"/>] (PyTorch: <c>hardtanh</c>). Unlike
        /// <see cref="Clamp"/>, the gradient is 1 only strictly inside the interval and 0 at its ends, as PyTorch's is.
        /// </summary>
        public Tensor Hardtanh(double min = -1, double max = 1)
        {
            EnsureFloatingPoint(nameof(Hardtanh));
            if (!(min <= max)) throw new ArgumentException($"Hardtanh: min ({min}) must not be greater than max ({max}).");
            Tensor y;
            using (Autograd.NoGrad()) y = Clamp(min, max);
            y = y.Detach();
            return Autograd.Record(y, "HardtanhBackward", [this], g => [Where(Gt(min).LogicalAnd(Lt(max)), g, 0.0)], attributes: new ClampAttributes(min, max));
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Hardtanh = Register(nameof(Hardtanh), static c =>
        {
            c.Add(x => x[0].Hardtanh(), c.Uniform(-0.95, 0.95, 2, 3));
            c.Add("saturated", x => x[0].Hardtanh(), c.Uniform(1.05, 3, 4));
            c.Add("bounds", x => x[0].Hardtanh(-2, 0.5), c.Uniform(-1.9, 0.4, 5));
            c.Add("functional", x => F.Hardtanh(x[0], 0, 6), c.Uniform(0.1, 5.9, 1, 4, 1));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Hardtanh, <see cref="Tensor.Hardtanh"/> (PyTorch: <c>torch.nn.functional.hardtanh</c>; ReLU6 is min 0, max 6).</summary>
        public static Tensor Hardtanh(Tensor input, double min = -1, double max = 1)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Hardtanh(min, max);
        }
    }
}
