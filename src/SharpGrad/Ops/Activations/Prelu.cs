using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// The parametric ReLU, <c>x</c> for x &gt; 0 and <c>a · x</c> otherwise, with a learnt slope <c>a</c> (PyTorch:
        /// <c>torch.nn.functional.prelu</c>; He et al., 2015). <paramref name="weight"/> holds one slope, or one per
        /// channel (dimension 1 of the input). Gradients: <c>g</c> or <c>a·g</c> for the input, <c>Σ x·g</c> over the
        /// non-positive inputs of each channel for the slope.
        /// </summary>
        public static Tensor Prelu(Tensor input, Tensor weight)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(weight);
            input.EnsureFloatingPoint(nameof(Prelu));
            int n = weight.Numel;
            if (weight.Rank > 1 || n == 0)
                throw new ArgumentException($"Prelu: the weight must be one value or a vector of one slope per channel; got shape {Shapes.Format(weight.ShapeRef)}.", nameof(weight));
            Tensor slope;
            if (n == 1) slope = weight.Reshape();
            else
            {
                if (input.Rank < 2 || input.ShapeRef[1] != n)
                    throw new ArgumentException($"Prelu: {n} slopes need an input with {n} channels in dimension 1; got input {Shapes.Format(input.ShapeRef)}.", nameof(weight));
                var shape = new int[input.Rank - 1];
                Array.Fill(shape, 1);
                shape[0] = n;
                slope = weight.Reshape(shape);
            }
            return Tensor.Where(input.Gt(0.0), input, slope * input);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Prelu = Register(nameof(Prelu), static c =>
        {
            c.Add("per channel", x => F.Prelu(x[0], x[1]), c.AwayFromZero(2, 3, 4), c.Uniform(0.1, 0.5, 3));
            c.Add("one slope", x => F.Prelu(x[0], x[1]), c.AwayFromZero(2, 3), c.Uniform(0.1, 0.5, 1));
            c.Add("0-d slope", x => F.Prelu(x[0], x[1]), c.AwayFromZero(5), c.Uniform(0.1, 0.5));
            c.Add("channels only", x => F.Prelu(x[0], x[1]), c.AwayFromZero(4, 2), c.Uniform(0.1, 0.5, 2));
        });
    }
}
