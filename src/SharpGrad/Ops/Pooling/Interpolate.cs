namespace SharpGrad
{
    /// <summary>How <see cref="NN.Functional.Interpolate"/> computes new samples (PyTorch: <c>mode=</c> of <c>F.interpolate</c>).</summary>
    public enum InterpolateMode
    {
        /// <summary>Copies the input sample at ⌊dst · in/out⌋ (PyTorch's "nearest"); 1 to 3 spatial dimensions.</summary>
        Nearest,
        /// <summary>Linear interpolation along the one spatial dimension of [N, C, L].</summary>
        Linear,
        /// <summary>Bilinear interpolation over the two spatial dimensions of [N, C, H, W].</summary>
        Bilinear,
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Resamples the spatial dimensions of [N, C, *spatial] (PyTorch 1.13: <c>F.interpolate</c>) to
        /// <paramref name="size"/>, or to ⌊in · scale⌋ for <paramref name="scaleFactor"/> (one value or one per dimension;
        /// give exactly one of the two). Nearest: y[dst] = x[min(⌊dst · r⌋, in − 1)] with r = 1/scale when a scale is given,
        /// else in/out (computed in single precision, as PyTorch does). Linear/Bilinear, separably per dimension:
        /// the source coordinate is dst · (in − 1)/(out − 1) when <paramref name="alignCorners"/>, else
        /// max(0, (dst + 0.5) · r − 0.5); y = (1 − λ) x[i₀] + λ x[i₁] with i₀ = ⌊src⌋, i₁ = min(i₀ + 1, in − 1), λ = src − i₀.
        /// <paramref name="alignCorners"/> applies only to the interpolating modes (null means false). Built from
        /// IndexSelect and products, so its gradient (and the gradient of the gradient) follows from theirs.
        /// </summary>
        public static Tensor Interpolate(Tensor input, int[]? size = null, double[]? scaleFactor = null, InterpolateMode mode = InterpolateMode.Nearest, bool? alignCorners = null)
        {
            const string op = nameof(Interpolate);
            ArgumentNullException.ThrowIfNull(input);
            input.EnsureFloatingPoint(op);
            int dims = input.Rank - 2;
            if (dims < 1 || dims > 3)
                throw new ArgumentException($"{op}: expected an input [N, C, *spatial] with 1 to 3 spatial dimensions, got {Shapes.Format(input.ShapeRef)}.", nameof(input));
            if (mode == InterpolateMode.Linear && dims != 1)
                throw new ArgumentException($"{op}: Linear mode needs a 3-d input [N, C, L], got {Shapes.Format(input.ShapeRef)} (use Bilinear for [N, C, H, W]).", nameof(mode));
            if (mode == InterpolateMode.Bilinear && dims != 2)
                throw new ArgumentException($"{op}: Bilinear mode needs a 4-d input [N, C, H, W], got {Shapes.Format(input.ShapeRef)}.", nameof(mode));
            if (mode == InterpolateMode.Nearest && alignCorners is not null)
                throw new ArgumentException($"{op}: alignCorners only applies to Linear and Bilinear modes, not Nearest (as in PyTorch).", nameof(alignCorners));
            if ((size is null) == (scaleFactor is null))
                throw new ArgumentException($"{op}: give exactly one of size and scaleFactor.", size is null ? nameof(size) : nameof(scaleFactor));
            var outSize = new int[dims];
            var scales = new double?[dims];
            if (size is not null)
            {
                var s = PoolCore.Expand(op, nameof(size), size, dims, 1, 1);
                for (int i = 0; i < dims; i++) outSize[i] = s[i];
            }
            else
            {
                if (scaleFactor!.Length != 1 && scaleFactor.Length != dims)
                    throw new ArgumentException($"{op}: scaleFactor needs one value or {dims}, got {scaleFactor.Length}.", nameof(scaleFactor));
                for (int i = 0; i < dims; i++)
                {
                    double f = scaleFactor[scaleFactor.Length == 1 ? 0 : i];
                    if (!(f > 0) || double.IsInfinity(f))
                        throw new ArgumentOutOfRangeException(nameof(scaleFactor), $"{op}: scaleFactor must be positive and finite, got {f}.");
                    double o = Math.Floor(input.ShapeRef[2 + i] * f);
                    if (o < 1 || o > int.MaxValue)
                        throw new ArgumentException($"{op}: scaleFactor {f} turns spatial size {input.ShapeRef[2 + i]} into {o}.", nameof(scaleFactor));
                    outSize[i] = (int)o;
                    scales[i] = f;
                }
            }
            for (int i = 0; i < dims; i++)
                if (input.ShapeRef[2 + i] < 1)
                    throw new ArgumentException($"{op}: spatial dimension {i} of the input {Shapes.Format(input.ShapeRef)} is empty.", nameof(input));

            var y = input;
            for (int i = 0; i < dims; i++)
            {
                int dim = 2 + i, n = input.ShapeRef[dim], m = outSize[i];
                if (mode == InterpolateMode.Nearest)
                {
                    float r = scales[i] is double sc ? (float)(1.0 / sc) : (float)n / m;
                    var idx = new long[m];
                    for (int d = 0; d < m; d++) idx[d] = Math.Min((long)MathF.Floor(d * r), n - 1);
                    y = y.IndexSelect(dim, Tensor.FromArray(idx, m));
                    continue;
                }
                bool align = alignCorners ?? false;
                double rate = align ? (m > 1 ? (double)(n - 1) / (m - 1) : 0) : scales[i] is double s2 ? 1.0 / s2 : (double)n / m;
                var i0 = new long[m];
                var i1 = new long[m];
                var w0 = new double[m];
                var w1 = new double[m];
                for (int d = 0; d < m; d++)
                {
                    double src = align ? rate * d : Math.Max(0, rate * (d + 0.5) - 0.5);
                    int lo = Math.Min((int)src, n - 1);
                    i0[d] = lo;
                    i1[d] = lo + (lo < n - 1 ? 1 : 0);
                    w1[d] = src - lo;
                    w0[d] = 1 - w1[d];
                }
                // Weights shaped [m, 1, ...] so they broadcast along dimension `dim` only.
                var wShape = new int[input.Rank - dim];
                Array.Fill(wShape, 1);
                wShape[0] = m;
                var a = Tensor.FromArray(w0, wShape).To(input.DType);
                var b = Tensor.FromArray(w1, wShape).To(input.DType);
                y = y.IndexSelect(dim, Tensor.FromArray(i0, m)) * a + y.IndexSelect(dim, Tensor.FromArray(i1, m)) * b;
            }
            return ReferenceEquals(y, input) ? y.Clone() : y;
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int Interpolate = Register(nameof(Interpolate), static c =>
        {
            c.Add("nearest 1-d", x => NN.Functional.Interpolate(x[0], [7]), c.Normal(2, 2, 4));
            c.Add("nearest 2-d scale", x => NN.Functional.Interpolate(x[0], scaleFactor: [2.0, 1.5]), c.Normal(1, 2, 3, 4));
            c.Add("nearest 3-d down", x => NN.Functional.Interpolate(x[0], [2, 3, 2]), c.Normal(1, 1, 3, 5, 4));
            c.Add("linear", x => NN.Functional.Interpolate(x[0], [7], mode: InterpolateMode.Linear), c.Normal(2, 2, 4));
            c.Add("linear align", x => NN.Functional.Interpolate(x[0], [3], mode: InterpolateMode.Linear, alignCorners: true), c.Normal(2, 2, 5));
            c.Add("bilinear", x => NN.Functional.Interpolate(x[0], [5, 3], mode: InterpolateMode.Bilinear), c.Normal(1, 2, 3, 4));
            c.Add("bilinear align, scale", x => NN.Functional.Interpolate(x[0], scaleFactor: [2.0], mode: InterpolateMode.Bilinear, alignCorners: true), c.Normal(1, 2, 3, 2));
        });
    }
}
