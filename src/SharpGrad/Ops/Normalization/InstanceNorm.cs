using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Instance normalisation (PyTorch: <c>torch.nn.functional.instance_norm</c>; Ulyanov et al., 2016): each (sample,
        /// channel) plane of an input [N, C, *] is centred and divided by <c>√(Var + eps)</c> (population variance over
        /// its positions), then scaled by <paramref name="weight"/> [C] and shifted by <paramref name="bias"/> [C].
        /// With <paramref name="useInputStats"/> the statistics are the input's own and the running estimates, when given,
        /// move towards their batch averages by <paramref name="momentum"/> (the variance unbiased, as in BatchNorm);
        /// without it the running estimates normalise. Composed of recorded ops.
        /// </summary>
        public static Tensor InstanceNorm(Tensor input, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null,
            Tensor? bias = null, bool useInputStats = true, double momentum = 0.1, double eps = 1e-5)
        {
            ArgumentNullException.ThrowIfNull(input);
            input.EnsureFloatingPoint(nameof(InstanceNorm));
            int[] shape = input.ShapeRef;
            if (shape.Length < 3) throw new ArgumentException($"InstanceNorm: the input must be [N, C, *] with at least one spatial dimension; got {Shapes.Format(shape)}.", nameof(input));
            int n = shape[0], c = shape[1];
            int positions = input.Numel / Math.Max(1, n * c);
            CheckRunning(runningMean, c, "running mean", shape);
            CheckRunning(runningVar, c, "running variance", shape);
            var planes = input.Reshape(n, c, positions);
            Tensor mean, variance;
            if (useInputStats)
            {
                if (positions < 2 && runningVar is not null)
                    throw new ArgumentException($"InstanceNorm: updating the running variance needs more than one value per plane; got input {Shapes.Format(shape)}.", nameof(input));
                mean = planes.Mean(2, keepDim: true);
                variance = planes.Var(2, correction: 0, keepDim: true);
                using (Autograd.NoGrad())
                {
                    if (runningMean is not null) Blend(runningMean, mean.Mean(0).Reshape(c), momentum);
                    if (runningVar is not null) Blend(runningVar, (variance * (positions / (positions - 1.0))).Mean(0).Reshape(c), momentum);
                }
            }
            else
            {
                if (runningMean is null || runningVar is null)
                    throw new ArgumentException("InstanceNorm: without useInputStats the running mean and variance are needed.");
                mean = runningMean.Detach().To(input.DType).Reshape(1, c, 1);
                variance = runningVar.Detach().To(input.DType).Reshape(1, c, 1);
            }
            var y = ((planes - mean) * (variance + eps).Rsqrt()).Reshape(shape);
            return ChannelAffine(y, weight, bias, nameof(InstanceNorm));
        }

        private static void CheckRunning(Tensor? t, int c, string what, int[] shape)
        {
            if (t is not null && (t.Rank != 1 || t.ShapeRef[0] != c || !t.DType.IsFloatingPoint()))
                throw new ArgumentException($"InstanceNorm: the {what} must be a floating-point [{c}] for input {Shapes.Format(shape)}; got {t.DType.ToTorchName()} {Shapes.Format(t.ShapeRef)}.");
        }

        /// <summary><c>running ← (1 − momentum) · running + momentum · batch</c>, in place.</summary>
        private static void Blend(Tensor running, Tensor batch, double momentum)
        {
            for (int i = 0; i < running.Numel; i++)
            {
                double v = (1 - momentum) * running.GetDouble(i) + momentum * batch.GetDouble(i);
                switch (running.Storage)
                {
                    case float[] f: f[i] = (float)v; break;
                    case double[] d: d[i] = v; break;
                }
            }
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int InstanceNorm = Register(nameof(InstanceNorm), static c =>
        {
            c.Add("affine", x => F.InstanceNorm(x[0], weight: x[1], bias: x[2]), c.Normal(2, 3, 4), c.Normal(3), c.Normal(3));
            c.Add("2-d planes", x => F.InstanceNorm(x[0]), c.Normal(2, 2, 3, 3));
            c.Add("running statistics", x => F.InstanceNorm(x[0], Tensor.FromArray(new double[] { 0.1, -0.2 }, 2), Tensor.FromArray(new double[] { 1.5, 0.7 }, 2), x[1], null, useInputStats: false), c.Normal(2, 2, 3), c.Normal(2));
        });
    }
}
