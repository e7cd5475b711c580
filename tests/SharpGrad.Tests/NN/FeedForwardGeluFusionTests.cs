using SharpGrad.Kernels;
using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// A transformer layer's feed-forward block Linear → GELU → Linear runs as one op with GELU in the products' epilogues
/// (<see cref="F.FeedForwardGelu"/>). It must give what the three ops give one after the other: the same float32 bits
/// forward and backward, on the direct and packed product paths; values and gradients within float32 rounding of a
/// float64 computation of the three ops (GELU in double through the scalar erf, not the float32 vector formula); and the
/// GEMM's GELU epilogues must match the product followed by the elementwise op.
/// </summary>
[Collection(SharpGrad.Tests.Kernels.GemmCollection.Name)] // sets Gemm.MaxThreads
public class FeedForwardGeluFusionTests
{
    public static TheoryData<int[], int, int, bool> Shapes() => new()
    {
        { new[] { 1, 5 }, 7, 3, true },          // a row: the direct loops
        { new[] { 64, 16, 128 }, 512, 128, true }, // the LM's layer: packed products on both cores
        { new[] { 70, 33 }, 47, 17, true },      // packed with edge tiles
        { new[] { 2, 3, 12 }, 20, 6, false },    // leading batch dimensions, no biases
    };

