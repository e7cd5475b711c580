using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
                if (RowVectors<T>())
                    RangeWork.Run(rows, (long)rows * n, (first, last) => LayerNormRowsInRegisters(xs, ws, bs, ys, n, e, means, rstds, first, last));
                else RangeWork.Run(rows, (long)rows * n, (first, last) => LayerNormRows(xs, ws, bs, ys, n, e, means, rstds, first, last));
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
                bool vectors = RowVectors<T>();
                if (dxs is not null && vectors)
                    RangeWork.Run(rows, (long)rows * n * 2, (first, last) => LayerNormInputGradRowsInRegisters(xs, ws, gs, dxs, n, means, rstds, first, last));
                else if (dxs is not null)
                    RangeWork.Run(rows, (long)rows * n * 2, (first, last) => LayerNormInputGradRows(xs, ws, gs, dxs, n, means, rstds, first, last));
                if (dws is not null || dbs is not null)
                {
                    // Split by columns: each column's sum over the rows keeps its order, whoever computes it.
                    int chunks = (n + AffineGradColumns - 1) / AffineGradColumns, count = rows;
                    RangeWork.Run(chunks, (long)count * n * 2, (first, last) =>
                    {
                        for (int chunk = first; chunk < last; chunk++)
                        {
                            int c0 = chunk * AffineGradColumns, c1 = Math.Min(n, c0 + AffineGradColumns);
                            if (vectors && c1 - c0 == AffineGradColumns) LayerNormAffineGradInRegisters(xs, gs, dws, dbs, count, n, means, rstds, c0);
                            else LayerNormAffineGrad(xs, gs, dws, dbs, count, n, means, rstds, c0, c1);
                        }
                    });
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
        internal static void LayerNormAffineGrad<T>(T[] xs, T[] gs, T[]? dws, T[]? dbs, int rows, int n, double[] means, double[] rstds, int c0, int c1)
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

        /// <summary>
        /// Whether the one-pass row kernels below run: 512-bit vectors of <typeparamref name="T"/> in hardware (and
        /// <see cref="StepPaths.Old"/> unset). They replace a row's chain of TensorPrimitives calls (eight in the input
        /// gradient, each a call and a dispatch on a row of a few hundred elements) by loops over the row in registers.
        /// </summary>
        private static bool RowVectors<T>() where T : unmanaged => !StepPaths.Old && Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;

        /// <summary>
        /// The row sums of the one-pass kernels: 512-bit vectors go into two accumulators (even and odd vectors, plus one
        /// more vector into the even one), which are added and their lanes summed by <see cref="Vector512.Sum{T}(Vector512{T})"/>;
        /// the scalar tail is then added in order. A fixed order for a given n, whatever the row's address
        /// (TensorPrimitives' sums align to the address first).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static T Lanes<T>(Vector512<T> even, Vector512<T> odd) where T : unmanaged, IFloatingPointIeee754<T> => Vector512.Sum(even + odd);

        /// <summary>x̂ = (x − m) · s for the lanes from element i on.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<T> Normalized<T>(ref T x, int i, T m, T s) where T : unmanaged, IFloatingPointIeee754<T> =>
            (Vector512.LoadUnsafe(ref x, (nuint)i) - Vector512.Create(m)) * Vector512.Create(s);

        /// <summary>ĝ = g · w (g without a weight) for the lanes from element i on.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<T> WeightedGrad<T>(ref T g, ref T w, bool weighted, int i) where T : unmanaged, IFloatingPointIeee754<T> =>
            weighted ? Vector512.LoadUnsafe(ref g, (nuint)i) * Vector512.LoadUnsafe(ref w, (nuint)i) : Vector512.LoadUnsafe(ref g, (nuint)i);

        /// <summary>
        /// <see cref="LayerNormRows{T}"/> with each row's sums in registers (<see cref="Lanes{T}"/>): the mean, the
        /// sum of squared deviations (a second read of the row, in L1), then the output row <c>(x − m) · s · w + b</c>
        /// with the same elementwise operations as before. Only the two sums' order differs from the TensorPrimitives path.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LayerNormRowsInRegisters<T>(T[] xs, T[]? ws, T[]? bs, T[] ys, int n, double eps, double[] means, double[] rstds, int first, int last)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T count = T.CreateTruncating(n), e = T.CreateTruncating(eps);
            int w = Vector512<T>.Count;
            ref T w0 = ref ws is null ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetArrayDataReference(ws);
            ref T b0 = ref bs is null ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetArrayDataReference(bs);
            bool hasW = ws is not null, hasB = bs is not null;
            if ((hasW && ws!.Length < n) || (hasB && bs!.Length < n) || (long)last * n > xs.Length || (long)last * n > ys.Length)
                throw new ArgumentOutOfRangeException(nameof(n), "LayerNorm: operands too short.");
            for (int r = first; r < last; r++)
            {
                ref T x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(xs), r * n);
                ref T y = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ys), r * n);
                Vector512<T> a0 = Vector512<T>.Zero, a1 = Vector512<T>.Zero;
                int i = 0;
                for (; i <= n - 2 * w; i += 2 * w) { a0 += Vector512.LoadUnsafe(ref x, (nuint)i); a1 += Vector512.LoadUnsafe(ref x, (nuint)(i + w)); }
                if (i <= n - w) { a0 += Vector512.LoadUnsafe(ref x, (nuint)i); i += w; }
                T sum = Lanes(a0, a1);
                for (; i < n; i++) sum += Unsafe.Add(ref x, i);
                T m = sum / count;
                a0 = a1 = Vector512<T>.Zero;
                var mv = Vector512.Create(m);
                for (i = 0; i <= n - 2 * w; i += 2 * w)
                {
                    var d0 = Vector512.LoadUnsafe(ref x, (nuint)i) - mv;
                    var d1 = Vector512.LoadUnsafe(ref x, (nuint)(i + w)) - mv;
                    a0 += d0 * d0;
                    a1 += d1 * d1;
                }
                if (i <= n - w) { var d0 = Vector512.LoadUnsafe(ref x, (nuint)i) - mv; a0 += d0 * d0; i += w; }
                T squares = Lanes(a0, a1);
                for (; i < n; i++) { T d = Unsafe.Add(ref x, i) - m; squares += d * d; }
                T s = T.One / T.Sqrt(squares / count + e);
                i = 0;
                for (; i <= n - w; i += w)
                {
                    var v = (Vector512.LoadUnsafe(ref x, (nuint)i) - Vector512.Create(m)) * Vector512.Create(s);
                    if (hasW) v *= Vector512.LoadUnsafe(ref w0, (nuint)i);
                    if (hasB) v += Vector512.LoadUnsafe(ref b0, (nuint)i);
                    v.StoreUnsafe(ref y, (nuint)i);
                }
                for (; i < n; i++)
                {
                    T v = (Unsafe.Add(ref x, i) - m) * s;
                    if (hasW) v *= Unsafe.Add(ref w0, i);
                    if (hasB) v += Unsafe.Add(ref b0, i);
                    Unsafe.Add(ref y, i) = v;
                }
                means[r] = double.CreateTruncating(m);
                rstds[r] = double.CreateTruncating(s);
            }
        }

        /// <summary>
        /// <see cref="LayerNormInputGradRows{T}"/> in two sweeps of a row in registers (the row stays in L1): the sums
        /// <c>Σ ĝ</c> and <c>Σ ĝ x̂</c> together (<see cref="Lanes{T}"/>), then <c>dx = (x̂ · (−c) + ĝ − a) · s</c> with the
        /// same elementwise operations as before, x̂ and ĝ recomputed rather than stored. Only the sums' order differs.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LayerNormInputGradRowsInRegisters<T>(T[] xs, T[]? ws, T[] gs, T[] dxs, int n, double[] means, double[] rstds, int first, int last)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            T count = T.CreateTruncating(n);
            int w = Vector512<T>.Count;
            bool weighted = ws is not null;
            ref T w0 = ref weighted ? ref MemoryMarshal.GetArrayDataReference(ws!) : ref Unsafe.NullRef<T>();
            if ((weighted && ws!.Length < n) || (long)last * n > xs.Length || (long)last * n > gs.Length || (long)last * n > dxs.Length)
                throw new ArgumentOutOfRangeException(nameof(n), "LayerNorm: operands too short.");
            for (int r = first; r < last; r++)
            {
                T m = T.CreateTruncating(means[r]), s = T.CreateTruncating(rstds[r]);
                ref T x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(xs), r * n);
                ref T g = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(gs), r * n);
                ref T dx = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dxs), r * n);
                // Σ ĝ and Σ ĝ x̂ in one sweep.
                Vector512<T> g0 = Vector512<T>.Zero, g1 = Vector512<T>.Zero, p0 = Vector512<T>.Zero, p1 = Vector512<T>.Zero;
                int i = 0;
                for (; i <= n - 2 * w; i += 2 * w)
                {
                    var gh0 = WeightedGrad(ref g, ref w0, weighted, i);
                    var gh1 = WeightedGrad(ref g, ref w0, weighted, i + w);
                    g0 += gh0;
                    g1 += gh1;
                    p0 += gh0 * Normalized(ref x, i, m, s);
                    p1 += gh1 * Normalized(ref x, i + w, m, s);
                }
                if (i <= n - w)
                {
                    var gh0 = WeightedGrad(ref g, ref w0, weighted, i);
                    g0 += gh0;
                    p0 += gh0 * Normalized(ref x, i, m, s);
                    i += w;
                }
                T sumG = Lanes(g0, g1), sumGx = Lanes(p0, p1);
                for (; i < n; i++)
                {
                    T gh = weighted ? Unsafe.Add(ref g, i) * Unsafe.Add(ref w0, i) : Unsafe.Add(ref g, i);
                    sumG += gh;
                    sumGx += gh * ((Unsafe.Add(ref x, i) - m) * s);
                }
                T a = sumG / count, c = sumGx / count;
                var av = Vector512.Create(a);
                var cv = Vector512.Create(-c);
                var sv = Vector512.Create(s);
                for (i = 0; i <= n - w; i += w)
                    ((Normalized(ref x, i, m, s) * cv + WeightedGrad(ref g, ref w0, weighted, i) - av) * sv).StoreUnsafe(ref dx, (nuint)i);
                for (; i < n; i++)
                {
                    T xh = (Unsafe.Add(ref x, i) - m) * s;
                    T gh = weighted ? Unsafe.Add(ref g, i) * Unsafe.Add(ref w0, i) : Unsafe.Add(ref g, i);
                    Unsafe.Add(ref dx, i) = (xh * -c + gh - a) * s;
                }
            }
        }

        /// <summary>
        /// <see cref="LayerNormAffineGrad{T}"/> for <see cref="AffineGradColumns"/> columns from <paramref name="c0"/> with
        /// the column sums in registers across the rows: the same operations in the same order (row after row,
        /// <c>dw = g · x̂ + dw</c>, <c>db = db + g</c>), so the same bits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void LayerNormAffineGradInRegisters<T>(T[] xs, T[] gs, T[]? dws, T[]? dbs, int rows, int n, double[] means, double[] rstds, int c0)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            const int columns = AffineGradColumns;
            int w = Vector512<T>.Count, vectors = columns / w;
            if (vectors is < 1 or > 4 || columns % w != 0 || (long)(rows - 1) * n + c0 + columns > Math.Min(xs.Length, gs.Length)
                || (dws is not null && dws.Length < c0 + columns) || (dbs is not null && dbs.Length < c0 + columns))
            {
                LayerNormAffineGrad(xs, gs, dws, dbs, rows, n, means, rstds, c0, c0 + columns);
                return;
            }
            Span<Vector512<T>> sums = stackalloc Vector512<T>[8]; // dw's vectors, then db's
            sums.Clear();
            ref T x0 = ref MemoryMarshal.GetArrayDataReference(xs);
            ref T g0 = ref MemoryMarshal.GetArrayDataReference(gs);
            Vector512<T> dw0 = default, dw1 = default, db0 = default, db1 = default;
            bool two = vectors >= 2;
            if (vectors <= 2)
            {
                // The float32 case (two vectors of 16): the four sums stay in registers for the whole column strip.
                for (int r = 0; r < rows; r++)
                {
                    nuint at = (nuint)((long)r * n + c0);
                    var g1 = Vector512.LoadUnsafe(ref g0, at);
                    var g2 = two ? Vector512.LoadUnsafe(ref g0, at + (nuint)w) : default;
                    db0 += g1;
                    if (two) db1 += g2;
                    if (dws is null) continue;
                    var m = Vector512.Create(T.CreateTruncating(means[r]));
                    var s = Vector512.Create(T.CreateTruncating(rstds[r]));
                    dw0 = g1 * ((Vector512.LoadUnsafe(ref x0, at) - m) * s) + dw0;
                    if (two) dw1 = g2 * ((Vector512.LoadUnsafe(ref x0, at + (nuint)w) - m) * s) + dw1;
                }
                sums[0] = dw0; sums[1] = dw1; sums[4] = db0; sums[5] = db1;
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    nuint at = (nuint)((long)r * n + c0);
                    var m = Vector512.Create(T.CreateTruncating(means[r]));
                    var s = Vector512.Create(T.CreateTruncating(rstds[r]));
                    for (int v = 0; v < vectors; v++)
                    {
                        var gv = Vector512.LoadUnsafe(ref g0, at + (nuint)(v * w));
                        sums[4 + v] += gv;
                        if (dws is not null) sums[v] = gv * ((Vector512.LoadUnsafe(ref x0, at + (nuint)(v * w)) - m) * s) + sums[v];
                    }
                }
            }
            for (int v = 0; v < vectors; v++)
            {
                if (dws is not null) sums[v].StoreUnsafe(ref dws[c0], (nuint)(v * w));
                if (dbs is not null) sums[4 + v].StoreUnsafe(ref dbs[c0], (nuint)(v * w));
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
