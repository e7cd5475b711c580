namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The <paramref name="k"/> largest (or, with <paramref name="largest"/> false, smallest) values along
        /// <paramref name="dim"/>, in order from the most extreme, and their Int64 indices (PyTorch: <c>topk(k, dim, largest,
        /// sorted=True)</c>). Of equal values the earlier position comes first; NaN counts as the largest. The gradient of
        /// the values goes back to the positions they came from.
        /// </summary>
        public (Tensor Values, Tensor Indices) TopK(int k, int dim = -1, bool largest = true)
        {
            EnsureFloatingPoint(nameof(TopK));
            int d = Shapes.WrapDim(dim, Math.Max(Rank, 1), nameof(TopK));
            int size = Rank == 0 ? 1 : _shape[d];
            if (k < 0 || k > size)
                throw new ArgumentOutOfRangeException(nameof(k), k, $"TopK: k must be between 0 and {size}, the size of dimension {d} of the input (shape {Shapes.Format(_shape)}).");
            return SortedPrefix(dim, k, largest, nameof(TopK));
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int TopK = Register(nameof(TopK), static c =>
        {
            c.Add("largest", x => x[0].TopK(2).Values, c.Normal(3, 5));
            c.Add("smallest, dim 0", x => x[0].TopK(3, 0, largest: false).Values, c.Normal(4, 3));
            c.Add("all", x => x[0].TopK(4, 1).Values, c.Normal(2, 4, 2));
        });
    }
}