    private static Tensor Leaf(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FusedForwardAndBackwardAreBitIdenticalToTheThreeOps(int[] inShape, int hidden, int outF, bool biases)
    {
        var g = new Generator(11);
        var x = Leaf(Tensor.Randn(inShape, g));
        var w1 = Leaf(Tensor.Randn([hidden, inShape[^1]], g) * 0.3);
        var w2 = Leaf(Tensor.Randn([outF, hidden], g) * 0.3);
        Tensor? b1 = biases ? Leaf(Tensor.Randn([hidden], g)) : null, b2 = biases ? Leaf(Tensor.Randn([outF], g)) : null;
        Tensor[] leaves = biases ? [x, w1, b1!, w2, b2!] : [x, w1, w2];

        var fused = F.FeedForwardGelu(x, w1, b1, w2, b2);
        Assert.Equal("FeedForwardGeluBackward", fused.GradFnName);
        var gy = Tensor.Randn(fused.ShapeRef, g);
        var fusedGrads = SharpGrad.Autograd.Grad(fused, leaves, gy);
        var plain = F.Linear(F.Linear(x, w1, b1).Gelu(), w2, b2);
        var plainGrads = SharpGrad.Autograd.Grad(plain, leaves, gy);

        Assert.Equal(plain.ShapeRef, fused.ShapeRef);
        Assert.Equal(plain.ToArray<float>(), fused.ToArray<float>());
        for (int i = 0; i < leaves.Length; i++) Assert.Equal(plainGrads[i].ToArray<float>(), fusedGrads[i].ToArray<float>());
    }

    /// <summary>
    /// A forward nothing differentiates (no-grad) runs the GELU-only epilogue, keeping no GELU': the same bits as the three
    /// ops, on the direct loops, the few-rows product (which has no GELU epilogue and must not be taken) and the packed one.
    /// </summary>
    [Theory]
    [InlineData(1, 7, 5, 3, "float32")]      // direct loops
    [InlineData(4, 512, 128, 128, "float32")] // few rows, k and n large enough for the packed kernels' few-rows path
    [InlineData(4, 512, 128, 128, "float64")]
    [InlineData(70, 47, 33, 17, "float32")]   // packed with edge tiles
    [InlineData(1024, 512, 128, 128, "float32")] // the LM's layer, rows split over the threads
    public void NoGradForwardIsBitIdenticalToTheThreeOps(int rows, int hidden, int inF, int outF, string dtype)
    {
        var type = dtype == "float64" ? DType.Float64 : DType.Float32;
        var g = new Generator(16);
        var x = Tensor.Randn([rows, inF], g).To(type);
        var w1 = (Tensor.Randn([hidden, inF], g) * 0.3).To(type);
        var b1 = Tensor.Randn([hidden], g).To(type);
        var w2 = (Tensor.Randn([outF, hidden], g) * 0.3).To(type);
        var b2 = Tensor.Randn([outF], g).To(type);
        foreach (var t in new[] { x, w1, b1, w2, b2 }) t.RequiresGrad = true;
        using (SharpGrad.Autograd.NoGrad())
        {
            var fused = F.FeedForwardGelu(x, w1, b1, w2, b2);
            var plain = F.Linear(F.Linear(x, w1, b1).Gelu(), w2, b2);
            Assert.Null(fused.GradFnName);
            if (type == DType.Float64) Assert.Equal(plain.ToArray<double>(), fused.ToArray<double>());
            else Assert.Equal(plain.ToArray<float>(), fused.ToArray<float>());
        }
    }

    [Fact]
    public void FusedFloat64ForwardAndBackwardAreBitIdenticalToTheThreeOps()
    {
        // Float64 GELU and GELU' go lane by lane through the scalar erf: the epilogue keeps GELU' per lane as well.
        var g = new Generator(15);
        var x = Leaf(Tensor.Randn([70, 33], g).To(DType.Float64));
        var w1 = Leaf((Tensor.Randn([47, 33], g) * 0.3).To(DType.Float64));
        var b1 = Leaf(Tensor.Randn([47], g).To(DType.Float64));
        var w2 = Leaf((Tensor.Randn([17, 47], g) * 0.3).To(DType.Float64));
        var b2 = Leaf(Tensor.Randn([17], g).To(DType.Float64));
        Tensor[] leaves = [x, w1, b1, w2, b2];
        var fused = F.FeedForwardGelu(x, w1, b1, w2, b2);
        Assert.Equal("FeedForwardGeluBackward", fused.GradFnName);
        var gy = Tensor.Randn(fused.ShapeRef, g).To(DType.Float64);
        var fusedGrads = SharpGrad.Autograd.Grad(fused, leaves, gy);
        var plain = F.Linear(F.Linear(x, w1, b1).Gelu(), w2, b2);
        var plainGrads = SharpGrad.Autograd.Grad(plain, leaves, gy);
        Assert.Equal(plain.ToArray<double>(), fused.ToArray<double>());
        for (int i = 0; i < leaves.Length; i++) Assert.Equal(plainGrads[i].ToArray<double>(), fusedGrads[i].ToArray<double>());
    }

    [Fact]
    public void FusedFloat32IsWithinRoundingOfAFloat64ComputationOfTheThreeOps()
    {
        var g = new Generator(12);
        int rows = 96, inF = 40, hidden = 72, outF = 24;
        var x = Tensor.Randn([rows, inF], g);
        var w1 = Tensor.Randn([hidden, inF], g) * 0.3;
        var b1 = Tensor.Randn([hidden], g);
        var w2 = Tensor.Randn([outF, hidden], g) * 0.3;
        var b2 = Tensor.Randn([outF], g);
        var gy = Tensor.Randn([rows, outF], g);
        Tensor[] f32 = [Leaf(x.Clone()), Leaf(w1.Clone()), Leaf(b1.Clone()), Leaf(w2.Clone()), Leaf(b2.Clone())];
        Tensor[] f64 = [.. new[] { x, w1, b1, w2, b2 }.Select(t => Leaf(t.To(DType.Float64)))];

        var y32 = F.FeedForwardGelu(f32[0], f32[1], f32[2], f32[3], f32[4]);
        var grads32 = SharpGrad.Autograd.Grad(y32, f32, gy);
        var y64 = F.Linear(F.Linear(f64[0], f64[1], f64[2]).Gelu(), f64[3], f64[4]);
        var grads64 = SharpGrad.Autograd.Grad(y64, f64, gy.To(DType.Float64));

        AssertClose("y", y64.ToArray<double>(), y32.ToArray<float>());
        string[] names = ["dx", "dW1", "db1", "dW2", "db2"];
        for (int i = 0; i < names.Length; i++) AssertClose(names[i], grads64[i].ToArray<double>(), grads32[i].ToArray<float>());
    }

    /// <summary>Each value within 1e-4 of the float64 one, relative to the largest magnitude of the tensor (sums of up to 96 terms of order 1).</summary>
    private static void AssertClose(string what, double[] expected, float[] actual)
    {
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-4 * scale, $"{what}[{i}] = {actual[i]}, float64 gives {expected[i]}");
    }

