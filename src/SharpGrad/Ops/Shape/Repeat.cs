namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Tiles the tensor: dimension i is repeated <c>repeats[i]</c> times (PyTorch: <c>repeat</c>; NumPy's <c>tile</c>).
    /// There may be more repeats than dimensions; the tensor is then first viewed with leading dimensions of size 1.
    /// Works for every dtype. The gradient sums g over the copies: g viewed as [r₀, n₀, r₁, n₁, …] summed over each rᵢ.
    /// </summary>
    public Tensor Repeat(params int[] repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        if (repeats.Length < Rank)
            throw new ArgumentException($"Repeat: {repeats.Length} repeat counts {Shapes.Format(repeats)} for a tensor of rank {Rank} (shape {Shapes.Format(_shape)}); give at least one per dimension.", nameof(repeats));
        int rank = repeats.Length;
        var padded = new int[rank];
        var outShape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            if (repeats[i] < 0) throw new ArgumentOutOfRangeException(nameof(repeats), $"Repeat: repeat counts {Shapes.Format(repeats)} contain the negative count {repeats[i]}.");
            padded[i] = i < rank - Rank ? 1 : _shape[i - (rank - Rank)];
            outShape[i] = padded[i] * repeats[i];
        }
        Shapes.Numel(outShape); // throws on overflow, naming the shape
        var y = Uninitialized(outShape, DType);
        if (y.Numel > 0) DTypeDispatch.Any(DType, new RepeatKernel(this, y, padded, repeats.AsSpan().ToArray()));
        if (!Autograd.ShouldRecord(this)) return y;
        int[] xShape = _shape;
        return Autograd.Record(y, "RepeatBackward", [this], g =>
        {
            // [r0, n0, r1, n1, ...]: summing the r axes (last first, so earlier axis numbers stay valid) adds the copies.
            var split = new int[2 * rank];
            for (int i = 0; i < rank; i++) { split[2 * i] = repeats[i]; split[2 * i + 1] = padded[i]; }
            var t = g.Reshape(split);
            for (int i = rank - 1; i >= 0; i--) t = t.Sum(2 * i);
            return [t.Reshape(xShape)];
        });
    }

    private readonly struct RepeatKernel(Tensor x, Tensor y, int[] shape, int[] repeats) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            var outShape = y.ShapeRef;
            var outStrides = Shapes.ContiguousStrides(outShape);
            var inStrides = Shapes.ContiguousStrides(shape);
            if (shape.Length == 0) { y.Span<T>()[0] = x.Span<T>()[0]; return; }
            Copy<T>(0, 0, 0, x.Span<T>(), y.Span<T>(), outStrides, inStrides);
        }

        /// <summary>
        /// Writes the first copy of dimension <paramref name="dim"/>'s block (recursively), then duplicates that block
        /// <c>repeats[dim] − 1</c> times: every element is written by a contiguous copy of at least one input row.
        /// </summary>
        private void Copy<T>(int dim, int src, int dst, ReadOnlySpan<T> xs, Span<T> ys, int[] outStrides, int[] inStrides) where T : unmanaged
        {
            int n = shape[dim];
            int block = n * outStrides[dim];
            if (dim == shape.Length - 1) xs.Slice(src, n).CopyTo(ys.Slice(dst, n));
            else
                for (int i = 0; i < n; i++) Copy(dim + 1, src + i * inStrides[dim], dst + i * outStrides[dim], xs, ys, outStrides, inStrides);
            for (int r = 1; r < repeats[dim]; r++) ys.Slice(dst, block).CopyTo(ys.Slice(dst + r * block, block));
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Repeat = Register(nameof(Repeat), static c =>
    {
        c.Add(x => x[0].Repeat(2, 3), c.Normal(2, 3));
        c.Add("new leading dims", x => x[0].Repeat(2, 1, 2), c.Normal(3));
        c.Add("ones", x => x[0].Repeat(1, 1, 1), c.Normal(2, 1, 2));
        c.Add("0-d", x => x[0].Repeat(4), c.Normal());
    });
}
