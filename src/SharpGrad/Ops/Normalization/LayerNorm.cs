using System.Numerics;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Layer normalisation over the trailing dimensions <paramref name="normalizedShape"/> (PyTorch:
        /// <c>torch.nn.functional.layer_norm</c>; Ba et al., 2016): each row is centred and divided by
        /// <c>√(Var + eps)</c> (population variance), then scaled by <paramref name="weight"/> and shifted by
        /// <paramref name="bias"/> (both shaped like <paramref name="normalizedShape"/>; either may be null).
        /// </summary>
        /// <remarks>
        /// One op: the forward is one vectorised pass per row (mean, deviations and their sum of squares, then the affine
        /// map), rows split over the cores; the backward is the standard fused rule
        /// <c>dx = (ĝ − mean ĝ − x̂ · mean(ĝ x̂)) / σ</c> with <c>ĝ = g · w</c>, <c>dw = Σ g x̂</c>, <c>db = Σ g</c>. First order
        /// only: a double backward through LayerNorm is refused with a message.
        /// </remarks>
        public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(normalizedShape);
            input.EnsureFloatingPoint(nameof(LayerNorm));
            int k = normalizedShape.Length;
            int[] shape = input.ShapeRef;
            if (k == 0 || k > shape.Length || !shape.AsSpan(shape.Length - k).SequenceEqual(normalizedShape))
                throw new ArgumentException($"LayerNorm: the input's trailing dimensions must be the normalized shape {Shapes.Format(normalizedShape)}; got input {Shapes.Format(shape)}.", nameof(normalizedShape));
            if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "LayerNorm: eps must be 0 or more.");
            weight = Affine(weight, input, normalizedShape, "weight");
            bias = Affine(bias, input, normalizedShape, "bias");
            int width = Shapes.Numel(normalizedShape);
            int rows = width == 0 ? 0 : input.Numel / width;
            var y = Tensor.Uninitialized(shape, input.DType);
            var mean = new double[rows];
            var rstd = new double[rows];
            DTypeDispatch.Float(input.DType, new LayerNormForward(input, weight, bias, y, rows, width, eps, mean, rstd), nameof(LayerNorm));
            Tensor[] inputs = weight is null ? bias is null ? [input] : [input, bias] : bias is null ? [input, weight] : [input, weight, bias];
            Tensor? w = weight, b = bias;
            return Autograd.Record(y, "LayerNormBackward", inputs, g =>
            {
                var dx = input.RequiresGrad ? Tensor.Uninitialized(shape, input.DType) : null;
                var dw = w is { RequiresGrad: true } ? Tensor.Empty(w.ShapeRef, input.DType) : null;
                var db = b is { RequiresGrad: true } ? Tensor.Empty(b.ShapeRef, input.DType) : null;
                DTypeDispatch.Float(input.DType, new LayerNormBackward(input, w, g.To(input.DType), dx, dw, db, rows, width, mean, rstd), nameof(LayerNorm));
                return w is null ? b is null ? [dx] : [dx, db] : b is null ? [dx, dw] : [dx, dw, db];
            }, differentiableBackward: false, attributes: new LayerNormAttributes(k, eps, w is not null));
        }

        /// <summary>Checks an affine parameter's shape and brings it to the input's dtype (a recorded conversion).</summary>
        private static Tensor? Affine(Tensor? p, Tensor input, int[] normalizedShape, string what)
        {
            if (p is null) return null;
            if (!Shapes.Equal(p.ShapeRef, normalizedShape))
                throw new ArgumentException($"LayerNorm: the {what} must have the normalized shape {Shapes.Format(normalizedShape)}; got {Shapes.Format(p.ShapeRef)}.", what);
            return p.To(input.DType);
        }

        /// <summary>
        /// Per row: mean by a vector sum, deviations written straight into the output row, their sum of squares, then the
        /// output row scaled (and the affine map applied) in place. Statistics are kept in double for the backward. Rows
        /// are split over the cores.
        /// </summary>
        private readonly struct LayerNormForward(Tensor x, Tensor? w, Tensor? b, Tensor y, int rows, int width, double eps, double[] mean, double[] rstd) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                T[] xs = x.Array<T>(), ys = y.Array<T>();
                T[]? ws = w?.Array<T>(), bs = b?.Array<T>();
                int n = width;
                double e = eps;
                double[] means = mean, rstds = rstd;
                RangeWork.Run(rows, (long)rows * n, (first, last) => LayerNormRows(xs, ws, bs, ys, n, e, means, rstds, first, last));
            }
        }

        // Optimised at first call: the row loop runs few times per op but long, and the TensorPrimitives calls it makes
        // must be inlined into optimised code (their tiered-up versions can take long to arrive on a busy machine).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LayerNormRows<T>(T[] xs, T[]? ws, T[]? bs, T[] ys, int n, double eps, double[] means, double[] rstds, int first, int last)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T count = T.CreateTruncating(n), e = T.CreateTruncating(eps);
            for (int r = first; r < last; r++)
            {
                var row = xs.AsSpan(r * n, n);
                var dst = ys.AsSpan(r * n, n);
                T m = TensorPrimitives.Sum<T>(row) / count;
                TensorPrimitives.Subtract(row, m, dst);
                T variance = TensorPrimitives.SumOfSquares<T>(dst) / count;
                T s = T.One / T.Sqrt(variance + e);
                TensorPrimitives.Multiply(dst, s, dst);
                if (ws is not null && bs is not null) TensorPrimitives.MultiplyAdd(dst, ws, bs, dst);
                else if (ws is not null) TensorPrimitives.Multiply(dst, ws, dst);
                else if (bs is not null) TensorPrimitives.Add(dst, bs, dst);
                means[r] = double.CreateTruncating(m);
                rstds[r] = double.CreateTruncating(s);
            }
        }

        private readonly struct LayerNormBackward(Tensor x, Tensor? w, Tensor g, Tensor? dx, Tensor? dw, Tensor? db, int rows, int width, double[] mean, double[] rstd) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                T[] xs = x.Array<T>(), gs = g.Array<T>();
                T[]? ws = w?.Array<T>(), dxs = dx?.Array<T>(), dws = dw?.Array<T>(), dbs = db?.Array<T>();
                int n = width;
                double[] means = mean, rstds = rstd;
                if (dxs is not null)
                    RangeWork.Run(rows, (long)rows * n * 2, (first, last) => LayerNormInputGradRows(xs, ws, gs, dxs, n, means, rstds, first, last));
                if (dws is not null || dbs is not null)
                {
                    // Split by columns: each column's sum over the rows keeps its order, whoever computes it.
                    int chunks = (n + AffineGradColumns - 1) / AffineGradColumns, count = rows;
                    RangeWork.Run(chunks, (long)count * n * 2, (first, last) =>
                        LayerNormAffineGrad(xs, gs, dws, dbs, count, n, means, rstds, first * AffineGradColumns, Math.Min(n, last * AffineGradColumns)));
                }
            }
        }

        /// <summary><c>dx = (ĝ − mean ĝ − x̂ · mean(ĝ x̂)) / σ</c> per row, <c>ĝ = g · w</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LayerNormInputGradRows<T>(T[] xs, T[]? ws, T[] gs, T[] dxs, int n, double[] means, double[] rstds, int first, int last)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var xhat = new T[n];
            var gw = ws is null ? null : new T[n];
            T count = T.CreateTruncating(n);
            for (int r = first; r < last; r++)
            {
                T m = T.CreateTruncating(means[r]), s = T.CreateTruncating(rstds[r]);
                var grow = gs.AsSpan(r * n, n);
                TensorPrimitives.Subtract(xs.AsSpan(r * n, n), m, xhat);
                TensorPrimitives.Multiply(xhat, s, xhat);
                ReadOnlySpan<T> gh = grow;
                if (gw is not null) { TensorPrimitives.Multiply(grow, ws, gw); gh = gw; }
                T a = TensorPrimitives.Sum(gh) / count, c = TensorPrimitives.Dot(gh, xhat) / count;
                var dst = dxs.AsSpan(r * n, n);
                TensorPrimitives.MultiplyAdd(xhat, -c, gh, dst);
                TensorPrimitives.Subtract(dst, a, dst);
                TensorPrimitives.Multiply(dst, s, dst);
            }
        }

        /// <summary>Columns per task of the affine gradient (two 64-byte lines of float32).</summary>
        private const int AffineGradColumns = 32;

        /// <summary>
        /// <c>dw = Σ_rows g x̂</c>, <c>db = Σ_rows g</c> for the columns [c0, c1), one row after another (a fixed order:
        /// deterministic, and the same bits however the columns are shared out).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LayerNormAffineGrad<T>(T[] xs, T[] gs, T[]? dws, T[]? dbs, int rows, int n, double[] means, double[] rstds, int c0, int c1)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            int w = c1 - c0;
            var xh = new T[w];
            var dw = dws is null ? default : dws.AsSpan(c0, w);
            var db = dbs is null ? default : dbs.AsSpan(c0, w);
            for (int r = 0; r < rows; r++)
            {
                var grow = gs.AsSpan(r * n + c0, w);
                if (dbs is not null) TensorPrimitives.Add(db, grow, db);
                if (dws is null) continue;
                TensorPrimitives.Subtract(xs.AsSpan(r * n + c0, w), T.CreateTruncating(means[r]), xh);
                TensorPrimitives.Multiply(xh, T.CreateTruncating(rstds[r]), xh);
                TensorPrimitives.MultiplyAdd(grow, xh, dw, dw);
            }
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int LayerNorm = Register(nameof(LayerNorm), static c =>
        {
            c.Add("affine", x => F.LayerNorm(x[0], [5], x[1], x[2]), c.Normal(3, 5), c.Normal(5), c.Normal(5));
            c.Add("no affine", x => F.LayerNorm(x[0], [4]), c.Normal(2, 3, 4));
            c.Add("two dims", x => F.LayerNorm(x[0], [3, 4], x[1], x[2], 1e-3), c.Normal(2, 3, 4), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("weight only", x => F.LayerNorm(x[0], [6], x[1]), c.Normal(6), c.Normal(6));
            c.Add("bias only", x => F.LayerNorm(x[0], [3], bias: x[1]), c.Normal(4, 3), c.Normal(3));
            c.Add("long rows", x => F.LayerNorm(x[0], [37], x[1], x[2]), c.Normal(2, 37), c.Normal(37), c.Normal(37));
        });
    }
}
