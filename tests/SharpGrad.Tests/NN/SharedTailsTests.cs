using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.NN;

/// <summary>
/// A training step's elementwise tails shared with the worker pool (<see cref="StepPaths.SerialTails"/> off) against the
/// same on the calling thread alone, bit for bit: the eager Adam/AdamW/RMSprop step, ClipGradNorm's norms and scaling,
/// and reductions over one dimension cut into column blocks (a Linear layer's bias gradient); and an LSTM language
/// model's whole training steps. One and two threads, float32 and float64. The shared paths are checked to have run
/// (parts published to the pool), so a test cannot pass by running the old path twice.
/// </summary>
[Collection(GemmCollection.Name)]
public class SharedTailsTests
{
    /// <summary>Runs <paramref name="body"/> with the switch and the thread limit set, then restores them.</summary>
    private static T With<T>(bool serial, int threads, Func<T> body)
    {
        bool saved = StepPaths.SerialTails;
        int savedThreads = Gemm.MaxThreads;
        StepPaths.SerialTails = serial;
        Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            StepPaths.SerialTails = saved;
            Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>Every element's bits, float32 widened to its 32 bits.</summary>
    internal static long[] Bits(Tensor t) => t.DType == DType.Float32
        ? t.ToArray<float>().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray()
        : t.ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray();

    internal static void AssertSame(List<long[]> expected, List<long[]> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            int differ = expected[i].Where((v, j) => v != actual[i][j]).Count();
            Assert.True(differ == 0, $"{what}, tensor {i}: {differ} of {expected[i].Length} values differ");
        }
    }

    /// <summary>Parameters of varied sizes (odd lengths, one under a block, one over 64K elements in all) with random values.</summary>
    private static Tensor[] Parameters(DType dtype, int seed)
    {
        var g = new Generator(seed);
        int[][] shapes = [[301, 257], [70], [5], [129, 33], [1], [64]];
        return shapes.Select(s => Tensor.Randn(s, g, dtype, requiresGrad: true)).ToArray();
    }

    private static Optimizer Make(string kind, Tensor[] p) => kind switch
    {
        "adam" => new Adam(p, 1e-2, weightDecay: 0.1),
        "adamw" => new AdamW(p, 3e-3, weightDecay: 0.01),
        "adamw-ams" => new AdamW(p, 3e-3, weightDecay: 0.01, amsgrad: true),
        "rmsprop" => new RmsProp(p, 1e-2, momentum: 0.9, centered: true),
        _ => throw new ArgumentException(kind),
    };

