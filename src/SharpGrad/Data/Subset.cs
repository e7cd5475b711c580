using System.Globalization;

namespace SharpGrad.Data;

/// <summary>The examples of a data set at the given indices, in that order (PyTorch: <c>Subset</c>).</summary>
public sealed class Subset : IDataset
{
    private readonly int[] _indices;

    /// <summary>Selects <paramref name="indices"/> of <paramref name="dataset"/>; each must be in [0, dataset.Count).</summary>
    public Subset(IDataset dataset, IReadOnlyList<int> indices)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        ArgumentNullException.ThrowIfNull(indices);
        _indices = [.. indices];
        for (int i = 0; i < _indices.Length; i++)
            if ((uint)_indices[i] >= (uint)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), _indices[i], $"Subset: index {_indices[i]} at position {i} is outside the {dataset.Count} examples of the data set.");
    }

    /// <summary>The data set the examples come from.</summary>
    public IDataset Dataset { get; }

    /// <summary>The selected indices into <see cref="Dataset"/>.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc/>
    public int Count => _indices.Length;

    /// <inheritdoc/>
    public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
    {
        var mapped = new int[indices.Length];
        for (int i = 0; i < mapped.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)_indices.Length) throw new ArgumentOutOfRangeException(nameof(indices), k, $"Subset: index {k} is outside its {_indices.Length} examples.");
            mapped[i] = _indices[k];
        }
        return Dataset.GetBatch(mapped);
    }
}

/// <summary>Operations on data sets (PyTorch: <c>torch.utils.data</c> functions).</summary>
public static class Dataset
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into disjoint random subsets (PyTorch: <c>random_split</c>). Lengths that sum to
    /// the data set's size are taken as they are; fractions that sum to 1 become ⌊n·f⌋ examples each, and the n − Σ⌊n·f⌋
    /// left over are handed out one at a time to the subsets in order, as PyTorch does. The examples are a random
    /// permutation drawn from <paramref name="generator"/> (so a seed fixes the split).
    /// </summary>
    /// <param name="dataset">The examples to split.</param>
    /// <param name="fractions">Either fractions in [0, 1] summing to 1, or whole example counts summing to the size.</param>
    /// <param name="generator">Source of the permutation (a generator seeded with 0 when null).</param>
    public static Subset[] RandomSplit(IDataset dataset, IReadOnlyList<double> fractions, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(fractions);
        if (fractions.Count == 0) throw new ArgumentException("RandomSplit: no lengths or fractions given.", nameof(fractions));
        int n = dataset.Count;
        double sum = fractions.Sum();
        int[] lengths;
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        if (Math.Abs(sum - 1) <= 1e-9 && sum <= 1 + 1e-9 && fractions.All(f => f >= 0 && f <= 1) && fractions.Any(f => f != Math.Floor(f)))
        {
            lengths = fractions.Select(f => (int)Math.Floor(n * f)).ToArray();
            int remainder = n - lengths.Sum();
            for (int i = 0; i < remainder; i++) lengths[i % lengths.Length]++;
        }
        else
        {
            if (fractions.Any(f => f < 0 || f != Math.Floor(f) || f > int.MaxValue))
                throw new ArgumentException($"RandomSplit: [{string.Join(", ", fractions.Select(F))}] are neither fractions summing to 1 nor whole lengths.", nameof(fractions));
            lengths = fractions.Select(f => (int)f).ToArray();
            if (lengths.Sum(l => (long)l) != n)
                throw new ArgumentException($"RandomSplit: the lengths [{string.Join(", ", lengths)}] sum to {lengths.Sum(l => (long)l)} but the data set has {n} examples.", nameof(fractions));
        }
        return RandomSplit(dataset, lengths, generator);
    }

    /// <summary>Splits into subsets of exactly <paramref name="lengths"/> examples (summing to the size), randomly.</summary>
    public static Subset[] RandomSplit(IDataset dataset, IReadOnlyList<int> lengths, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Any(l => l < 0) || lengths.Sum(l => (long)l) != dataset.Count)
            throw new ArgumentException($"RandomSplit: the lengths [{string.Join(", ", lengths)}] must be ≥ 0 and sum to the data set's {dataset.Count} examples.", nameof(lengths));
        var order = (generator ?? new Generator(0UL)).Permutation(dataset.Count);
        var result = new Subset[lengths.Count];
        int offset = 0;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = new Subset(dataset, new ArraySegment<int>(order, offset, lengths[i]));
            offset += lengths[i];
        }
        return result;
    }
}
