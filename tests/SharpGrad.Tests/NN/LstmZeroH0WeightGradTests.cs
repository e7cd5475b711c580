using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// dW_hh without the products of h0's block when h0 is zero (<see cref="Functional.LstmZeroH0WeightGrad"/>) against the
/// products, bit for bit: every output, final state and gradient, one layer and stacked pairs (the backward wavefront's
/// split gate-block tasks and a layer's own weight-gradient pass), one and two threads, float32 and float64, h0 of +0,
/// −0 or random, and gate gradients that are not finite in h0's step (those strips keep their products).
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmZeroH0WeightGradTests
{
    /// <summary>Runs <paramref name="body"/> with the switch, the pair mode and the thread limit set, then restores them.</summary>
    private static T With<T>(bool skip, int pairMode, int threads, Func<T> body)
    {
        bool saved = F.LstmZeroH0WeightGrad;
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmZeroH0WeightGrad = skip;
        F.LstmPairMode = pairMode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            F.LstmZeroH0WeightGrad = saved;
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    private static bool FormsWeightGrad(bool float64, int seq, int batch, int hidden) => float64
        ? SharpGrad.Kernels.LstmRecurrence<double, SharpGrad.Kernels.GemmKernel512<double>>.PacksWeightGrad(seq, batch, hidden)
        : SharpGrad.Kernels.LstmRecurrence<float, SharpGrad.Kernels.GemmKernel512<float>>.PacksWeightGrad(seq, batch, hidden);

    /// <summary>
    /// h0 is zero (<paramref name="h0Sign"/> +1 or −1: +0 or −0 in every place) or random (0); with
    /// <paramref name="infiniteAt"/> ≥ 0 the loss weight of that output element of the first step is +∞, so that
    /// unit's gate gradients in h0's step are not finite (its strips must run the products; the others still skip).
    /// </summary>
    [Theory]
    [InlineData(2, 6, 16, 64, false, 2, 1, true, -1)]    // a pair in one wavefront: both layers' split dW_hh tasks
    [InlineData(2, 5, 16, 64, false, 2, -1, true, -1)]   // h0 of −0
    [InlineData(2, 6, 16, 64, false, 2, 0, true, -1)]    // random h0: no skip
    [InlineData(2, 4, 13, 64, false, 2, 1, false, -1)]   // a partial row strip; the first layer recomputed after the wavefront
    [InlineData(3, 5, 11, 96, false, 2, 1, true, -1)]    // a pair, then a layer alone
    [InlineData(1, 5, 16, 64, false, 0, 1, true, -1)]    // one layer's own weight-gradient pass
    [InlineData(1, 4, 24, 96, false, 0, 1, true, -1)]    // one layer, three unit blocks: the pass split over two threads
    [InlineData(2, 4, 16, 64, false, 0, 1, false, -1)]   // layer by layer
    [InlineData(1, 1, 16, 64, false, 0, 1, true, -1)]    // one step: h0's block is the only one
    [InlineData(2, 3, 11, 32, true, 2, 1, true, -1)]     // float64
    [InlineData(2, 4, 9, 48, true, 2, -1, false, -1)]
    [InlineData(2, 5, 16, 64, false, 2, 1, true, 37)]    // +∞ in the first step's output gradient
    [InlineData(1, 4, 16, 64, false, 0, 1, true, 300)]
    [InlineData(2, 3, 11, 32, true, 2, 1, true, 5)]
    public void SkipGivesTheProductsBits(int layers, int seq, int batch, int hidden, bool float64, int pairMode, int h0Sign, bool outputOnly, int infiniteAt)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var inputs = LstmPairTests.Inputs(900 + hidden + batch, layers, seq, batch, hidden, dtype);
        if (h0Sign != 0) inputs[1] = (Tensor.Zeros([layers, batch, hidden]) * h0Sign).To(dtype);
        if (infiniteAt >= 0)
        {
            var weights = inputs[3].To(DType.Float64).ToArray<double>();
            weights[infiniteAt] = double.PositiveInfinity; // step 0, row infiniteAt / hidden, unit infiniteAt % hidden
            inputs[3] = Tensor.FromArray(weights, seq, batch, hidden).To(dtype);
        }
        bool formsDW = FormsWeightGrad(float64, seq, batch, hidden);
        foreach (int threads in new[] { 1, 2 })
        {
            var reference = With(false, pairMode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
            F.LstmZeroH0WeightGradTaken = false;
            var actual = With(true, pairMode, threads, () => LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly));
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) Assert.Equal(formsDW && h0Sign != 0, F.LstmZeroH0WeightGradTaken);
            // The last layer's dW_hh (its parameters: W_ih, W_hh, b_ih, b_hh): NaN where the non-finite strips kept their products.
            if (infiniteAt >= 0) Assert.Contains(reference[^3], bits => float64 ? double.IsNaN(BitConverter.Int64BitsToDouble(bits)) : float.IsNaN(BitConverter.Int32BitsToSingle((int)bits)));
            LstmPairTests.AssertSameBits(reference, actual, threads);
        }
    }
}
