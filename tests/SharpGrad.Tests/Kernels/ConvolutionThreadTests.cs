using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// Convolution results do not depend on the number of kernel threads: the forward, the weight gradient (including the
/// image-group split of single-strip first layers) and the input gradient (including the chunked explicit path) are
/// bit-identical for one and two threads, so training is reproducible on any machine.
/// </summary>
[Collection(GemmCollection.Name)]
public class ConvolutionThreadTests
{
    [Theory]
    [InlineData(64, 1, 32, 28, 5, 0, 1)]   // first layer on grey images: one strip of 25 column rows, four image groups
    [InlineData(7, 1, 32, 28, 3, 1, 1)]    // 9 column rows, a batch that does not divide into the groups evenly
    [InlineData(64, 32, 64, 12, 5, 0, 1)]  // unpadded second layer: the explicit input gradient in chunks over the cores
    [InlineData(40, 16, 8, 30, 5, 2, 2)]   // strided: explicit input gradient, several chunks
    [InlineData(64, 32, 64, 14, 3, 1, 1)]  // padded 3x3: the implicit input gradient
    public void OneAndTwoThreadsGiveBitIdenticalResults(int n, int c, int o, int h, int k, int padding, int stride)
    {
        var g = new Generator((ulong)(n * 131 + c * 17 + h + k));
        var x0 = Tensor.Randn([n, c, h, h], g);
        var w0 = Tensor.Randn([o, c, k, k], g);
        var b0 = Tensor.Randn([o], g);
        float[][] Run(int threads)
        {
            int saved = Gemm.MaxThreads;
            Gemm.MaxThreads = threads;
            try
            {
                var x = x0.Detach(); x.RequiresGrad = true;
                var w = w0.Detach(); w.RequiresGrad = true;
                var b = b0.Detach(); b.RequiresGrad = true;
                var y = F.Conv2d(x, w, b, stride, padding);
                var gy = Tensor.Randn(y.Shape, new Generator(5));
                y.Backward(gy);
                return [y.ToArray<float>(), x.Grad!.ToArray<float>(), w.Grad!.ToArray<float>(), b.Grad!.ToArray<float>()];
            }
            finally { Gemm.MaxThreads = saved; }
        }
        var one = Run(1);
        var two = Run(2);
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i].Length, two[i].Length);
            int differing = Enumerable.Range(0, one[i].Length).Count(j => BitConverter.SingleToInt32Bits(one[i][j]) != BitConverter.SingleToInt32Bits(two[i][j]));
            Assert.True(differing == 0, $"{names[i]}: {differing} of {one[i].Length} values differ between 1 and 2 threads");
        }
    }
}
