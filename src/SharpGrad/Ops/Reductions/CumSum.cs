using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Running sums along <paramref name="dim"/>: <c>y_j = Σ_{i≤j} x_i</c> (PyTorch: <c>cumsum</c>). The backward is
        /// the running sum of the gradient from the other end.
        /// </summary>
        public Tensor CumSum(int dim)
        {
            EnsureFloatingPoint(nameof(CumSum));
            int d = Shapes.WrapDim(dim, Math.Max(Rank, 1), nameof(CumSum));
            return Rank == 0 ? Reshape(1).ScanSum(0, reverse: false).Reshape() : ScanSum(d, reverse: false);
        }

        /// <summary>Running sums from the start (or the end) of dimension d; each direction's gradient is the other's.</summary>
        private Tensor ScanSum(int d, bool reverse)
        {
            var (outer, size, inner) = Shapes.Split(_shape, d);
            var y = Uninitialized(_shape, DType);
            DTypeDispatch.Float(DType, new ScanSumKernel(this, y, outer, size, inner, reverse), nameof(CumSum));
            if (!Autograd.ShouldRecord(this)) return y;
            return Autograd.Record(y, "CumSumBackward", [this], g => [g.ScanSum(d, !reverse)], attributes: new ScanAttributes(d, reverse));
        }

        /// <summary>
        /// Sequential along the line (a prefix sum is), vectorised across it: with inner &gt; 1 each output row is the
        /// previous one plus the input row, one vector add per row.
        /// </summary>
        private readonly struct ScanSumKernel(Tensor x, Tensor y, int outer, int size, int inner, bool reverse) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                for (int o = 0; o < outer; o++)
                {
                    int b = o * size * inner;
                    for (int s = 0; s < size; s++)
                    {
                        int j = reverse ? size - 1 - s : s, at = b + j * inner;
                        if (s == 0) { xs.Slice(at, inner).CopyTo(ys.Slice(at, inner)); continue; }
                        int prev = b + (reverse ? j + 1 : j - 1) * inner;
                        if (inner == 1) ys[at] = ys[prev] + xs[at];
                        else TensorPrimitives.Add(ys.Slice(prev, inner), xs.Slice(at, inner), ys.Slice(at, inner));
                    }
                }
            }
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int CumSum = Register(nameof(CumSum), static c =>
        {
            c.Add("last dim", x => x[0].CumSum(-1), c.Normal(3, 5));
            c.Add("dim 0", x => x[0].CumSum(0), c.Normal(4, 3));
            c.Add("middle dim", x => x[0].CumSum(1), c.Normal(2, 4, 3));
            c.Add("0-d", x => x[0].CumSum(0), c.Normal());
        });
    }
}