    [Theory]
    [InlineData(3, 10, 6, 1)]     // direct loops (a few rows)
    [InlineData(70, 47, 33, 1)]   // packed, edge tiles
    [InlineData(200, 96, 40, 2)]  // packed, rows split over two threads
    public void GemmGeluEpiloguesMatchTheProductThenTheElementwiseOp(int m, int n, int k, int threads)
    {
        var g = new Generator(13);
        float[] a = Tensor.Randn([m, k], g).ToArray<float>(), b = Tensor.Randn([n, k], g).ToArray<float>();
        float[] bias = Tensor.Randn([n], g).ToArray<float>(), w = Tensor.Randn([k, n], g).ToArray<float>();
        int saved = Gemm.MaxThreads;
        Gemm.MaxThreads = threads;
        try
        {
            // Forward: C gets GELU of x Bᵀ + bias, aux gets GELU' of it (the factor GELU's backward multiplies by).
            float[] pre = new float[m * n], c = Enumerable.Repeat(float.NaN, m * n).ToArray(), aux = Enumerable.Repeat(float.NaN, m * n).ToArray();
            Gemm.Multiply<float>(false, true, m, n, k, 1f, a, k, b, k, 0f, pre, n, bias);
            Gemm.MultiplyGelu<float>(false, true, m, n, k, a, k, b, k, c, n, bias, GemmActivation.GeluKeepDerivative, aux);
            var input = Leaf(Tensor.FromArray(pre, m, n));
            Assert.Equal(input.Gelu().ToArray<float>(), c);
            var ones = Tensor.Ones([m, n]);
            Assert.Equal(SharpGrad.Autograd.Grad(input.Gelu(), [input], ones)[0].ToArray<float>(), aux);

            // Backward: C = (a W) · aux; GELU's own backward of the product at pre gives the same bits.
            float[] prod = new float[m * n], dPre = new float[m * n];
            Gemm.Multiply<float>(false, false, m, n, k, 1f, a, k, w, n, 0f, prod, n);
            Gemm.MultiplyGelu<float>(false, false, m, n, k, a, k, w, n, dPre, n, default, GemmActivation.ScaleByAux, aux);
            var expected = SharpGrad.Autograd.Grad(input.Gelu(), [input], Tensor.FromArray(prod, m, n))[0];
            Assert.Equal(expected.ToArray<float>(), dPre);

            // Against double: GELU(v) = v Φ(v) with Φ from the float64 erf, and GELU'(v) = Φ(v) + v φ(v).
            var v64 = Tensor.FromArray(pre, m, n).To(DType.Float64);
            var gelu64 = v64.Gelu().ToArray<double>();
            var phi = (v64 * (1 / Math.Sqrt(2))).Erf().ToArray<double>();
            for (int i = 0; i < m * n; i++)
            {
                Assert.True(Math.Abs(c[i] - gelu64[i]) <= 4e-7 * Math.Max(1, Math.Abs(gelu64[i])), $"GELU[{i}] = {c[i]}, double {gelu64[i]}");
                double vi = pre[i], cdf = 0.5 * (1 + phi[i]), d = cdf + vi * Math.Exp(-0.5 * vi * vi) / Math.Sqrt(2 * Math.PI);
                // GELU' in float32 (Φ plus x φ, two exponentials) is good to a few units in the last place.
                Assert.True(Math.Abs(dPre[i] - prod[i] * d) <= 1.5e-6 * Math.Max(1, Math.Abs(prod[i] * d)), $"dPre[{i}] = {dPre[i]}, double {prod[i] * d}");
            }
        }
        finally
        {
            Gemm.MaxThreads = saved;
        }
    }

    [Fact]
    public void TheLayerFusesInTrainingWithoutDropoutAndKeepsTheThreeOpsOnAnEvalTape()
    {
        var g = new Generator(14);
        var layer = new TransformerEncoderLayer(16, 2, 32, 0, TransformerActivation.Gelu, batchFirst: true, normFirst: true, generator: g);
        var x = Tensor.Randn([2, 5, 16], g);
        x.RequiresGrad = true;
        layer.Train();
        var trained = layer.Forward(x);
        layer.Eval();
        var evaluated = layer.Forward(x);
        Assert.Contains("FeedForwardGeluBackward", TapeNames(trained));
        Assert.DoesNotContain("FeedForwardGeluBackward", TapeNames(evaluated));
        Assert.Contains("GeluBackward", TapeNames(evaluated));
        Assert.Equal(trained.ToArray<float>(), evaluated.ToArray<float>()); // no dropout: the same values either way

        var withDropout = new TransformerEncoderLayer(16, 2, 32, 0.1, TransformerActivation.Gelu, batchFirst: true, normFirst: true, generator: g);
        withDropout.Train();
        Assert.DoesNotContain("FeedForwardGeluBackward", TapeNames(withDropout.Forward(x)));
    }

    private static HashSet<string> TapeNames(Tensor t)
    {
        var names = new HashSet<string>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Tensor>([t]);
        while (stack.Count > 0)
        {
            var u = stack.Pop();
            if (!seen.Add(u) || u.GradFn is not { } node) continue;
            names.Add(node.Name);
            foreach (var i in node.Inputs) stack.Push(i);
        }
        return names;
    }
}
