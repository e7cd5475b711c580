using System.Numerics;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>Index of the smallest element of the flattened tensor, as a 0-dimensional Int64 tensor (PyTorch: <c>argmin()</c>).</summary>
        public Tensor ArgMin() => Reshape(-1).ArgMin(0);

        /// <summary>
        /// Indices (Int64) of the smallest values along <paramref name="dim"/> (PyTorch: <c>argmin(dim, keepdim)</c>): the
        /// first one wins ties, and a NaN counts as the smallest (the first NaN's index), as in PyTorch.
        /// </summary>
        public Tensor ArgMin(int dim, bool keepDim = false)
        {
            EnsureFloatingPoint(nameof(ArgMin));
            int d = Shapes.WrapDim(dim, Rank, nameof(ArgMin));
            if (Rank == 0) return Reshape(1).ArgMin(0).Reshape();
            var (outer, size, inner) = Shapes.Split(_shape, d);
            if (size == 0) throw new ArgumentException($"ArgMin: dimension {d} of the input (shape {Shapes.Format(_shape)}) is empty.");
            var y = Uninitialized(ReducedShape(d, keepDim), DType.Int64);
            DTypeDispatch.Float(DType, new ArgMinKernel(this, y, outer, size, inner), nameof(ArgMin));
            return y;
        }

        private readonly struct ArgMinKernel(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<long> ys = y.Span<long>();
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * size * inner + i, best = 0;
                        T bestValue = xs[b];
                        if (!T.IsNaN(bestValue))
                            for (int j = 1; j < size; j++)
                            {
                                T v = xs[b + j * inner];
                                if (T.IsNaN(v)) { best = j; break; }
                                if (v < bestValue) { best = j; bestValue = v; }
                            }
                        ys[o * inner + i] = best;
                    }
            }
        }
    }
}
