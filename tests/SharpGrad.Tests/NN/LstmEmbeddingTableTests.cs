using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// A projection of embedded tokens formed from the table of the embedding's rows projected once
/// (<see cref="Functional.LinearOfRows"/>, switch <see cref="Functional.LstmEmbeddingTable"/>) against the one product
/// over every row it replaces, bit for bit: the projection and its gradients on varied shapes (odd rows and columns,
/// several k blocks, no bias, repeated and unused tokens, special values), float32 and float64, one and two threads;
/// and whole training steps of the LSTM and GRU language models. The table path is checked to have run.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmEmbeddingTableTests
{
    /// <summary>
    /// Runs <paramref name="body"/> with the switch and the thread limit set, the gradients through x (the table's
    /// gradient path, <see cref="Functional.LstmEmbeddingTableGrad"/>, changes bits: LstmEmbeddingTableGradTests), then
    /// restores them.
    /// </summary>
    private static T With<T>(bool table, int threads, Func<T> body)
    {
        bool saved = F.LstmEmbeddingTable, savedGrad = F.LstmEmbeddingTableGrad;
        int savedThreads = Gemm.MaxThreads;
        F.LstmEmbeddingTable = table;
        F.LstmEmbeddingTableGrad = false;
        Gemm.MaxThreads = threads;
        F.LstmEmbeddingTableTaken = false;
        try { return body(); }
        finally
        {
            F.LstmEmbeddingTable = saved;
            F.LstmEmbeddingTableGrad = savedGrad;
            Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>The old path, then the table on one and two threads: the same bits, and the table taken where <paramref name="expectTable"/>.</summary>
    private static void Compare(string what, Func<List<long[]>> run, bool expectTable = true)
    {
        var expected = With(false, 2, run);
        Assert.False(F.LstmEmbeddingTableTaken, $"{what}: the table ran while switched off");
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = With(true, threads, run);
            Assert.Equal(expectTable, F.LstmEmbeddingTableTaken);
            SharedTailsTests.AssertSame(expected, actual, $"{what} threads {threads}");
        }
    }

    /// <summary>
    /// y = x Wᵀ + b for x the rows of a source picked by tokens (some repeated, some rows unused, one with −0, ±inf
    /// and NaN features), a loss weighted by random values; y, and the gradients of the source, W and b.
    /// </summary>
    private static List<long[]> RunProjection(int vocab, int rows, int inF, int outF, bool bias, DType dtype)
    {
        var g = new Generator((ulong)(vocab * 7 + rows + inF + outF));
        var sourceValues = Tensor.Randn([vocab, inF], g).ToArray<double>();
        sourceValues[inF + 1] = -0.0;
        sourceValues[2 * inF] = double.PositiveInfinity;
        sourceValues[3 * inF + 2] = double.NaN;
        var source = Tensor.FromArray(sourceValues, vocab, inF).To(dtype);
        var w = (Tensor.Randn([outF, inF], g) * 0.2).To(dtype);
        var b = bias ? Tensor.Randn([outF], g).To(dtype) : null;
        var tokens = Enumerable.Range(0, rows).Select(r => (long)((r * 7 + r / 5) % (vocab - 1))).ToArray(); // row vocab-1 unused
        var weight = Tensor.Randn([rows, outF], g).To(dtype);
        source.RequiresGrad = true;
        w.RequiresGrad = true;
        if (b is not null) b.RequiresGrad = true;
        var x = source.IndexSelect(0, Tensor.FromArray(tokens, rows));
        var y = F.LinearOfRows(x, tokens, source.Detach(), w, b);
        (y * weight).Sum().Backward();
        var bits = new List<long[]> { SharedTailsTests.Bits(y), SharedTailsTests.Bits(source.Grad!), SharedTailsTests.Bits(w.Grad!) };
        if (b is not null) bits.Add(SharedTailsTests.Bits(b.Grad!));
        return bits;
    }

    [Theory]
    [InlineData(54, 1024, 64, 1024, true, false)]   // the lstm-step's first layer
    [InlineData(13, 1001, 37, 100, true, false)]    // odd rows, columns and depth: edge tiles in the product and the table
    [InlineData(9, 203, 600, 64, false, false)]     // two k blocks (float32's KC is 512), no bias
    [InlineData(30, 517, 48, 96, true, true)]       // float64
    [InlineData(7, 130, 300, 40, true, true)]       // float64, several k blocks, edge strips
    public void TheTableGivesTheProductsBits(int vocab, int rows, int inF, int outF, bool bias, bool float64) =>
        Compare($"{vocab} x {rows} x {inF} x {outF}", () => RunProjection(vocab, rows, inF, outF, bias, float64 ? DType.Float64 : DType.Float32));

    [Fact]
    public void FewRowsKeepTheProduct() =>
        // 40 rows of 30 tokens: the table would cost more than the product (and 40 rows take the few-rows form).
        Compare("few rows", () => RunProjection(30, 40, 32, 64, true, DType.Float32), expectTable: false);

    /// <summary>Two training steps of a GRU language model (cross-entropy, backward, clip, AdamW): loss, norm, gradients and parameters.</summary>
    internal static List<long[]> RunGruLm()
    {
        var g = new Generator(4);
        const int vocab = 23, context = 12, batch = 40;
        var model = new CharRnn(CharRnnKind.Gru, vocab, context, embeddingDim: 24, hidden: 96, generator: g);
        var parameters = model.Parameters().ToArray();
        var opt = new AdamW(parameters, 3e-3, weightDecay: 0.01);
        model.Train();
        var bits = new List<long[]>();
        for (int step = 0; step < 2; step++)
        {
            var input = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context);
            var target = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context);
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.ForwardSequence(input).Reshape(batch * context, vocab), target);
            loss.Backward();
            double norm = Utils.ClipGradNorm(parameters, 0.05);
            opt.Step();
            bits.Add(SharedTailsTests.Bits(loss));
            bits.Add([BitConverter.DoubleToInt64Bits(norm)]);
            bits.AddRange(parameters.Select(p => SharedTailsTests.Bits(p.Grad!)));
            bits.AddRange(parameters.Select(SharedTailsTests.Bits));
            bits.Add(SharedTailsTests.Bits(model.Forward(input))); // the last position's logits (the generation path)
        }
        return bits;
    }

    [Fact]
    public void LstmLanguageModelStepsGiveTheSameBits() => Compare("LSTM LM (lstm-step's sizes)", () => SharedTailsTests.RunLm(54, 16, 64, 64, 256));

    [Fact]
    public void SmallLstmLanguageModelStepsGiveTheSameBits() => Compare("LSTM LM (small)", () => SharedTailsTests.RunLm());

    [Fact]
    public void GruLanguageModelStepsGiveTheSameBits() => Compare("GRU LM", RunGruLm);
}
