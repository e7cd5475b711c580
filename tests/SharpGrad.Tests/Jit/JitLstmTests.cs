using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// The character LSTM language model's training step (embedding, two LSTM layers, whose outputs are taken from the
/// sequence op's result with Narrow, the linear head, cross-entropy, AdamW) compiled: captured once and replayed, with
/// the same losses and parameters bit for bit as the same steps run eagerly, and no allocation per replay.
/// </summary>
[Collection(GemmCollection.Name)]
public class JitLstmTests
{
    // 72 positions: more than the few-rows GEMM form takes, so that LstmPairMode 2 does pair the layers.
    private const int Vocab = 11, Context = 6, Batch = 12;

    private static (CharRnn Model, AdamW Opt) Model()
    {
        var model = new CharRnn(CharRnnKind.Lstm, Vocab, Context, embeddingDim: 8, hidden: 16, layers: 2, generator: new Generator(21));
        model.Train();
        return (model, new AdamW(model.Parameters(), 3e-3, weightDecay: 0.01));
    }

    private static Tensor Step(CharRnn model, AdamW opt, Tensor x, Tensor y)
    {
        opt.ZeroGrad();
        var loss = F.CrossEntropy(model.ForwardSequence(x).Reshape(Batch * Context, Vocab), y);
        loss.Backward();
        opt.Step();
        return loss;
    }

    private static (Tensor X, Tensor Y)[] Batches(int count)
    {
        var g = new Generator(5);
        return Enumerable.Range(0, count).Select(_ => (
            Tensor.FromArray(Enumerable.Range(0, Batch * Context).Select(_ => (long)g.NextInt(Vocab)).ToArray(), Batch, Context),
            Tensor.FromArray(Enumerable.Range(0, Batch * Context).Select(_ => (long)g.NextInt(Vocab)).ToArray(), Batch * Context))).ToArray();
    }

    private static double[] Flat(Module m) => m.Parameters().SelectMany(p => p.ToArray<double>()).ToArray();

    [Theory]
    [InlineData(0)]
    [InlineData(2)] // the two layers' forward as one op (LstmPair)
    public void LstmLanguageModelStepReplaysBitIdenticallyWithoutAllocating(int pairMode)
    {
        int savedMode = F.LstmPairMode;
        bool savedTableGrad = F.LstmEmbeddingTableGrad;
        F.LstmPairMode = pairMode;
        // A capture runs the first layer's projection as one product with the Linear's own rule (no table): the eager
        // steps too, for the same bits (the table's gradients differ in rounding: LstmEmbeddingTableGradTests).
        F.LstmEmbeddingTableGrad = false;
        try
        {
            if (pairMode == 2) Assert.True(F.LstmPairApplies(Context, Batch, 16, DType.Float32), "the shape must take the two-layer op");
            var batches = Batches(8);
            var (eagerModel, eagerOpt) = Model();
            var eagerLosses = batches.Select(b => Step(eagerModel, eagerOpt, b.X, b.Y).Item()).ToArray();

            var (model, opt) = Model();
            var step = SharpGrad.Jit.Compile(t => Step(model, opt, t[0], t[1]));
            var losses = batches.Select(b => step.Run(b.X, b.Y).Item()).ToArray();
            Assert.Null(step.FallbackReason);
            Assert.True(step.LastRunReplayed);
            Assert.Equal(eagerLosses, losses);
            Assert.Equal(Flat(eagerModel), Flat(model));

            var (x, y) = batches[0];
            step.Run(x, y);
            ReplayAllocations.AssertNone(() => { for (int i = 0; i < 20; i++) step.Run(x, y); });
            Assert.True(step.LastRunReplayed);
            // With the pair, each replay runs the backward as a wavefront and keeps its first-layer gradients.
            long kept = F.LstmPairWavefrontsKept;
            step.Run(x, y);
            Assert.Equal(pairMode == 2 ? 1 : 0, F.LstmPairWavefrontsKept - kept);
        }
        finally
        {
            F.LstmPairMode = savedMode;
            F.LstmEmbeddingTableGrad = savedTableGrad;
        }
    }

    [Fact]
    public void AReplayedEmbeddingRefusesATokenOutOfRange()
    {
        var batches = Batches(4);
        var (model, opt) = Model();
        var step = SharpGrad.Jit.Compile(t => Step(model, opt, t[0], t[1]));
        foreach (var (x, y) in batches) step.Run(x, y);
        Assert.True(step.LastRunReplayed);
        var bad = batches[0].X.ToArray<long>();
        bad[7] = Vocab; // one past the embedding's last row: the replay skips Embedding's own check, the kernel's refuses it
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => step.Run(Tensor.FromArray(bad, Batch, Context), batches[0].Y));
        Assert.Contains($"index {Vocab} at position 7 is out of range for size {Vocab}", e.Message);
    }
}
