namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Cuts dimension <paramref name="dim"/> into at most <paramref name="chunks"/> pieces of ⌈n / chunks⌉ rows, the last
    /// one smaller (PyTorch: <c>torch.chunk</c>). As in PyTorch, fewer pieces come back when n is not a multiple, e.g. 6
    /// rows in 4 chunks give 3 pieces of 2; an empty dimension gives <paramref name="chunks"/> empty pieces.
    /// </summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0)
            throw new ArgumentOutOfRangeException(nameof(chunks), chunks, $"Chunk: the number of chunks must be positive; got {chunks}.");
        if (Rank == 0) throw new ArgumentException("Chunk: a 0-dimensional tensor cannot be chunked.");
        int d = Shapes.WrapDim(dim, Rank, nameof(Chunk));
        int n = _shape[d];
        if (n == 0) return Split(new int[chunks], d);
        return Split((n + chunks - 1) / chunks, d);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Chunk = Register(nameof(Chunk), static c =>
    {
        c.Add("uneven", x => { var p = x[0].Chunk(3, -1); return p[0].Sum() * 2 + (p[1] * p[1]).Sum() - p[2].Sum(); }, c.Normal(2, 5));
        c.Add("4 of 6 rows", x => { var p = x[0].Chunk(4, 0); return p[0].Sum() + (p[2] * 3).Sum(); }, c.Normal(6));
    });
}
