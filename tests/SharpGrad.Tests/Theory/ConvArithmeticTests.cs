using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 001 Q7, the output-size formula against window counting, and the layer-spec parser.</summary>
public class ConvArithmeticTests
{
    [Fact]
    public void Seed001Q7ShapesAndParameterCounts()
    {
        var trace = ConvArithmetic.Trace((3, 256, 256), "conv:64:k8:s2, maxpool:k5, conv:128:k4:s1:p1");
        Assert.Equal(3, trace.Layers.Count);
        Assert.Equal(new FeatureShape(64, 125, 125), trace.Layers[0].Output);
        Assert.Equal(new FeatureShape(64, 25, 25), trace.Layers[1].Output);
        Assert.Equal(new FeatureShape(128, 24, 24), trace.Output);
        Assert.Equal("24x24x128", trace.Output.ToHwcString());
        // Q7.1 asks for the dimensionality as a scalar: 24·24·128.
        Assert.Equal(73_728, trace.Output.Numel);
        // Q7.2: the last layer without biases, 128·64·4·4; with its 128 biases 131,200.
        Assert.Equal(131_072, trace.Layers[2].Weights);
        Assert.Equal(128, trace.Layers[2].Biases);
        Assert.Equal(131_200, trace.Layers[2].Parameters);
        // The whole stack: the first conv has 64·3·8·8 = 12,288 weights and 64 biases; pooling has none.
        Assert.Equal(12_288, trace.Layers[0].Weights);
        Assert.Equal(0, trace.Layers[1].Parameters);
        Assert.Equal(143_360, trace.TotalWeights);
        Assert.Equal(143_552, trace.TotalParameters);
    }

    [Fact]
    public void FormulaMatchesWindowCounting()
    {
        for (int n = 1; n <= 20; n++)
            for (int k = 1; k <= 6; k++)
                for (int s = 1; s <= 4; s++)
                    for (int p = 0; p <= 3; p++)
                        for (int d = 1; d <= 3; d++)
                            foreach (bool ceil in new[] { false, true })
                            {
                                int expected = WindowCount.Count(n, k, s, p, d, ceil);
                                if (ceil && p > k / 2) continue; // PyTorch allows ceil mode for pooling only, where p <= k/2
                                long raw = ConvArithmetic.RawOutputSize(n, k, s, p, d, ceil);
                                Assert.True(Math.Max(raw, 0) == expected, $"n={n} k={k} s={s} p={p} d={d} ceil={ceil}: formula {raw}, counted {expected}");
                                if (expected >= 1) Assert.Equal(expected, ConvArithmetic.OutputSize(n, k, s, p, d, ceil));
                                else Assert.Throws<ArgumentException>(() => ConvArithmetic.OutputSize(n, k, s, p, d, ceil));
                            }
    }

    [Theory]
    [InlineData(5, 2, 2, 0, true, 3)]  // MaxPool2d(2, ceil_mode=True) on 5: the last window is half outside
    [InlineData(5, 2, 2, 0, false, 2)]
    [InlineData(6, 3, 2, 0, true, 3)]
    [InlineData(5, 2, 2, 1, true, 3)]  // ceil gives 4, but the 4th window would start in the right padding
    [InlineData(32, 8, 4, 0, false, 7)] // seed 001 Q8.2(b)
    public void KnownPyTorchSizes(int n, int k, int s, int p, bool ceil, int expected) =>
        Assert.Equal(expected, ConvArithmetic.OutputSize(n, k, s, p, 1, ceil));

