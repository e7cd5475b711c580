using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Running products along <paramref name="dim"/>: <c>y_j = Π_{i≤j} x_i</c> (PyTorch: <c>cumprod</c>). The gradient
        /// <c>dx_i = Σ_{j≥i} g_j · Π_{k≤j, k≠i} x_k</c> is computed without dividing by x, so zeros are handled exactly:
        /// with <c>L_i = Π_{k&lt;i} x_k</c> and <c>R_i = g_i + x_{i+1} · R_{i+1}</c>, <c>dx_i = L_i · R_i</c>.
        /// </summary>
        /// <remarks>The backward is one kernel, first order only: a double backward through CumProd is refused with a message.</remarks>
        public Tensor CumProd(int dim)
        {
            EnsureFloatingPoint(nameof(CumProd));
            int d = Shapes.WrapDim(dim, Math.Max(Rank, 1), nameof(CumProd));
            var x = Rank == 0 ? Reshape(1) : this;
            var (outer, size, inner) = Shapes.Split(x._shape, d);
            var y = Uninitialized(_shape, DType);
            DTypeDispatch.Float(DType, new ScanProductKernel(x, y, outer, size, inner), nameof(CumProd));
            if (!Autograd.ShouldRecord(this)) return y;
            return Autograd.Record(y, "CumProdBackward", [this], g =>
            {
                var dx = Uninitialized(_shape, DType);
                DTypeDispatch.Float(DType, new ScanProductGradKernel(x, g.To(DType), dx, outer, size, inner), nameof(CumProd));
                return [dx];
            }, differentiableBackward: false);
        }

        private readonly struct ScanProductKernel(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                for (int o = 0; o < outer; o++)
                {
                    int b = o * size * inner;
                    if (size > 0) xs.Slice(b, inner).CopyTo(ys.Slice(b, inner));
                    for (int j = 1; j < size; j++)
                    {
                        int at = b + j * inner;
                        if (inner == 1) ys[at] = ys[at - 1] * xs[at];
                        else TensorPrimitives.Multiply(ys.Slice(at - inner, inner), xs.Slice(at, inner), ys.Slice(at, inner));
                    }
                }
            }
        }

        private readonly struct ScanProductGradKernel(Tensor x, Tensor g, Tensor dx, int outer, int size, int inner) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>(), gs = g.Span<T>();
                Span<T> ds = dx.Span<T>();
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * size * inner + i;
                        T r = T.Zero;
                        for (int j = size - 1; j >= 0; j--)
                        {
                            int at = b + j * inner;
                            r = j == size - 1 ? gs[at] : gs[at] + xs[at + inner] * r;
                            ds[at] = r;
                        }
                        T left = T.One;
                        for (int j = 0; j < size; j++)
                        {
                            int at = b + j * inner;
                            ds[at] *= left;
                            left *= xs[at];
                        }
                    }
            }
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int CumProd = Register(nameof(CumProd), static c =>
        {
            c.Add("last dim", x => x[0].CumProd(-1), c.Normal(3, 5));
            c.Add("dim 0", x => x[0].CumProd(0), c.Normal(4, 3));
            c.Add("middle dim", x => x[0].CumProd(1), c.Normal(2, 4, 3));
            c.Add("with zeros", x => (x[0] * Tensor.FromArray(new double[] { 1, 0, 1, 0, 1, 1, 0, 1 }, 2, 4)).CumProd(1), c.Normal(2, 4));
        });
    }
}
