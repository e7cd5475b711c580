using SharpGrad.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// Winograd convolution (float32, stride 1, 3x3 and 5x5) against a direct convolution in double written from the
/// definition. Tolerance, from the transform's rounding-error bound: every value passes through a fixed chain of sums
/// (filter transform 2r terms deep, input transform 2n, the channel sum C, output transform 2n, the bias), so to first
/// order the float32 result is within γ_K = K·u (u = 2⁻²⁴, K = 2r + 4n + C + 1) of the exact one times the same
/// computation with every matrix and value replaced by its absolute value:
/// |ŷ − y| ≤ K·u · Σ_c |Aᵀ| [(|G| |w_c| |Gᵀ|) ⊙ (|Bᵀ| |d_c| |B|)] |A| + K·u·|b|. The bound is evaluated tile by tile
/// in double here; the input gradient is the same bound for the adjoint convolution (gy padded by k − 1 − p, filters
/// flipped and transposed), which the unpadded cases' input gradients (taken by the direct scatter path, see
/// ImplicitConv.InputGradientSupported) meet with room to spare.
/// </summary>
[Collection(GemmCollection.Name)]
public class WinogradTests
{
    // (batch, in, out, H, W, k, padding)
    public static TheoryData<int, int, int, int, int, int, int> Cases => new()
    {
        { 3, 8, 16, 12, 12, 5, 0 },    // the CNN's second layer in miniature: exact 4x4 tiles forward (8x8) and backward (12x12)
        { 1, 9, 10, 11, 13, 5, 2 },    // batch 1, partial tiles on both edges, padding 2, MR blocks with a short last one
        { 2, 11, 13, 10, 10, 5, 2 },
        { 2, 8, 8, 7, 9, 3, 1 },       // 3x3, partial tiles
        { 1, 1, 2, 6, 6, 5, 2 },       // one input channel (only when forced: Auto keeps it direct)
        { 20, 16, 24, 12, 12, 5, 0 },  // several strips of tiles: split over two cores
        { 2, 32, 64, 12, 12, 5, 0 },   // the CNN's second layer's channel counts
        { 2, 40, 9, 9, 9, 3, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDoubleDirectConvolutionWithinTheTransformBound(int n, int c, int o, int h, int w, int k, int pad)
    {
        var rng = new Random(n * 7919 + c * 131 + o * 17 + h * 5 + w + k * 3 + pad);
        double[] x = Random(rng, n * c * h * w), wt = Random(rng, o * c * k * k), b = Random(rng, o);
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        double[] gy = Random(rng, n * o * oh * ow);
        var yRef = Direct(x, n, c, h, w, wt, o, k, pad, b);
        // gx = conv(gy, w') with w'[c, o, a, b] = w[o, c, k-1-a, k-1-b] and padding k - 1 - p.
        var flipped = new double[wt.Length];
        for (int p = 0; p < o; p++)
            for (int q = 0; q < c; q++)
                for (int t = 0; t < k * k; t++) flipped[(q * o + p) * k * k + t] = wt[(p * c + q) * k * k + k * k - 1 - t];
        var gxRef = Direct(gy, n, o, oh, ow, flipped, c, k, k - 1 - pad, null);
        var yBound = Bound(x, n, c, h, w, wt, o, k, pad, b);
        // Padded layers take the input gradient as a Winograd full correlation, unpadded ones as the forward's adjoint.
        var gxBound = ImplicitConv.InputGradientSupported(new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, 1))
            ? Bound(gy, n, o, oh, ow, flipped, c, k, k - 1 - pad, null)
            : AdjointBound(gy, n, o, oh, ow, wt, c, h, w, k, pad);

        var saved = Winograd.t_mode;
        Winograd.t_mode = Winograd.Mode.Force;
        try
        {
            Assert.True(Winograd.Applies<float>(new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, 1), o));
            var xt = Tensor.FromArray(x, n, c, h, w).To(DType.Float32); xt.RequiresGrad = true;
            var wtt = Tensor.FromArray(wt, o, c, k, k).To(DType.Float32); wtt.RequiresGrad = true;
            var bt = Tensor.FromArray(b, o).To(DType.Float32);
            var y = F.Conv2d(xt, wtt, bt, 1, pad);
            Assert.Equal(new[] { n, o, oh, ow }, y.Shape);
            AssertWithin(yRef, y.ToArray<float>(), yBound, "forward");
            y.Backward(Tensor.FromArray(gy, n, o, oh, ow).To(DType.Float32));
            AssertWithin(gxRef, xt.Grad!.ToArray<float>(), gxBound, "input gradient");
            AssertWithin(WeightGradient(x, gy, n, c, h, w, o, k, pad), wtt.Grad!.ToArray<float>(), WeightBound(x, gy, n, c, h, w, o, k, pad), "weight gradient");
        }
        finally { Winograd.t_mode = saved; }
    }