    [Fact]
    public void ANonFittingLayerIsNamedWithItsArithmetic()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvArithmetic.Trace((3, 16, 16), "conv:8:k3, maxpool:k5, conv:4:k4"));
        // 16 -> 14 -> 2, then a 4-wide kernel on 2.
        Assert.Contains("Layer 3", e.Message);
        Assert.Contains("conv:4:k4", e.Message);
        Assert.Contains("(8, 2, 2)", e.Message);
        Assert.Contains("floor((2 + 2*0 - 1*(4 - 1) - 1) / 1) + 1", e.Message);
        Assert.Contains("= -1", e.Message);
    }

    [Fact]
    public void CountsBeyond64BitsAreRefusedWithTheirSize()
    {
        // 3·2e9·2e9 = 1.2e19 > 2^63 − 1 ≈ 9.22e18: the case printed a negative count.
        var e = Assert.Throws<ArgumentException>(() => ConvArithmetic.Trace((3, 2_000_000_000, 2_000_000_000), "conv:4:k3"));
        Assert.Contains("12,000,000,000,000,000,000 values", e.Message);
        Assert.Contains("64-bit", e.Message);

        // The output alone overflows: 5·1999999998² ≈ 2.0e19.
        e = Assert.Throws<ArgumentException>(() => ConvArithmetic.Trace((1, 2_000_000_000, 2_000_000_000), "conv:5:k3"));
        Assert.Contains("Layer 1 (conv:5:k3)", e.Message);
        Assert.Contains((5 * System.Numerics.BigInteger.Pow(1_999_999_998, 2)).ToString("N0", System.Globalization.CultureInfo.InvariantCulture), e.Message);

        // The weights overflow: 2e9·2e9·3·3 = 3.6e19.
        e = Assert.Throws<ArgumentException>(() => ConvArithmetic.Trace((2_000_000_000, 3, 3), "conv:2000000000:k3"));
        Assert.Contains("36,000,000,000,000,000,000 weights", e.Message);

        // Just inside the range the counts are exact: 2·1999999998² = 7,999,999,984,000,000,008.
        var t = ConvArithmetic.Trace((1, 2_000_000_000, 2_000_000_000), "conv:2:k3");
        Assert.Equal(7_999_999_984_000_000_008L, t.Output.Numel);
        Assert.Throws<OverflowException>(() => new FeatureShape(3, 2_000_000_000, 2_000_000_000).Numel);
    }

    [Fact]
    public void RectangularKernelsAndNoBias()
    {
        var trace = ConvArithmetic.Trace((2, 10, 20), [LayerSpec.Conv(8, new Size2D(3, 5), padding: new Size2D(1, 2), bias: false)]);
        Assert.Equal(new FeatureShape(8, 10, 20), trace.Output);
        Assert.Equal(8 * 2 * 3 * 5, trace.Layers[0].Weights);
        Assert.Equal(0, trace.Layers[0].Biases);
        Assert.Equal("conv:8:k3x5:p1x2:nobias", trace.Layers[0].Layer.ToString());
    }

    [Theory]
    [InlineData("conv:64:k8:s2", LayerKind.Conv, 64, 8, 2, 0, 1)]
    [InlineData("maxpool:k5", LayerKind.MaxPool, 0, 5, 5, 0, 1)]
    [InlineData("conv:128:k4:s1:p1", LayerKind.Conv, 128, 4, 1, 1, 1)]
    [InlineData("conv:32:k3:s1:p1:d2", LayerKind.Conv, 32, 3, 1, 1, 2)]
    [InlineData("MaxPool:K3:S2:P1:D2", LayerKind.MaxPool, 0, 3, 2, 1, 2)]
    [InlineData("avgpool:k2", LayerKind.AvgPool, 0, 2, 2, 0, 1)]
    public void ParsesSpecs(string text, LayerKind kind, int outChannels, int k, int s, int p, int d)
    {
        var spec = LayerSpec.Parse(text);
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(outChannels, spec.OutChannels);
        Assert.Equal((Size2D)k, spec.Kernel);
        Assert.Equal((Size2D)s, spec.Stride);
        Assert.Equal((Size2D)p, spec.Padding);
        Assert.Equal((Size2D)d, spec.Dilation);
        Assert.Equal(spec, LayerSpec.Parse(spec.ToString())); // the canonical form reads back
    }

    [Theory]
    [InlineData("conv:64:q3", "'q3'")]
    [InlineData("conv:k3", "output channel count")]
    [InlineData("maxpool:s2", "no kernel")]
    [InlineData("conv:64:k3:k5", "'k5' repeats the kernel")]
    [InlineData("avgpool:k3:d2", "no dilation")]
    [InlineData("maxpool:k2:p2", "half the kernel")]
    [InlineData("conv:64:k0", "kernel must be at least 1")]
    [InlineData("pool:k2", "unknown layer kind 'pool'")]
    [InlineData("conv:64:k3x", "'k3x'")]
    [InlineData("conv:64:k-3", "'k-3'")]
    [InlineData("maxpool:k2:nobias", "'nobias'")]
    public void BadSpecsNameTheToken(string text, string fragment)
    {
        var e = Assert.Throws<ArgumentException>(() => LayerSpec.Parse(text));
        Assert.Contains(fragment, e.Message);
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void StackParsingNamesTheLayer()
    {
        Assert.Equal(3, ConvArithmetic.ParseLayers("conv:64:k8:s2 -> maxpool:k5 -> conv:128:k4:s1:p1").Count);
        var e = Assert.Throws<ArgumentException>(() => ConvArithmetic.ParseLayers("conv:64:k8:s2, maxpool:x5"));
        Assert.Contains("Layer 2", e.Message);
        Assert.Contains("'x5'", e.Message);
    }
}
