using SharpGrad.NN;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The one-op LSTM layer (<see cref="Functional.LstmSequence"/>) beside what the float64 gradient check and the PyTorch
/// golden tests cover: its float32 path against the step-by-step composite of differentiable ops
/// (<c>RecurrentCells.LstmStep</c>), outputs and every gradient, at sizes that give the packed time loop partial unit
/// blocks and row strips, several unit blocks, and a split over two threads; results that do not depend on the
/// thread count; and the refusal of double backward.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmSequenceTests
{
    [Theory]
    [InlineData(false, 5, 3, 19)]   // one partial unit block, one partial row strip, a vector tail in the gate loops
    [InlineData(true, 5, 3, 19)]
    [InlineData(false, 4, 11, 40)]  // two unit blocks (the second partial), two row strips
    [InlineData(true, 3, 20, 72)]   // large enough per step to split the units over the threads
    [InlineData(false, 4, 9, 64)]   // whole unit blocks: the time loop forms dW_hh and db_hh itself (AVX-512)
    [InlineData(true, 1, 5, 32)]    // the same with one step (dW_hh from h0's product alone)
    public void Float32MatchesTheStepByStepComposite(bool reverse, int seq, int batch, int hidden)
    {
        var g = new Generator((ulong)(7 + hidden));
        Tensor Leaf(params int[] shape)
        {
            var t = Tensor.Randn(shape, g) * 0.5;
            t.RequiresGrad = true;
            return t;
        }
        Tensor xProj = Leaf(seq, batch, 4 * hidden), h0 = Leaf(batch, hidden), c0 = Leaf(batch, hidden), w = Leaf(4 * hidden, hidden), b = Leaf(4 * hidden);
        Tensor[] leaves = [xProj, h0, c0, w, b];
        var weights = Tensor.Randn([2, seq, batch, hidden], g); // a loss that weighs every h_t and c_t differently

        var fused = Functional.LstmSequence(xProj, h0, c0, w, b, reverse);
        var fusedGrads = SharpGrad.Autograd.Grad((fused * weights).Sum(), leaves);

        var hs = new Tensor[seq];
        var cs = new Tensor[seq];
        Tensor h = h0, c = c0;
        for (int s = 0; s < seq; s++)
        {
            int t = reverse ? seq - 1 - s : s;
            (h, c) = RecurrentCells.LstmStep(xProj.Narrow(0, t, 1).Squeeze(0), h, c, w, b, hidden);
            hs[t] = h;
            cs[t] = c;
        }
        var composite = Tensor.Stack([Tensor.Stack(hs, 0), Tensor.Stack(cs, 0)], 0);
        var compositeGrads = SharpGrad.Autograd.Grad((composite * weights).Sum(), leaves);

        AssertClose(composite, fused, "output");
        string[] names = ["xProj", "h0", "c0", "W_hh", "b_hh"];
        for (int i = 0; i < leaves.Length; i++) AssertClose(compositeGrads[i], fusedGrads[i], names[i]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneAndTwoThreadsGiveBitIdenticalResults(bool reverse)
    {
        const int seq = 6, batch = 24, hidden = 96;
        var g = new Generator(11);
        Tensor[] inputs = [Tensor.Randn([seq, batch, 4 * hidden], g), Tensor.Randn([batch, hidden], g), Tensor.Randn([batch, hidden], g),
            Tensor.Randn([4 * hidden, hidden], g) * 0.2, Tensor.Randn([4 * hidden], g)];
        var weights = Tensor.Randn([2, seq, batch, hidden], g);
        float[][] Run(int threads)
        {
            int saved = SharpGrad.Kernels.Gemm.MaxThreads;
            SharpGrad.Kernels.Gemm.MaxThreads = threads;
            try
            {
                var leaves = inputs.Select(t => { var d = t.Detach(); d.RequiresGrad = true; return d; }).ToArray();
                var y = Functional.LstmSequence(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], reverse);
                var grads = SharpGrad.Autograd.Grad((y * weights).Sum(), leaves);
                return [y.ToArray<float>(), .. grads.Select(t => t!.ToArray<float>())];
            }
            finally { SharpGrad.Kernels.Gemm.MaxThreads = saved; }
        }
        var one = Run(1);
        var two = Run(2);
        string[] names = ["output", "xProj", "h0", "c0", "W_hh", "b_hh"];
        for (int i = 0; i < one.Length; i++)
        {
            int differing = Enumerable.Range(0, one[i].Length).Count(j => BitConverter.SingleToInt32Bits(one[i][j]) != BitConverter.SingleToInt32Bits(two[i][j]));
            Assert.True(differing == 0, $"{names[i]}: {differing} of {one[i].Length} values differ between 1 and 2 threads");
        }
    }

    /// <summary>
    /// dW_hh and db_hh, whichever way the backward forms them (from gate gradients packed during the time loop, or by
    /// products after it), are bit for bit the two products Σ_t da_tᵀ h_prev(t) (the steps after the first, then h0's)
    /// of Gemm.Multiply and the row-by-row sum of the gate gradients da, which are the input projection's gradient.
    /// </summary>
    [Theory]
    [InlineData(false, 5, 9, 64, 2)]
    [InlineData(true, 5, 9, 64, 2)]
    [InlineData(false, 3, 64, 32, 1)]
    [InlineData(true, 1, 7, 32, 2)]
    [InlineData(false, 4, 6, 40, 2)]   // partial unit blocks: the products after the loop
    public void WeightGradientIsTheProductOfTheGateGradientsAndThePreviousStates(bool reverse, int seq, int batch, int hidden, int threads)
    {
        var g = new Generator((ulong)(31 + seq + hidden));
        Tensor Leaf(params int[] shape)
        {
            var t = Tensor.Randn(shape, g) * 0.5;
            t.RequiresGrad = true;
            return t;
        }
        Tensor xProj = Leaf(seq, batch, 4 * hidden), h0 = Leaf(batch, hidden), c0 = Leaf(batch, hidden), w = Leaf(4 * hidden, hidden), b = Leaf(4 * hidden);
        var weights = Tensor.Randn([2, seq, batch, hidden], g);
        int saved = SharpGrad.Kernels.Gemm.MaxThreads;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        try
        {
            var y = Functional.LstmSequence(xProj, h0, c0, w, b, reverse);
            (y * weights).Sum().Backward();
            float[] da = xProj.Grad!.ToArray<float>(), ys = y.ToArray<float>(), h0s = h0.ToArray<float>();
            int g4 = 4 * hidden, rest = (seq - 1) * batch, bh = batch * hidden;
            var dw = new float[g4 * hidden];
            // Positions (t, row) in storage order; h_prev of step t is h_{t-1} (h_{t+1} when reversed), h0 for the first step.
            int daRest = reverse ? 0 : batch * g4, hRest = reverse ? bh : 0, daFirst = reverse ? rest * g4 : 0;
            SharpGrad.Kernels.Gemm.Multiply(true, false, g4, hidden, rest, 1f, da.AsSpan(daRest, rest * g4), g4, ys.AsSpan(hRest, rest * hidden), hidden, 0f, dw, hidden);
            SharpGrad.Kernels.Gemm.Multiply(true, false, g4, hidden, batch, 1f, da.AsSpan(daFirst, batch * g4), g4, h0s, hidden, 1f, dw, hidden);
            var db = new float[g4];
            for (int r = 0; r < seq * batch; r++)
                for (int j = 0; j < g4; j++) db[j] += da[r * g4 + j];
            AssertBits(dw, w.Grad!.ToArray<float>(), "W_hh");
            AssertBits(db, b.Grad!.ToArray<float>(), "b_hh");
        }
        finally { SharpGrad.Kernels.Gemm.MaxThreads = saved; }
    }

    /// <summary>
    /// The fused layer's float32 σ and tanh (AVX-512) against double-precision Math: within 4 ulp of the correctly
    /// rounded value over a dense sweep of [−20, 20], tiny arguments (where tanh x ≈ x must keep its relative
    /// precision), the clamped tails and the special values.
    /// </summary>
    [Fact]
    public void FloatSigmoidAndTanhAreWithinAFewUlp()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return; // the AVX-512 path only (elsewhere TensorPrimitives runs)
        var xs = new List<float>();
        for (int i = -200000; i <= 200000; i++) xs.Add(i * 1e-4f);
        for (int e = -40; e <= 2; e++) { xs.Add(MathF.Pow(2, e) * 1.2345f); xs.Add(-MathF.Pow(2, e) * 1.7f); }
        xs.AddRange([0f, -0f, 0.17328f, 0.17329f, 0.3466f, -0.3466f, 87f, -87f, 88.5f, -88.5f, 100f, -100f, 1e30f, -1e30f, float.PositiveInfinity, float.NegativeInfinity]);
        while (xs.Count % 16 != 0) xs.Add(0.5f);
        static double Ulps(float actual, double exact)
        {
            float rounded = (float)exact;
            double ulp = Math.Max(MathF.BitIncrement(MathF.Abs(rounded)) - MathF.Abs(rounded), float.Epsilon);
            return Math.Abs(actual - exact) / ulp;
        }
        double worstSigmoid = 0, worstTanh = 0;
        for (int k = 0; k < xs.Count; k += 16)
        {
            var v = System.Runtime.Intrinsics.Vector512.Create(xs.GetRange(k, 16).ToArray());
            var s = SharpGrad.Kernels.LstmMath.Sigmoid(v);
            var t = SharpGrad.Kernels.LstmMath.Tanh(v);
            for (int j = 0; j < 16; j++)
            {
                double x = xs[k + j], exactS = 1 / (1 + Math.Exp(-x)), exactT = Math.Tanh(x);
                if (exactS >= 1e-37) worstSigmoid = Math.Max(worstSigmoid, Ulps(s[j], exactS));
                else Assert.True(s[j] >= 0 && s[j] < 1e-37, $"sigmoid({x}) = {s[j]}");
                worstTanh = Math.Max(worstTanh, Ulps(t[j], exactT));
                Assert.Equal(BitConverter.SingleToInt32Bits(MathF.CopySign(1, (float)x)) < 0, BitConverter.SingleToInt32Bits(t[j]) < 0); // tanh keeps the sign (of zeros too)
            }
        }
        Assert.True(worstSigmoid <= 4, $"sigmoid: {worstSigmoid:F2} ulp");
        Assert.True(worstTanh <= 4, $"tanh: {worstTanh:F2} ulp");
        var nan = System.Runtime.Intrinsics.Vector512.Create(float.NaN);
        Assert.True(float.IsNaN(SharpGrad.Kernels.LstmMath.Sigmoid(nan)[0]) && float.IsNaN(SharpGrad.Kernels.LstmMath.Tanh(nan)[3]));
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int differing = Enumerable.Range(0, expected.Length).Count(j => BitConverter.SingleToInt32Bits(expected[j]) != BitConverter.SingleToInt32Bits(actual[j]));
        Assert.True(differing == 0, $"{what}: {differing} of {expected.Length} values differ from the products of the gate gradients");
    }

    [Fact]
    public void DoubleBackwardThroughTheFusedLayerIsRefusedWithAMessage()
    {
        var lstm = new LSTM(3, 4, dtype: DType.Float64, generator: new Generator(1));
        var x = Tensor.Randn([2, 1, 3], new Generator(2), DType.Float64);
        x.RequiresGrad = true;
        var e = Assert.Throws<NotSupportedException>(() => SharpGrad.Autograd.Grad(lstm.Forward(x).Sum(), [x], createGraph: true));
        Assert.Contains("LstmSequenceBackward", e.Message);
    }

    [Fact]
    public void BadShapesAreRefusedNamingTheOperand()
    {
        var e = Assert.Throws<ArgumentException>(() => Functional.LstmSequence(Tensor.Zeros([2, 3, 8]), Tensor.Zeros([3, 2]), Tensor.Zeros([4, 2]),
            Tensor.Zeros([8, 2]), null, false));
        Assert.Contains("c0 must be [3, 2]", e.Message);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] a = expected.ToArray<float>(), b = actual.ToArray<float>();
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5f + 1e-5f * Math.Abs(a[i]), $"{what}[{i}]: composite {a[i]}, fused {b[i]}");
    }
}
