using System.Numerics;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// The values along <paramref name="dim"/> in ascending (or <paramref name="descending"/>) order, and the Int64
        /// indices they came from (PyTorch: <c>sort(dim, descending, stable=True)</c>). Stable: equal values keep their
        /// order. NaN sorts above every number (last ascending, first descending), as in PyTorch. The gradient of the
        /// values goes back to the positions they came from.
        /// </summary>
        public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false) => SortedPrefix(dim, -1, descending, nameof(Sort));

        /// <summary>
        /// The first <paramref name="count"/> (all when −1) values of each line along <paramref name="dim"/> in sorted order,
        /// with their indices; what Sort and TopK share.
        /// </summary>
        internal (Tensor Values, Tensor Indices) SortedPrefix(int dim, int count, bool descending, string op)
        {
            EnsureFloatingPoint(op);
            int d = Rank == 0 ? Shapes.WrapDim(dim, 1, op) : Shapes.WrapDim(dim, Rank, op);
            var x = Rank == 0 ? Reshape(1) : this;
            var (outer, size, inner) = Shapes.Split(x._shape, d);
            int k = count < 0 ? size : count;
            int[] shape = Shapes.WithDim(x._shape, d, k);
            var values = Uninitialized(shape, DType);
            var indices = Uninitialized(shape, DType.Int64);
            DTypeDispatch.Float(DType, new SortKernel(x, values, indices, outer, size, inner, k, descending), op);
            if (Rank == 0)
            {
                values = values.Reshape();
                indices = indices.Reshape();
            }
            if (Autograd.ShouldRecord(this))
            {
                var self = this;
                var idx = Rank == 0 ? indices.Reshape(1) : indices;
                values = Autograd.Record(values, op + "Backward", [this], g =>
                    [self.Rank == 0 ? g.Reshape(1).ScatterAddInto([1], 0, idx).Reshape() : g.ScatterAddInto(self._shape, d, idx)]);
            }
            return (values, indices);
        }

        /// <summary>
        /// Per line: sorts the positions 0..size−1 by value (NaN above all numbers; ties by position, which makes the order
        /// total, so the unstable span sort gives the stable result), then writes the first k values and positions.
        /// </summary>
        private readonly struct SortKernel(Tensor x, Tensor values, Tensor indices, int outer, int size, int inner, int k, bool descending) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                T[] xs = x.Array<T>();
                Span<T> vs = values.Span<T>();
                Span<long> ids = indices.Span<long>();
                var line = new T[size];
                var order = new int[size];
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * size * inner + i;
                        for (int j = 0; j < size; j++) { line[j] = xs[b + j * inner]; order[j] = j; }
                        order.AsSpan().Sort(new LineOrder<T>(line, descending));
                        int ob = o * k * inner + i;
                        for (int j = 0; j < k; j++)
                        {
                            vs[ob + j * inner] = line[order[j]];
                            ids[ob + j * inner] = order[j];
                        }
                    }
            }
        }

        /// <summary>Compares two positions of a line by value (NaN largest), then by position.</summary>
        private readonly struct LineOrder<T>(T[] line, bool descending) : IComparer<int> where T : unmanaged, IFloatingPointIeee754<T>
        {
            public int Compare(int a, int b)
            {
                T va = line[a], vb = line[b];
                bool na = T.IsNaN(va), nb = T.IsNaN(vb);
                int c = na || nb ? na.CompareTo(nb) : va.CompareTo(vb);
                if (descending) c = -c;
                return c != 0 ? c : a.CompareTo(b);
            }
        }

        /// <summary>The indices that sort this tensor along <paramref name="dim"/>, stable (PyTorch: <c>argsort(dim, descending)</c>).</summary>
        public Tensor ArgSort(int dim = -1, bool descending = false)
        {
            using (Autograd.NoGrad()) return Sort(dim, descending).Indices;
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Sort = Register(nameof(Sort), static c =>
        {
            c.Add("last dim", x => x[0].Sort().Values, c.Normal(3, 5));
            c.Add("dim 0, descending", x => x[0].Sort(0, descending: true).Values, c.Normal(4, 3));
            c.Add("middle dim", x => x[0].Sort(1).Values, c.Normal(2, 4, 3));
            c.Add("0-d", x => x[0].Sort(0).Values, c.Normal());
        });
    }
}