    /// <summary>Three steps (a parameter without a gradient in the second): the parameters' bits after each.</summary>
    private static List<long[]> RunOptimizer(string kind, DType dtype)
    {
        var p = Parameters(dtype, 5);
        var opt = Make(kind, p);
        var g = new Generator(77);
        var bits = new List<long[]>();
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < p.Length; i++)
                p[i].Grad = step == 1 && i == 3 ? null : Tensor.Randn(p[i].ShapeRef.ToArray(), g, dtype);
            opt.Step();
            bits.AddRange(p.Select(Bits));
        }
        return bits;
    }

    [Theory]
    [InlineData("adam", false)]
    [InlineData("adamw", false)]
    [InlineData("adamw-ams", false)]
    [InlineData("rmsprop", false)]
    [InlineData("adamw", true)]
    [InlineData("rmsprop", true)]
    public void OptimizerStepGivesTheSameBits(string kind, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var expected = With(true, 2, () => RunOptimizer(kind, dtype));
        foreach (int threads in new[] { 1, 2 })
        {
            long published = WorkerPool.Counts.Published;
            var actual = With(false, threads, () => RunOptimizer(kind, dtype));
            if (threads == 2 && WorkerPool.MaxParallelism > 1) Assert.True(WorkerPool.Counts.Published > published, "the shared step did not run");
            AssertSame(expected, actual, $"{kind} {dtype} threads {threads}");
        }
    }

    /// <summary>Gradients of both dtypes (a float32 one over many norm blocks, with a partial block), clipped: the norm and the scaled bits.</summary>
    private static List<long[]> RunClip(double maxNorm)
    {
        var g = new Generator(9);
        int[][] shapes = [[300, 301], [4097], [3], [129, 65]];
        var ps = shapes.Select((s, i) => Tensor.Zeros(s, i == 3 ? DType.Float64 : DType.Float32, requiresGrad: true)).ToArray();
        foreach (var p in ps) p.Grad = Tensor.Randn(p.ShapeRef.ToArray(), g, p.DType) * 0.01;
        double norm = Utils.ClipGradNorm(ps, maxNorm);
        var bits = new List<long[]> { new[] { BitConverter.DoubleToInt64Bits(norm) } };
        bits.AddRange(ps.Select(p => Bits(p.Grad!)));
        return bits;
    }

    [Theory]
    [InlineData(0.5)]  // scaled
    [InlineData(1e6)]  // not scaled: the norm alone
    public void ClipGradNormGivesTheSameBits(double maxNorm)
    {
        var expected = With(true, 2, () => RunClip(maxNorm));
        foreach (int threads in new[] { 1, 2 })
        {
            long published = WorkerPool.Counts.Published;
            var actual = With(false, threads, () => RunClip(maxNorm));
            if (threads == 2 && WorkerPool.MaxParallelism > 1) Assert.True(WorkerPool.Counts.Published > published, "the shared passes did not run");
            AssertSame(expected, actual, $"clip {maxNorm} threads {threads}");
        }
    }

    [Theory]
    [InlineData(new[] { 1000, 700 }, 0, false)]  // a bias gradient: rows summed, columns split (a partial column block)
    [InlineData(new[] { 3, 300, 600 }, 1, false)] // outer > 1
    [InlineData(new[] { 513, 1024 }, 0, true)]
    [InlineData(new[] { 2, 257, 700 }, -2, true)]
    public void SumOverRowsGivesTheSameBits(int[] shape, int dim, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var x = Tensor.Randn(shape, new Generator(31), dtype);
        List<long[]> Run() => [Bits(x.Sum(dim)), Bits(x.Max(dim)), Bits(x.Mean(dim))];
        var expected = With(true, 2, Run);
        foreach (int threads in new[] { 1, 2 })
        {
            long published = WorkerPool.Counts.Published;
            var actual = With(false, threads, Run);
            if (threads == 2 && WorkerPool.MaxParallelism > 1) Assert.True(WorkerPool.Counts.Published > published, "the column split did not run");
            AssertSame(expected, actual, $"{string.Join('x', shape)} dim {dim} threads {threads}");
        }
    }

    /// <summary>
    /// The LSTM language model of the lstm-step bench, smaller: two training steps (cross-entropy, backward, clip, AdamW);
    /// the loss, every parameter and every gradient after each. The sizes default to a small model; the bench's are
    /// (54, 16, 64, 64, 256).
    /// </summary>
    internal static List<long[]> RunLm(int vocab = 17, int context = 8, int batch = 32, int embedding = 16, int hidden = 128)
    {
        var g = new Generator(3);
        var model = new CharRnn(CharRnnKind.Lstm, vocab, context, embeddingDim: embedding, hidden: hidden, generator: g);
        var parameters = model.Parameters().ToArray();
        var opt = new AdamW(parameters, 3e-3, weightDecay: 0.01);
        model.Train();
        var bits = new List<long[]>();
        for (int step = 0; step < 2; step++)
        {
            var input = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context);
            var target = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context);
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.ForwardSequence(input).Reshape(batch * context, vocab), target);
            loss.Backward();
            double norm = Utils.ClipGradNorm(parameters, 0.05);
            opt.Step();
            bits.Add(Bits(loss));
            bits.Add([BitConverter.DoubleToInt64Bits(norm)]);
            bits.AddRange(parameters.Select(p => Bits(p.Grad!)));
            bits.AddRange(parameters.Select(Bits));
        }
        return bits;
    }

    [Fact]
    public void LstmLanguageModelStepsGiveTheSameBits()
    {
        var expected = With(true, 2, () => RunLm());
        foreach (int threads in new[] { 1, 2 })
        {
            long published = WorkerPool.Counts.Published;
            var actual = With(false, threads, () => RunLm());
            if (threads == 2 && WorkerPool.MaxParallelism > 1) Assert.True(WorkerPool.Counts.Published > published);
            AssertSame(expected, actual, $"LSTM LM threads {threads}");
        }
    }
}
