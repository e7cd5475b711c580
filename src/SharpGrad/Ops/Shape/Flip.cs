namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Reverses the order of the elements along each of <paramref name="dims"/> (PyTorch: <c>flip</c>; here a copy).
    /// Works for every dtype; the gradient is g flipped the same way.
    /// </summary>
    public Tensor Flip(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var flip = new bool[Rank];
        foreach (int dim in dims)
        {
            int d = Shapes.WrapDim(dim, Rank, nameof(Flip));
            if (Rank == 0) continue; // a 0-d tensor has one element: nothing to reverse
            if (flip[d]) throw new ArgumentException($"Flip: dimension {d} appears more than once in {Shapes.Format(dims)}.", nameof(dims));
            flip[d] = true;
        }
        var y = Uninitialized(_shape, DType);
        DTypeDispatch.Any(DType, new FlipKernel(this, y, flip));
        if (!Autograd.ShouldRecord(this)) return y;
        int[] kept = dims.AsSpan().ToArray();
        return Autograd.Record(y, "FlipBackward", [this], g => [g.Flip(kept)]);
    }

    private readonly struct FlipKernel(Tensor x, Tensor y, bool[] flip) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<T> ys = y.Span<T>();
            int[] shape = x.ShapeRef;
            int rank = shape.Length;
            if (ys.Length == 0) return;
            if (rank == 0) { ys[0] = xs[0]; return; }
            int[] strides = Shapes.ContiguousStrides(shape);
            int row = shape[rank - 1];
            bool reverseRow = flip[rank - 1];
            Span<int> pos = stackalloc int[rank];
            pos.Clear();
            for (int dst = 0; dst < ys.Length; dst += row)
            {
                int src = 0;
                for (int k = 0; k < rank - 1; k++) src += (flip[k] ? shape[k] - 1 - pos[k] : pos[k]) * strides[k];
                var to = ys.Slice(dst, row);
                xs.Slice(src, row).CopyTo(to);
                if (reverseRow) to.Reverse();
                for (int k = rank - 2; k >= 0; k--)
                {
                    if (++pos[k] < shape[k]) break;
                    pos[k] = 0;
                }
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Flip = Register(nameof(Flip), static c =>
    {
        c.Add("last", x => x[0].Flip(-1), c.Normal(3, 4));
        c.Add("first and last", x => x[0].Flip(0, 2), c.Normal(2, 3, 4));
        c.Add("middle", x => x[0].Flip(1) * x[0], c.Normal(2, 3, 2));
    });
}
