namespace SharpGrad.Data;

/// <summary>
/// Iterates over a data set in batches (PyTorch: <c>DataLoader</c>). With <c>shuffle</c>, each pass draws a new
/// permutation from the generator, so a seed fixes the order of every epoch.
/// </summary>
public sealed class DataLoader
{
    /// <summary>Creates the loader.</summary>
    /// <param name="dataset">The examples.</param>
    /// <param name="batchSize">Examples per batch (the last one may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">Visit the examples in a new random order each epoch.</param>
    /// <param name="generator">Source of the permutations (a generator seeded with 0 when null).</param>
    /// <param name="dropLast">Skip a final incomplete batch.</param>
    public DataLoader(IDataset dataset, int batchSize = 1, bool shuffle = false, Generator? generator = null, bool dropLast = false)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        (BatchSize, Shuffle, DropLast) = (batchSize, shuffle, dropLast);
        Generator = generator ?? new Generator(0UL);
    }

    /// <summary>The examples.</summary>
    public IDataset Dataset { get; }
    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }
    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }
    /// <summary>The generator that draws the permutations (its state is part of a checkpoint).</summary>
    public Generator Generator { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The example order of the next epoch: a fresh permutation when shuffling (advancing the generator), else 0..n-1.</summary>
    public int[] NextEpochOrder() => Shuffle ? Generator.Permutation(Dataset.Count) : Enumerable.Range(0, Dataset.Count).ToArray();

    /// <summary>The batches of one epoch in a given order, starting at batch <paramref name="startBatch"/> (for resuming mid-epoch).</summary>
    public IEnumerable<(Tensor Input, Tensor Target)> Batches(int[] order, int startBatch = 0)
    {
        ArgumentNullException.ThrowIfNull(order);
        for (int b = startBatch; b < BatchCount; b++) yield return Batch(order, b);
    }

    /// <summary>
    /// Batch <paramref name="index"/> of an epoch in <paramref name="order"/> (from <see cref="NextEpochOrder"/>). Made when
    /// called, so that inside a <see cref="TensorScope"/> the batch's storage is recycled with the step's.
    /// </summary>
    public (Tensor Input, Tensor Target) Batch(int[] order, int index)
    {
        ArgumentNullException.ThrowIfNull(order);
        if ((uint)index >= (uint)BatchCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"DataLoader: batch {index} is outside the {BatchCount} batches of an epoch.");
        if (order.Length != Dataset.Count)
            throw new ArgumentException($"DataLoader: the order has {order.Length} entries for a dataset of {Dataset.Count} examples.", nameof(order));
        int start = index * BatchSize, count = Math.Min(BatchSize, order.Length - start);
        return Dataset.GetBatch(order.AsSpan(start, count));
    }

    /// <summary>One epoch of batches (PyTorch: <c>iter(loader)</c>).</summary>
    public IEnumerable<(Tensor Input, Tensor Target)> Epoch() => Batches(NextEpochOrder());
}
