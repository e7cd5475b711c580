using SharpGrad.NN;

namespace SharpGrad.Tests.Ops;

/// <summary>Pooling and resampling cases beyond the golden and gradient checks: paths that must agree, closed forms, errors.</summary>
public class PoolingTests
{
    private static Tensor Input(params int[] shape) => Tensor.Randn(shape, new Generator(7), DType.Float64);

    [Fact]
    public void TheBlocked2dKernelsAndTheGeneralPathAgree()
    {
        // A batched input takes the blocked 2-d max kernel (Kernels/Pooling.cs), an unbatched one the window-table kernel.
        var x = Input(3, 7, 6);
        var batched = x.Unsqueeze(0);
        TestUtil.AllClose(Functional.MaxPool2d(batched, [3, 2], [2, 1], [1, 1], [1, 2]).ToArray<double>(),
            Functional.MaxPool2d(x, [3, 2], [2, 1], [1, 1], [1, 2]));
        TestUtil.AllClose(Functional.AvgPool2d(batched, 3, 2, 1).ToArray<double>(), Functional.AvgPool2d(x, 3, 2, 1), 1e-14, 1e-14);
    }

    [Fact]
    public void GlobalAdaptiveAverageIsTheSpatialMean()
    {
        var x = Input(2, 3, 5, 4);
        var expected = x.ToArray<double>().Chunk(20).Select(p => p.Average()).ToArray();
        TestUtil.AllClose(expected, Functional.AdaptiveAvgPool2d(x, 1), 1e-14, 1e-14);
    }

