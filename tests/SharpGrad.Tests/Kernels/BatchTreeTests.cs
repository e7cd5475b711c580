using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The batch sums of parameter gradients reduced as <see cref="BatchTree"/>'s interleaved tree: a batch gives bit for
/// bit the sum (one addition per element) of what its even- and odd-positioned items give computed alone, on
/// contiguous copies: the split DistributedSampler makes between two processes, whose gradients data-parallel training
/// adds. Odd counts too (the even-positioned half then has one item more).
/// </summary>
public class BatchTreeTests
{
    private static T[] Random<T>(Random rng, int count) where T : IFloatingPointIeee754<T> =>
        Enumerable.Range(0, count).Select(_ => T.CreateTruncating(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>The items at positions of one parity, each <paramref name="size"/> values, back to back.</summary>
    private static T[] Pick<T>(T[] all, int n, int size, int parity) =>
        Enumerable.Range(0, n).Where(i => i % 2 == parity).SelectMany(i => all.Skip(i * size).Take(size)).ToArray();

    private static T[] Added<T>(T[] a, T[] b) where T : IFloatingPointIeee754<T> => a.Zip(b, (u, v) => u + v).ToArray();

    /// <summary>
    /// The direct (implicit-GEMM) weight gradient, float32 and float64, with 1 and 2 threads: the equivalence test's
    /// first layer (one input channel: gW a single column strip, the image-group case), its second layer (several
    /// strips, Winograd's weight gradient switched off), odd batches. A batch of at most <see cref="BatchTree.LeafImages"/>
    /// images is one leaf, a running sum, which has no such property: checked, so the test can tell.
    /// </summary>
    [Theory]
    [InlineData(64, 1, 8, 12, 3, 1, false)]
    [InlineData(64, 8, 16, 6, 3, 1, false)]
    [InlineData(33, 1, 6, 9, 5, 0, false)]
    [InlineData(37, 3, 5, 7, 3, 1, false)]
    [InlineData(64, 1, 8, 12, 3, 1, true)]
    [InlineData(35, 8, 16, 6, 3, 1, true)]
    public void DirectWeightGradientOfABatchIsItsInterleavedHalvesSummed(int n, int c, int o, int hw, int k, int pad, bool float64)
    {
        if (float64) DirectWeightGradient<double>(n, c, o, hw, k, pad);
        else DirectWeightGradient<float>(n, c, o, hw, k, pad);
    }

    private static unsafe void DirectWeightGradient<T>(int n, int c, int o, int hw, int k, int pad) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(n * 31 + c * 7 + k);
        int ohw = hw + 2 * pad - k + 1, image = c * hw * hw, outImage = o * ohw * ohw;
        T[] x = Random<T>(rng, n * image), gy = Random<T>(rng, n * outImage);
        var g = new ConvGeometry(c, hw, hw, k, k, 1, 1, pad, pad, 1, 1);
        T[] Run(T[] xs, T[] gys, int count, int threads)
        {
            var gw = new T[o * c * k * k];
            Array.Fill(gw, T.NaN);  // every element must be written
            Winograd.t_directWeightGradient = true;
            try
            {
                Assert.False(Winograd.WeightGradientApplies<T>(g, o));
                fixed (T* px = xs, pgy = gys, pgw = gw) ImplicitConv.WeightGradient(px, pgy, count, g, o, pgw, threads);
            }
            finally { Winograd.t_directWeightGradient = false; }
            return gw;
        }
        int evens = (n + 1) / 2;
        T[] expected = Added(Run(Pick(x, n, image, 0), Pick(gy, n, outImage, 0), evens, 1), Run(Pick(x, n, image, 1), Pick(gy, n, outImage, 1), n - evens, 1));
        Assert.Equal(expected, Run(x, gy, n, 1));
        Assert.Equal(expected, Run(x, gy, n, 2));
        // Still the gradient: against a float64 sum, within ε·(terms of the longest chain of additions)·Σ|terms| (a leaf
        // adds at most 16·OH·OW products in sequence, the tree about log₂(n / 16) more).
        var exact = new double[o * c * k * k];
        var magnitude = new double[o * c * k * k];
        for (int i = 0; i < n; i++)
            for (int oc = 0; oc < o; oc++)
                for (int ci = 0; ci < c; ci++)
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++)
                            for (int y = 0; y < ohw; y++)
                                for (int z = 0; z < ohw; z++)
                                {
                                    int iy = y + a - pad, ix = z + b - pad;
                                    if (iy < 0 || iy >= hw || ix < 0 || ix >= hw) continue;
                                    double term = double.CreateTruncating(gy[((i * o + oc) * ohw + y) * ohw + z]) * double.CreateTruncating(x[((i * c + ci) * hw + iy) * hw + ix]);
                                    exact[((oc * c + ci) * k + a) * k + b] += term;
                                    magnitude[((oc * c + ci) * k + a) * k + b] += Math.Abs(term);
                                }
        double eps = typeof(T) == typeof(float) ? 6e-8 : 1.2e-16, chain = BatchTree.LeafImages * ohw * ohw + Math.Log2(n) + 1;
        T[] whole = Run(x, gy, n, 2);
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(double.CreateTruncating(whole[i]) - exact[i]) <= eps * chain * magnitude[i], $"gw[{i}]");
        // Sixteen images are one leaf: a running sum, which its halves do not reproduce.
        int leaf = BatchTree.LeafImages;
        T[] leafExpected = Added(Run(Pick(x, leaf, image, 0), Pick(gy, leaf, outImage, 0), leaf / 2, 1), Run(Pick(x, leaf, image, 1), Pick(gy, leaf, outImage, 1), leaf / 2, 1));
        Assert.NotEqual(leafExpected, Run(x, gy, leaf, 1));
    }

    /// <summary>
    /// The convolutions' bias gradient (per image, per channel, sums over the positions; then the interleaved tree down
    /// to single images): the property at every batch size from 2, odd ones included, float32 and float64.
    /// </summary>
    [Theory]
    [InlineData(64, 8, 144)]
    [InlineData(33, 16, 36)]
    [InlineData(7, 5, 3)]
    [InlineData(2, 3, 10)]
    public void ConvolutionBiasGradientOfABatchIsItsInterleavedHalvesSummed(int n, int channels, int positions)
    {
        BiasGradient<float>(n, channels, positions);
        BiasGradient<double>(n, channels, positions);
    }

    private static void BiasGradient<T>(int n, int channels, int positions) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(n * 13 + channels);
        T[] gy = Random<T>(rng, n * channels * positions);
        T[] Run(T[] g, int count)
        {
            var gb = new T[channels];
            Array.Fill(gb, T.NaN);
            ConvNd.BiasGradient<T>(g, count, channels, positions, gb);
            return gb;
        }
        int size = channels * positions, evens = (n + 1) / 2;
        T[] expected = Added(Run(Pick(gy, n, size, 0), evens), Run(Pick(gy, n, size, 1), n - evens));
        T[] whole = Run(gy, n);
        Assert.Equal(expected, whole);
        for (int o = 0; o < channels; o++)
        {
            double exact = 0, magnitude = 0;
            for (int i = 0; i < n; i++)
                for (int p = 0; p < positions; p++)
                {
                    double v = double.CreateTruncating(gy[(i * channels + o) * positions + p]);
                    exact += v;
                    magnitude += Math.Abs(v);
                }
            Assert.True(Math.Abs(double.CreateTruncating(whole[o]) - exact) <= 1.2e-7 * magnitude * (Math.Log2(n) + positions), $"gb[{o}]");
        }
    }

    /// <summary>
    /// Sum over the first of two dimensions (Linear's bias gradient, <c>g.Sum(0)</c>; <see cref="Reduce.Rows{T, TOp}"/>):
    /// the property at every row count from 2, and the pairwise order's accuracy against float64. Max over the same
    /// dimension is unchanged by any order (checked against a plain loop).
    /// </summary>
    [Theory]
    [InlineData(64, 10)]
    [InlineData(48, 256)]
    [InlineData(33, 17)]
    [InlineData(5, 3)]
    public void SumOverRowsIsItsInterleavedHalvesSummed(int n, int width)
    {
        var rng = new Random(n + width);
        float[] data = Random<float>(rng, n * width);
        float[] SumRows(float[] rows, int count) => Tensor.FromArray(rows, count, width).Sum(0).ToArray<float>();
        int evens = (n + 1) / 2;
        float[] expected = Added(SumRows(Pick(data, n, width, 0), evens), SumRows(Pick(data, n, width, 1), n - evens));
        float[] whole = SumRows(data, n);
        Assert.Equal(expected, whole);
        float[] max = Tensor.FromArray(data, n, width).Max(0).ToArray<float>();
        for (int j = 0; j < width; j++)
        {
            double exact = 0, magnitude = 0;
            float top = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                exact += data[i * width + j];
                magnitude += Math.Abs(data[i * width + j]);
                top = Math.Max(top, data[i * width + j]);
            }
            Assert.True(Math.Abs(whole[j] - exact) <= 6e-8 * magnitude * Math.Ceiling(Math.Log2(n)), $"sum[{j}]");
            Assert.Equal(top, max[j]);
        }
    }

    /// <summary>
    /// <c>C = Aᵀ B</c> over a batch k (Linear's weight gradient gᵀ x) with a small output: the property, with odd k too,
    /// and the sum against float64. An output past <see cref="Gemm.BatchTreeMaxOutput"/> (the MLP's large layers) or
    /// with more than <see cref="Gemm.BatchTreeMaxRows"/> rows, and a depth past <see cref="Gemm.BatchTreeMaxDepth"/>,
    /// keep one pass over k, which has no such property: checked, so the test can tell.
    /// </summary>
    [Theory]
    [InlineData(64, 10, 144)]
    [InlineData(48, 10, 128)]
    [InlineData(37, 12, 40)]
    [InlineData(64, 128, 256)]
    [InlineData(64, 32, 128)]
    [InlineData(512, 10, 64)]
    public void SmallTransposedProductOverABatchIsItsInterleavedHalvesSummed(int k, int m, int n)
    {
        var rng = new Random(k * 7 + m + n);
        float[] a = Random<float>(rng, k * m), b = Random<float>(rng, k * n);
        float[] Product(float[] x, float[] y, int rows)
        {
            var c = new float[m * n];
            Array.Fill(c, float.NaN);
            Gemm.Multiply(true, false, m, n, rows, x, y, c, accumulate: false);
            return c;
        }
        int evens = (k + 1) / 2;
        float[] expected = Added(Product(Pick(a, k, m, 0), Pick(b, k, n, 0), evens), Product(Pick(a, k, m, 1), Pick(b, k, n, 1), k - evens));
        float[] whole = Product(a, b, k);
        bool tree = Gemm.BatchTreeApplies(true, false, m, n, k, n);
        Assert.Equal((long)m * n <= Gemm.BatchTreeMaxOutput && m <= Gemm.BatchTreeMaxRows && k <= Gemm.BatchTreeMaxDepth, tree);
        if (tree) Assert.Equal(expected, whole);
        else Assert.NotEqual(expected, whole);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = 0, magnitude = 0;
                for (int r = 0; r < k; r++)
                {
                    exact += (double)a[r * m + i] * b[r * n + j];
                    magnitude += Math.Abs((double)a[r * m + i] * b[r * n + j]);
                }
                double chain = tree ? BatchTree.LeafImages + Math.Log2(k) + 1 : k;
                Assert.True(Math.Abs(whole[i * n + j] - exact) <= 6e-8 * chain * magnitude, $"c[{i}, {j}]");
            }
    }
}
