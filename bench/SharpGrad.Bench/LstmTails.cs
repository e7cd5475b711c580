using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

/// <summary>
/// The lstm-step's single-thread tails outside the LSTM ops, alone (<c>--workload lstm-tails</c>): the cross-entropy of
/// 1024 x 54 logits (forward and backward), Narrow of the h half of a layer's [2, 16, 64, 256] result with its backward,
/// and the [16, 64, 256] → [64, 16, 256] Permute with its backward, float32. Each repetition runs every part three
/// ways: "old" (<see cref="StepPaths.OldPadInto"/>), "new" (the defaults) and "shared" (<see cref="StepPaths.SharedRows"/>),
/// one after the other, so they see the same load; prints the minimum and median wall microseconds of each, and how many
/// of the shared parts the worker ran. For A/B runs on a loaded machine; not a row.
/// </summary>
internal static class LstmTails
{
    public static string Run(Dictionary<string, string> options)
    {
        int reps = int.Parse(options.GetValueOrDefault("reps", "400"), CultureInfo.InvariantCulture);
        Gemm.MaxThreads = int.Parse(options.GetValueOrDefault("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var g = new Generator(1);
        var logits = Tensor.Randn([1024, 54], g);
        var targets = Tensor.FromArray(Enumerable.Range(0, 1024).Select(_ => (long)g.NextInt(54)).ToArray(), 1024);
        var y = Tensor.Randn([2, 16, 64, 256], g);
        var gy = Tensor.Randn([1, 16, 64, 256], g);
        var timeMajor = Tensor.Randn([16, 64, 256], g);
        var gp = Tensor.Randn([64, 16, 256], g);
        string[] names = ["cross_entropy", "narrow", "permute"];
        Action[] parts =
        [
            () => F.CrossEntropy(Leaf(logits), targets).Backward(),
            () => Leaf(y).Narrow(0, 0, 1).Backward(gy),
            () => Leaf(timeMajor).Transpose(0, 1).Backward(gp),
        ];
        string[] ways = ["old", "new", "shared"];
        var times = new double[ways.Length, parts.Length, reps];
        long published = 0, byWorkers = 0;
        for (int r = -5; r < reps; r++)
            for (int way = 0; way < ways.Length; way++)
            {
                StepPaths.OldPadInto = way == 0;
                StepPaths.SharedRows = way == 2;
                for (int p = 0; p < parts.Length; p++)
                {
                    using var scope = new TensorScope();
                    var before = WorkerPool.Counts;
                    long t0 = Stopwatch.GetTimestamp();
                    parts[p]();
                    double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                    var after = WorkerPool.Counts;
                    if (r < 0) continue;
                    times[way, p, r] = us;
                    if (way == 2) (published, byWorkers) = (published + after.Published - before.Published, byWorkers + after.ByWorkers - before.ByWorkers);
                }
            }
        var json = new System.Text.StringBuilder("{\"workload\":\"lstm-tails\",\"threads\":").Append(Gemm.MaxThreads).Append(",\"reps\":").Append(reps);
        for (int p = 0; p < parts.Length; p++)
            for (int way = 0; way < ways.Length; way++)
            {
                var v = Enumerable.Range(0, reps).Select(r => times[way, p, r]).Order().ToArray();
                json.Append(CultureInfo.InvariantCulture, $",\"{names[p]}_{ways[way]}_min_us\":{v[0]:F1},\"{names[p]}_{ways[way]}_median_us\":{v[reps / 2]:F1}");
            }
        // The parts the shared paths published to the pool, and how many of them the worker ran (the rest ran on the caller).
        json.Append(CultureInfo.InvariantCulture, $",\"shared_parts\":{published},\"shared_parts_by_workers\":{byWorkers}");
        return json.Append('}').ToString();
    }

    /// <summary>A leaf that requires a gradient, sharing <paramref name="t"/>'s values (a fresh one each time, so no gradient accumulates).</summary>
    private static Tensor Leaf(Tensor t)
    {
        var leaf = t.Detach();
        leaf.RequiresGrad = true;
        return leaf;
    }
}