    [Fact]
    public void NearestUpsamplingByTwoRepeatsEachPixel()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0, 4.0], 1, 1, 2, 2);
        var y = new Upsample(scaleFactor: [2.0]).Forward(x);
        Assert.Equal([1, 1, 4, 4], y.Shape);
        TestUtil.AllClose([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], y);
    }

    [Fact]
    public void AlignedLinearInterpolationHitsTheEndpointsAndMidpoints()
    {
        var x = Tensor.FromArray([0.0, 10.0], 1, 1, 2);
        TestUtil.AllClose([0, 2.5, 5, 7.5, 10], Functional.Interpolate(x, [5], mode: InterpolateMode.Linear, alignCorners: true), 1e-14, 1e-14);
    }

    [Theory]
    // (in, kernel, stride, padding) -> output sizes without and with ceil mode, as PyTorch 1.13 gives them. In the first
    // and last rows ceil mode would add a window starting in the right padding (at 5 and 8), which is dropped.
    [InlineData(5, 2, 2, 1, 3, 3)]
    [InlineData(5, 2, 2, 0, 2, 3)]
    [InlineData(6, 3, 2, 1, 3, 4)]
    [InlineData(8, 3, 3, 1, 3, 3)]
    public void CeilModeOutputSizesFollowPyTorch(int n, int k, int s, int p, int floorSize, int ceilSize)
    {
        Assert.Equal(floorSize, Functional.MaxPool1d(Input(1, 1, n), k, s, p).Shape[2]);
        Assert.Equal(ceilSize, Functional.MaxPool1d(Input(1, 1, n), k, s, p, ceilMode: true).Shape[2]);
        Assert.Equal(ceilSize, Functional.AvgPool1d(Input(1, 1, n), k, s, p, ceilMode: true).Shape[2]);
    }

    [Fact]
    public void LayersMatchTheirFunctions()
    {
        var x = Input(2, 2, 4, 5, 6);
        TestUtil.AllClose(Functional.MaxPool3d(x, [2, 3, 2], [1, 2, 2]).ToArray<double>(), new MaxPool3d([2, 3, 2], [1, 2, 2]).Forward(x));
        TestUtil.AllClose(Functional.AvgPool3d(x, 2, countIncludePad: false, padding: 1).ToArray<double>(),
            new AvgPool3d(2, padding: 1, countIncludePad: false).Forward(x));
        var x2 = Input(1, 2, 5, 7);
        TestUtil.AllClose(Functional.MaxPool2d(x2, 2, ceilMode: true).ToArray<double>(), new MaxPool2d(2, ceilMode: true).Forward(x2));
        TestUtil.AllClose(Functional.AvgPool2d(x2, 3, 2, 1, true, false).ToArray<double>(), new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false).Forward(x2));
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = Input(1, 2, 6, 6);
        Assert.Contains("padding", Assert.Throws<ArgumentException>(() => Functional.MaxPool2d(x, [2], null, [2])).Message);
        Assert.Contains("stride", Assert.Throws<ArgumentOutOfRangeException>(() => Functional.AvgPool2d(x, [2], [0])).Message);
        Assert.Contains("3 (one per spatial dimension)", Assert.Throws<ArgumentException>(() => Functional.MaxPool3d(Input(1, 1, 4, 4, 4), [2, 2])).Message);
        Assert.Contains("[N, C, L]", Assert.Throws<ArgumentException>(() => Functional.MaxPool1d(x, 2)).Message);
        Assert.Contains("smaller than the dilated kernel", Assert.Throws<ArgumentException>(() => Functional.MaxPool1d(Input(1, 1, 3), 2, 1, 0, 3)).Message);
        Assert.Contains("exactly one", Assert.Throws<ArgumentException>(() => Functional.Interpolate(x, [3, 3], [2.0])).Message);
        Assert.Contains("Bilinear", Assert.Throws<ArgumentException>(() => Functional.Interpolate(x, [3], mode: InterpolateMode.Linear)).Message);
        Assert.Contains("alignCorners", Assert.Throws<ArgumentException>(() => Functional.Interpolate(x, [3], alignCorners: false)).Message);
    }

    public static TheoryData<string> MaxPools => ["MaxPool1d", "MaxPool2d blocked", "MaxPool2d tables", "MaxPool3d", "AdaptiveMaxPool2d"];

    [Theory]
    [MemberData(nameof(MaxPools))]
    public void MaxPoolingHasOneFirstOrderBackwardThatRoutesToTheWinnerAndRefusesDoubleBackward(string which)
    {
        // Distinct values, so each window has one winner: the gradient of Σ y·w puts w(o) on the input that won window o.
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 4 * 4 * 4).Select(i => (double)(i * 37 % 128)).ToArray(), [2, 4, 4, 4, 1]);
        Func<Tensor, Tensor> pool = which switch
        {
            "MaxPool1d" => t => Functional.MaxPool1d(t.Reshape(2, 4, 16), 3, 2, 1),
            "MaxPool2d blocked" => t => Functional.MaxPool2d(t.Reshape(2, 4, 4, 4), 2),
            "MaxPool2d tables" => t => Functional.MaxPool2d(t.Reshape(8, 4, 4), 2),
            "MaxPool3d" => t => Functional.MaxPool3d(t.Reshape(2, 4, 4, 4, 1), [2, 2, 1]),
            _ => t => Functional.AdaptiveMaxPool2d(t.Reshape(2, 4, 4, 4), 3),
        };
        var xg = Tensor.FromArray(x.ToArray<double>(), x.Shape);
        xg.RequiresGrad = true;
        var y = pool(xg);
        double[] w = Enumerable.Range(1, y.Numel).Select(i => (double)i).ToArray();
        var gx = SharpGrad.Autograd.Grad((y * Tensor.FromArray(w, y.Shape)).Sum(), [xg])[0].ToArray<double>();
        // Expected by search: for each output, the input of the largest value among those equal to it in its plane.
        double[] xs = x.ToArray<double>(), ys = y.ToArray<double>(), expected = new double[xs.Length];
        int planes = 8, inPlane = xs.Length / planes, outPlane = ys.Length / planes;
        for (int o = 0; o < ys.Length; o++)
        {
            int p = o / outPlane;
            int at = Array.IndexOf(xs, ys[o], p * inPlane, inPlane);
            Assert.True(at >= 0, $"{which}: output {o} = {ys[o]} is not a value of its plane");
            expected[at] += w[o];
        }
        TestUtil.AllClose(expected, gx, 0, 0);
        var again = pool(xg);
        var ex = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad((again * again).Sum(), [xg], createGraph: true));
        Assert.Contains("first-order backward only", ex.Message);
    }
    [Theory]
    [InlineData(3, 24, 24)]  // the CNN's first pool: 12 outputs a row, one partial 16-window block per row
    [InlineData(2, 9, 40)]   // 20 outputs: a full block and a partial one; odd height (last row dropped)
    [InlineData(2, 6, 64)]   // 32 outputs: two full blocks
    [InlineData(5, 4, 6)]    // 3 outputs: rows shorter than a vector
    [InlineData(2, 7, 27)]   // odd width and height: the last column and row belong to no window
    [InlineData(4, 8, 8)]    // the CNN's second pool: 4 outputs a row (8 inputs: half a vector stored)
    [InlineData(3, 6, 17)]   // 8 outputs a row (16 inputs: one whole vector), odd width
    public void Float32TwoByTwoMaxPoolTakesTheFirstMaximumOrTheFirstNaNOfEachWindow(int planes, int h, int w)
    {
        // Values on a coarse grid (many ties, +0 and -0) with a few NaNs; the expectation is computed here window by window:
        // the first NaN in window order (top-left, top-right, bottom-left, bottom-right) if there is one, else the first
        // element equal to the window's maximum. Forward values are compared bit for bit, the routing of the gradient exactly.
        var g = new Generator(11);
        float[] xs = Tensor.Rand([planes * h * w], g).ToArray<float>().Select(u => (float)Math.Floor(u * 5) - 2).ToArray();
        for (int i = 0; i < xs.Length; i += 7) xs[i] = i % 2 == 0 ? -0f : 0f;
        for (int i = 5; i < xs.Length; i += 97) xs[i] = float.NaN;
        var x = Tensor.FromArray(xs, [1, planes, h, w]);
        x.RequiresGrad = true;
        var y = Functional.MaxPool2d(x, 2);
        int oh = h / 2, ow = w / 2;
        Assert.Equal(new[] { 1, planes, oh, ow }, y.Shape);
        float[] weights = Enumerable.Range(1, y.Numel).Select(i => (float)i).ToArray();
        float[] gx = SharpGrad.Autograd.Grad((y * Tensor.FromArray(weights, y.Shape)).Sum(), [x])[0].ToArray<float>();
        float[] ys = y.ToArray<float>(), expectedGx = new float[xs.Length];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int tl = p * h * w + 2 * oy * w + 2 * ox;
                    int[] window = [tl, tl + 1, tl + w, tl + w + 1];
                    int winner = Array.Find(window, i => float.IsNaN(xs[i]));
                    if (!window.Any(i => float.IsNaN(xs[i])))
                    {
                        float max = window.Max(i => xs[i]);
                        winner = window.First(i => xs[i] == max);
                    }
                    int o = (p * oh + oy) * ow + ox;
                    Assert.Equal(BitConverter.SingleToInt32Bits(xs[winner]), BitConverter.SingleToInt32Bits(ys[o]));
                    expectedGx[winner] += weights[o];
                }
        Assert.Equal(expectedGx, gx);
    }

    /// <summary>
    /// 2x2 max pooling's backward stores a row's last partial block of windows as whole vectors where its input count is
    /// 8, 16 or 24 (Pooling.MaskedTailStores off) and under masks otherwise: bit for bit what the masked stores leave,
    /// with every input written (the buffer starts as NaN) and each window's gradient, 0 + g (so −0 becomes +0), at its
    /// winner and zero elsewhere, computed here window by window.
    /// </summary>
    [Theory]
    [InlineData(3, 24, 24)]  // 12 outputs a row: 24 inputs in the tail
    [InlineData(4, 8, 8)]    // 4 outputs: 8 inputs
    [InlineData(2, 10, 17)]  // 8 outputs: 16 inputs, odd width
    [InlineData(2, 6, 40)]   // 20 outputs: a whole block, then 4 windows
    [InlineData(3, 7, 12)]   // 6 outputs: 12 inputs, the masked tail
    [InlineData(2, 5, 26)]   // 13 outputs: masked tail, odd height
    public unsafe void TwoByTwoMaxBackwardTailsAreTheMaskedStoresValues(int planes, int h, int w)
    {
        int oh = h / 2, ow = w / 2;
        var rng = new Random(planes * 97 + h * 13 + w);
        float[] gy = Enumerable.Range(0, planes * oh * ow).Select(i => i % 11 == 0 ? -0f : (float)(rng.NextDouble() - 0.5)).ToArray();
        int[] argmax = new int[gy.Length];
        for (int p = 0, q = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, q++)
                    argmax[q] = 2 * oy * w + 2 * ox + rng.Next(4) switch { 0 => 0, 1 => 1, 2 => w, _ => w + 1 };
        float[] expected = new float[planes * h * w];
        for (int p = 0, q = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, q++) expected[p * h * w + argmax[q]] = 0f + gy[q];
        int[] Run(bool masked)
        {
            var gx = new float[planes * h * w];
            Array.Fill(gx, float.NaN);
            bool saved = SharpGrad.Kernels.Pooling.MaskedTailStores;
            SharpGrad.Kernels.Pooling.MaskedTailStores = masked;
            try { SharpGrad.Kernels.Pooling.MaxBackward2x2<float>(gy, argmax, planes, h, w, gx); }
            finally { SharpGrad.Kernels.Pooling.MaskedTailStores = saved; }
            return gx.Select(BitConverter.SingleToInt32Bits).ToArray();
        }
        int[] masked = Run(true), whole = Run(false);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits).ToArray(), masked);
        Assert.Equal(masked, whole);
    }
}