    [Theory]
    [InlineData(5, 2, 3)]     // 5x5 padded: 3 images of 4 tiles, several chunks of a few tiles each
    [InlineData(3, 1, 1)]     // 3x3 padded, one tile per chunk
    [InlineData(5, 0, 700)]   // chunks larger than the batch: one
    public unsafe void WeightGradientIsIndependentOfThreadsAndChunksAndWithinTheBound(int k, int pad, int chunkTiles)
    {
        const int n = 3, c = 12, o = 10, h = 9, w = 10;
        var rng = new Random(k * 100 + pad * 10 + chunkTiles);
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        double[] x = Random(rng, n * c * h * w), gy = Random(rng, n * o * oh * ow);
        float[] xf = x.Select(v => (float)v).ToArray(), gyf = gy.Select(v => (float)v).ToArray();
        var g = new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, 1);
        var t = Winograd.WeightFor(k)!;
        float[] Run(int threads, int chunkFloats)
        {
            var gw = new float[o * c * k * k];
            Array.Fill(gw, float.NaN);  // every element must be written
            int savedChunk = Winograd.t_weightChunkFloats;
            var saved = Winograd.t_mode;
            Winograd.t_weightChunkFloats = chunkFloats;
            Winograd.t_mode = Winograd.Mode.Force;
            try
            {
                fixed (float* px = xf, pgy = gyf, pgw = gw) ImplicitConv.WeightGradient(px, pgy, n, g, o, pgw, threads);
            }
            finally { Winograd.t_weightChunkFloats = savedChunk; Winograd.t_mode = saved; }
            return gw;
        }
        var savedMode = Winograd.t_mode;
        Winograd.t_mode = Winograd.Mode.Force;
        try { Assert.True(Winograd.WeightGradientApplies<float>(g, o)); }
        finally { Winograd.t_mode = savedMode; }
        // Packed U and V hold n² (16 + 32) floats per tile with the 512-bit kernels, n² (12 + 16) with the 256-bit ones.
        int perTile = t.N * t.N * 48;
        float[] one = Run(1, chunkTiles * perTile), two = Run(2, chunkTiles * perTile), whole = Run(2, 0);
        Assert.Equal(one, two);
        AssertWithin(WeightGradient(x, gy, n, c, h, w, o, k, pad), one, WeightBound(x, gy, n, c, h, w, o, k, pad), "weight gradient");
        AssertWithin(WeightGradient(x, gy, n, c, h, w, o, k, pad), whole, WeightBound(x, gy, n, c, h, w, o, k, pad), "weight gradient, one chunk");
    }

    /// <summary>
    /// The eight-tile moves between the images and the transforms' stages (WinogradTiles: register transposes) give
    /// the forward and the adjoint input gradient bit for bit as the scalar moves do: whole groups of eight tiles inside
    /// the image, groups that overhang a padded edge (scalar), strips whose tile count is not a multiple of eight, 3x3
    /// (6x6 windows: only the output's 4x4 tiles move eight at a time), with and without bias, on 1 and 2 threads.
    /// </summary>
    [Theory]
    [InlineData(64, 32, 64, 12, 12, 5, 0)]  // the CNN's second layer: every window and tile whole
    [InlineData(3, 8, 16, 12, 12, 5, 0)]    // 12 tiles: one group of eight, four lanes left
    [InlineData(5, 9, 10, 11, 13, 5, 2)]    // padding 2, partial tiles: groups with overhanging windows
    [InlineData(9, 8, 8, 14, 14, 5, 2)]     // padded, some groups whole, some not
    [InlineData(7, 8, 12, 9, 9, 3, 1)]      // 3x3
    public unsafe void EightTileMovesAreBitIdenticalToTheScalarOnes(int n, int c, int o, int h, int w, int k, int pad)
    {
        var rng = new Random(n * 31 + c * 7 + h + k * 1000 + pad);
        var g = new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, 1);
        float[] x = Random(rng, n * c * h * w).Select(v => (float)v).ToArray(), wt = Random(rng, o * c * k * k).Select(v => (float)v).ToArray();
        float[] b = Random(rng, o).Select(v => (float)v).ToArray(), gy = Random(rng, n * o * g.OutHeight * g.OutWidth).Select(v => (float)v).ToArray();
        int[] Bits(float[] v) => v.Select(BitConverter.SingleToInt32Bits).ToArray();
        (int[] Y, int[] YNoBias, int[] Gx) Run(bool scalar, int threads)
        {
            var y = new float[n * o * g.OutHeight * g.OutWidth];
            var y0 = new float[y.Length];
            var gx = new float[x.Length];
            Array.Fill(gx, float.NaN);  // the input gradient is written, not added to
            bool saved = WinogradTiles.t_scalar;
            WinogradTiles.t_scalar = scalar;
            try
            {
                fixed (float* px = x, pw = wt, pb = b, py = y, py0 = y0, pgy = gy, pgx = gx)
                {
                    Winograd.Forward(px, n, g, pw, o, pb, py, threads);
                    Winograd.Forward(px, n, g, pw, o, null, py0, threads);
                    Winograd.InputGradient(pgy, n, g, pw, o, pgx, threads);
                }
            }
            finally { WinogradTiles.t_scalar = saved; }
            return (Bits(y), Bits(y0), Bits(gx));
        }
        var reference = Run(scalar: true, threads: 1);
        Assert.DoesNotContain(BitConverter.SingleToInt32Bits(float.NaN), reference.Gx);
        foreach (int threads in new[] { 1, 2 })
        {
            var fast = Run(scalar: false, threads);
            Assert.Equal(reference.Y, fast.Y);
            Assert.Equal(reference.YNoBias, fast.YNoBias);
            Assert.Equal(reference.Gx, fast.Gx);
        }
    }

    /// <summary>
    /// The transforms' row combinations in 512-bit vectors (Combine512, its split-store form for the weight gradient's
    /// packed U, and the weight gradient's output transform 16 channels at a time) give the forward (with and without
    /// bias), the adjoint input gradient and the weight gradient bit for bit as the 256-bit ones
    /// (<see cref="Winograd.NarrowTransforms"/>): the CNN's second layer, partial strips, padded edges, 3x3, output
    /// channel counts whose last group of 32 is 8 or 24 wide (the 256-bit form), input channels short of a vector, one
    /// image, on 1 and 2 threads. Without 512-bit vectors both runs take the same path and the test shows nothing.
    /// </summary>
    [Theory]
    [InlineData(64, 32, 64, 12, 12, 5, 0)]  // the CNN's second layer
    [InlineData(3, 8, 16, 12, 12, 5, 0)]    // 12 tiles: a strip short of NR
    [InlineData(5, 9, 10, 11, 13, 5, 2)]    // padding 2, partial tiles, 9 input channels
    [InlineData(7, 8, 40, 9, 9, 3, 1)]      // 3x3; 40 output channels: last U group 8 wide
    [InlineData(1, 20, 24, 10, 10, 5, 0)]   // one image; 24 output channels, 20 input channels
    public unsafe void WideTransformsAreBitIdenticalToTheNarrowOnes(int n, int c, int o, int h, int w, int k, int pad)
    {
        var rng = new Random(n * 131 + c * 17 + o + h * 3 + k * 1000 + pad);
        var g = new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, 1);
        float[] x = Random(rng, n * c * h * w).Select(v => (float)v).ToArray(), wt = Random(rng, o * c * k * k).Select(v => (float)v).ToArray();
        float[] b = Random(rng, o).Select(v => (float)v).ToArray(), gy = Random(rng, n * o * g.OutHeight * g.OutWidth).Select(v => (float)v).ToArray();
        int[] Bits(float[] v) => v.Select(BitConverter.SingleToInt32Bits).ToArray();
        (int[] Y, int[] YNoBias, int[] Gx, int[] Gw) Run(bool narrow, int threads)
        {
            var y = new float[n * o * g.OutHeight * g.OutWidth];
            var y0 = new float[y.Length];
            var gx = new float[x.Length];
            var gw = new float[wt.Length];
            Array.Fill(gx, float.NaN);  // written, not added to
            Array.Fill(gw, float.NaN);
            bool saved = Winograd.NarrowTransforms;
            var savedMode = Winograd.t_mode;
            Winograd.NarrowTransforms = narrow;
            Winograd.t_mode = Winograd.Mode.Force;
            try
            {
                Assert.True(Winograd.WeightGradientApplies<float>(g, o));
                fixed (float* px = x, pw = wt, pb = b, py = y, py0 = y0, pgy = gy, pgx = gx, pgw = gw)
                {
                    Winograd.Forward(px, n, g, pw, o, pb, py, threads);
                    Winograd.Forward(px, n, g, pw, o, null, py0, threads);
                    Winograd.InputGradient(pgy, n, g, pw, o, pgx, threads);
                    Winograd.WeightGradient(px, pgy, n, g, o, pgw, threads);
                }
            }
            finally { Winograd.NarrowTransforms = saved; Winograd.t_mode = savedMode; }
            return (Bits(y), Bits(y0), Bits(gx), Bits(gw));
        }
        var reference = Run(narrow: true, threads: 1);
        Assert.DoesNotContain(BitConverter.SingleToInt32Bits(float.NaN), reference.Gw);
        Assert.DoesNotContain(BitConverter.SingleToInt32Bits(float.NaN), reference.Gx);
        foreach (int threads in new[] { 1, 2 })
        {
            var wide = Run(narrow: false, threads);
            Assert.Equal(reference.Y, wide.Y);
            Assert.Equal(reference.YNoBias, wide.YNoBias);
            Assert.Equal(reference.Gx, wide.Gx);
            Assert.Equal(reference.Gw, wide.Gw);
        }
    }

    /// <summary>
    /// The weight gradient of a batch is bit for bit the sum (one float32 addition per element) of the weight gradients
    /// of its even-positioned and its odd-positioned images, each computed alone on a contiguous copy: the split
    /// DistributedSampler makes between two processes, so one process at batch 2B gets exactly what two at batch B add.
    /// With 1 and 2 threads; the default leaf (the CNN's second layer's channels, batches of 64 and 33) and small leaves
    /// (several levels of the tree, odd counts). A single sum over the whole batch (leaves as large as the batch) does
    /// not have the property: checked too, so the test can tell.
    /// </summary>
    [Theory]
    [InlineData(64, 32, 64, 12, 5, 0, 0)]   // the CNN's second layer, default leaf
    [InlineData(33, 8, 16, 6, 3, 1, 0)]     // the equivalence test's second layer, an odd batch
    [InlineData(12, 9, 10, 9, 5, 2, 2)]     // leaves of 2 images: three levels, partial tiles
    [InlineData(7, 8, 12, 7, 3, 1, 1)]      // leaves of one image, odd counts at every level
    public unsafe void WeightGradientOfABatchIsItsInterleavedHalvesSummed(int n, int c, int o, int hw, int k, int pad, int leaf)
    {
        var rng = new Random(n * 31 + c * 7 + k + leaf);
        int ohw = hw + 2 * pad - k + 1, image = c * hw * hw, outImage = o * ohw * ohw;
        float[] x = Random(rng, n * image).Select(v => (float)v).ToArray(), gy = Random(rng, n * outImage).Select(v => (float)v).ToArray();
        var g = new ConvGeometry(c, hw, hw, k, k, 1, 1, pad, pad, 1, 1);
        float[] Run(float[] xs, float[] gys, int count, int threads, int leafImages)
        {
            var gw = new float[o * c * k * k];
            Array.Fill(gw, float.NaN);  // every element must be written
            int saved = Winograd.t_weightLeafImages;
            var savedMode = Winograd.t_mode;
            Winograd.t_weightLeafImages = leafImages;
            Winograd.t_mode = Winograd.Mode.Force;
            try
            {
                Assert.True(Winograd.WeightGradientApplies<float>(g, o));
                fixed (float* px = xs, pgy = gys, pgw = gw) ImplicitConv.WeightGradient(px, pgy, count, g, o, pgw, threads);
            }
            finally { Winograd.t_weightLeafImages = saved; Winograd.t_mode = savedMode; }
            return gw;
        }
        float[] Pick(float[] all, int size, int parity) =>
            Enumerable.Range(0, n).Where(i => i % 2 == parity).SelectMany(i => all.Skip(i * size).Take(size)).ToArray();
        int evens = (n + 1) / 2;
        float[] even = Run(Pick(x, image, 0), Pick(gy, outImage, 0), evens, 1, leaf);
        float[] odd = Run(Pick(x, image, 1), Pick(gy, outImage, 1), n - evens, 1, leaf);
        float[] expected = even.Zip(odd, (a, b) => a + b).ToArray();
        Assert.Equal(expected, Run(x, gy, n, 1, leaf));
        Assert.Equal(expected, Run(x, gy, n, 2, leaf));
        // One sum over the whole batch rounds differently (the property is the tree's, not an accident of the data).
        Assert.NotEqual(expected, Run(x, gy, n, 2, n));
    }

    [Fact]
    public void AutoTakesWinogradForTheCnnsSecondLayerAndNotForSmallChannelCountsOrFloat64()
    {
        Assert.Equal(Winograd.Mode.Auto, Winograd.t_mode);
        var conv2 = new ConvGeometry(32, 12, 12, 5, 5, 1, 1, 0, 0, 1, 1);
        Assert.True(Winograd.Applies<float>(conv2, 64));
        // A padded 5x5 layer's input gradient is a padded convolution of the same size (ImplicitConv.InputGradient): Winograd too.
        Assert.True(ImplicitConv.InputGradientSupported(conv2 with { PadH = 2, PadW = 2 }));
        Assert.True(Winograd.WeightGradientApplies<float>(conv2, 64));  // the weight gradient wherever the forward takes it
        Winograd.t_directWeightGradient = true;
        try { Assert.False(Winograd.WeightGradientApplies<float>(conv2, 64)); }
        finally { Winograd.t_directWeightGradient = false; }
        // The unpadded layer's input gradient: not a full correlation (mostly zero border) but the forward's adjoint.
        Assert.False(ImplicitConv.InputGradientSupported(conv2));
        Assert.False(Winograd.Applies<double>(conv2, 64));
        Assert.False(Winograd.Applies<float>(new ConvGeometry(1, 28, 28, 5, 5, 1, 1, 0, 0, 1, 1), 32));  // the first layer
        Assert.False(Winograd.WeightGradientApplies<float>(new ConvGeometry(1, 28, 28, 5, 5, 1, 1, 0, 0, 1, 1), 32));
        Assert.False(Winograd.Applies<float>(new ConvGeometry(4, 12, 12, 5, 5, 1, 1, 0, 0, 1, 1), 6));
        Assert.False(Winograd.Applies<float>(conv2 with { StrideH = 2, StrideW = 2 }, 64));
        Assert.False(Winograd.Applies<float>(conv2 with { DilationH = 2, DilationW = 2 }, 64));
        Assert.False(Winograd.Applies<float>(conv2 with { KernelH = 7, KernelW = 7 }, 64));
    }

    [Fact]
    public void TransformsReproduceTheOneDimensionalCorrelationExactlyInDouble()
    {
        // y = Aᵀ [(G g) ⊙ (Bᵀ d)] must equal y_i = Σ_k g_k d_{i+k} for any g and d: checked on unit vectors (the
        // products' coefficients), in double, to rounding.
        foreach (var t in new[] { Winograd.F4x5, Winograd.F4x3, Winograd.W5x4, Winograd.W3x4 })
        {
            int m = t.M, r = t.R, n = t.N;
            for (int kk = 0; kk < r; kk++)
                for (int dd = 0; dd < n; dd++)
                    for (int i = 0; i < m; i++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += t.AT[i * n + j] * t.G[j * r + kk] * t.BT[j * n + dd];
                        Assert.True(Math.Abs(acc - (dd == i + kk ? 1 : 0)) < 1e-12, $"F({m},{r}): y[{i}] coefficient of g[{kk}]·d[{dd}] is {acc}");
                    }
        }
    }

    private static double[] Random(Random rng, int count)
    {
        var a = new double[count];
        for (int i = 0; i < count; i++) a[i] = rng.NextDouble() * 2 - 1;
        return a;
    }

    private static double[] Direct(double[] x, int n, int c, int h, int w, double[] wt, int o, int k, int pad, double[]? b)
    {
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        var y = new double[n * o * oh * ow];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < o; p++)
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        double acc = b?[p] ?? 0;
                        for (int q = 0; q < c; q++)
                            for (int u = 0; u < k; u++)
                                for (int v = 0; v < k; v++)
                                {
                                    int iy = yy - pad + u, ix = xx - pad + v;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    acc += wt[((p * c + q) * k + u) * k + v] * x[((i * c + q) * h + iy) * w + ix];
                                }
                        y[((i * o + p) * oh + yy) * ow + xx] = acc;
                    }
        return y;
    }

    /// <summary>
    /// The rounding bound of the input gradient as the forward's adjoint, <c>dX_τ[c] = B [Σ_o U[o, c] ⊙ (A dY_τ[o] Aᵀ)] Bᵀ</c>
    /// added over the (up to four) tiles τ whose windows hold the pixel: to first order
    /// |ĝx − gx| ≤ K·u · Σ_τ |B| [Σ_o (|G| |w_oc| |Gᵀ|) ⊙ (|A| |dY_τo| |Aᵀ|)] |Bᵀ| with K = 2r + 2m + O + 2n + 4
    /// (filter transform, gradient transform, the channel sum, output transform, the overlapping adds).
    /// </summary>
    private static double[] AdjointBound(double[] gy, int n, int o, int oh, int ow, double[] wt, int c, int h, int w, int k, int pad)
    {
        var t = Winograd.For(k)!;
        int m = t.M, r = t.R, nn = t.N, e2 = nn * nn;
        double u = Math.Pow(2, -24), gamma = (2 * r + 2 * m + o + 2 * nn + 4) * u;
        double[] absBT = t.BT.Select(Math.Abs).ToArray(), absG = t.G.Select(Math.Abs).ToArray(), absAT = t.AT.Select(Math.Abs).ToArray();
        var uAbs = new double[o * c * e2];
        for (int f = 0; f < o * c; f++)
            for (int i = 0; i < nn; i++)
                for (int j = 0; j < nn; j++)
                {
                    double s = 0;
                    for (int a = 0; a < r; a++)
                        for (int bb = 0; bb < r; bb++) s += absG[i * r + a] * Math.Abs(wt[f * r * r + a * r + bb]) * absG[j * r + bb];
                    uAbs[f * e2 + i * nn + j] = s;
                }
        var bound = new double[n * c * h * w];
        var wAbs = new double[o * e2];
        var zAbs = new double[e2];
        for (int i = 0; i < n; i++)
            for (int ty = 0; ty < oh; ty += m)
                for (int tx = 0; tx < ow; tx += m)
                {
                    // |A| |dY| |Aᵀ| per output channel: (|A| |dY| |Aᵀ|)[a, b] = Σ |Aᵀ[p1, a]| |dY[p1, p2]| |Aᵀ[p2, b]|.
                    for (int p = 0; p < o; p++)
                        for (int a = 0; a < nn; a++)
                            for (int bb = 0; bb < nn; bb++)
                            {
                                double s = 0;
                                for (int p1 = 0; p1 < m && ty + p1 < oh; p1++)
                                    for (int p2 = 0; p2 < m && tx + p2 < ow; p2++)
                                        s += absAT[p1 * nn + a] * Math.Abs(gy[((i * o + p) * oh + ty + p1) * ow + tx + p2]) * absAT[p2 * nn + bb];
                                wAbs[p * e2 + a * nn + bb] = s;
                            }
                    for (int q = 0; q < c; q++)
                    {
                        for (int e = 0; e < e2; e++)
                        {
                            double s = 0;
                            for (int p = 0; p < o; p++) s += uAbs[(p * c + q) * e2 + e] * wAbs[p * e2 + e];
                            zAbs[e] = s;
                        }
                        // (|B| Z |Bᵀ|)[y, x] = Σ |Bᵀ[a, y]| Z[a, b] |Bᵀ[b, x]|, added where the window lies in the image.
                        for (int yy = 0; yy < nn; yy++)
                            for (int xx = 0; xx < nn; xx++)
                            {
                                int iy = ty - pad + yy, ix = tx - pad + xx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                double s = 0;
                                for (int a = 0; a < nn; a++)
                                    for (int bb = 0; bb < nn; bb++) s += absBT[a * nn + yy] * zAbs[a * nn + bb] * absBT[bb * nn + xx];
                                bound[((i * c + q) * h + iy) * w + ix] += gamma * s;
                            }
                    }
                }
        return bound;
    }

    /// <summary><c>gw[p, q, u, v] = Σ_i Σ_(y, x) gy[i, p, y, x] x[i, q, y − pad + u, x − pad + v]</c> in double, from the definition.</summary>
    private static double[] WeightGradient(double[] x, double[] gy, int n, int c, int h, int w, int o, int k, int pad)
    {
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        var gw = new double[o * c * k * k];
        for (int p = 0; p < o; p++)
            for (int q = 0; q < c; q++)
                for (int u = 0; u < k; u++)
                    for (int v = 0; v < k; v++)
                    {
                        double acc = 0;
                        for (int i = 0; i < n; i++)
                            for (int yy = 0; yy < oh; yy++)
                                for (int xx = 0; xx < ow; xx++)
                                {
                                    int iy = yy - pad + u, ix = xx - pad + v;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    acc += gy[((i * o + p) * oh + yy) * ow + xx] * x[((i * c + q) * h + iy) * w + ix];
                                }
                        gw[((p * c + q) * k + u) * k + v] = acc;
                    }
        return gw;
    }

    /// <summary>
    /// The weight gradient's rounding bound: it is F(k x k, 4 x 4) per 4 x 4 tile of gy (the tile the filter, the
    /// (k + 3)² input window the data) summed over the T tiles of the batch before the output transform, so to first
    /// order |ĝw − gw| ≤ K·u · Σ_τ |Aᵀ| [(|G| |gy_τ| |Gᵀ|) ⊙ (|Bᵀ| |x_τ| |B|)] |A| with K = 2·4 + 4n + T (gy transform,
    /// input transform, the sum over tiles, output transform).
    /// </summary>
    private static double[] WeightBound(double[] x, double[] gy, int n, int c, int h, int w, int o, int k, int pad)
    {
        var t = Winograd.WeightFor(k)!;
        int r = t.R, nn = t.N, e2 = nn * nn;
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        int tiles = n * ((oh + r - 1) / r) * ((ow + r - 1) / r);
        double u = Math.Pow(2, -24), gamma = (2 * r + 4 * nn + tiles) * u;
        double[] absBT = t.BT.Select(Math.Abs).ToArray(), absG = t.G.Select(Math.Abs).ToArray(), absAT = t.AT.Select(Math.Abs).ToArray();
        var mAbs = new double[o * c * e2];
        var uAbs = new double[o * e2];
        var vAbs = new double[c * e2];
        for (int i = 0; i < n; i++)
            for (int ty = 0; ty < oh; ty += r)
                for (int tx = 0; tx < ow; tx += r)
                {
                    for (int p = 0; p < o; p++)
                        for (int a = 0; a < nn; a++)
                            for (int b = 0; b < nn; b++)
                            {
                                double s = 0;
                                for (int p1 = 0; p1 < r && ty + p1 < oh; p1++)
                                    for (int p2 = 0; p2 < r && tx + p2 < ow; p2++)
                                        s += absG[a * r + p1] * Math.Abs(gy[((i * o + p) * oh + ty + p1) * ow + tx + p2]) * absG[b * r + p2];
                                uAbs[p * e2 + a * nn + b] = s;
                            }
                    for (int q = 0; q < c; q++)
                        for (int a = 0; a < nn; a++)
                            for (int b = 0; b < nn; b++)
                            {
                                double s = 0;
                                for (int p1 = 0; p1 < nn; p1++)
                                    for (int p2 = 0; p2 < nn; p2++)
                                    {
                                        int iy = ty - pad + p1, ix = tx - pad + p2;
                                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        s += absBT[a * nn + p1] * Math.Abs(x[((i * c + q) * h + iy) * w + ix]) * absBT[b * nn + p2];
                                    }
                                vAbs[q * e2 + a * nn + b] = s;
                            }
                    for (int p = 0; p < o; p++)
                        for (int q = 0; q < c; q++)
                            for (int e = 0; e < e2; e++) mAbs[(p * c + q) * e2 + e] += uAbs[p * e2 + e] * vAbs[q * e2 + e];
                }
        var bound = new double[o * c * k * k];
        for (int f = 0; f < o * c; f++)
            for (int yy = 0; yy < k; yy++)
                for (int xx = 0; xx < k; xx++)
                {
                    double s = 0;
                    for (int a = 0; a < nn; a++)
                        for (int b = 0; b < nn; b++) s += absAT[yy * nn + a] * mAbs[f * e2 + a * nn + b] * absAT[xx * nn + b];
                    bound[(f * k + yy) * k + xx] = gamma * s;
                }
        return bound;
    }

    /// <summary>The error bound of the class summary for every output, tile by tile with the absolute transform matrices.</summary>
    private static double[] Bound(double[] x, int n, int c, int h, int w, double[] wt, int o, int k, int pad, double[]? b)
    {
        var t = Winograd.For(k)!;
        int m = t.M, r = t.R, nn = t.N;
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        double u = Math.Pow(2, -24), gamma = (2 * r + 4 * nn + c + 1) * u;
        double[] absBT = t.BT.Select(Math.Abs).ToArray(), absG = t.G.Select(Math.Abs).ToArray(), absAT = t.AT.Select(Math.Abs).ToArray();
        // |G| |w| |Gᵀ| per filter.
        var uAbs = new double[o * c * nn * nn];
        for (int f = 0; f < o * c; f++)
            for (int i = 0; i < nn; i++)
                for (int j = 0; j < nn; j++)
                {
                    double s = 0;
                    for (int a = 0; a < r; a++)
                        for (int bb = 0; bb < r; bb++) s += absG[i * r + a] * Math.Abs(wt[f * r * r + a * r + bb]) * absG[j * r + bb];
                    uAbs[(f * nn + i) * nn + j] = s;
                }
        var bound = new double[n * o * oh * ow];
        var vAbs = new double[c * nn * nn];
        var mAbs = new double[nn * nn];
        for (int i = 0; i < n; i++)
            for (int ty = 0; ty < oh; ty += m)
                for (int tx = 0; tx < ow; tx += m)
                {
                    // |Bᵀ| |d| |B| per channel of this tile.
                    for (int q = 0; q < c; q++)
                        for (int a = 0; a < nn; a++)
                            for (int bb = 0; bb < nn; bb++)
                            {
                                double s = 0;
                                for (int p1 = 0; p1 < nn; p1++)
                                    for (int p2 = 0; p2 < nn; p2++)
                                    {
                                        int iy = ty - pad + p1, ix = tx - pad + p2;
                                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        s += absBT[a * nn + p1] * Math.Abs(x[((i * c + q) * h + iy) * w + ix]) * absBT[bb * nn + p2];
                                    }
                                vAbs[(q * nn + a) * nn + bb] = s;
                            }
                    for (int p = 0; p < o; p++)
                    {
                        for (int e = 0; e < nn * nn; e++)
                        {
                            double s = 0;
                            for (int q = 0; q < c; q++) s += uAbs[(p * c + q) * nn * nn + e] * vAbs[q * nn * nn + e];
                            mAbs[e] = s;
                        }
                        for (int yy = 0; yy < m && ty + yy < oh; yy++)
                            for (int xx = 0; xx < m && tx + xx < ow; xx++)
                            {
                                double s = 0;
                                for (int a = 0; a < nn; a++)
                                    for (int bb = 0; bb < nn; bb++) s += absAT[yy * nn + a] * mAbs[a * nn + bb] * absAT[xx * nn + bb];
                                bound[((i * o + p) * oh + ty + yy) * ow + tx + xx] = gamma * (s + Math.Abs(b?[p] ?? 0));
                            }
                    }
                }
        return bound;
    }

    private static void AssertWithin(double[] expected, float[] actual, double[] bound, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            Assert.True(err <= bound[i], $"{what}[{i}]: {actual[i]} vs {expected[i]} (error {err:G3}, bound {bound[i]:G3})");
        }
    }
}
