using SharpGrad.Kernels;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The wavefronts' setup in pieces (both layers' W_hh and the projection's W_ih packed; in the backward also the first
/// layer's assumed c-half gradient cleared), as a pool job (mode 1) or as the wavefront's first tasks (mode 2), and the
/// first layer's gradient check in two halves (<see cref="Functional.LstmParallelSetup"/>), against the serial setup,
/// bit for bit: stacked pairs (one and two wavefronts, the first layer kept or recomputed), float32 and float64, one and
/// two threads, and whole training steps of the LSTM language model. Before each run of a new path a run with other
/// weights fills the packed buffers, so a piece left out would leave its part of them wrong.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmParallelSetupTests
{
    /// <summary>Runs <paramref name="body"/> with the switch (setup mode), pair mode 2 and the thread limit set, then restores them.</summary>
    private static T With<T>(int parallel, int threads, Func<T> body)
    {
        int saved = F.LstmParallelSetup;
        int savedMode = F.LstmPairMode, savedThreads = Gemm.MaxThreads;
        F.LstmParallelSetup = parallel;
        F.LstmPairMode = 2;
        Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            F.LstmParallelSetup = saved;
            F.LstmPairMode = savedMode;
            Gemm.MaxThreads = savedThreads;
        }
    }

    [Theory]
    [InlineData(2, 6, 16, 64, false, true)]    // one wavefront, the first layer's gradient kept
    [InlineData(2, 5, 13, 64, false, false)]   // a partial row strip; the first layer recomputed after the check
    [InlineData(2, 7, 16, 128, false, true)]   // seven steps
    [InlineData(4, 3, 24, 64, false, false)]   // two wavefronts
    [InlineData(2, 4, 11, 32, true, true)]     // float64
    [InlineData(2, 5, 9, 48, true, false)]
    [InlineData(2, 3, 64, 256, false, true)]   // lstm-step's layer sizes
    public void ParallelSetupGivesTheSerialBits(int layers, int seq, int batch, int hidden, bool float64, bool outputOnly)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var inputs = LstmPairTests.Inputs(700 + hidden + batch, layers, seq, batch, hidden, dtype);
        var reference = With(0, 2, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
        foreach (int mode in new[] { 1, 2 })
            foreach (int threads in new[] { 1, 2 })
            {
                With(mode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly, weightSeed: 6));
                F.LstmParallelSetupTaken = F.LstmParallelSetupForwardTaken = false;
                var actual = With(mode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
                Assert.True(F.LstmParallelSetupTaken && F.LstmParallelSetupForwardTaken, $"the parallel setups did not run, mode {mode}");
                LstmPairTests.AssertSameBits(reference, actual, threads);
            }
    }

    /// <summary>Two training steps of the LSTM language model, old setup against new on one and two threads, after a run with other weights.</summary>
    private static void CompareLm(int vocab, int context, int batch, int embedding, int hidden)
    {
        var expected = With(0, 2, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
        var poison = LstmPairTests.Inputs(5, 2, 3, batch, hidden, DType.Float32);
        foreach (int mode in new[] { 1, 2 })
            foreach (int threads in new[] { 1, 2 })
            {
                With(mode, threads, () => LstmPairTests.RunBits(poison, 2, hidden, DType.Float32, outputOnly: true, weightSeed: 6));
                F.LstmParallelSetupTaken = F.LstmParallelSetupForwardTaken = false;
                var actual = With(mode, threads, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
                Assert.True(F.LstmParallelSetupTaken && F.LstmParallelSetupForwardTaken, $"the parallel setups did not run, mode {mode}");
                SharedTailsTests.AssertSame(expected, actual, $"LSTM LM mode {mode} threads {threads}");
            }
    }

    [Fact]
    public void LstmLanguageModelStepsGiveTheSameBits() => CompareLm(54, 16, 64, 64, 256);

    [Fact]
    public void SmallLstmLanguageModelStepsGiveTheSameBits() => CompareLm(17, 8, 32, 16, 128);

    /// <summary>BitCompare against SequenceEqual: equal ranges, and one byte changed at either end and around the halves' border.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(1001)]
    [InlineData(1 << 21)]
    public unsafe void BitCompareFindsAnyDifference(int length)
    {
        var a = new byte[length];
        new Random(length).NextBytes(a);
        var b = (byte[])a.Clone();
        bool Equal()
        {
            fixed (byte* pa = a, pb = b) return BitCompare.Equal(pa, pb, length);
        }
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = Gemm.MaxThreads;
            Gemm.MaxThreads = threads;
            try
            {
                Assert.True(Equal());
                foreach (int at in new[] { 0, length / 2 - 1, length / 2, length / 2 + 1, length - 1 }.Where(i => i >= 0 && i < length).Distinct())
                {
                    b[at] ^= 0x40;
                    Assert.False(Equal(), $"a difference at {at} of {length} not seen, {threads} thread(s)");
                    b[at] = a[at];
                }
                Assert.True(Equal());
            }
            finally { Gemm.MaxThreads = saved; }
        }
    }
}
