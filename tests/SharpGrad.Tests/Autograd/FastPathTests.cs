using System.Numerics;
using SharpGrad.Data;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Autograd;

using Autograd = SharpGrad.Autograd;

/// <summary>
/// The small-tensor fast paths against the general ones they short-cut: fused first-order backward rules against the
/// recorded (createGraph) rules, scalar ops against tensor-scalar ops, the one-kernel SumTo against the recorded sums,
/// the direct small GEMM against a definition-level product and the packed kernels, the vectorised pixel conversion
/// against the scalar formula, and the dictionary-free engine on graphs that share nodes, fail, or re-enter it.
/// </summary>
public class FastPathTests
{
    private static Tensor Leaf(double[] values, DType dtype, params int[] shape)
    {
        var t = Tensor.FromArray(values, shape).To(dtype);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>The gradients of sum(f(inputs) * w) for a fixed weighting w, first-order or through a recorded backward.</summary>
    private static double[][] Grads(Func<Tensor[], Tensor> f, Tensor[] inputs, bool createGraph)
    {
        var y = f(inputs);
        var w = Tensor.Arange(y.Numel, y.DType).Reshape(y.Shape) * 0.25 + 0.5;
        var grads = Autograd.Grad((y * w).Sum(), inputs, createGraph: createGraph);
        return grads.Select(g => g.ToArray<double>()).ToArray();
    }

    public static TheoryData<string> FusedOps => new() { "div", "scalar-div-into", "pow", "pow-1", "sqrt", "abs", "mean", "sum-dim", "sum-dim-keep", "sum", "mul", "sub" };

    private static (Func<Tensor[], Tensor> F, Tensor[] Inputs) Case(string op, DType dtype)
    {
        double[] xs = [0.5, -1.25, 2.0, 3.5, -0.75, 1.5], ys = [1.5, 2.25, -0.5, 0.75, 3.0, -2.0], pos = [0.5, 1.25, 2.0, 3.5, 0.75, 1.5];
        return op switch
        {
            "div" => (t => t[0] / t[1], [Leaf(xs, dtype, 2, 3), Leaf(ys, dtype, 2, 3)]),
            "scalar-div-into" => (t => 2.5 / t[0], [Leaf(ys, dtype, 2, 3)]),
            "pow" => (t => t[0].Pow(2.5), [Leaf(pos, dtype, 2, 3)]),
            "pow-1" => (t => t[0].Pow(1.0), [Leaf(xs, dtype, 2, 3)]),
            "sqrt" => (t => t[0].Sqrt(), [Leaf(pos, dtype, 2, 3)]),
            "abs" => (t => t[0].Abs(), [Leaf([0.5, 0, -2.0, 3.5, -0.75, 0], dtype, 2, 3)]),
            "mean" => (t => t[0].Mean(), [Leaf(xs, dtype, 2, 3)]),
            "sum-dim" => (t => t[0].Sum(1), [Leaf(xs, dtype, 2, 3)]),
            "sum-dim-keep" => (t => t[0].Sum(0, keepDim: true), [Leaf(xs, dtype, 2, 3)]),
            "sum" => (t => t[0].Sum(), [Leaf(xs, dtype, 2, 3)]),
            "mul" => (t => t[0] * t[1], [Leaf(xs, dtype, 2, 3), Leaf(ys[..3], dtype, 3)]),
            "sub" => (t => t[0] - t[1], [Leaf(xs, dtype, 2, 3), Leaf(ys[..2], dtype, 2, 1)]),
            _ => throw new ArgumentException(op),
        };
    }

    [Theory]
    [MemberData(nameof(FusedOps))]
    public void FusedFirstOrderRulesMatchTheRecordedRulesExactly(string op)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var (f, inputs) = Case(op, dtype);
            var fused = Grads(f, inputs, createGraph: false);
            var recorded = Grads(f, inputs, createGraph: true);
            for (int i = 0; i < fused.Length; i++) Assert.Equal(recorded[i], fused[i]);
        }
    }

    [Theory]
    [MemberData(nameof(FusedOps))]
    public void FusedRulesPassTheFiniteDifferenceCheck(string op)
    {
        var (f, inputs) = Case(op, DType.Float64);
        var result = GradCheck.Check(f, inputs);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void ScalarOpsMatchTensorScalarOpsInValueAndGradient()
    {
        double[] xs = [0.5, -1.25, 2.0, 3.5, -0.75, 1.5];
        const double s = 1.75;
        Func<Tensor, double, Tensor>[] scalarForms = [(x, v) => x + v, (x, v) => v + x, (x, v) => x - v, (x, v) => v - x, (x, v) => x * v, (x, v) => v * x, (x, v) => x / v, (x, v) => v / x];
        Func<Tensor, Tensor, Tensor>[] tensorForms = [(x, v) => x + v, (x, v) => v + x, (x, v) => x - v, (x, v) => v - x, (x, v) => x * v, (x, v) => v * x, (x, v) => x / v, (x, v) => v / x];
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            for (int k = 0; k < scalarForms.Length; k++)
            {
                var x1 = Leaf(xs, dtype, 2, 3);
                var x2 = Leaf(xs, dtype, 2, 3);
                var a = scalarForms[k](x1, s);
                var b = tensorForms[k](x2, Tensor.Scalar(s, dtype));
                Assert.Equal(dtype, a.DType);
                Assert.Equal(b.GradFnName, a.GradFnName);
                Assert.Equal(b.ToArray<double>(), a.ToArray<double>());
                (a * a).Sum().Backward();
                (b * b).Sum().Backward();
                Assert.Equal(x2.Grad!.ToArray<double>(), x1.Grad!.ToArray<double>());
            }
    }

    [Fact]
    public void ScalarOpsOnInt64TensorsPromoteAsBefore()
    {
        var i = Tensor.FromArray(new long[] { 1, 2, 3 });
        Assert.Equal(DType.Float32, (i * 0.5).DType);
        Assert.Equal(new double[] { 0.5, 1, 1.5 }, (i * 0.5).ToArray<double>());
        Assert.Equal(new double[] { 1, 0, -1 }, (2.0 - i).ToArray<double>());
    }

    [Fact]
    public void SecondDerivativesThroughScalarOpsAndMean()
    {
        // f(x) = mean(3x - 1/x + x/2) over n elements: f' = (3 + 1/x² + 1/2) / n, f'' = -2 / (x³ n).
        double[] xs = [0.5, 1.25, 2.0, 3.5];
        int n = xs.Length;
        var x = Leaf(xs, DType.Float64, 4);
        var f = (x * 3.0 - 1.0 / x + x / 2.0).Mean();
        var d1 = Autograd.Grad(f, [x], createGraph: true)[0];
        TestUtil.AllClose(xs.Select(v => (3 + 1 / (v * v) + 0.5) / n).ToArray(), d1, 1e-14, 1e-14);
        var d2 = Autograd.Grad(d1.Sum(), [x])[0];
        TestUtil.AllClose(xs.Select(v => -2 / (v * v * v * n)).ToArray(), d2, 1e-13, 1e-14);
    }

    public static TheoryData<int[], int[]> SumToShapes => new()
    {
        { [4, 2], [2] }, { [4, 2], [1] }, { [4, 2], [4, 1] }, { [2, 3, 4], [3, 1] }, { [2, 3, 4], [1, 4] }, { [2, 3, 4], [2, 1, 4] },
        { [5, 1, 3], [1, 3] }, { [3, 4, 5, 6], [4, 1, 1] }, { [3, 4, 5, 6], [3, 1, 5, 1] }, { [7], [] }, { [2, 40], [40] }, { [40, 2], [40, 1] },
    };

    [Theory]
    [MemberData(nameof(SumToShapes))]
    public void OneKernelSumToMatchesTheRecordedSums(int[] from, int[] to)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            int n = from.Aggregate(1, (p, d) => p * d);
            var values = Enumerable.Range(0, n).Select(i => Math.Sin(i * 0.7) * 3).ToArray();
            var g = Tensor.FromArray(values, from).To(dtype);
            Tensor fused;
            using (Autograd.NoGrad()) fused = Autograd.SumTo(g, to);
            var leaf = Tensor.FromArray(values, from).To(dtype);
            leaf.RequiresGrad = true;
            var recorded = Autograd.SumTo(leaf, to); // a gradient in the graph: built from recorded sums
            Assert.True(recorded.RequiresGrad);
            Assert.Equal(to, fused.Shape);
            Assert.Equal(to, recorded.Shape);
            // Reference by the definition: each element of g lands on the element it was broadcast from.
            var expected = new double[Math.Max(1, to.Aggregate(1, (p, d) => p * d))];
            int[] strides = new int[from.Length];
            for (int i = from.Length - 1, s = 1, j = to.Length - 1; i >= 0; i--, j--)
            {
                int d = j >= 0 ? to[j] : 1;
                strides[i] = d == 1 ? 0 : s;
                s *= d;
            }
            for (int flat = 0; flat < n; flat++)
            {
                int rem = flat, off = 0;
                for (int i = from.Length - 1; i >= 0; i--) { off += rem % from[i] * strides[i]; rem /= from[i]; }
                expected[off] += dtype == DType.Float32 ? (float)values[flat] : values[flat];
            }
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-13;
            TestUtil.AllClose(expected, fused, tol, tol);
            TestUtil.AllClose(recorded.ToArray<double>(), fused, tol, tol);
        }
    }

    [Fact]
    public void SumToRejectsShapesThatDoNotBroadcast()
    {
        var g = Tensor.Zeros([4, 3], DType.Float64);
        Assert.Throws<InvalidOperationException>(() => Autograd.SumTo(g, [2]));
        Assert.Throws<InvalidOperationException>(() => Autograd.SumTo(g, [1, 4, 3]));
    }

    public static TheoryData<int, int, int> SmallShapes => new()
    {
        { 1, 1, 1 }, { 4, 2, 2 }, { 2, 1, 4 }, { 4, 1, 2 }, { 8, 8, 8 }, { 1, 10, 784 }, { 1, 784, 10 }, { 10, 784, 1 },
        { 2, 37, 300 }, { 3, 70, 33 }, { 4, 64, 64 }, { 300, 33, 1 }, { 5, 7, 40 }, { 16, 9, 3 }, { 1, 300, 2 }, { 2, 5, 1 },
        // long k: several k blocks of the dot-product path, 4 x 4 blocks with edges, rows split over the cores
        { 12, 10, 20011 }, { 9, 6, 4100 },
    };

    [Theory]
    [MemberData(nameof(SmallShapes))]
    public unsafe void SmallGemmMatchesTheDefinitionAndThePackedKernels(int m, int n, int k)
    {
        var rng = new Random(m * 7919 + n * 31 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                double[] a = Random(rng, m * k), b = Random(rng, k * n), c0 = Random(rng, m * n), bias = Random(rng, n);
                foreach (bool accumulate in new[] { false, true })
                    foreach (var act in new[] { GemmActivation.None, GemmActivation.Relu })
                    {
                        var c = (double[])c0.Clone();
                        var packed = (double[])c0.Clone();
                        int lda = transA ? m : k, ldb = transB ? k : n;
                        fixed (double* pa = a, pb = b, pc = c, pp = packed, pbias = bias)
                        {
                            SmallGemm.Run(transA, transB, m, n, k, pa, lda, pb, ldb, accumulate, pc, n, pbias, act);
                            GemmPacked.Run(transA, transB, m, n, k, 1.0, pa, lda, pb, ldb, accumulate ? 1.0 : 0.0, pp, n, pbias, act, 1);
                        }
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double s = 0, mag = 0;
                                for (int p = 0; p < k; p++)
                                {
                                    double x = transA ? a[p * m + i] : a[i * k + p], y = transB ? b[j * k + p] : b[p * n + j];
                                    s += x * y;
                                    mag += Math.Abs(x * y);
                                }
                                double e = s + (accumulate ? c0[i * n + j] : 0) + bias[j];
                                if (act == GemmActivation.Relu) e = Math.Max(e, 0);
                                double tol = 1e-15 * (k + 2) * (mag + Math.Abs(e) + 1);
                                Assert.True(Math.Abs(c[i * n + j] - e) <= tol, $"{m}x{n}x{k} tA={transA} tB={transB} acc={accumulate} {act}: C[{i},{j}] = {c[i * n + j]}, expected {e}");
                                Assert.True(Math.Abs(packed[i * n + j] - c[i * n + j]) <= 2 * tol, $"{m}x{n}x{k} tA={transA} tB={transB}: small and packed differ at [{i},{j}]");
                            }
                    }
            }
    }

    [Fact]
    public void GemmTakesTheDirectPathForTheShapesOfSmallModels()
    {
        Assert.True(Gemm.IsSmall(false, false, 4, 2, 2));     // XOR forward
        Assert.True(Gemm.IsSmall(false, true, 1, 10, 784));   // Linear on one image
        Assert.True(Gemm.IsSmall(false, false, 1, 784, 10));  // its input gradient
        Assert.True(Gemm.IsSmall(true, false, 10, 784, 1));   // its weight gradient (an outer product)
        Assert.False(Gemm.IsSmall(false, false, 64, 256, 784));
        Assert.False(Gemm.IsSmall(true, true, 64, 64, 64));
    }

    [Fact]
    public void MatMulAndLinearOnOneRowMatchTheRowOfABatch()
    {
        // A batch of 8 goes through the packed kernels, a single row through the direct loops: same values up to rounding.
        var g = new Generator(5);
        var x = Tensor.Randn([8, 50], g);
        var w = Tensor.Randn([12, 50], g);
        var batch = SharpGrad.NN.Functional.Linear(x, w).ToArray<float>();
        for (int r = 0; r < 8; r++)
        {
            var row = SharpGrad.NN.Functional.Linear(x.Narrow(0, r, 1), w).ToArray<float>();
            for (int j = 0; j < 12; j++) Assert.True(Math.Abs(row[j] - batch[r * 12 + j]) <= 1e-5f * (1 + Math.Abs(batch[r * 12 + j])));
        }
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0.2860, 0.3530)]
    [InlineData(0.5, 0.25)]
    public void VectorisedPixelConversionMatchesTheScalarFormulaBitForBit(double mean, double std)
    {
        var rng = new Random(3);
        foreach (int length in new[] { 0, 1, 31, 32, 33, 784, 1000 })
        {
            var src = new byte[length];
            rng.NextBytes(src);
            if (length > 2) { src[0] = 0; src[1] = 255; }
            float scale = (float)(1.0 / (255.0 * std)), shift = (float)(mean / std);
            var dst = new float[length];
            ImageDataset.ScalePixels(src, dst, scale, shift);
            for (int i = 0; i < length; i++) Assert.Equal(src[i] * scale - shift, dst[i]);
        }
    }

    [Fact]
    public void ImageBatchesHoldTheConvertedPixelsAndLabels()
    {
        const int size = 2 * 3 * 5;
        var pixels = Enumerable.Range(0, 4 * size).Select(i => (byte)(i * 37 % 256)).ToArray();
        var labels = new byte[] { 3, 1, 4, 1 };
        var data = new ImageDataset(pixels, labels, 2, 3, 5, mean: 0.5, std: 0.25);
        var (x, y) = data.GetBatch([2, 0]);
        Assert.Equal([2, 2, 3, 5], x.Shape);
        Assert.Equal(new long[] { 4, 3 }, y.ToArray<long>());
        float scale = (float)(1.0 / (255.0 * 0.25)), shift = (float)(0.5 / 0.25);
        var xs = x.ToArray<float>();
        for (int i = 0; i < size; i++)
        {
            Assert.Equal(pixels[2 * size + i] * scale - shift, xs[i]);
            Assert.Equal(pixels[i] * scale - shift, xs[size + i]);
        }
    }

    [Fact]
    public void DiamondsAndRepeatedUsesAccumulateEveryPath()
    {
        // y = sum((a + a b) * (a - b) + a * a): dy/da = (1 + b)(a - b) + (a + ab) + 2a, dy/db = a(a - b) - (a + ab).
        double[] av = [0.5, -1.5, 2.0], bv = [1.25, 0.5, -0.75];
        var a = Leaf(av, DType.Float64, 3);
        var b = Leaf(bv, DType.Float64, 3);
        var s = a + a * b;
        var y = (s * (a - b) + a * a).Sum();
        y.Backward();
        TestUtil.AllClose(av.Select((x, i) => (1 + bv[i]) * (x - bv[i]) + (x + x * bv[i]) + 2 * x).ToArray(), a.Grad!);
        TestUtil.AllClose(av.Select((x, i) => x * (x - bv[i]) - (x + x * bv[i])).ToArray(), b.Grad!);
    }

    [Fact]
    public void GradReturnsIntermediatesAndLeavesAndLeavesNoStateBehind()
    {
        var x = Leaf([1.5, -2.0], DType.Float64, 2);
        var h = x * x;
        var y = (h * 3.0 + x).Sum();
        var grads = Autograd.Grad(y, [h, x, h]);
        Assert.Equal(new[] { 3.0, 3.0 }, grads[0].ToArray<double>());
        Assert.Equal(new[] { 2 * 1.5 * 3 + 1, 2 * -2.0 * 3 + 1 }, grads[1].ToArray<double>());
        Assert.Equal(grads[0].ToArray<double>(), grads[2].ToArray<double>());
        Assert.Null(h.GradFn!.PendingGrad);
        Assert.Null(y.GradFn!.PendingGrad);
    }

    [Fact]
    public void ABackwardPassStartedInsideABackwardClosureGetsItsOwnScratch()
    {
        var x = Leaf([2.0, 3.0], DType.Float64, 2);
        var inner = Leaf([5.0], DType.Float64, 1);
        double innerGrad = 0;
        var y = Autograd.Record(x.Detach() * 1.0, "ReentrantBackward", [x], g =>
        {
            using var _ = Autograd.EnableGrad(); // a first-order pass runs closures with recording off
            var z = (inner * inner * 0.5).Sum(); // dz/dinner = inner
            innerGrad = Autograd.Grad(z, [inner])[0].Item();
            return [g * 2.0];
        });
        ((y * y).Sum() + x.Sum()).Backward();
        Assert.Equal(5.0, innerGrad);
        // d/dx [ (2x)² -- via the custom rule, y = x with gradient 2 ] : 2 y · 2 + 1 = 4x + 1
        Assert.Equal(new[] { 4 * 2.0 + 1, 4 * 3.0 + 1 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void AFailingBackwardLeavesTheEngineUsable()
    {
        var x = Leaf([1.0, 2.0], DType.Float64, 2);
        var bad = Autograd.Record(x.Detach() * 1.0, "FailingBackward", [x], _ => throw new InvalidOperationException("boom"));
        var mid = bad * 3.0;
        Assert.Throws<InvalidOperationException>(() => mid.Sum().Backward());
        Assert.Null(mid.GradFn!.PendingGrad);
        var x2 = Leaf([1.0, 2.0], DType.Float64, 2);
        (x2 * x2).Sum().Backward();
        Assert.Equal(new[] { 2.0, 4.0 }, x2.Grad!.ToArray<double>());
    }

    [Fact]
    public void LeafGradientsStayIndependentAcrossPasses()
    {
        // Add hands the same gradient to both inputs; a second pass must add into each leaf's own gradient.
        var a = Leaf([1.0, 2.0], DType.Float64, 2);
        var b = Leaf([3.0, 4.0], DType.Float64, 2);
        (a + b).Sum().Backward();
        (a * 2.0 + b).Sum().Backward();
        Assert.Equal(new[] { 3.0, 3.0 }, a.Grad!.ToArray<double>());
        Assert.Equal(new[] { 2.0, 2.0 }, b.Grad!.ToArray<double>());
    }

    [Fact]
    public void ConcurrentBackwardPassesOverSharedLeavesGetEveryContribution()
    {
        // Each thread differentiates its own graph built from the same leaf with Autograd.Grad (which leaves .Grad alone).
        var w = Leaf([0.5, -1.0, 2.0], DType.Float64, 3);
        var results = new double[8][];
        Parallel.For(0, 8, t =>
        {
            double[] last = [];
            for (int rep = 0; rep < 200; rep++)
            {
                var y = (w * w * (t + 1.0) + w).Sum(); // dy/dw = 2 (t + 1) w + 1
                last = Autograd.Grad(y, [w])[0].ToArray<double>();
            }
            results[t] = last;
        });
        for (int t = 0; t < 8; t++)
            Assert.Equal(new[] { 0.5, -1.0, 2.0 }.Select(v => 2 * (t + 1.0) * v + 1).ToArray(), results[t]);
    }

    [Fact]
    public void TheEngineKeepsNoGraphAliveAfterAPass()
    {
        // The engine reuses per-thread scratch between passes; none of it may keep the last graph reachable.
        var (node, leaf) = RunAPassAndForgetTheGraph();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(node.IsAlive);
        Assert.NotNull(leaf.Grad);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Node, Tensor Leaf) RunAPassAndForgetTheGraph()
    {
        var x = Leaf([1.0, 2.0, 3.0], DType.Float64, 3);
        var h = x * 2.0;
        for (int i = 0; i < 40; i++) h = h * x + 1.0; // deep enough to grow the traversal stack
        var weak = new WeakReference(h.GradFn);
        h.Sum().Backward();
        return (weak, x);
    }

    private static double[] Random(Random rng, int n)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }
}
