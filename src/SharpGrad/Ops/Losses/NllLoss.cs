namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Negative log-likelihood of class indices given log-probabilities [N, C] (or [C] for one sample) (PyTorch:
        /// <c>F.nll_loss</c>): −w_y logp[n, y_n] per sample, with class weights w (1 without <paramref name="weight"/>) and 0
        /// for a sample whose target is <paramref name="ignoreIndex"/>; the mean divides the sum by Σ w_y over the samples
        /// not ignored. Class targets that are not Int64 are an <see cref="ArgumentException"/> saying so.
        /// </summary>
        /// <param name="logProbabilities">Log-probabilities [N, C] or [C].</param>
        /// <param name="target">Int64 class indices [N] (or one index).</param>
        /// <param name="reduction">Mean (default), Sum or None.</param>
        /// <param name="weight">Optional weight per class, [C] (not differentiated, as in PyTorch).</param>
        /// <param name="ignoreIndex">A target with this value is left out (default −100, PyTorch's).</param>
        public static Tensor NllLoss(Tensor logProbabilities, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null, long ignoreIndex = -100)
        {
            var (scores, index) = ClassTargets(logProbabilities, target, nameof(NllLoss), ignoreIndex);
            CheckClassWeight(weight, logProbabilities, nameof(NllLoss));
            var idx = target.Array<long>();
            bool anyIgnored = Array.IndexOf(idx, ignoreIndex) >= 0;
            if (weight is null && !anyIgnored)
            {
                var plain = -scores.Gather(1, index).Reshape(-1);
                return Reduce(Unbatch(plain, logProbabilities, reduction), reduction, nameof(NllLoss));
            }
            // Ignored rows gather class 0 and are then multiplied by 0.
            var safe = new long[idx.Length];
            var rowWeight = new double[idx.Length];
            var w = weight?.ToArray<double>();
            for (int i = 0; i < idx.Length; i++)
            {
                bool ignored = idx[i] == ignoreIndex;
                safe[i] = ignored ? 0 : idx[i];
                rowWeight[i] = ignored ? 0 : w is null ? 1 : w[idx[i]];
            }
            var wy = Tensor.FromArray(rowWeight).To(logProbabilities.DType);
            var perSample = -scores.Gather(1, Tensor.FromArray(safe, idx.Length, 1)).Reshape(-1) * wy;
            if (reduction == Reduction.Mean) return perSample.Sum() / rowWeight.Sum(); // 0 / 0 = NaN when all are ignored, as PyTorch
            return Reduce(Unbatch(perSample, logProbabilities, reduction), reduction, nameof(NllLoss));
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int NllLoss = Register(nameof(NllLoss), static c =>
        {
            var target = Tensor.FromArray(new long[] { 2, 0, 3, 1, 3 });
            var withIgnored = Tensor.FromArray(new long[] { 2, 7, 3, 7, 0 });
            var weight = Tensor.FromArray(new[] { 0.5, 2.0, 1.0, 1.5 });
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
            {
                c.Add($"{r}", x => NN.Functional.NllLoss(x[0].LogSoftmax(1), target, r), c.Normal(5, 4));
                c.Add($"weight, ignoreIndex 7, {r}", x => NN.Functional.NllLoss(x[0].LogSoftmax(1), withIgnored, r, weight, ignoreIndex: 7), c.Normal(5, 4));
            }
            c.Add("unbatched", x => NN.Functional.NllLoss(x[0], Tensor.FromArray(new long[] { 2 }).Reshape()), c.Normal(3));
        });
    }
}
