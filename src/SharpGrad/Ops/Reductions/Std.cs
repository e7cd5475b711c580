namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Standard deviation over <paramref name="dim"/> (all elements when null), <c>√Var</c> with the same
        /// <paramref name="correction"/> (PyTorch: <c>std(dim, correction=1, keepdim)</c>);
        /// <c>d/dx = (x − x̄) / ((N − correction) · σ)</c>, infinite where σ = 0.
        /// </summary>
        public Tensor Std(int? dim = null, int correction = 1, bool keepDim = false) => Var(dim, correction, keepDim).Sqrt();
    }

    internal static partial class GradChecks
    {
        internal static readonly int Std = Register(nameof(Std), static c =>
        {
            c.Add("all", x => x[0].Std(), c.Normal(3, 4));
            c.Add("dim 1", x => x[0].Std(1), c.Normal(3, 4));
            c.Add("dim 0, keepDim, correction 0", x => x[0].Std(0, correction: 0, keepDim: true), c.Normal(4, 2, 3));
        });
    }
}
