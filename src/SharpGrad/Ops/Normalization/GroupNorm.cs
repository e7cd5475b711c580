using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Group normalisation (PyTorch: <c>torch.nn.functional.group_norm</c>; Wu and He, 2018): the channels of an
        /// input [N, C, *] are split into <paramref name="numGroups"/> groups, each (sample, group) is centred and divided
        /// by <c>√(Var + eps)</c> (population variance over the group's channels and positions), then every channel is
        /// scaled by <paramref name="weight"/> [C] and shifted by <paramref name="bias"/> [C] (either may be null).
        /// Composed of recorded ops, so it can be differentiated twice.
        /// </summary>
        public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
        {
            ArgumentNullException.ThrowIfNull(input);
            input.EnsureFloatingPoint(nameof(GroupNorm));
            int[] shape = input.ShapeRef;
            if (shape.Length < 2) throw new ArgumentException($"GroupNorm: the input must be [N, C, *]; got {Shapes.Format(shape)}.", nameof(input));
            int n = shape[0], c = shape[1];
            if (numGroups <= 0 || c % numGroups != 0)
                throw new ArgumentOutOfRangeException(nameof(numGroups), numGroups, $"GroupNorm: the {c} channels of input {Shapes.Format(shape)} cannot be split into {numGroups} equal groups.");
            var groups = input.Reshape(n, numGroups, input.Numel / Math.Max(1, n * numGroups));
            var mean = groups.Mean(2, keepDim: true);
            var variance = groups.Var(2, correction: 0, keepDim: true);
            var y = ((groups - mean) * (variance + eps).Rsqrt()).Reshape(shape);
            return ChannelAffine(y, weight, bias, nameof(GroupNorm));
        }

        /// <summary><c>y · w + b</c> with w and b [C] broadcast along dimension 1 of y [N, C, *]; either may be null.</summary>
        internal static Tensor ChannelAffine(Tensor y, Tensor? weight, Tensor? bias, string op)
        {
            int c = y.ShapeRef[1];
            var perChannel = new int[y.Rank - 1];
            Array.Fill(perChannel, 1);
            perChannel[0] = c;
            if (weight is not null)
            {
                if (weight.Rank != 1 || weight.ShapeRef[0] != c)
                    throw new ArgumentException($"{op}: the weight must be [{c}] for input {Shapes.Format(y.ShapeRef)}; got {Shapes.Format(weight.ShapeRef)}.", nameof(weight));
                y = y * weight.Reshape(perChannel);
            }
            if (bias is not null)
            {
                if (bias.Rank != 1 || bias.ShapeRef[0] != c)
                    throw new ArgumentException($"{op}: the bias must be [{c}] for input {Shapes.Format(y.ShapeRef)}; got {Shapes.Format(bias.ShapeRef)}.", nameof(bias));
                y = y + bias.Reshape(perChannel);
            }
            return y;
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int GroupNorm = Register(nameof(GroupNorm), static c =>
        {
            c.Add("affine", x => F.GroupNorm(x[0], 2, x[1], x[2]), c.Normal(2, 4, 3), c.Normal(4), c.Normal(4));
            c.Add("one group", x => F.GroupNorm(x[0], 1), c.Normal(2, 3, 2, 2));
            c.Add("group per channel", x => F.GroupNorm(x[0], 3, x[1], null, 1e-3), c.Normal(2, 3, 5), c.Normal(3));
        });
    }
}
