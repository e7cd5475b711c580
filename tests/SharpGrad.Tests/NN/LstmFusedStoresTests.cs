using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The LSTM time loops with their results stored straight from the registers (<see cref="Functional.LstmFusedStores"/>:
/// the forward's whole tiles, the backward's transposed gate gradients) against the same loops storing through scratch
/// tiles and copies: the same bits in every output, final state and gradient, one layer and stacked pairs, one and two
/// threads, float32 and float64, whole and partial tiles.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmFusedStoresTests
{
    [Theory]
    [InlineData(1, 5, 16, 64, false, 0)]  // whole tiles only (float32 MR 8, NR 32)
    [InlineData(1, 4, 13, 40, false, 0)]  // a partial row strip and a partial unit block beside whole tiles
    [InlineData(2, 5, 16, 64, false, 2)]  // a pair (wavefront)
    [InlineData(3, 6, 11, 64, false, 2)]  // a pair, then a layer alone; a partial row strip
    [InlineData(2, 4, 19, 96, false, 0)]  // layer by layer
    [InlineData(1, 3, 16, 32, true, 0)]   // float64 (NR 16 with AVX-512)
    [InlineData(2, 4, 9, 48, true, 2)]
    [InlineData(2, 3, 10, 20, true, 2, false)] // float64, a partial unit block: neither fused store applies
    public void FusedStoresGiveTheTileBits(int layers, int seq, int batch, int hidden, bool float64, int pairMode, bool fusedRuns = true)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var inputs = LstmPairTests.Inputs(300 + hidden + batch, layers, seq, batch, hidden, dtype);
        long[][] Run(bool fused, int threads)
        {
            bool savedFused = F.LstmFusedStores;
            int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
            F.LstmFusedStores = fused;
            F.LstmPairMode = pairMode;
            SharpGrad.Kernels.Gemm.MaxThreads = threads;
            try { return LstmPairTests.RunBits(inputs, layers, hidden, dtype, outputOnly: false); }
            finally
            {
                F.LstmFusedStores = savedFused;
                F.LstmPairMode = savedMode;
                SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
            }
        }

        foreach (int threads in new[] { 1, 2 })
        {
            var reference = Run(false, threads);
            F.LstmFusedStoresTaken = false;
            var fused = Run(true, threads);
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
                Assert.Equal(fusedRuns, F.LstmFusedStoresTaken); // whether the shapes take a fused store path
            LstmPairTests.AssertSameBits(reference, fused, threads);
        }
    }
}
