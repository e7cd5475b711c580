namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The elements <c>start, start + step, …</c> (before <paramref name="end"/>) of dimension <paramref name="dim"/>
    /// (PyTorch: basic indexing <c>x[..., start:end:step]</c>; here a copy). Negative <paramref name="start"/> and
    /// <paramref name="end"/> count from the end and out-of-range bounds are clamped, as in Python; <paramref name="end"/>
    /// null means the end of the dimension; <paramref name="step"/> must be positive. Works for every dtype; the gradient puts g back at the taken positions (zeros elsewhere).
    /// </summary>
    public Tensor Slice(int dim, int start = 0, int? end = null, int step = 1)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(Slice));
        if (Rank == 0) throw new ArgumentException("Slice: a 0-dimensional tensor has no dimension to slice.");
        if (step <= 0)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"Slice: the step must be positive; got {step} (dimension {d}, shape {Shapes.Format(_shape)}).");
        int size = _shape[d];
        int s = Clamp(start, size), e = Clamp(end ?? size, size);
        int count = e > s ? (e - s + step - 1) / step : 0;
        return SliceRows(d, s, count, step);

        static int Clamp(int i, int n) => i < 0 ? Math.Max(i + n, 0) : Math.Min(i, n);
    }

    /// <summary>Rows <c>start + k·step</c>, k &lt; <paramref name="count"/>, of dimension <paramref name="d"/> (already validated).</summary>
    internal Tensor SliceRows(int d, int start, int count, int step)
    {
        var y = Uninitialized(Shapes.WithDim(_shape, d, count), DType);
        var (outer, size, inner) = Shapes.Split(_shape, d);
        DTypeDispatch.Any(DType, new StridedRows(this, y, outer, size, count, inner, start, step, gather: true));
        if (!Autograd.ShouldRecord(this)) return y;
        int[] full = _shape;
        return Autograd.Record(y, "SliceBackward", [this], g => [g.SliceScatter(full, d, start, step)]);
    }

    /// <summary>
    /// Zeros of <paramref name="fullShape"/> with this tensor's rows placed at <c>start + k·step</c> along
    /// <paramref name="d"/>: the backward of <see cref="Slice"/> (PyTorch: <c>slice_scatter</c> into zeros), whose own
    /// backward is that slice again.
    /// </summary>
    internal Tensor SliceScatter(int[] fullShape, int d, int start, int step)
    {
        var y = Empty(fullShape, DType);
        var (outer, size, inner) = Shapes.Split(fullShape, d);
        int count = _shape[d];
        DTypeDispatch.Any(DType, new StridedRows(this, y, outer, count, size, inner, start, step, gather: false));
        if (!Autograd.ShouldRecord(this)) return y;
        return Autograd.Record(y, "SliceScatterBackward", [this], g => [g.SliceRows(d, start, count, step)]);
    }

    /// <summary>
    /// Copies whole rows (runs of <c>inner</c> elements) between a (outer, srcRows, inner) block and a (outer, dstRows,
    /// inner) block: gather reads rows start + k·step of the source into row k, scatter writes row k to start + k·step.
    /// </summary>
    private readonly struct StridedRows(Tensor src, Tensor dst, int outer, int srcRows, int dstRows, int inner, int start, int step, bool gather) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            ReadOnlySpan<T> s = src.Span<T>();
            Span<T> d = dst.Span<T>();
            int count = gather ? dstRows : srcRows;
            if (inner == 1)
            {
                // Slicing the last dimension: single elements, where a span copy per element would cost more than the copy.
                for (int o = 0; o < outer; o++)
                {
                    int sBase = o * srcRows, dBase = o * dstRows;
                    if (gather) for (int k = 0; k < count; k++) d[dBase + k] = s[sBase + start + k * step];
                    else for (int k = 0; k < count; k++) d[dBase + start + k * step] = s[sBase + k];
                }
                return;
            }
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < count; k++)
                {
                    int row = start + k * step;
                    int from = o * srcRows + (gather ? row : k), to = o * dstRows + (gather ? k : row);
                    s.Slice(from * inner, inner).CopyTo(d.Slice(to * inner, inner));
                }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Slice = Register(nameof(Slice), static c =>
    {
        c.Add("step 2", x => x[0].Slice(1, 1, 6, 2), c.Normal(3, 7));
        c.Add("negative bounds", x => x[0].Slice(0, -4, -1), c.Normal(5, 2));
        c.Add("step 3, dim 0", x => x[0].Slice(0, 0, null, 3), c.Normal(7, 2, 2));
        c.Add("clamped end", x => x[0].Slice(-1, 2, 100), c.Normal(2, 4));
    });
}
