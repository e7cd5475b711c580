using SharpGrad.NN;
using SharpGrad.Onnx;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Two stacked one-direction LSTM layers computed at once (<see cref="Functional.LstmPair"/>, a wavefront over the
/// threads) against the layer-by-layer path: the same bits in every output, final state and gradient, for one and two
/// threads; the same ONNX export.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmPairTests
{
    /// <summary>Runs <paramref name="body"/> with the two-layer op's mode and the kernels' thread limit set, then restores both.</summary>
    private static T With<T>(int mode, int threads, Func<T> body)
    {
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmPairMode = mode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// With <paramref name="outputOnly"/> the loss reads the last layer's outputs alone, so a pair's backward runs as a
    /// wavefront whose first-layer gradients are kept (counted); otherwise the final states of every layer are in the
    /// loss too, the first layer's outputs get a gradient the wavefront did not assume, and its rule recomputes them.
    /// </summary>
    [Theory]
    [InlineData(2, 5, 24, 40, false, false)]  // a partial unit block (float32 NR 32), three whole row strips
    [InlineData(3, 8, 9, 64, false, false)]   // a pair, then a layer alone; a partial row strip
    [InlineData(4, 3, 70, 32, false, false)]  // two pairs
    [InlineData(2, 4, 20, 24, true, false)]   // float64
    [InlineData(2, 5, 24, 40, false, true)]
    [InlineData(3, 8, 9, 64, false, true)]
    [InlineData(4, 3, 70, 32, false, true)]
    [InlineData(2, 6, 13, 64, false, true)]   // whole unit blocks: the time loops form dW_hh inside the wavefront
    [InlineData(2, 4, 20, 24, true, true)]
    [InlineData(2, 3, 11, 32, true, true)]    // float64, whole unit blocks (NR 16 with AVX-512)
    public void PairGivesTheLayerByLayerBits(int layers, int seq, int batch, int hidden, bool float64, bool outputOnly)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        Assert.True(With(2, 2, () => F.LstmPairApplies(seq, batch, hidden, dtype)), "the shapes must take the two-layer op");
        Assert.False(With(0, 2, () => F.LstmPairApplies(seq, batch, hidden, dtype)));
        var inputs = Inputs(100 + hidden, layers, seq, batch, hidden, dtype);
        long[][] Run() => RunBits(inputs, layers, hidden, dtype, outputOnly);

        var reference = With(0, 2, Run);
        foreach (int threads in new[] { 1, 2 })
        {
            long kept = F.LstmPairWavefrontsKept;
            var pair = With(2, threads, Run);
            Assert.Equal(outputOnly ? layers / 2 : 0, F.LstmPairWavefrontsKept - kept);
            AssertSameBits(reference, pair, threads);
        }
    }

    /// <summary>The input, initial states and loss weights of a test of <paramref name="layers"/> stacked layers.</summary>
    internal static Tensor[] Inputs(int seed, int layers, int seq, int batch, int hidden, DType dtype)
    {
        var g = new Generator((ulong)seed);
        return [Tensor.Randn([seq, batch, 7], g).To(dtype), (Tensor.Randn([layers, batch, hidden], g) * 0.5).To(dtype),
            (Tensor.Randn([layers, batch, hidden], g) * 0.5).To(dtype), Tensor.Randn([seq, batch, hidden], g).To(dtype),
            Tensor.Randn([layers, batch, hidden], g).To(dtype), Tensor.Randn([layers, batch, hidden], g).To(dtype)];
    }

    /// <summary>
    /// The bits of an LSTM's outputs, final states and every gradient (input, initial states, parameters) for a loss
    /// of the outputs (and, unless <paramref name="outputOnly"/>, the final states) weighted by <paramref name="inputs"/>' last three;
    /// the LSTM's weights drawn from <paramref name="weightSeed"/>.
    /// </summary>
    internal static long[][] RunBits(Tensor[] inputs, int layers, int hidden, DType dtype, bool outputOnly, int weightSeed = 5)
    {
        var lstm = new LSTM(7, hidden, layers, generator: new Generator((ulong)weightSeed), dtype: dtype);
        Tensor[] leaves = [inputs[0].Detach(), inputs[1].Detach(), inputs[2].Detach()];
        foreach (var t in leaves) t.RequiresGrad = true;
        var (output, (h, c)) = lstm.Forward(leaves[0], (leaves[1], leaves[2]));
        var loss = (output * inputs[3]).Sum();
        if (!outputOnly) loss = loss + (h * inputs[4]).Sum() + (c * inputs[5]).Sum();
        loss.Backward();
        Tensor[] all = [output, h, c, .. leaves.Select(t => t.Grad!), .. lstm.Parameters().Select(p => p.Grad!)];
        return all.Select(t => dtype == DType.Float64 ? t.ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray()
            : t.ToArray<float>().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray()).ToArray();
    }

    /// <summary>Asserts that every tensor of <paramref name="actual"/> has the bits of <paramref name="expected"/>'s.</summary>
    internal static void AssertSameBits(long[][] expected, long[][] actual, int threads)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            int differing = Enumerable.Range(0, expected[i].Length).Count(j => expected[i][j] != actual[i][j]);
            Assert.True(differing == 0, $"tensor {i} (output, h, c, dx, dh0, dc0, then the parameters): {differing} of {expected[i].Length} values differ, {threads} thread(s)");
        }
    }

    [Fact]
    public void OnnxExportIsTheLayerByLayerOne()
    {
        var x = Tensor.Randn([8, 9, 7], new Generator(3));
        byte[] Export(int mode) => With(mode, 2, () =>
        {
            var lstm = new LSTM(7, 40, 2, generator: new Generator(4));
            return OnnxExporter.ExportToBytes(lstm, [x]);
        });
        Assert.True(With(2, 2, () => F.LstmPairApplies(8, 9, 40, DType.Float32)));
        Assert.Equal(Export(0), Export(2));
    }
}
