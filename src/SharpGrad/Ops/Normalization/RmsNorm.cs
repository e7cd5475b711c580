using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Root-mean-square normalisation over the trailing dimensions <paramref name="normalizedShape"/> (PyTorch 2.4:
        /// <c>torch.nn.functional.rms_norm</c>; Zhang and Sennrich, 2019): <c>x / √(mean(x²) + eps) · w</c>, no centring.
        /// <paramref name="eps"/> null is the machine epsilon of the input's dtype, as in PyTorch; <paramref name="weight"/>
        /// (shaped like <paramref name="normalizedShape"/>) may be null. Composed of recorded ops.
        /// </summary>
        public static Tensor RmsNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, double? eps = null)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(normalizedShape);
            input.EnsureFloatingPoint(nameof(RmsNorm));
            int k = normalizedShape.Length;
            int[] shape = input.ShapeRef;
            if (k == 0 || k > shape.Length || !shape.AsSpan(shape.Length - k).SequenceEqual(normalizedShape))
                throw new ArgumentException($"RmsNorm: the input's trailing dimensions must be the normalized shape {Shapes.Format(normalizedShape)}; got input {Shapes.Format(shape)}.", nameof(normalizedShape));
            if (weight is not null && !Shapes.Equal(weight.ShapeRef, normalizedShape))
                throw new ArgumentException($"RmsNorm: the weight must have the normalized shape {Shapes.Format(normalizedShape)}; got {Shapes.Format(weight.ShapeRef)}.", nameof(weight));
            double e = eps ?? (input.DType == DType.Float32 ? 1.1920928955078125e-07 : 2.220446049250313e-16);
            int[] rows = [.. shape[..(shape.Length - k)], Shapes.Numel(normalizedShape)];
            var x = input.Reshape(rows);
            var y = (x * (x.Square().Mean(-1, keepDim: true) + e).Rsqrt()).Reshape(shape);
            return weight is null ? y : y * weight;
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int RmsNorm = Register(nameof(RmsNorm), static c =>
        {
            c.Add("weight", x => F.RmsNorm(x[0], [5], x[1]), c.Normal(3, 5), c.Normal(5));
            c.Add("no weight, two dims", x => F.RmsNorm(x[0], [3, 4], null, 1e-3), c.Normal(2, 3, 4));
            c.Add("vector", x => F.RmsNorm(x[0], [6], x[1]), c.Normal(6), c.Normal(6));
        });
    }
}
