using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>SELU's α (Klambauer et al., 2017), as PyTorch spells it.</summary>
        internal const double SeluAlpha = 1.6732632423543772848170429916717;

        /// <summary>SELU's scale λ.</summary>
        internal const double SeluScale = 1.0507009873554804934193349852946;

        /// <summary>
        /// The scaled exponential linear unit, <c>λ · ELU_α(x)</c> with the self-normalising constants α ≈ 1.6733 and
        /// λ ≈ 1.0507, elementwise (PyTorch: <c>selu</c>).
        /// </summary>
        public Tensor Selu() => EluScaled(SeluAlpha, SeluScale, nameof(Selu));
    }

    internal static partial class GradChecks
    {
        internal static readonly int Selu = Register(nameof(Selu), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Selu(), c.AwayFromZero(s));
            c.Add("functional", x => F.Selu(x[0]), c.AwayFromZero(6));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>SELU, <see cref="Tensor.Selu"/> (PyTorch: <c>torch.nn.functional.selu</c>).</summary>
        public static Tensor Selu(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Selu();
        }
    }
}
