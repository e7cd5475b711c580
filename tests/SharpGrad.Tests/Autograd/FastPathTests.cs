using System.Numerics;
using SharpGrad.Data;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Autograd;

using Autograd = SharpGrad.Autograd;

/// <summary>
/// The small-tensor fast paths against the general ones they short-cut, and the second derivatives through the ops'
/// (single) backward rules against closed forms and finite differences: scalar ops against tensor-scalar ops, the one-kernel SumTo against the recorded sums,
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

    /// <summary>
    /// Ops whose backward rule must itself be differentiable (users compute Hessians through them). Each case is a
    /// function of float64 inputs kept away from kinks and singularities.
    /// </summary>
    private static (Func<Tensor[], Tensor> F, Tensor[] Inputs) SecondOrderCase(string op)
    {
        var g = new Generator(77);
        Tensor N(params int[] s) => Tensor.Randn(s, g, DType.Float64);
        Tensor P(params int[] s) => Tensor.Uniform(s, 0.5, 1.5, g, DType.Float64);
        Tensor Away(params int[] s) => N(s).Abs() + 0.1; // then negated half the time below
        Tensor Mixed(params int[] s) => Away(s) * Tensor.FromArray(Enumerable.Range(0, Shapes.Numel(s)).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray(), s);
        return op switch
        {
            "add" => (t => t[0] + t[1], [N(2, 3), N(3)]),
            "sub" => (t => t[0] - t[1], [N(2, 3), N(2, 1)]),
            "mul" => (t => t[0] * t[1], [N(2, 3), N(3)]),
            "div" => (t => t[0] / t[1], [N(2, 3), P(2, 3)]),
            "div-broadcast" => (t => t[0] / t[1], [N(2, 3), P(3)]),
            "scalar-ops" => (t => 2.5 / t[0] + t[0] * 3.0 - 1.5 + t[0] / 4.0 - (0.5 - t[0]), [P(5)]),
            "neg" => (t => -t[0], [N(4)]),
            "pow" => (t => t[0].Pow(2.5), [P(2, 3)]),
            "pow-2" => (t => t[0].Pow(2), [N(2, 3)]),
            "pow-1" => (t => t[0].Pow(1), [N(2, 3)]),
            "pow-tensor" => (t => t[0].Pow(t[1]), [P(2, 3), N(3)]),
            "exp" => (t => t[0].Exp(), [N(2, 3)]),
            "log" => (t => t[0].Log(), [P(2, 3)]),
            "sqrt" => (t => t[0].Sqrt(), [P(2, 3)]),
            "abs" => (t => t[0].Abs(), [Mixed(2, 3)]),
            "maximum" => (t => Tensor.Maximum(t[0], t[1]), [N(2, 3), N(2, 3)]),
            "clamp" => (t => t[0].Clamp(-0.3, 0.8), [Mixed(2, 3)]),
            "relu" => (t => t[0].Relu(), [Mixed(2, 3)]),
            "leaky-relu" => (t => t[0].LeakyRelu(0.2), [Mixed(2, 3)]),
            "sigmoid" => (t => t[0].Sigmoid(), [N(2, 3)]),
            "tanh" => (t => t[0].Tanh(), [N(2, 3)]),
            "softmax" => (t => t[0].Softmax(1), [N(2, 4)]),
            "softmax-dim0" => (t => t[0].Softmax(0, 0.5), [N(3, 2)]),
            "log-softmax" => (t => t[0].LogSoftmax(1), [N(2, 4)]),
            "log-sum-exp" => (t => t[0].LogSumExp(0), [N(3, 2)]),
            "linear" => (t => SharpGrad.NN.Functional.Linear(t[0], t[1], t[2]), [N(3, 4), N(2, 4), N(2)]),
            "linear-batched" => (t => SharpGrad.NN.Functional.Linear(t[0], t[1]), [N(2, 3, 4), N(2, 4)]),
            "linear-relu" => (t => SharpGrad.NN.Functional.LinearRelu(t[0], t[1], t[2]), [N(3, 4), N(2, 4), N(2)]),
            "mean" => (t => t[0].Mean(), [N(2, 3)]),
            "sum-dim" => (t => t[0].Sum(1), [N(2, 3)]),
            "sum-dim-keep" => (t => t[0].Sum(0, keepDim: true), [N(2, 3)]),
            _ => throw new ArgumentException(op),
        };
    }

    public static TheoryData<string> SecondOrderOps => new()
    {
        "add", "sub", "mul", "div", "div-broadcast", "scalar-ops", "neg", "pow", "pow-2", "pow-1", "pow-tensor", "exp", "log", "sqrt",
        "abs", "maximum", "clamp", "relu", "leaky-relu", "sigmoid", "tanh", "softmax", "softmax-dim0", "log-softmax", "log-sum-exp",
        "linear", "linear-batched", "linear-relu", "mean", "sum-dim", "sum-dim-keep",
    };

    /// <summary>
    /// The double backward of each op against finite differences: with L = Σ w ⊙ f(x)² (squared, so the gradient that
    /// reaches the op's backward depends on x too), the function x ↦ Σ_k ⟨v_k, ∂L/∂x_k⟩ is differentiated by a recorded
    /// (createGraph) backward, giving the Hessian-vector product, and by central differences of the first-order gradient.
    /// </summary>
    [Theory]
    [MemberData(nameof(SecondOrderOps))]
    public void DoubleBackwardMatchesFiniteDifferencesOfTheGradient(string op)
    {
        var (f, inputs) = SecondOrderCase(op);
        var gen = new Generator(5);
        var y0 = f(inputs);
        var w = Tensor.Randn(y0.ShapeRef, gen, DType.Float64);
        var v = inputs.Select(x => Tensor.Randn(x.ShapeRef, gen, DType.Float64)).ToArray();
        Tensor HessianProjection(Tensor[] xs)
        {
            using var _ = Autograd.EnableGrad(); // the finite differences run this under NoGrad
            var y = f(xs);
            var grads = Autograd.Grad((y * y * w).Sum(), xs, createGraph: true, allowUnused: true);
            Tensor total = (grads[0] * v[0]).Sum();
            for (int k = 1; k < xs.Length; k++) total = total + (grads[k] * v[k]).Sum();
            return total;
        }
        var result = GradCheck.Check(HessianProjection, inputs);
        Assert.True(result.Passed, $"{op}: {result}");
    }

    /// <summary>f and its second derivative in closed form, for the unary ops (d²/dx² Σ f(x) is diag f''(x)).</summary>
    public static TheoryData<string> UnaryOps => new() { "exp", "log", "sqrt", "pow", "sigmoid", "tanh", "relu", "abs", "neg", "leaky-relu", "clamp" };

    private static (Func<Tensor, Tensor> F, Func<double, double> Second, double[] At) ClosedForm(string op)
    {
        double[] any = [-1.7, -0.6, -0.15, 0.2, 0.9, 2.3], pos = [0.3, 0.7, 1.1, 1.9, 2.6, 4.0];
        static double S(double x) => 1 / (1 + Math.Exp(-x));
        return op switch
        {
            "exp" => (x => x.Exp(), Math.Exp, any),
            "log" => (x => x.Log(), x => -1 / (x * x), pos),
            "sqrt" => (x => x.Sqrt(), x => -0.25 * Math.Pow(x, -1.5), pos),
            "pow" => (x => x.Pow(3.5), x => 3.5 * 2.5 * Math.Pow(x, 1.5), pos),
            "sigmoid" => (x => x.Sigmoid(), x => S(x) * (1 - S(x)) * (1 - 2 * S(x)), any),
            "tanh" => (x => x.Tanh(), x => -2 * Math.Tanh(x) * (1 - Math.Tanh(x) * Math.Tanh(x)), any),
            "relu" => (x => x.Relu(), _ => 0, any),
            "abs" => (x => x.Abs(), _ => 0, any),
            "neg" => (x => -x, _ => 0, any),
            "leaky-relu" => (x => x.LeakyRelu(0.2), _ => 0, any),
            "clamp" => (x => x.Clamp(-1, 1), _ => 0, any),
            _ => throw new ArgumentException(op),
        };
    }

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void SecondDerivativesOfUnaryOpsMatchTheClosedForm(string op)
    {
        var (f, second, at) = ClosedForm(op);
        foreach (var (dtype, tol) in new[] { (DType.Float64, 1e-12), (DType.Float32, 1e-5) })
        {
            var x = Leaf(at, dtype, at.Length);
            var d1 = Autograd.Grad(f(x).Sum(), [x], createGraph: true)[0];
            Assert.True(d1.RequiresGrad || at.Select(second).All(s => s == 0), $"{op}: the first derivative was not recorded");
            double[] d2 = d1.RequiresGrad ? Autograd.Grad(d1.Sum(), [x], allowUnused: true)[0].ToArray<double>() : new double[at.Length];
            var expected = at.Select(v => second(dtype == DType.Float32 ? (float)v : v)).ToArray();
            TestUtil.AllClose(expected, d2, tol, tol, $"{op} {dtype}");
        }
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
