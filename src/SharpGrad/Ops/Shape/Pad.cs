namespace SharpGrad
{
    /// <summary>How <see cref="NN.Functional.Pad"/> fills the new border (PyTorch: <c>mode=</c> of <c>F.pad</c>).</summary>
    public enum PadMode
    {
        /// <summary>A constant value; negative pads crop.</summary>
        Constant,
        /// <summary>The mirror image without repeating the edge: [a b c] padded by 2 gives [c b a b c b a].</summary>
        Reflect,
        /// <summary>Copies of the edge element: [a b c] padded by 2 gives [a a a b c c c].</summary>
        Replicate,
        /// <summary>Wraps around: [a b c] padded by 2 gives [b c a b c a b].</summary>
        Circular,
    }

    public sealed partial class Tensor
    {
        /// <summary>Constant padding; (left, right) per dimension from the last one back, negative values crop.</summary>
        internal Tensor PadConstant(int[] pads, double value)
        {
            int rank = Rank, k = pads.Length / 2;
            var outShape = _shape.AsSpan().ToArray();
            var srcStart = new int[rank];
            var dstStart = new int[rank];
            var length = _shape.AsSpan().ToArray();
            for (int j = 0; j < k; j++)
            {
                int d = rank - 1 - j, n = _shape[d], l = pads[2 * j], r = pads[2 * j + 1];
                long size = (long)n + l + r;
                if (size < 0)
                    throw new ArgumentException($"Pad: pads ({l}, {r}) on dimension {d} of size {n} (shape {Shapes.Format(_shape)}) would leave a negative size {size}.", nameof(pads));
                outShape[d] = (int)size;
                srcStart[d] = Math.Max(0, -l);
                dstStart[d] = Math.Max(0, l);
                length[d] = Math.Max(0, Math.Min(n - srcStart[d], outShape[d] - dstStart[d]));
            }
            Shapes.Numel(outShape);
            var y = Uninitialized(outShape, DType);
            DTypeDispatch.Any(DType, new CopyRegion(this, y, Full([], value, DType), srcStart, dstStart, length));
            if (!Autograd.ShouldRecord(this)) return y;
            var inverse = new int[pads.Length];
            for (int i = 0; i < pads.Length; i++) inverse[i] = -pads[i];
            return Autograd.Record(y, "ConstantPadBackward", [this], g => [g.PadConstant(inverse, 0)], attributes: new PadAttributes((int[])pads.Clone(), value));
        }

        /// <summary>Reflect, replicate or circular padding, one dimension at a time as a gather of rows (IndexSelect).</summary>
        internal Tensor PadIndexed(int[] pads, PadMode mode)
        {
            int k = pads.Length / 2;
            if (k > 3)
                throw new ArgumentException($"Pad: {mode} padding covers at most the last 3 dimensions; got {pads.Length} pads {Shapes.Format(pads)}.", nameof(pads));
            if (DType == DType.Bool)
                throw new NotSupportedException($"Pad: {mode} padding is not defined for Bool tensors (PyTorch's neither); use PadMode.Constant.");
            var y = this;
            for (int j = 0; j < k; j++)
            {
                int d = Rank - 1 - j, n = _shape[d], l = pads[2 * j], r = pads[2 * j + 1];
                if (l == 0 && r == 0) continue;
                long size = (long)n + l + r;
                if (size < 0)
                    throw new ArgumentException($"Pad: pads ({l}, {r}) on dimension {d} of size {n} (shape {Shapes.Format(_shape)}) would leave a negative size {size}.", nameof(pads));
                bool ok = mode switch
                {
                    PadMode.Reflect => l < n && r < n,
                    PadMode.Replicate => n > 0,
                    _ => l <= n && r <= n && n > 0,
                };
                if (!ok)
                    throw new ArgumentException(mode == PadMode.Reflect
                        ? $"Pad: reflect pads ({l}, {r}) on dimension {d} must each be smaller than its size {n} (shape {Shapes.Format(_shape)})."
                        : $"Pad: {mode} pads ({l}, {r}) on dimension {d} of size {n} (shape {Shapes.Format(_shape)}): the dimension must be non-empty{(mode == PadMode.Circular ? " and no pad larger than it" : "")}.", nameof(pads));
                var idx = new long[size];
                for (int i = 0; i < idx.Length; i++)
                {
                    int src = i - l;
                    idx[i] = mode switch
                    {
                        PadMode.Reflect => src < 0 ? -src : src >= n ? 2 * (n - 1) - src : src,
                        PadMode.Replicate => Math.Clamp(src, 0, n - 1),
                        _ => ((src % n) + n) % n,
                    };
                }
                y = y.IndexSelect(d, FromArray(idx, idx.Length));
            }
            return ReferenceEquals(y, this) ? Clone() : y;
        }

        /// <summary>
        /// Fills y with the 0-d <paramref name="fill"/>'s value, then copies the box [srcStart, srcStart + length) of x
        /// into the box [dstStart, dstStart + length) of y, row by row.
        /// </summary>
        private readonly struct CopyRegion(Tensor x, Tensor y, Tensor fill, int[] srcStart, int[] dstStart, int[] length) : IAnyKernel
        {
            public void Run<T>() where T : unmanaged
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                ys.Fill(fill.Span<T>()[0]);
                if (Shapes.Numel(length) == 0) return;
                int rank = length.Length;
                if (rank == 0) { ys[0] = xs[0]; return; }
                int[] xStrides = Shapes.ContiguousStrides(x.ShapeRef), yStrides = Shapes.ContiguousStrides(y.ShapeRef);
                int row = length[rank - 1];
                Span<int> pos = stackalloc int[rank];
                pos.Clear();
                while (true)
                {
                    int s = 0, d = 0;
                    for (int k = 0; k < rank; k++)
                    {
                        s += (srcStart[k] + pos[k]) * xStrides[k];
                        d += (dstStart[k] + pos[k]) * yStrides[k];
                    }
                    xs.Slice(s, row).CopyTo(ys.Slice(d, row));
                    int dim = rank - 2;
                    for (; dim >= 0; dim--)
                    {
                        if (++pos[dim] < length[dim]) break;
                        pos[dim] = 0;
                    }
                    if (dim < 0) return;
                }
            }
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Pad = Register(nameof(Pad), static c =>
        {
            c.Add("constant", x => NN.Functional.Pad(x[0], [1, 2], PadMode.Constant, 0.5), c.Normal(2, 3));
            c.Add("constant, 2 dims, crop", x => NN.Functional.Pad(x[0], [-1, 2, 1, -1]), c.Normal(2, 3, 4));
            c.Add("constant, leading dims", x => NN.Functional.Pad(x[0], [0, 0, 1, 1, 2, 0]), c.Normal(2, 2, 3));
            c.Add("reflect", x => NN.Functional.Pad(x[0], [2, 1], PadMode.Reflect), c.Normal(2, 2, 4));
            c.Add("reflect 2-d", x => NN.Functional.Pad(x[0], [1, 2, 2, 1], PadMode.Reflect), c.Normal(1, 3, 4));
            c.Add("replicate 3-d", x => NN.Functional.Pad(x[0], [1, 2, 0, 1, 2, 0], PadMode.Replicate), c.Normal(1, 2, 2, 3));
            c.Add("circular", x => NN.Functional.Pad(x[0], [2, 1], PadMode.Circular), c.Normal(2, 3));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Pads (or, with negative values in constant mode, crops) the last dimensions of <paramref name="input"/>
        /// (PyTorch: <c>torch.nn.functional.pad</c>). <paramref name="pads"/> holds (before, after) pairs starting from
        /// the LAST dimension: [left, right] pads the last one, [left, right, top, bottom] the last two, and so on.
        /// Constant mode fills with <paramref name="value"/> and works for every dtype and any number of dimensions;
        /// reflect, replicate and circular cover the last 1 to 3 dimensions, and a reflect pad must be smaller than
        /// the dimension it pads. The gradient of the border is 0 for constant mode; otherwise each input element
        /// receives the sum of the gradients of its copies.
        /// </summary>
        public static Tensor Pad(Tensor input, int[] pads, PadMode mode = PadMode.Constant, double value = 0)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(pads);
            if (pads.Length % 2 != 0)
                throw new ArgumentException($"Pad: pads {Shapes.Format(pads)} must come in (before, after) pairs; got {pads.Length} values.", nameof(pads));
            if (pads.Length / 2 > input.Rank)
                throw new ArgumentException($"Pad: {pads.Length} pads {Shapes.Format(pads)} cover {pads.Length / 2} dimensions, but the input has shape {Shapes.Format(input.ShapeRef)}.", nameof(pads));
            if (mode != PadMode.Constant && value != 0)
                throw new ArgumentException($"Pad: a fill value ({value}) only applies to PadMode.Constant, not {mode}.", nameof(value));
            return mode switch
            {
                PadMode.Constant => input.PadConstant(pads, value),
                PadMode.Reflect or PadMode.Replicate or PadMode.Circular => input.PadIndexed(pads, mode),
                _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Pad: unknown mode."),
            };
        }
    }
}
