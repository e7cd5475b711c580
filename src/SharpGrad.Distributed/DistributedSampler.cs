using SharpGrad.Data;

namespace SharpGrad.Distributed;

/// <summary>
/// Gives each process its shard of every epoch (PyTorch: <c>DistributedSampler</c>): the epoch's order (a permutation
/// drawn from <c>seed</c> and the epoch number when shuffling, else 0..n-1) is padded by repeating its start to a
/// multiple of <see cref="ProcessGroup.WorldSize"/>, and process r takes positions r, r + N, r + 2N, ... Batch b of
/// every process together is then batch b of the whole order cut in batches N times as large.
/// </summary>
public sealed class DistributedSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="dataset">The examples.</param>
    /// <param name="group">The processes sharing them.</param>
    /// <param name="shuffle">A new permutation every epoch, the same on every process.</param>
    /// <param name="seed">The permutations' seed; every process must pass the same one.</param>
    public DistributedSampler(IDataset dataset, ProcessGroup group, bool shuffle = true, ulong seed = 0)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        Group = group ?? throw new ArgumentNullException(nameof(group));
        (Shuffle, Seed) = (shuffle, seed);
    }

    /// <summary>The examples.</summary>
    public IDataset Dataset { get; }
    /// <summary>The processes.</summary>
    public ProcessGroup Group { get; }
    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }
    /// <summary>The seed of the permutations.</summary>
    public ulong Seed { get; }
    /// <summary>The epoch whose shard <see cref="Indices"/> returns (PyTorch: <c>set_epoch</c>); set it at the start of each epoch.</summary>
    public int Epoch { get; set; }

    /// <summary>Examples per process per epoch: ceil(n / N).</summary>
    public int Count => (Dataset.Count + Group.WorldSize - 1) / Group.WorldSize;

    /// <summary>This process's example indices for <see cref="Epoch"/>.</summary>
    public int[] Indices()
    {
        int n = Dataset.Count, world = Group.WorldSize;
        int[] order = Shuffle ? new Generator(unchecked(Seed + (ulong)Epoch)).Permutation(n) : Enumerable.Range(0, n).ToArray();
        var shard = new int[Count];
        for (int i = 0; i < shard.Length; i++)
        {
            long position = (long)i * world + Group.Rank;
            shard[i] = n == 0 ? 0 : order[(int)(position % n)];
        }
        return shard;
    }

    /// <summary>This process's batches of <see cref="Epoch"/>, <paramref name="batchSize"/> examples each (the last may be smaller).</summary>
    public IEnumerable<(Tensor Input, Tensor Target)> Batches(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var indices = Indices();
        for (int start = 0; start < indices.Length; start += batchSize)
            yield return Dataset.GetBatch(indices.AsSpan(start, Math.Min(batchSize, indices.Length - start)));
    }
}
