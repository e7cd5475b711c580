using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// An LSTM stack run for its outputs alone recording each layer with its h sequence as the op's output
/// (<see cref="Functional.LstmHiddenOutput"/>) against the [2, seq, batch, hidden] output and a Narrow of its h half:
/// training steps of the stack fed by an embedding (paired layers, layer by layer, a pair then a layer alone; batch first
/// or not; float32 and float64; one and two threads; partial row strips and unit blocks) and of the language model at
/// lstm-step's sizes give the same outputs, loss, gradients and updated weights bit for bit; the new path is checked to
/// have run, and the states-reading Forward and the ONNX export keep working.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmHiddenOutputTests
{
    private static T With<T>(bool hiddenOutput, int pairMode, int threads, Func<T> body, bool batchFirstOutput = true)
    {
        bool saved = F.LstmHiddenOutput, savedBatchFirst = F.LstmBatchFirstOutput;
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmHiddenOutput = hiddenOutput;
        F.LstmBatchFirstOutput = batchFirstOutput;
        F.LstmPairMode = pairMode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        F.LstmHiddenOutputTaken = false;
        F.LstmBatchFirstOutputTaken = false;
        try { return body(); }
        finally
        {
            F.LstmHiddenOutput = saved;
            F.LstmBatchFirstOutput = savedBatchFirst;
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// Two AdamW steps of an LSTM stack over embedded tokens (<see cref="RecurrentBase.ForwardEmbedded"/>, the language
    /// model's path) with a weighted sum of its outputs as the loss: per step the outputs, the loss, every gradient (the
    /// table's too) and every updated parameter.
    /// </summary>
    private static List<long[]> RunStack(int layers, bool batchFirst, int seq, int batch, int vocab, int inF, int hidden, DType dtype)
    {
        var g = new Generator((ulong)(31 * hidden + batch));
        var lstm = new LSTM(inF, hidden, layers, batchFirst: batchFirst, generator: g, dtype: dtype);
        var embedding = new Embedding(vocab, inF, generator: g, dtype: dtype);
        var parameters = lstm.Parameters().Append(embedding.Weight).ToArray();
        var opt = new AdamW(parameters, 3e-3, weightDecay: 0.01);
        int[] tokenShape = batchFirst ? [batch, seq] : [seq, batch];
        var weights = Tensor.Randn(batchFirst ? [batch, seq, hidden] : [seq, batch, hidden], g).To(dtype);
        var bits = new List<long[]>();
        for (int step = 0; step < 2; step++)
        {
            var tokens = Tensor.FromArray(Enumerable.Range(0, batch * seq).Select(_ => (long)g.NextInt(vocab)).ToArray(), tokenShape);
            opt.ZeroGrad();
            var output = lstm.ForwardEmbedded(embedding.Forward(tokens), tokens, embedding.Weight);
            var loss = (output * weights).Sum();
            loss.Backward();
            opt.Step();
            bits.Add(SharedTailsTests.Bits(output));
            bits.Add(SharedTailsTests.Bits(loss));
            bits.AddRange(parameters.Select(p => SharedTailsTests.Bits(p.Grad!)));
            bits.AddRange(parameters.Select(SharedTailsTests.Bits));
        }
        return bits;
    }

    [Theory]
    [InlineData(2, true, 6, 16, 20, 12, 64, 1, false)]   // a pair (the wavefronts), whole tiles
    [InlineData(2, true, 6, 16, 20, 12, 64, 0, false)]   // layer by layer
    [InlineData(2, false, 5, 13, 11, 7, 64, 2, false)]   // time-major input, a partial row strip
    [InlineData(3, true, 4, 11, 9, 5, 96, 2, false)]     // a pair, then a layer alone
    [InlineData(1, true, 5, 16, 10, 8, 64, 0, false)]    // one layer
    [InlineData(2, true, 4, 9, 12, 6, 40, 2, false)]     // partial unit blocks: dW_hh after the time loops
    [InlineData(2, true, 4, 9, 10, 6, 32, 2, true)]      // float64 pair
    [InlineData(3, false, 3, 7, 10, 5, 24, 0, true)]     // float64 layer by layer, partial blocks
    public void StackStepsGiveTheOldBits(int layers, bool batchFirst, int seq, int batch, int vocab, int inF, int hidden, int pairMode, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var expected = With(false, pairMode, 2, () => RunStack(layers, batchFirst, seq, batch, vocab, inF, hidden, dtype));
        Assert.False(F.LstmHiddenOutputTaken);
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = With(true, pairMode, threads, () => RunStack(layers, batchFirst, seq, batch, vocab, inF, hidden, dtype));
            Assert.True(F.LstmHiddenOutputTaken, "the layers were recorded the old way");
            SharedTailsTests.AssertSame(expected, actual, $"layers {layers}, pair mode {pairMode}, threads {threads}");
        }
    }

    /// <summary>The language model's two training steps (loss, clip norm, gradients, parameters) at lstm-step's sizes and at small ones.</summary>
    [Theory]
    [InlineData(1, 54, 16, 64, 64, 256)]
    [InlineData(0, 54, 16, 64, 64, 256)]
    [InlineData(2, 17, 8, 13, 16, 64)]
    public void LanguageModelStepsGiveTheOldBits(int pairMode, int vocab, int context, int batch, int embedding, int hidden)
    {
        var expected = With(false, pairMode, 2, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
        foreach (int threads in new[] { 1, 2 })
        {
            long kept = F.LstmPairWavefrontsKept;
            var actual = With(true, pairMode, threads, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
            Assert.True(F.LstmHiddenOutputTaken);
            // The wavefront's first-layer gradients are kept (the check finds the very gradient it assumed).
            if (pairMode == 2 || (pairMode == 1 && threads == 2 && SharpGrad.Kernels.WorkerPool.MaxParallelism > 1)) Assert.True(F.LstmPairWavefrontsKept > kept);
            SharedTailsTests.AssertSame(expected, actual, $"LSTM LM, pair mode {pairMode}, threads {threads}");
        }
    }

    /// <summary>
    /// The batch-first stack's last layer (alone or the second of a pair) writing its h sequence batch-major
    /// (<see cref="Functional.LstmBatchFirstOutput"/>) against the time-major sequence and a transposing copy: the same
    /// bits for stack steps (pair, pair then a layer, layer by layer, one layer, whole and partial row strips, the split
    /// dW_hh and the one per part, f32/f64) and LM steps; the path is checked to run exactly where it applies (batch-first,
    /// one direction, dW_hh formed by the time loops).
    /// </summary>
    [Theory]
    [InlineData(2, true, 6, 16, 20, 12, 64, 2, false, true)]    // whole tiles
    [InlineData(2, true, 5, 13, 11, 7, 64, 2, false, true)]     // a partial row strip
    [InlineData(4, true, 5, 13, 9, 5, 64, 2, false, true)]      // two pairs: the second one's output only
    [InlineData(3, true, 5, 13, 9, 5, 64, 2, false, true)]      // a pair, then a layer alone: that layer's output
    [InlineData(2, true, 5, 13, 9, 5, 64, 0, false, true)]      // layer by layer: the last layer's output
    [InlineData(1, true, 6, 16, 9, 5, 64, 0, false, true)]      // one layer
    [InlineData(1, true, 6, 16, 9, 5, 64, 0, true, true)]       // one layer, float64
    [InlineData(2, false, 5, 16, 11, 7, 64, 2, false, false)]   // time-major input
    [InlineData(2, true, 4, 9, 12, 6, 40, 2, false, false)]     // partial unit blocks: dW_hh after the loops, not applied
    [InlineData(2, true, 4, 9, 10, 6, 32, 2, true, true)]       // float64 pair
    [InlineData(2, true, 3, 7, 10, 5, 48, 2, true, true)]       // float64, partial strip
    public void BatchFirstOutputGivesTheOldBits(int layers, bool batchFirst, int seq, int batch, int vocab, int inF, int hidden, int pairMode, bool float64,
        bool applies)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var expected = With(true, pairMode, 2, () => RunStack(layers, batchFirst, seq, batch, vocab, inF, hidden, dtype), batchFirstOutput: false);
        Assert.False(F.LstmBatchFirstOutputTaken);
        foreach (int threads in new[] { 1, 2 })
            foreach (bool split in new[] { true, false })
            {
                bool savedSplit = F.LstmSplitWeightGrad;
                F.LstmSplitWeightGrad = split;
                try
                {
                    var actual = With(true, pairMode, threads, () => RunStack(layers, batchFirst, seq, batch, vocab, inF, hidden, dtype));
                    if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Assert.Equal(applies, F.LstmBatchFirstOutputTaken);
                    SharedTailsTests.AssertSame(expected, actual, $"layers {layers}, threads {threads}, split {split}");
                }
                finally { F.LstmSplitWeightGrad = savedSplit; }
            }
    }

    [Theory]
    [InlineData(2, 54, 16, 64, 64, 256)]
    [InlineData(1, 54, 16, 64, 64, 256)]  // one thread: layer by layer
    [InlineData(2, 17, 8, 13, 16, 64)]
    public void BatchFirstOutputLanguageModelStepsGiveTheOldBits(int pairMode, int vocab, int context, int batch, int embedding, int hidden)
    {
        var expected = With(true, pairMode, 2, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden), batchFirstOutput: false);
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = With(true, pairMode, threads, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
            Assert.True(F.LstmBatchFirstOutputTaken);
            SharedTailsTests.AssertSame(expected, actual, $"LSTM LM, threads {threads}");
        }
    }

    /// <summary>
    /// The language model's training step compiled (captured once, replayed) with both new paths where they apply (a pair,
    /// hidden 64: the batch-first output written batch-major): the same losses and parameters bit for bit as the old
    /// paths run eagerly, the replays taking the pair's wavefront and allocating nothing.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public void CompiledLanguageModelStepsGiveTheOldBits(int pairMode)
    {
        const int vocab = 11, context = 6, batch = 16, hidden = 64;
        var g = new Generator(5);
        var batches = Enumerable.Range(0, 5).Select(_ => (
            X: Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context),
            Y: Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context))).ToArray();
        (CharRnn, AdamW) Model()
        {
            var model = new CharRnn(CharRnnKind.Lstm, vocab, context, embeddingDim: 8, hidden: hidden, layers: 2, generator: new Generator(21));
            model.Train();
            return (model, new AdamW(model.Parameters(), 3e-3, weightDecay: 0.01));
        }
        static Tensor Step(CharRnn model, AdamW opt, Tensor x, Tensor y)
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.ForwardSequence(x).Reshape(batch * context, vocab), y);
            loss.Backward();
            opt.Step();
            return loss;
        }
        long[] Bits(CharRnn m) => m.Parameters().SelectMany(SharedTailsTests.Bits).ToArray();
        // A capture has no embedding table, so its replays take the projection's plain rule: the eager side must too for
        // the same bits (LstmEmbeddingTableGrad changes the table's gradients in rounding: LstmEmbeddingTableGradTests).
        bool savedTableGrad = F.LstmEmbeddingTableGrad;
        F.LstmEmbeddingTableGrad = false;
        try
        {
            var (expected, expectedParams) = With(false, pairMode, 2, () =>
            {
                var (model, opt) = Model();
                var losses = batches.Select(b => SharedTailsTests.Bits(Step(model, opt, b.X, b.Y))[0]).ToArray();
                return (losses, Bits(model));
            }, batchFirstOutput: false);
            var (actual, actualParams) = With(true, pairMode, 2, () =>
            {
                var (model, opt) = Model();
                var step = SharpGrad.Jit.Compile(t => Step(model, opt, t[0], t[1]));
                var losses = batches.Select(b => SharedTailsTests.Bits(step.Run(b.X, b.Y))[0]).ToArray();
                Assert.Null(step.FallbackReason);
                Assert.True(step.LastRunReplayed);
                if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Assert.True(F.LstmBatchFirstOutputTaken);
                var result = (losses, Bits(model));
                var (x, y) = batches[0];
                long kept = F.LstmPairWavefrontsKept;
                step.Run(x, y);
                Assert.Equal(pairMode == 2 ? 1 : 0, F.LstmPairWavefrontsKept - kept);
                SharpGrad.Tests.Jit.ReplayAllocations.AssertNone(() => { for (int i = 0; i < 10; i++) step.Run(x, y); });
                return result;
            });
            Assert.Equal(expected, actual);
            Assert.Equal(expectedParams, actualParams);
        }
        finally
        {
            F.LstmEmbeddingTableGrad = savedTableGrad;
        }
    }

    /// <summary>A caller that reads the final states (the module's Forward) still gets them from the [2, seq, batch, hidden] op.</summary>
    [Fact]
    public void ForwardWithStatesKeepsTheOldOp()
    {
        var inputs = LstmPairTests.Inputs(901, 2, 5, 16, 64, DType.Float32);
        var expected = With(false, 2, 2, () => LstmPairTests.RunBits(inputs, 2, 64, DType.Float32, outputOnly: false));
        var actual = With(true, 2, 2, () => LstmPairTests.RunBits(inputs, 2, 64, DType.Float32, outputOnly: false));
        Assert.False(F.LstmHiddenOutputTaken);
        LstmPairTests.AssertSameBits(expected, actual, 2);
    }

    /// <summary>
    /// The op alone: its output is the h half of the old op's, its input gradients those of the old op's h half (the
    /// c half getting zeros), on one and two threads, reversed or not, float32 and float64.
    /// </summary>
    [Theory]
    [InlineData(4, 16, 64, false, false)]
    [InlineData(3, 9, 17, true, false)]
    [InlineData(5, 8, 32, true, true)]
    [InlineData(2, 3, 16, false, true)]
    public void OpIsTheOldOpsHiddenHalf(int seq, int batch, int hidden, bool reverse, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var g = new Generator((ulong)(seq * 100 + hidden));
        Tensor[] inputs = [Tensor.Randn([seq, batch, 4 * hidden], g).To(dtype), (Tensor.Randn([batch, hidden], g) * 0.5).To(dtype),
            (Tensor.Randn([batch, hidden], g) * 0.5).To(dtype), (Tensor.Randn([4 * hidden, hidden], g) * 0.2).To(dtype), Tensor.Randn([4 * hidden], g).To(dtype)];
        var weights = Tensor.Randn([seq, batch, hidden], g).To(dtype);
        List<long[]> Run(bool hiddenOnly)
        {
            var leaves = inputs.Select(t => { var l = t.Detach(); l.RequiresGrad = true; return l; }).ToArray();
            var h = hiddenOnly ? F.LstmHiddenSequence(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], reverse)
                : F.LstmSequence(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], reverse).Narrow(0, 0, 1).Reshape(seq, batch, hidden);
            (h * weights).Sum().Backward();
            return [SharedTailsTests.Bits(h), .. leaves.Select(l => SharedTailsTests.Bits(l.Grad!))];
        }
        foreach (int threads in new[] { 1, 2 })
            SharedTailsTests.AssertSame(With(false, 1, threads, () => Run(false)), With(false, 1, threads, () => Run(true)), $"threads {threads}");
    }

    /// <summary>
    /// The ONNX export of a stack run for its outputs alone (the language model's stack; the model itself takes Int64
    /// tokens, which the exporter refuses), recorded the new way and the old way, loads and gives the stack's outputs.
    /// </summary>
    [Theory]
    [InlineData(true, 2, 40, false)]
    [InlineData(false, 2, 40, false)]
    [InlineData(true, 0, 40, false)]
    [InlineData(true, 2, 64, true)]  // whole unit blocks, products on the packed kernels: the pair's output batch-major
    public void OnnxExportOfTheStackGivesItsOutputs(bool hiddenOutput, int pairMode, int hidden, bool batchMajor)
    {
        var g = new Generator(8);
        var stack = new OutputsOnly(new LSTM(7, hidden, 2, batchFirst: true, generator: g));
        var x = Tensor.Randn([13, 5, 7], g);
        var (bytes, expected) = With(hiddenOutput, pairMode, 2, () =>
        {
            var b = SharpGrad.Onnx.OnnxExporter.ExportToBytes(stack, [x]);
            Assert.Equal(hiddenOutput, F.LstmHiddenOutputTaken);
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Assert.Equal(batchMajor, F.LstmBatchFirstOutputTaken);
            using (SharpGrad.Autograd.NoGrad()) return (b, stack.Forward(x).ToArray<float>());
        });
        float[] actual;
        using (SharpGrad.Autograd.NoGrad()) actual = SharpGrad.Onnx.OnnxModel.Load(bytes).Forward(x).ToArray<float>();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"{i}: {expected[i]} vs {actual[i]}");
    }

    /// <summary>An LSTM stack run for its outputs alone (<see cref="RecurrentBase.ForwardEmbedded"/> without a table: no final states).</summary>
    private sealed class OutputsOnly : Module
    {
        private static readonly Tensor s_noTokens = Tensor.FromArray(new long[] { 0 }, 1);
        private readonly LSTM _lstm;

        public OutputsOnly(LSTM lstm) => _lstm = RegisterModule("lstm", lstm);

        public override Tensor Forward(Tensor input) => _lstm.ForwardEmbedded(input, s_noTokens, s_noTokens);
    }
}
