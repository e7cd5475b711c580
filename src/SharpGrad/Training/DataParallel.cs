using SharpGrad.Data;
using SharpGrad.NN;

namespace SharpGrad.Training;

/// <summary>
/// What the fit loop needs from a data-parallel job (<c>SharpGrad.Distributed.ProcessGroup</c> implements it): which
/// process this is, how many there are, and a sum over them. The gradients themselves are averaged by the model's
/// wrapper (<c>DistributedDataParallel</c>), not by the fit loop.
/// </summary>
/// <remarks>
/// With <see cref="TrainingRunOptions.DataParallel"/> every process runs the same fit loop on the same global order of
/// examples; the loader's batch size is the global batch, and process r takes positions r, r + N, r + 2N, ... of each
/// batch. Checkpoints hold the global order, batch number and metric sums, so a run resumes with any number of
/// processes; only a process whose options have <see cref="TrainingRunOptions.Checkpoints"/> writes them (rank 0).
/// </remarks>
public interface IDataParallel
{
    /// <summary>This process's number, 0 to <see cref="WorldSize"/> - 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int WorldSize { get; }

    /// <summary>Replaces <paramref name="values"/> by their element-wise sum over the processes (every process must call it).</summary>
    void AllReduceSum(Span<double> values);
}

public static partial class Trainer
{
    /// <summary>This process's share of global batch <paramref name="index"/>: positions Rank, Rank + N, ... of it.</summary>
    private static (Tensor Input, Tensor Target) LocalBatch(DataLoader train, int[] order, int index, IDataParallel? dp)
    {
        if (dp is null || dp.WorldSize == 1) return train.Batch(order, index);
        int start = index * train.BatchSize, count = Math.Min(train.BatchSize, order.Length - start);
        int n = dp.WorldSize, local = Math.Max(1, (count - dp.Rank + n - 1) / n);
        var indices = new int[local];
        // A last batch with fewer examples than processes: a process without one of its own repeats one, so that every
        // process still takes part in the gradient all-reduce.
        for (int i = 0; i < local; i++) indices[i] = order[start + (dp.Rank < count ? dp.Rank + i * n : dp.Rank % count)];
        return train.Dataset.GetBatch(indices);
    }

    /// <summary>The sums over every process of (loss sum, examples, correct), for epoch reports and checkpoints.</summary>
    private static (double LossSum, long Seen, long Correct) GlobalSums(FitState st, IDataParallel? dp)
    {
        if (dp is null || dp.WorldSize == 1) return (st.LossSum, st.Seen, st.Correct);
        Span<double> v = [st.LossSum, st.Seen, st.Correct];
        dp.AllReduceSum(v);
        return (v[0], (long)v[1], (long)v[2]);
    }

    /// <summary><see cref="Evaluate"/> over every process: each takes positions Rank, Rank + N, ... of the data and the sums are combined.</summary>
    private static (double Loss, double Accuracy) EvaluateShared(Module model, Func<Tensor, Tensor, Tensor> loss, IDataset data, int batchSize, IDataParallel? dp)
    {
        if (dp is null || dp.WorldSize == 1) return Evaluate(model, loss, data, batchSize);
        var shard = new Shard(data, dp.Rank, dp.WorldSize);
        var (l, a) = shard.Count == 0 ? (0.0, 0.0) : Evaluate(model, loss, shard, batchSize);
        Span<double> v = [l * shard.Count, double.IsNaN(a) ? double.NaN : a * shard.Count, shard.Count];
        dp.AllReduceSum(v);
        return (v[2] == 0 ? double.NaN : v[0] / v[2], v[2] == 0 ? double.NaN : Math.Round(v[1]) / v[2]);
    }

    /// <summary>Examples Rank, Rank + N, ... of a data set.</summary>
    private sealed class Shard(IDataset data, int rank, int world) : IDataset
    {
        public int Count { get; } = Math.Max(0, (data.Count - rank + world - 1) / world);

        public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
        {
            var mapped = new int[indices.Length];
            for (int i = 0; i < mapped.Length; i++) mapped[i] = rank + indices[i] * world;
            return data.GetBatch(mapped);
        }
    }
}
