using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Product over <paramref name="dim"/> (all elements when null; PyTorch: <c>prod</c>). The gradient of each element
        /// is the product of the others on its line, computed from prefix and suffix products, so zeros need no
        /// division (one zero: only it gets a non-zero gradient; two: none does).
        /// </summary>
        /// <remarks>The backward is one kernel, first order only: a double backward through Prod is refused with a message.</remarks>
        public Tensor Prod(int? dim = null, bool keepDim = false)
        {
            EnsureFloatingPoint(nameof(Prod));
            int d = dim is int k ? Shapes.WrapDim(k, Rank, nameof(Prod)) : -1;
            if (Rank == 0) d = -1; // a 0-d tensor's one dimension is all of it
            var (outer, size, inner) = d < 0 ? (1, Numel, 1) : Shapes.Split(_shape, d);
            var y = Uninitialized(ReducedShape(d, keepDim), DType);
            DTypeDispatch.Float(DType, new ProductKernel(this, y, outer, size, inner), nameof(Prod));
            if (!Autograd.ShouldRecord(this)) return y;
            return Autograd.Record(y, "ProdBackward", [this], g =>
            {
                var gk = ReducedGradient(g, d, keepDim).Expand(_shape);
                var dx = Uninitialized(_shape, DType);
                DTypeDispatch.Float(DType, new ProductGradKernel(this, gk, dx, outer, size, inner), nameof(Prod));
                return [dx];
            }, differentiableBackward: false);
        }

        /// <summary>Line products: a vector product per contiguous line, or rows of length inner multiplied together.</summary>
        private readonly struct ProductKernel(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                for (int o = 0; o < outer; o++)
                {
                    var block = xs.Slice(o * size * inner, size * inner);
                    if (inner == 1) { ys[o] = size == 0 ? T.One : TensorPrimitives.Product(block); continue; }
                    var dst = ys.Slice(o * inner, inner);
                    dst.Fill(T.One);
                    for (int j = 0; j < size; j++) TensorPrimitives.Multiply(dst, block.Slice(j * inner, inner), dst);
                }
            }
        }

        /// <summary><c>dx_j = g_j · Π_{i&lt;j} x_i · Π_{i&gt;j} x_i</c>: a forward sweep of prefix products, a backward sweep of suffix products.</summary>
        private readonly struct ProductGradKernel(Tensor x, Tensor g, Tensor dx, int outer, int size, int inner) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>(), gs = g.Span<T>();
                Span<T> ds = dx.Span<T>();
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * size * inner + i;
                        T p = T.One;
                        for (int j = 0; j < size; j++) { ds[b + j * inner] = p; p *= xs[b + j * inner]; }
                        p = T.One;
                        for (int j = size - 1; j >= 0; j--) { int at = b + j * inner; ds[at] *= p * gs[at]; p *= xs[at]; }
                    }
            }
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Prod = Register(nameof(Prod), static c =>
        {
            c.Add("all", x => x[0].Prod(), c.Uniform(0.5, 1.5, 3, 4));
            c.Add("dim 1", x => x[0].Prod(1), c.Normal(3, 4));
            c.Add("dim 0, keepDim", x => x[0].Prod(0, keepDim: true), c.Normal(3, 2, 2));
            c.Add("with a zero", x => (x[0] * Tensor.FromArray(new double[] { 1, 0, 1, 1, 1, 1 }, 2, 3)).Prod(1), c.Normal(2, 3));
            c.Add("with two zeros", x => (x[0] * Tensor.FromArray(new double[] { 0, 1, 0, 1 }, 4)).Prod(), c.Normal(4));
        });
    }
}
