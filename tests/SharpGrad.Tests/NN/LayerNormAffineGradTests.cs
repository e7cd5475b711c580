using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// LayerNorm's weight and bias gradients are shared out over the threads by columns: each column's sum over the rows
/// keeps one order, so the bits do not depend on the thread count, and the sums are those of a float64 computation.
/// </summary>
[Collection(SharpGrad.Tests.Kernels.GemmCollection.Name)] // sets Gemm.MaxThreads
public class LayerNormAffineGradTests
{
    [Theory]
    [InlineData(1024, 128)] // the LM's rows
    [InlineData(300, 45)]   // a last column group narrower than the others
    public void AffineGradientsAreTheSameForOneAndTwoThreadsAndMatchDouble(int rows, int width)
    {
        var g = new Generator(31);
        var x = Tensor.Randn([rows, width], g) * 2 + 0.5;
        var w = Tensor.Randn([width], g);
        var b = Tensor.Randn([width], g);
        var gy = Tensor.Randn([rows, width], g);
        int saved = Gemm.MaxThreads;
        var results = new List<float[][]>();
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Gemm.MaxThreads = threads;
                Tensor xl = x.Clone(), wl = w.Clone(), bl = b.Clone();
                xl.RequiresGrad = wl.RequiresGrad = bl.RequiresGrad = true;
                var grads = SharpGrad.Autograd.Grad(F.LayerNorm(xl, [width], wl, bl), [xl, wl, bl], gy);
                results.Add([.. grads.Select(t => t.ToArray<float>())]);
            }
        }
        finally
        {
            Gemm.MaxThreads = saved;
        }
        for (int i = 0; i < 3; i++) Assert.Equal(results[0][i], results[1][i]);

        // float64: x̂ from the row's mean and population variance, dw = Σ g x̂, db = Σ g.
        float[] xs = x.ToArray<float>(), gs = gy.ToArray<float>();
        var dw = new double[width];
        var db = new double[width];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, variance = 0;
            for (int c = 0; c < width; c++) mean += xs[r * width + c];
            mean /= width;
            for (int c = 0; c < width; c++) variance += (xs[r * width + c] - mean) * (xs[r * width + c] - mean);
            double rstd = 1 / Math.Sqrt(variance / width + 1e-5);
            for (int c = 0; c < width; c++)
            {
                dw[c] += gs[r * width + c] * (xs[r * width + c] - mean) * rstd;
                db[c] += gs[r * width + c];
            }
        }
        for (int c = 0; c < width; c++)
        {
            Assert.True(Math.Abs(results[0][1][c] - dw[c]) <= 1e-5 * rows, $"dw[{c}] = {results[0][1][c]}, float64 {dw[c]}");
            Assert.True(Math.Abs(results[0][2][c] - db[c]) <= 1e-5 * rows, $"db[{c}] = {results[0][2][c]}, float64 {db[c]}");
        }
    }
}
