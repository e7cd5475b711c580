using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// <see cref="WorkerPool.HomeParts"/> (each thread takes its own share of a job's parts first),
/// <see cref="GemmTuning.GradientRowShares"/> (a replayed weight gradient split by rows, as its update) and
/// <see cref="ReplayParts.OneUpdateRegion"/> (a step's split updates in one pool run) change only which thread computes
/// what, and where rows are cut: every part must still run exactly once, and a replayed training step must give the
/// weights and the optimizer state of eager steps bit for bit with the switches on or off, on one thread or two.
/// </summary>
// The switches and Gemm.MaxThreads are process-wide: in the collection of the tests that change the thread limit.
[Collection(GemmCollection.Name)]
public class JitHomePartsTests
{
    /// <summary>Counts how often each part ran, and checks that every part index came with the job's count.</summary>
    private sealed class CountingWork(int count, bool homes) : ParallelWork
    {
        public readonly int[] Runs = new int[count];
        public int WrongCount;

        public override bool HasHomes => homes;

        public override void Execute(int index, int count)
        {
            if (count != Runs.Length) Interlocked.Increment(ref WrongCount);
            Interlocked.Increment(ref Runs[index]);
            Thread.SpinWait(20 * (index % 3)); // uneven parts: the threads meet at different places
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryPartRunsExactlyOnce(bool homeParts)
    {
        bool saved = WorkerPool.HomeParts;
        try
        {
            WorkerPool.HomeParts = homeParts;
            for (int round = 0; round < 300; round++)
            {
                // Varying counts and thread limits; jobs with and without homes interleaved, so that claim words and
                // tickets of one kind of job are followed by the other.
                int count = 1 + round % 19;
                var work = new CountingWork(count, homes: round % 4 != 3);
                WorkerPool.Run(work, count, round % 5 == 0 ? 1 : int.MaxValue);
                Assert.Equal(0, work.WrongCount);
                Assert.All(work.Runs, r => Assert.Equal(1, r));
            }
        }
        finally { WorkerPool.HomeParts = saved; }
    }

    /// <summary>
    /// A worker that read a home-part job's generation and then, descheduled, the home flag of the next job (false)
    /// claims through the ticket: the finished job must leave it no part there. Before the ticket of a home-part job was
    /// started past its parts, such a worker ran part 0 a second time and counted it in the next job, which made a
    /// caller wait for ever (seen under heavy load: the caller spinning in Run, the worker asleep).
    /// </summary>
    [Fact]
    public void AFinishedHomePartJobLeavesNothingToTheTicket()
    {
        bool saved = WorkerPool.HomeParts;
        try
        {
            WorkerPool.HomeParts = true;
            foreach (int count in new[] { 2, 5, 16 })
            {
                var work = new CountingWork(count, homes: true);
                WorkerPool.Run(work, count);
                Assert.All(work.Runs, r => Assert.Equal(1, r));
                Assert.Equal(0, WorkerPool.ClaimByTicketForTests(work, count));
                Assert.All(work.Runs, r => Assert.Equal(1, r));
            }
        }
        finally { WorkerPool.HomeParts = saved; }
    }

    /// <summary>
    /// A worker that read the generation of a finished job without home parts and then, descheduled, the next job's work
    /// and count claims through the ticket with that generation: the finished job must leave it nothing there either.
    /// Before the ticket was closed at the end of every job, such a worker took the parts of the next job from the old
    /// job's count up (a part run twice, s_done past the count: a caller waiting for ever, seen under heavy load).
    /// </summary>
    [Fact]
    public void AFinishedJobLeavesNothingToTheTicketForTheNextJobsParts()
    {
        bool saved = WorkerPool.HomeParts;
        try
        {
            foreach (bool homes in new[] { false, true })
            {
                WorkerPool.HomeParts = homes;
                var finished = new CountingWork(2, homes);
                WorkerPool.Run(finished, 2);
                Assert.All(finished.Runs, r => Assert.Equal(1, r));
                var next = new CountingWork(8, homes: false);
                Assert.Equal(0, WorkerPool.ClaimByTicketForTests(next, 8));
                Assert.All(next.Runs, r => Assert.Equal(0, r));
            }
        }
        finally { WorkerPool.HomeParts = saved; }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RowSharesGiveTheSameProduct(bool float64)
    {
        // The MLP's weight gradients (TN) and a few other shapes, rows split or not: the same bits, on 1 and 2 threads.
        (bool TransA, bool TransB, int M, int N, int K)[] shapes = [(true, false, 128, 256, 64), (true, false, 256, 784, 64), (true, false, 40, 300, 64), (false, false, 64, 256, 128), (true, false, 96, 1000, 33)];
        int saved = Gemm.MaxThreads;
        try
        {
            foreach (var (ta, tb, m, n, k) in shapes)
            {
                if (float64) RowShares<double>(ta, tb, m, n, k);
                else RowShares<float>(ta, tb, m, n, k);
            }
        }
        finally { Gemm.MaxThreads = saved; }
    }

    private static void RowShares<T>(bool ta, bool tb, int m, int n, int k) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var g = new Generator((ulong)(m + 3 * n + 7 * k));
        T[] a = new T[m * k], b = new T[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = T.CreateTruncating(2 * g.NextDouble() - 1);
        for (int i = 0; i < b.Length; i++) b[i] = T.CreateTruncating(2 * g.NextDouble() - 1);
        Gemm.MaxThreads = 1;
        var reference = new T[m * n];
        Gemm.Multiply(ta, tb, m, n, k, T.One, a, ta ? m : k, b, tb ? k : n, T.Zero, reference, n);
        foreach (int threads in new[] { 1, 2 })
        {
            Gemm.MaxThreads = threads;
            foreach (bool rows in new[] { false, true })
            {
                var c = new T[m * n];
                c.AsSpan().Fill(T.NaN); // every element must be written
                Gemm.Multiply(ta, tb, m, n, k, T.One, a, ta ? m : k, b, tb ? k : n, T.Zero, c, n, rowShares: rows);
                Assert.Equal(reference, c);
            }
        }
    }

    /// <summary>
    /// The MLP of the mlp-epoch bench (784-256-128-10, ReLU) at batch 64 with Adam: eager steps on one thread against
    /// replays with settings of the three switches, on one and two threads. Before every replay, every GEMM output
    /// and every gradient the plan owns is filled with NaN, so a split that left an element unwritten would put NaN in
    /// the weights.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReplayedMlpStepIsBitIdenticalWithEverySetting(bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        const int steps = 4, batch = 64;
        var g = new Generator(41);
        var xs = Enumerable.Range(0, steps).Select(_ => Tensor.Rand([batch, 784], g, dtype)).ToArray();
        var ys = Enumerable.Range(0, steps).Select(i => Tensor.FromArray(Enumerable.Range(0, batch).Select(j => (long)((3 * i + j) % 10)).ToArray())).ToArray();
        int savedThreads = Gemm.MaxThreads;
        bool savedHomes = WorkerPool.HomeParts, savedRows = GemmTuning.GradientRowShares, savedRegion = ReplayParts.OneUpdateRegion;
        try
        {
            Gemm.MaxThreads = 1;
            var eagerModel = JitTests.Linears(dtype, 12, 784, 256, 128, 10);
            var eagerOpt = new Adam(eagerModel.Parameters(), 1e-3);
            var eagerLosses = xs.Select((x, i) => JitTests.ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();
            var expected = Snapshot(eagerModel, eagerOpt, float64);
            foreach (int threads in new[] { 1, 2 })
            {
                foreach (var (homes, rows, region) in new[]
                {
                    (false, false, false), (true, true, true), (true, false, false), (false, true, false), (false, false, true),
                    (true, true, false),
                })
                {
                    Gemm.MaxThreads = threads;
                    WorkerPool.HomeParts = homes;
                    GemmTuning.GradientRowShares = rows;
                    ReplayParts.OneUpdateRegion = region;
                    var model = JitTests.Linears(dtype, 12, 784, 256, 128, 10);
                    var opt = new Adam(model.Parameters(), 1e-3);
                    var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
                    var losses = new double[steps];
                    for (int i = 0; i < steps; i++)
                    {
                        Poison(step);
                        losses[i] = step.Run(xs[i], ys[i]).Item();
                    }
                    Assert.Null(step.FallbackReason);
                    Assert.True(step.LastRunReplayed);
                    // The 256 x 784 and 128 x 256 weight gradients are marked for row shares (their updates run in ranges);
                    // the 10 x 128 one (the batch tree's) is not, and none is computed inside its update.
                    int marked = step.PlanInstructions.Count(i => i is GemmInstruction<float> { RowShares: true } || i is GemmInstruction<double> { RowShares: true });
                    Assert.Equal(0, step.PlanInstructions.OfType<OptimizerStepInstruction>().Single().Fused);
                    Assert.Equal(WorkerPool.MaxParallelism < 2 ? 0 : 2, marked);
                    Assert.Equal(eagerLosses, losses);
                    var actual = Snapshot(model, opt, float64);
                    Assert.Equal(expected.Length, actual.Length);
                    for (int a = 0; a < expected.Length; a++) Assert.Equal(expected[a], actual[a]);
                }
            }
        }
        finally
        {
            Gemm.MaxThreads = savedThreads;
            WorkerPool.HomeParts = savedHomes;
            GemmTuning.GradientRowShares = savedRows;
            ReplayParts.OneUpdateRegion = savedRegion;
        }
    }

    /// <summary>
    /// Replays allocate nothing on the calling thread with the switches on or off, whichever parts it runs (the worker
    /// runs the same parts' code; other test classes run alongside, so a count over all threads would include theirs).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReplayedMlpStepAllocatesNothing(bool switches)
    {
        int savedThreads = Gemm.MaxThreads;
        bool savedHomes = WorkerPool.HomeParts, savedRows = GemmTuning.GradientRowShares, savedRegion = ReplayParts.OneUpdateRegion;
        try
        {
            Gemm.MaxThreads = 2;
            (WorkerPool.HomeParts, GemmTuning.GradientRowShares, ReplayParts.OneUpdateRegion) = (switches, switches, switches);
            var g = new Generator(5);
            var x = Tensor.Rand([64, 784], g);
            var y = Tensor.FromArray(Enumerable.Range(0, 64).Select(j => (long)(j % 10)).ToArray());
            var model = JitTests.Linears(DType.Float32, 13, 784, 256, 128, 10);
            var opt = new Adam(model.Parameters(), 1e-3);
            var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
            for (int i = 0; i < 20; i++) step.Run(x, y);
            Assert.True(step.LastRunReplayed);
            ReplayAllocations.AssertNone(() => { for (int i = 0; i < 100; i++) step.Run(x, y); });
        }
        finally
        {
            Gemm.MaxThreads = savedThreads;
            WorkerPool.HomeParts = savedHomes;
            GemmTuning.GradientRowShares = savedRows;
            ReplayParts.OneUpdateRegion = savedRegion;
        }
    }

    /// <summary>NaN into every array a replay must write before it reads it: the GEMMs' outputs and the parameters' gradients.</summary>
    private static void Poison(CompiledStep step)
    {
        foreach (var instruction in step.PlanInstructions)
        {
            switch (instruction)
            {
                case GemmInstruction<float> f: f.C.AsSpan().Fill(float.NaN); break;
                case GemmInstruction<double> d: d.C.AsSpan().Fill(double.NaN); break;
                case OptimizerStepInstruction o:
                    foreach (var grad in o.Gradients)
                    {
                        if (grad is float[] gf) gf.AsSpan().Fill(float.NaN);
                        else if (grad is double[] gd) gd.AsSpan().Fill(double.NaN);
                    }
                    break;
            }
        }
    }

    /// <summary>Every parameter's values and Adam's two moments for it, as doubles (float32 values widen exactly).</summary>
    private static double[][] Snapshot(Module model, Adam opt, bool float64)
    {
        var arrays = new List<double[]>();
        var parameters = model.Parameters().ToArray();
        for (int i = 0; i < parameters.Length; i++)
        {
            foreach (var t in new[] { parameters[i], opt.StateTensor(i, "exp_avg"), opt.StateTensor(i, "exp_avg_sq") })
                arrays.Add(float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v));
        }
        return [.. arrays];
    }
}
