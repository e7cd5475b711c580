using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// Every span kernel over lengths 0–256 (each SIMD width's tail) against a plain scalar loop written here, for float
/// and double.
/// </summary>
public class KernelSweepTests
{
    private static double[] Data(int n, int seed, double lo = -3, double hi = 3)
    {
        var g = new Generator((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * g.NextDouble()).ToArray();
    }

    private static void Close(double expected, double actual, double rtol, string what)
    {
        if (expected == actual || (double.IsNaN(expected) && double.IsNaN(actual))) return;
        Assert.True(Math.Abs(expected - actual) <= rtol * (1 + Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");
    }

    private static void SweepUnary<TOp>(Func<double, double> reference, double lo = -3, double hi = 3) where TOp : IUnaryFunction
    {
        for (int n = 0; n <= 256; n++)
        {
            var x = Data(n, n, lo, hi);
            var yd = new double[n];
            Map.Unary<double, TOp>(x, yd);
            var xf = x.Select(v => (float)v).ToArray();
            var yf = new float[n];
            Map.Unary<float, TOp>(xf, yf);
            for (int i = 0; i < n; i++)
            {
                Close(reference(x[i]), yd[i], 1e-14, $"{typeof(TOp).Name} double n={n} i={i}");
                Close(reference(xf[i]), yf[i], 3e-6, $"{typeof(TOp).Name} float n={n} i={i}");
            }
            if (n < 200 || !TOp.Vectorizable) continue;
            // The driver runs the widest width only; the vector body at every other width this machine has (ARM64 runs
            // Vector128) must meet the same reference.
            foreach (var (width, y) in AtEveryWidth<double, TOp>(x))
                for (int i = 0; i < n; i++) Close(reference(x[i]), y[i], 1e-14, $"{typeof(TOp).Name} double {width} n={n} i={i}");
            foreach (var (width, y) in AtEveryWidth<float, TOp>(xf))
                for (int i = 0; i < n; i++) Close(reference(xf[i]), y[i], 3e-6, $"{typeof(TOp).Name} float {width} n={n} i={i}");
        }
    }

    private static List<(string Width, T[] Y)> AtEveryWidth<T, TOp>(T[] x) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> where TOp : IUnaryFunction
    {
        var results = new List<(string, T[])>();
        if (Vec128<T>.IsAccelerated) results.Add(("Vector128", Run<Vec128<T>>()));
        if (Vec256<T>.IsAccelerated) results.Add(("Vector256", Run<Vec256<T>>()));
        if (Vec512<T>.IsAccelerated) results.Add(("Vector512", Run<Vec512<T>>()));
        return results;

        T[] Run<TV>() where TV : struct, IVec<TV, T>
        {
            var y = new T[x.Length];
            int i = Map.UnaryVectors<T, TOp, TV>(ref x[0], ref y[0], x.Length);
            Assert.True(i > 0, $"{typeof(TV).Name}: no whole vector ran");
            for (; i < x.Length; i++) y[i] = TOp.Apply(x[i]);
            return y;
        }
    }

    [Fact] public void Negate() => SweepUnary<NegFunction>(v => -v);
    [Fact] public void Exp() => SweepUnary<ExpFunction>(Math.Exp);
    [Fact] public void Log() => SweepUnary<LogFunction>(Math.Log, 0.01, 10);
    [Fact] public void Sqrt() => SweepUnary<SqrtFunction>(Math.Sqrt, 0, 10);
    [Fact] public void Abs() => SweepUnary<AbsFunction>(Math.Abs);
    [Fact] public void Relu() => SweepUnary<ReluFunction>(v => Math.Max(v, 0));
    [Fact] public void Sigmoid() => SweepUnary<SigmoidFunction>(v => 1 / (1 + Math.Exp(-v)), -20, 20);
    [Fact] public void Tanh() => SweepUnary<TanhFunction>(Math.Tanh);
    [Fact] public void Sign() => SweepUnary<SignFunction>(v => Math.Sign(v));
    [Fact] public void TanhNearZeroAndSaturated() => SweepUnary<TanhFunction>(Math.Tanh, -1e-3, 1e-3);
    [Fact] public void TanhSaturated() => SweepUnary<TanhFunction>(Math.Tanh, -40, 40);
    [Fact]
    public void TanhIsNonDecreasingAndOddOnAFineGrid()
    {
        // A monotone function must stay monotone to the last bit: (1 + tanh x)/2 on a grid is how users check a squashing map.
        var x = Enumerable.Range(0, 4001).Select(i => (i - 2000) * 0.025).ToArray(); // x[i] = −x[n − 1 − i] exactly
        var y = new double[x.Length];
        Map.Unary<double, TanhFunction>(x, y);
        for (int i = 1; i < y.Length; i++) Assert.True(y[i] >= y[i - 1], $"tanh({x[i]:R}) = {y[i]:R} < tanh({x[i - 1]:R}) = {y[i - 1]:R}");
        for (int i = 0; i < y.Length; i++) Assert.Equal(-y[i], y[y.Length - 1 - i]);
        Assert.Equal(1.0, y[^1]);
    }

    [Fact] public void ReluGrad() => SweepBinary<Broadcasting<ReluGradFunction>>((g, p) => p > 0 ? g : 0 * g);
    [Fact] public void Pow() => SweepBinary<Broadcasting<PowFunction>>(Math.Pow, 0.5, 3);

    private static void SweepBinary<TOp>(Func<double, double, double> reference, double ylo = -3, double yhi = 3) where TOp : IBinaryOperator
    {
        for (int n = 0; n <= 256; n++)
        {
            var x = Data(n, n);
            var y = Data(n, 1000 + n, ylo, yhi);
            var d = new double[n];
            TOp.Invoke<double>(x, y, d);
            for (int i = 0; i < n; i++) Close(reference(x[i], y[i]), d[i], 1e-14, $"{typeof(TOp).Name} n={n} i={i}");
            if (n == 0) continue;
            TOp.Invoke<double>(x, y[0], d);
            for (int i = 0; i < n; i++) Close(reference(x[i], y[0]), d[i], 1e-14, $"{typeof(TOp).Name} span-scalar n={n}");
            TOp.Invoke<double>(y[0], x, d);
            for (int i = 0; i < n; i++) Close(reference(y[0], x[i]), d[i], 1e-14, $"{typeof(TOp).Name} scalar-span n={n}");
            var xf = x.Select(v => (float)v).ToArray(); var yf = y.Select(v => (float)v).ToArray(); var df = new float[n];
            TOp.Invoke<float>(xf, yf, df);
            for (int i = 0; i < n; i++) Close(reference(xf[i], yf[i]), df[i], 3e-6, $"{typeof(TOp).Name} float n={n}");
        }
    }

    [Fact] public void Add() => SweepBinary<Broadcasting<AddFunction>>((a, b) => a + b);
    [Fact] public void Subtract() => SweepBinary<Broadcasting<SubFunction>>((a, b) => a - b);
    [Fact] public void Multiply() => SweepBinary<Broadcasting<MulFunction>>((a, b) => a * b);
    [Fact] public void Divide() => SweepBinary<Broadcasting<DivFunction>>((a, b) => a / b, 0.5, 3);
    [Fact] public void Maximum() => SweepBinary<Broadcasting<MaximumFunction>>(Math.Max);
    [Fact] public void Minimum() => SweepBinary<Broadcasting<MinimumFunction>>(Math.Min);
    [Fact] public void Greater() => SweepBinary<GreaterOp>((a, b) => a > b ? 1 : 0);
    [Fact] public void Equal() => SweepBinary<EqualOp>((a, b) => a == b ? 1 : 0);

    [Fact]
    public void BroadcastDriverMatchesIndexArithmetic()
    {
        int[][][] shapes = [[[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[2, 1, 4], [1, 3, 1]], [[5, 1], [1, 7]], [[1], [6, 2]], [[3, 4, 5], [1, 4, 1]], [[2, 3], [2, 3]], [[1, 1], [1]]];
        foreach (var pair in shapes)
        {
            int[] a = pair[0], b = pair[1];
            int[] outShape = Shapes.Broadcast(a, b, "test");
            var x = Data(Shapes.Numel(a), 1); var y = Data(Shapes.Numel(b), 2);
            var d = new double[Shapes.Numel(outShape)];
            Elementwise.Binary<double, Broadcasting<SubFunction>>(x, a, y, b, d, outShape);
            for (int flat = 0; flat < d.Length; flat++)
            {
                // Unravel in the output shape, then index each operand with its broadcast dims pinned to 0.
                var idx = new int[outShape.Length];
                for (int k = outShape.Length - 1, r = flat; k >= 0; k--) { idx[k] = r % outShape[k]; r /= outShape[k]; }
                Assert.Equal(x[Ravel(idx, a)] - y[Ravel(idx, b)], d[flat]);
            }
        }

        static int Ravel(int[] idx, int[] shape)
        {
            int off = 0, lead = idx.Length - shape.Length;
            for (int k = 0; k < shape.Length; k++) off = off * shape[k] + (shape[k] == 1 ? 0 : idx[lead + k]);
            return off;
        }
    }

    [Fact]
    public void ReductionsOverEveryLength()
    {
        for (int n = 1; n <= 256; n++)
        {
            var x = Data(n, n);
            var t = Tensor.FromArray(x);
            Close(x.Sum(), t.Sum().Item(), 1e-13, $"sum n={n}");
            Assert.Equal(x.Max(), t.Max().Item());
            Assert.Equal(x.Min(), t.Min().Item());
        }
        // Middle-dimension reductions with inner > 1 (folded row by row) and inner == 1 (one vector call per row).
        foreach (var (outer, size, inner) in new[] { (2, 3, 5), (1, 17, 33), (3, 1, 4), (4, 9, 1) })
        {
            var x = Data(outer * size * inner, 9);
            var t = Tensor.FromArray(x, outer, size, inner);
            var d = t.Sum(1).ToArray<double>();
            var m = t.Max(1).ToArray<double>();
            var am = t.ArgMax(1).ToArray<long>();
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    var col = Enumerable.Range(0, size).Select(j => x[(o * size + j) * inner + i]).ToArray();
                    Close(col.Sum(), d[o * inner + i], 1e-13, "dim sum");
                    Assert.Equal(col.Max(), m[o * inner + i]);
                    Assert.Equal(Array.IndexOf(col, col.Max()), (int)am[o * inner + i]);
                }
        }
    }

    [Fact]
    public void SoftmaxRowsOverEveryLength()
    {
        for (int n = 1; n <= 256; n++)
        {
            var x = Data(n, n, -50, 50);
            var y = new double[n];
            SoftmaxKernels.Forward<double>(x, 1, n, 1, y, SoftmaxKernels.Mode.Softmax);
            double m = x.Max(), s = x.Sum(v => Math.Exp(v - m));
            for (int i = 0; i < n; i++) Close(Math.Exp(x[i] - m) / s, y[i], 1e-13, $"softmax n={n} i={i}");
            SoftmaxKernels.Forward<double>(x, 1, n, 1, y, SoftmaxKernels.Mode.LogSoftmax);
            for (int i = 0; i < n; i++) Close(x[i] - m - Math.Log(s), y[i], 1e-13, $"log-softmax n={n} i={i}");
        }
    }

    [Fact]
    public void GemmAgainstATripleLoopForEveryTranspose()
    {
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 17, 31), (33, 1, 5), (2, 257, 3), (16, 16, 300), (5, 3, 0) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var a = Data(m * k, m + k); var b = Data(k * n, n + k + 1);
                    var c = new double[m * n];
                    Gemm.Multiply<double>(ta, tb, m, n, k, a, b, c, accumulate: false);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                            Close(s, c[i * n + j], 1e-13, $"gemm m={m} n={n} k={k} ta={ta} tb={tb}");
                        }
                    var c2 = Enumerable.Repeat(1.0, m * n).ToArray();
                    Gemm.Multiply<double>(ta, tb, m, n, k, a, b, c2, accumulate: true);
                    for (int i = 0; i < m * n; i++) Close(c[i] + 1, c2[i], 1e-13, "gemm accumulate");
                }
    }
}
