using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Two LSTM time-loop paths against the ones they replace, bit for bit: dW_hh from one packed panel of the stored
/// states, split into gate-block tasks in a pair's backward wavefront (<see cref="Functional.LstmSplitWeightGrad"/>), and the forward's first step
/// from a zero h0 with its product tiles cleared (<see cref="Functional.LstmZeroStart"/>); every output, final state
/// and gradient, one layer and stacked pairs, one and two threads, float32 and float64.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmStepPathsTests
{
    /// <summary>Runs <paramref name="body"/> with both switches, the pair mode and the thread limit set, then restores them.</summary>
    private static T With<T>(bool split, bool zeroStart, int pairMode, int threads, Func<T> body)
    {
        bool savedSplit = F.LstmSplitWeightGrad, savedZero = F.LstmZeroStart;
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmSplitWeightGrad = split;
        F.LstmZeroStart = zeroStart;
        F.LstmPairMode = pairMode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            F.LstmSplitWeightGrad = savedSplit;
            F.LstmZeroStart = savedZero;
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// h0 is zero (<paramref name="h0Sign"/> +1 or −1: +0 or −0 in every place) or random (0); the loss reads the last
    /// layer's outputs only (the wavefront keeps the first layer's gradients) or the final states too.
    /// </summary>
    [Theory]
    [InlineData(2, 6, 16, 64, false, 2, 1, true)]   // a pair, whole tiles: both new paths
    [InlineData(2, 5, 16, 64, false, 2, -1, true)]  // h0 of −0
    [InlineData(2, 6, 16, 64, false, 2, 0, true)]   // random h0: no skip, the split alone
    [InlineData(2, 4, 13, 64, false, 2, 1, false)]  // a partial row strip; the first layer recomputed after the wavefront
    [InlineData(3, 5, 11, 96, false, 2, 1, true)]   // a pair, then a layer alone
    [InlineData(1, 5, 16, 64, false, 0, 1, true)]   // one layer: the skip and the panel
    [InlineData(1, 4, 24, 96, false, 0, 1, true)]   // one layer, three unit blocks: its weight-gradient pass split over two threads
    [InlineData(2, 4, 16, 64, false, 0, 1, false)]  // layer by layer
    [InlineData(2, 3, 11, 32, true, 2, 1, true)]    // float64 (no fused forward tiles: the split alone)
    [InlineData(2, 4, 9, 48, true, 2, 0, false)]
    public void NewPathsGiveTheOldBits(int layers, int seq, int batch, int hidden, bool float64, int pairMode, int h0Sign, bool outputOnly)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var inputs = LstmPairTests.Inputs(700 + hidden + batch, layers, seq, batch, hidden, dtype);
        if (h0Sign != 0) inputs[1] = (Tensor.Zeros([layers, batch, hidden]) * h0Sign).To(dtype);
        // The skip is on the fused float32 path (whole 8 x 32 tiles); the one panel wherever the time loops form dW_hh
        // (split in a pair's wavefront, or a layer's own weight-gradient pass).
        bool wholeTiles = hidden % 32 == 0 && batch >= 8 && !float64;
        bool formsDW = float64 ? SharpGrad.Kernels.LstmRecurrence<double, SharpGrad.Kernels.GemmKernel512<double>>.PacksWeightGrad(seq, batch, hidden)
            : SharpGrad.Kernels.LstmRecurrence<float, SharpGrad.Kernels.GemmKernel512<float>>.PacksWeightGrad(seq, batch, hidden);
        foreach (int threads in new[] { 1, 2 })
        {
            var reference = With(false, false, pairMode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
            F.LstmZeroStartTaken = false;
            F.LstmSplitWeightGradTaken = false;
            var actual = With(true, true, pairMode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            {
                // Whole unit blocks (float64 NR 16, float32 32) let the time loops form dW_hh.
                Assert.Equal(formsDW, F.LstmSplitWeightGradTaken);
                Assert.Equal(h0Sign != 0 && wholeTiles, F.LstmZeroStartTaken);
            }
            LstmPairTests.AssertSameBits(reference, actual, threads);
        }
    }

    /// <summary>A non-finite W_hh makes the first step's products NaN, not zero: the skip must not apply, and the bits (NaNs included) stay.</summary>
    [Fact]
    public void NonFiniteWeightKeepsTheProducts()
    {
        const int seq = 3, batch = 8, hidden = 32;
        var g = new Generator(11);
        var xProj = Tensor.Randn([seq, batch, 4 * hidden], g);
        var h0 = Tensor.Zeros([batch, hidden]);
        var c0 = Tensor.Randn([batch, hidden], g);
        var w = Tensor.Randn([4 * hidden, hidden], g).ToArray<float>();
        w[5 * hidden + 3] = float.PositiveInfinity;
        var wHh = Tensor.FromArray(w, 4 * hidden, hidden);
        var bHh = Tensor.Randn([4 * hidden], g);
        int[] Run(bool zeroStart) => With(false, zeroStart, 0, 1,
            () => F.LstmSequence(xProj, h0, c0, wHh, bHh, reverse: false).ToArray<float>().Select(BitConverter.SingleToInt32Bits).ToArray());
        var reference = Run(false);
        F.LstmZeroStartTaken = false;
        var actual = Run(true);
        Assert.False(F.LstmZeroStartTaken);
        Assert.Contains(reference, bits => float.IsNaN(BitConverter.Int32BitsToSingle(bits)));
        Assert.Equal(reference, actual);
    }
}
