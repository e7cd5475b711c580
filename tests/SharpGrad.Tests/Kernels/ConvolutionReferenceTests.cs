using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// Convolution and pooling, forward and backward, against direct nested loops written from the definitions (in double),
/// over awkward sizes and every combination of stride, padding and dilation the fast paths special-case: the batched,
/// two-core im2col/col2im, the clipped row copies at the padding, the 2x2 stride-2 max-pool path, odd plane sizes.
/// </summary>
public class ConvolutionReferenceTests
{
    // (batch, in, out, H, W, kh, kw, stride, padding, dilation)
    public static TheoryData<int, int, int, int, int, int, int, (int, int), (int, int), (int, int)> ConvCases => new()
    {
        { 1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0), (1, 1) },
        { 2, 1, 3, 7, 7, 3, 3, (1, 1), (0, 0), (1, 1) },
        { 3, 2, 4, 17, 13, 5, 3, (2, 1), (1, 2), (1, 1) },
        { 2, 3, 5, 9, 11, 3, 3, (1, 1), (2, 2), (2, 2) },
        { 2, 2, 3, 10, 10, 2, 4, (3, 2), (1, 0), (2, 1) },
        { 5, 4, 6, 12, 12, 5, 5, (1, 1), (0, 0), (1, 1) },   // the CNN's second layer in miniature
        { 64, 1, 8, 28, 28, 5, 5, (1, 1), (0, 0), (1, 1) },  // big enough to split over two cores
        { 33, 3, 7, 8, 5, 3, 2, (2, 3), (1, 1), (1, 2) },
        { 2, 2, 2, 4, 4, 3, 3, (1, 1), (3, 3), (1, 1) },     // padding wider than the image: rows of pure zeros
        { 2, 1, 2, 6, 6, 2, 2, (1, 1), (2, 2), (5, 5) },     // dilated window reaching past the far edge
        { 100, 32, 3, 12, 12, 5, 5, (1, 1), (0, 0), (1, 1) }, // 800 column rows: several k blocks of the implicit GEMM
        { 70, 16, 3, 30, 30, 5, 5, (2, 2), (2, 2), (1, 1) },  // strided: the scattered input gradient comes in several chunks (InputGradientJob.ChunkElements)
        { 13, 16, 3, 30, 30, 5, 5, (2, 2), (2, 2), (1, 1) },  // ... with the chunks split over two cores
    };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2dMatchesDirectLoops(int n, int c, int o, int h, int w, int kh, int kw, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        var rng = new Random(n * 7919 + c * 104729 + h * 31 + w + kh * 17 + stride.H * 5 + padding.W * 3 + dilation.H);
        double[] x = Random(rng, n * c * h * w), wt = Random(rng, o * c * kh * kw), b = Random(rng, o);
        int oh = (h + 2 * padding.H - dilation.H * (kh - 1) - 1) / stride.H + 1;
        int ow = (w + 2 * padding.W - dilation.W * (kw - 1) - 1) / stride.W + 1;
        double[] gy = Random(rng, n * o * oh * ow);

        // Direct definition: y[i,p,y,x] = b[p] + Σ w[p,q,u,v] · x[i, q, y·s - pad + u·d, x·s - pad + v·d], and its adjoints.
        var yRef = new double[n * o * oh * ow];
        var gxRef = new double[x.Length];
        var gwRef = new double[wt.Length];
        var gbRef = new double[o];
        // Σ|term| of every reference sum: a float32 result is judged relative to it, since its rounding error grows
        // with the number and size of the terms, not with the (possibly cancelled) result.
        double[] yMag = new double[yRef.Length], gxMag = new double[x.Length], gwMag = new double[wt.Length], gbMag = new double[o];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < o; p++)
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        int yi = ((i * o + p) * oh + yy) * ow + xx;
                        double acc = b[p], mag = Math.Abs(b[p]);
                        gbRef[p] += gy[yi];
                        gbMag[p] += Math.Abs(gy[yi]);
                        for (int q = 0; q < c; q++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                {
                                    int iy = yy * stride.H - padding.H + u * dilation.H, ix = xx * stride.W - padding.W + v * dilation.W;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    int xi = ((i * c + q) * h + iy) * w + ix, wi = ((p * c + q) * kh + u) * kw + v;
                                    acc += wt[wi] * x[xi];
                                    mag += Math.Abs(wt[wi] * x[xi]);
                                    gxRef[xi] += wt[wi] * gy[yi];
                                    gxMag[xi] += Math.Abs(wt[wi] * gy[yi]);
                                    gwRef[wi] += x[xi] * gy[yi];
                                    gwMag[wi] += Math.Abs(x[xi] * gy[yi]);
                                }
                        yRef[yi] = acc;
                        yMag[yi] = mag;
                    }

        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            double tol = dtype == DType.Float64 ? 1e-13 : 1e-6;
            var xt = Tensor.FromArray(x, n, c, h, w).To(dtype); xt.RequiresGrad = true;
            var wtt = Tensor.FromArray(wt, o, c, kh, kw).To(dtype); wtt.RequiresGrad = true;
            var bt = Tensor.FromArray(b, o).To(dtype); bt.RequiresGrad = true;
            var y = F.Conv2d(xt, wtt, bt, stride, padding, dilation);
            Assert.Equal(new[] { n, o, oh, ow }, y.Shape);
            AssertClose(yRef, y, tol, $"{dtype} forward", yMag);
            y.Backward(Tensor.FromArray(gy, n, o, oh, ow).To(dtype));
            AssertClose(gxRef, xt.Grad!, tol, $"{dtype} input gradient", gxMag);
            AssertClose(gwRef, wtt.Grad!, tol, $"{dtype} weight gradient", gwMag);
            AssertClose(gbRef, bt.Grad!, tol, $"{dtype} bias gradient", gbMag);
        }
    }

    [Fact]
    public void Conv2dSkipsTheInputGradientWhenTheInputNeedsNone()
    {
        var rng = new Random(5);
        var x = Tensor.FromArray(Random(rng, 2 * 1 * 6 * 6), 2, 1, 6, 6);
        var w = Tensor.FromArray(Random(rng, 3 * 1 * 3 * 3), 3, 1, 3, 3);
        w.RequiresGrad = true;
        F.Conv2d(x, w).Sum().Backward();
        Assert.Null(x.Grad);
        // Σ_y of the output is Σ over windows, so dL/dw[p,0,u,v] is the sum of x over the window offset (u, v).
        var xs = x.ToArray<double>();
        for (int u = 0; u < 3; u++)
            for (int v = 0; v < 3; v++)
            {
                double expected = 0;
                for (int i = 0; i < 2; i++)
                    for (int yy = 0; yy < 4; yy++)
                        for (int xx = 0; xx < 4; xx++) expected += xs[(i * 6 + yy + u) * 6 + xx + v];
                for (int p = 0; p < 3; p++) Assert.Equal(expected, w.Grad!.ToArray<double>()[(p * 3 + u) * 3 + v], 12);
            }
    }

    [Fact]
    public void Conv2dWithoutGradientModeRecordsNothing()
    {
        var x = Tensor.Ones([1, 1, 4, 4]);
        var w = Tensor.Ones([1, 1, 2, 2]);
        w.RequiresGrad = true;
        using (SharpGrad.Autograd.NoGrad())
        {
            var y = F.Conv2d(x, w);
            Assert.False(y.RequiresGrad);
            Assert.All(y.ToArray<float>(), v => Assert.Equal(4f, v));
        }
    }

    // (batch·channels planes, H, W, kernel, stride, padding, dilation)
    public static TheoryData<int, int, int, int, int, int, int> PoolCases => new()
    {
        { 3, 4, 4, 2, 2, 0, 1 },    // the 2x2 stride-2 fast path, exact tiling
        { 5, 7, 9, 2, 2, 0, 1 },    // fast path, odd sizes: the last row and column are dropped
        { 2, 24, 24, 2, 2, 0, 1 },
        { 2, 7, 7, 3, 2, 1, 1 },
        { 2, 8, 6, 2, 1, 1, 1 },
        { 2, 9, 9, 2, 2, 1, 2 },    // dilated 2x2: not the fast path
        { 1, 5, 5, 3, 3, 0, 1 },
        { 130, 24, 24, 2, 2, 0, 1 },  // big enough to split the planes over two cores
        { 70, 31, 33, 3, 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void MaxPool2dMatchesDirectLoops(int planes, int h, int w, int k, int s, int pad, int d)
    {
        var rng = new Random(planes * 131 + h * 17 + w + k * 7 + s * 3 + pad + d * 1000);
        // Distinct values (a permutation), so the winner of every window is unique and the gradient route is defined.
        double[] x = Enumerable.Range(0, planes * h * w).OrderBy(_ => rng.Next()).Select(v => (double)v).ToArray();
        int oh = (h + 2 * pad - d * (k - 1) - 1) / s + 1, ow = (w + 2 * pad - d * (k - 1) - 1) / s + 1;
        double[] gy = Random(rng, planes * oh * ow);
        var yRef = new double[planes * oh * ow];
        var gxRef = new double[x.Length];
        for (int pl = 0; pl < planes; pl++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++)
                {
                    double best = double.NegativeInfinity;
                    int at = -1;
                    for (int u = 0; u < k; u++)
                        for (int v = 0; v < k; v++)
                        {
                            int iy = yy * s - pad + u * d, ix = xx * s - pad + v * d;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            int xi = (pl * h + iy) * w + ix;
                            if (x[xi] > best) { best = x[xi]; at = xi; }
                        }
                    int yi = (pl * oh + yy) * ow + xx;
                    yRef[yi] = best;
                    gxRef[at] += gy[yi];
                }

        int ohA = (h + 2 * pad - k) / s + 1, owA = (w + 2 * pad - k) / s + 1;
        double[] gyAvg = Random(rng, planes * ohA * owA);
        var avgRef = AveragePoolReference(x, planes, h, w, k, s, pad, gyAvg, out var gAvgRef);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var xt = Tensor.FromArray(x, 1, planes, h, w).To(dtype); xt.RequiresGrad = true;
            var y = F.MaxPool2d(xt, k, s, pad, d);
            AssertClose(yRef, y, 0, $"{dtype} max forward");
            y.Backward(Tensor.FromArray(gy, 1, planes, oh, ow).To(dtype));
            AssertClose(gxRef, xt.Grad!, dtype == DType.Float64 ? 0 : 1e-6, $"{dtype} max backward");

            var at = Tensor.FromArray(x, 1, planes, h, w).To(dtype); at.RequiresGrad = true;
            var avg = F.AvgPool2d(at, k, s, pad);
            AssertClose(avgRef, avg, dtype == DType.Float64 ? 1e-12 : 1e-6, $"{dtype} avg forward");
            avg.Backward(Tensor.FromArray(gyAvg, 1, planes, ohA, owA).To(dtype));
            AssertClose(gAvgRef, at.Grad!, dtype == DType.Float64 ? 1e-12 : 1e-5, $"{dtype} avg backward");
        }
    }

    [Fact]
    public void MaxPoolFastPathPropagatesTheFirstNaN()
    {
        // Window values (row-major): 1, NaN, 5, NaN. PyTorch returns NaN and routes the gradient to the first NaN.
        var x = Tensor.FromArray(new[] { 1f, float.NaN, 5f, float.NaN }, 1, 1, 2, 2);
        x.RequiresGrad = true;
        var y = F.MaxPool2d(x, 2);
        Assert.True(float.IsNaN(y.ToArray<float>()[0]));
        y.Sum().Backward();
        Assert.Equal(new[] { 0f, 1f, 0f, 0f }, x.Grad!.ToArray<float>());
    }

    [Theory]
    [InlineData(false, 41)]
    [InlineData(true, 41)]
    [InlineData(false, 14)]
    [InlineData(true, 14)]
    public void MaxPoolTiesAndNaNsFollowTheFirstWinsRule(bool withNaN, int w)
    {
        // Wide rows (41 columns: two blocks of eight windows and a tail of four) or the CNN's 14 (one partial block
        // whose loads reach into the next row, except at the end of the input); few distinct values so windows tie often.
        const int planes = 3, h = 6;
        var rng = new Random(withNaN ? 11 : 12);
        float[] x = Enumerable.Range(0, planes * h * w).Select(_ => (float)rng.Next(3)).ToArray();
        if (withNaN) foreach (int at in new[] { 3, 45, 130, 131, 200, 300, 480, 700 }.Where(a => a < x.Length)) x[at] = float.NaN;
        int oh = h / 2, ow = w / 2;
        var yRef = new float[planes * oh * ow];
        var gxRef = new float[x.Length];
        for (int pl = 0; pl < planes; pl++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++)
                {
                    int at = -1;
                    foreach (var (u, v) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                    {
                        int xi = (pl * h + 2 * yy + u) * w + 2 * xx + v;
                        if (at < 0 || (!float.IsNaN(x[at]) && (float.IsNaN(x[xi]) || x[xi] > x[at]))) at = xi;
                    }
                    int yi = (pl * oh + yy) * ow + xx;
                    yRef[yi] = x[at];
                    gxRef[at] += yi + 1;
                }
        var xt = Tensor.FromArray(x, 1, planes, h, w);
        xt.RequiresGrad = true;
        var y = F.MaxPool2d(xt, 2);
        Assert.Equal(yRef, y.ToArray<float>());
        y.Backward(Tensor.FromArray(Enumerable.Range(1, yRef.Length).Select(v => (float)v).ToArray(), 1, planes, oh, ow));
        Assert.Equal(gxRef, xt.Grad!.ToArray<float>());
    }

    private static double[] AveragePoolReference(double[] x, int planes, int h, int w, int k, int s, int pad, double[] gyAll, out double[] gx)
    {
        int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
        var y = new double[planes * oh * ow];
        gx = new double[x.Length];
        for (int pl = 0; pl < planes; pl++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++)
                {
                    int yi = (pl * oh + yy) * ow + xx;
                    for (int u = 0; u < k; u++)
                        for (int v = 0; v < k; v++)
                        {
                            int iy = yy * s - pad + u, ix = xx * s - pad + v;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            y[yi] += x[(pl * h + iy) * w + ix] / (k * k);
                            gx[(pl * h + iy) * w + ix] += gyAll[yi] / (k * k);
                        }
                }
        return y;
    }

    private static double[] Random(Random rng, int count) => Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    private static void AssertClose(double[] expected, Tensor actual, double tol, string what, double[]? magnitude = null)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - expected[i]);
            if (!(err <= tol * (1 + (magnitude?[i] ?? Math.Abs(expected[i])))))
                Assert.Fail($"{what}: element {i} is {a[i]}, expected {expected[i]} (tolerance {tol}).");
        }
    }
}
