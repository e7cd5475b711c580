namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Cuts dimension <paramref name="dim"/> into consecutive pieces of the given sizes, which must add up to that
    /// dimension's size (PyTorch: <c>torch.split(x, [s0, s1, …], dim)</c>; here copies). Works for every dtype; each
    /// piece's gradient flows back to its own rows.
    /// </summary>
    public Tensor[] Split(int[] sizes, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        int d = SplitDim(dim);
        long total = 0;
        foreach (int s in sizes)
        {
            if (s < 0) throw new ArgumentOutOfRangeException(nameof(sizes), $"Split: sizes {Shapes.Format(sizes)} contain the negative size {s}.");
            total += s;
        }
        if (total != _shape[d])
            throw new ArgumentException($"Split: sizes {Shapes.Format(sizes)} add up to {total}, but dimension {d} of shape {Shapes.Format(_shape)} has size {_shape[d]}.", nameof(sizes));
        var pieces = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i], i++) pieces[i] = SliceRows(d, start, sizes[i], 1);
        return pieces;
    }

    /// <summary>
    /// Cuts dimension <paramref name="dim"/> into pieces of <paramref name="size"/> rows each, the last one smaller when
    /// the size does not divide the dimension (PyTorch: <c>torch.split(x, size, dim)</c>).
    /// </summary>
    public Tensor[] Split(int size, int dim = 0)
    {
        int d = SplitDim(dim);
        int n = _shape[d];
        if (size < 0 || (size == 0 && n > 0))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"Split: the piece size must be positive; got {size} for dimension {d} of shape {Shapes.Format(_shape)}.");
        int count = n == 0 ? 1 : (n + size - 1) / size;
        var sizes = new int[count];
        for (int i = 0; i < count; i++) sizes[i] = Math.Min(size, n - i * size);
        return Split(sizes, d);
    }

    private int SplitDim(int dim)
    {
        if (Rank == 0) throw new ArgumentException("Split: a 0-dimensional tensor cannot be split.");
        return Shapes.WrapDim(dim, Rank, nameof(Split));
    }
}

internal static partial class GradChecks
{
    internal static readonly int Split = Register(nameof(Split), static c =>
    {
        // Weighted sums of the pieces, so each piece's gradient is distinct and a mix-up would show.
        c.Add("sizes", x => { var p = x[0].Split([1, 3, 2], 1); return p[0].Sum() + p[1].Sum() * 2 + (p[2] * p[2]).Sum(); }, c.Normal(2, 6));
        c.Add("size", x => { var p = x[0].Split(2, 0); return p[0].Sum() + (p[2] * 3).Sum(); }, c.Normal(5, 3));
    });
}
