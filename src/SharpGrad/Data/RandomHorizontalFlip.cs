namespace SharpGrad.Data;

/// <summary>
/// Training-time augmentation (PyTorch: <c>transforms.RandomHorizontalFlip</c>): each image of a batch fetched from the
/// wrapped set is mirrored left to right with probability <see cref="P"/>. Inputs are [N, ..., W] (the last dimension
/// is reversed); targets pass through. One draw of <see cref="Generator"/> per image, in batch order, whatever
/// <see cref="P"/> is, so a run is reproducible from the generator's state (checkpoints save it).
/// </summary>
public sealed class RandomHorizontalFlip : IDataset
{
    /// <summary>Wraps <paramref name="inner"/>; <paramref name="p"/> is the probability of flipping an image.</summary>
    public RandomHorizontalFlip(IDataset inner, double p = 0.5, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "RandomHorizontalFlip: p must be in [0, 1].");
        (Inner, P, Generator) = (inner, p, generator ?? new Generator(0UL));
    }

    /// <summary>The set whose images are flipped.</summary>
    public IDataset Inner { get; }

    /// <summary>Probability of flipping each image.</summary>
    public double P { get; }

    /// <summary>The generator that decides which images are flipped.</summary>
    public Generator Generator { get; }

    /// <inheritdoc/>
    public int Count => Inner.Count;

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        var (x, y) = Inner.GetBatch(indices);
        if (x.Rank < 2) throw new InvalidOperationException($"RandomHorizontalFlip: expected a batch of images [N, ..., W], got {Shapes.Format(x.ShapeRef)}.");
        int n = x.ShapeRef[0], width = x.ShapeRef[^1];
        var flip = new bool[n];
        for (int i = 0; i < n; i++) flip[i] = Generator.NextDouble() < P;
        return x.DType switch
        {
            DType.Float32 => (Mirror(x.ToArray<float>(), x, flip, width), y),
            DType.Float64 => (Mirror(x.ToArray<double>(), x, flip, width), y),
            DType.Int64 => (Mirror(x.ToArray<long>(), x, flip, width), y),
            _ => throw new InvalidOperationException($"RandomHorizontalFlip: unsupported dtype {x.DType}."),
        };
    }

    /// <summary>Reverses every row of the flagged images in <paramref name="data"/> (a copy of the batch) and wraps it.</summary>
    private static Tensor Mirror<T>(T[] data, Tensor like, bool[] flip, int width) where T : unmanaged
    {
        int n = flip.Length, perImage = n == 0 ? 0 : data.Length / n;
        for (int i = 0; i < n; i++)
        {
            if (!flip[i]) continue;
            for (int row = i * perImage; row < (i + 1) * perImage; row += width) data.AsSpan(row, width).Reverse();
        }
        return new Tensor(data, like.ShapeRef.ToArray(), like.DType);
    }
}
