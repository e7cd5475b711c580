using SharpGrad.Kernels;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The LSTM language model's head (a Linear 256 -> 54 on 1024 rows) reading its input in place in the forward product
/// (<see cref="GemmTuning.AInPlace"/>) against packing it: two training steps (AdamW) give the same loss, gradients and
/// parameters bit for bit, on one and two threads; the in-place path is checked to have run.
/// </summary>
[Collection(GemmCollection.Name)]
public class LmHeadAInPlaceTests
{
    private static List<long[]> With(bool inPlace, int threads, Func<List<long[]>> body)
    {
        bool saved = GemmTuning.AInPlace;
        int savedThreads = Gemm.MaxThreads;
        GemmTuning.AInPlace = inPlace;
        Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            GemmTuning.AInPlace = saved;
            Gemm.MaxThreads = savedThreads;
        }
    }

    [Theory]
    [InlineData(54, 16, 64, 64, 256)]
    [InlineData(17, 8, 32, 16, 128)]
    public void LanguageModelStepsGiveTheSameBits(int vocab, int context, int batch, int embedding, int hidden)
    {
        var expected = With(false, 2, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
        foreach (int threads in new[] { 1, 2 })
        {
            GemmTuning.AInPlaceTaken = false;
            var actual = With(true, threads, () => SharedTailsTests.RunLm(vocab, context, batch, embedding, hidden));
            Assert.True(GemmTuning.AInPlaceTaken, "the head's input was never read in place");
            SharedTailsTests.AssertSame(expected, actual, $"LSTM LM {vocab}/{hidden}, threads {threads}");
        }
    }
}
