using System.Numerics;
using SharpGrad.Optim;

namespace SharpGrad.Tests.Optim;

/// <summary>
/// The optimizers' fused, vectorised updates against the update rules written out here element by element (the form
/// the optimizers had before they were vectorised): the vector lanes perform the same IEEE operations in the same order,
/// so the results must be bit-identical, for lengths that are not multiples of the vector width too.
/// </summary>
public class FusedOptimizerTests
{
    private static readonly int[] Lengths = [1, 7, 16, 17, 33, 100];

    private static (Tensor P, double[] Grad) Problem(int n, DType dtype, int seed)
    {
        var g = new Generator((ulong)seed);
        var p = Tensor.Randn([n], g, dtype, requiresGrad: true);
        var grad = Tensor.Randn([n], g, DType.Float64).ToArray<double>();
        return (p, grad);
    }

    private static void SetGrad(Tensor p, double[] grad, int step)
    {
        // A different gradient every step (scaled and sign-flipped), some exact zeros included.
        var values = new double[grad.Length];
        for (int i = 0; i < values.Length; i++) values[i] = i % 5 == 3 ? 0 : grad[i] * (1 + 0.3 * step) * (step % 2 == 0 ? 1 : -1);
        p.Grad = Tensor.FromArray(values).To(p.DType);
    }

    public static TheoryData<string, DType> AdamCases()
    {
        var d = new TheoryData<string, DType>();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (var c in new[] { "plain", "l2", "adamw", "amsgrad", "adamw-amsgrad" }) d.Add(c, dt);
        return d;
    }

    [Theory]
    [MemberData(nameof(AdamCases))]
    public void AdamIsBitIdenticalToTheElementwiseRule(string variant, DType dtype)
    {
        foreach (int n in Lengths)
        {
            if (dtype == DType.Float32) CheckAdam<float>(variant, n);
            else CheckAdam<double>(variant, n);
        }
    }

    private static void CheckAdam<T>(string variant, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
        var (p, grad) = Problem(n, dtype, 10 + n);
        bool ams = variant.Contains("amsgrad", StringComparison.Ordinal), decoupled = variant.StartsWith("adamw", StringComparison.Ordinal);
        double lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8, wdVal = variant == "plain" || variant == "amsgrad" ? 0 : 0.1;
        Optimizer opt = decoupled ? new AdamW([p], lr, b1, b2, eps, wdVal, ams) : new Adam([p], lr, b1, b2, eps, wdVal, ams);
        opt.FlushSubnormalState = false;
        T[] theta = p.ToArray<T>(), m = new T[n], v = new T[n], vMax = new T[n];
        for (int t = 1; t <= 6; t++)
        {
            SetGrad(p, grad, t);
            T[] g = p.Grad!.ToArray<T>();
            opt.Step();
            T tb1 = T.CreateTruncating(b1), tb2 = T.CreateTruncating(b2), teps = T.CreateTruncating(eps), wd = T.CreateTruncating(wdVal);
            T omb1 = T.CreateTruncating(1 - b1), omb2 = T.CreateTruncating(1 - b2);
            double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
            T stepSize = T.CreateTruncating(lr / bc1), bc2Sqrt = T.CreateTruncating(Math.Sqrt(bc2));
            T decay = T.One - T.CreateTruncating(lr * wdVal);
            for (int i = 0; i < n; i++)
            {
                T gi = g[i];
                if (wdVal != 0)
                {
                    if (decoupled) theta[i] *= decay;
                    else gi += wd * theta[i];
                }
                m[i] = m[i] * tb1 + omb1 * gi;
                v[i] = v[i] * tb2 + omb2 * gi * gi;
                T second = v[i];
                if (ams) { vMax[i] = T.Max(vMax[i], v[i]); second = vMax[i]; }
                T denom = T.Sqrt(second) / bc2Sqrt + teps;
                theta[i] -= stepSize * (m[i] / denom);
            }
            Assert.Equal(theta, p.ToArray<T>());
        }
    }

    [Theory]
    [InlineData(0.0, 0.0, 0.0, false)]
    [InlineData(0.0, 0.0, 0.05, false)]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.2, 0.05, false)]
    [InlineData(0.9, 0.0, 0.05, true)]
    public void SgdIsBitIdenticalToTheElementwiseRule(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        foreach (int n in Lengths)
        {
            CheckSgd<float>(n, momentum, dampening, weightDecay, nesterov);
            CheckSgd<double>(n, momentum, dampening, weightDecay, nesterov);
        }
    }

    private static void CheckSgd<T>(int n, double momentum, double dampening, double weightDecay, bool nesterov) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
        var (p, grad) = Problem(n, dtype, 20 + n);
        double lrVal = 0.05;
        var opt = new Sgd([p], lrVal, momentum, dampening, weightDecay, nesterov) { FlushSubnormalState = false };
        T[] theta = p.ToArray<T>(), buf = new T[n];
        T lr = T.CreateTruncating(lrVal), wd = T.CreateTruncating(weightDecay), mu = T.CreateTruncating(momentum), damp = T.CreateTruncating(1 - dampening);
        for (int t = 1; t <= 5; t++)
        {
            SetGrad(p, grad, t);
            T[] g = p.Grad!.ToArray<T>();
            opt.Step();
            for (int i = 0; i < n; i++)
            {
                T d = weightDecay != 0 ? g[i] + wd * theta[i] : g[i];
                if (momentum != 0)
                {
                    buf[i] = t == 1 ? d : mu * buf[i] + damp * d;
                    d = nesterov ? d + mu * buf[i] : buf[i];
                }
                theta[i] -= lr * d;
            }
            Assert.Equal(theta, p.ToArray<T>());
        }
    }

    /// <summary>
    /// Plain SGD's kernel on spans starting at every element offset within a cache line (the row ranges a replay updates
    /// start anywhere), from a stored gradient and from an outer-product row (<c>g[j] = a · x[j]</c>, one rounding, the
    /// one-pass update of a batch-1 weight), against the rule element by element: every element updated once,
    /// bit-identically, and the outer product's gradient written as computed.
    /// </summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void SgdKernelIsBitIdenticalAtEveryAlignment(double weightDecay)
    {
        CheckSgdKernel<float>(weightDecay);
        CheckSgdKernel<double>(weightDecay);
    }

    /// <summary>
    /// Plain SGD over several rows of an outer-product gradient at once (<c>g[r, j] = a[r] · x[j]</c>, two rows per pass,
    /// an odd last row alone, stores aligned with overlapping end vectors), against the rule element by element: every
    /// element updated once, bit-identically, for row widths that end in a partial vector and parameters at every
    /// alignment, the gradient written as computed when asked and left untouched when not.
    /// </summary>
    [Theory]
    [InlineData(0.0, true)]
    [InlineData(0.0, false)]
    [InlineData(0.05, true)]
    [InlineData(0.05, false)]
    public void SgdOuterKernelIsBitIdenticalToTheElementwiseRule(double weightDecay, bool store)
    {
        CheckSgdOuterKernel<float>(weightDecay, store);
        CheckSgdOuterKernel<double>(weightDecay, store);
    }

    private static void CheckSgdOuterKernel<T>(double weightDecay, bool store) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(11);
        T R() => T.CreateTruncating(rng.NextDouble() * 2 - 1);
        T lr = T.CreateTruncating(0.05), wd = T.CreateTruncating(weightDecay), sentinel = T.CreateTruncating(1234.5);
        foreach (int rows in new[] { 1, 2, 3, 5 })
        {
            foreach (int columns in new[] { 1, 7, 16, 17, 37, 100 })
            {
                // The parameter starting at every element offset within a cache line: the pass aligns its stores to it.
                for (int offset = 0; offset < 17; offset++)
                {
                    int count = rows * columns;
                    T[] a = new T[rows], x = new T[columns], buffer = new T[offset + count + 3], g = new T[count], expect = new T[count];
                    for (int r = 0; r < rows; r++) a[r] = r == 1 ? T.Zero : R(); // a zero row: its gradient is +0
                    for (int j = 0; j < columns; j++) x[j] = j % 4 == 2 ? T.Zero : R();
                    for (int i = 0; i < buffer.Length; i++) buffer[i] = R();
                    g.AsSpan().Fill(sentinel);
                    T[] before = (T[])buffer.Clone();
                    var p = buffer.AsSpan(offset, count);
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < columns; j++)
                        {
                            T q = p[r * columns + j], o = T.FusedMultiplyAdd(a[r], x[j], T.Zero);
                            expect[r * columns + j] = q - lr * (weightDecay != 0 ? o + wd * q : o);
                        }
                    T[] expectGrad = new T[count];
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < columns; j++) expectGrad[r * columns + j] = store ? T.FusedMultiplyAdd(a[r], x[j], T.Zero) : sentinel;
                    SharpGrad.Kernels.OptimizerKernels.SgdOuter<T>(p, g, columns, a, x, lr, wd, weightDecay != 0, store);
                    // Bits, so that the sign of a zero counts too; the elements around the parameter untouched.
                    Assert.Equal(Bytes(expect), Bytes(p.ToArray()));
                    Assert.Equal(Bytes(expectGrad), Bytes(g));
                    Assert.Equal(Bytes(before[..offset]), Bytes(buffer[..offset]));
                    Assert.Equal(Bytes(before[(offset + count)..]), Bytes(buffer[(offset + count)..]));
                }
            }
        }
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static void CheckSgdKernel<T>(double weightDecay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(7);
        T R() => T.CreateTruncating(rng.NextDouble() * 2 - 1);
        T lr = T.CreateTruncating(0.05), wd = T.CreateTruncating(weightDecay), a = R();
        foreach (int n in new[] { 63, 64, 100, 301 })
        {
            for (int offset = 0; offset < 17; offset++)
            {
                T[] p0 = new T[offset + n + 5], g = new T[p0.Length], x = new T[n];
                for (int i = 0; i < p0.Length; i++) (p0[i], g[i]) = (R(), R());
                for (int i = 0; i < n; i++) x[i] = R();

                T[] stored = (T[])p0.Clone(), outer = (T[])p0.Clone(), written = new T[n], expectStored = (T[])p0.Clone(), expectOuter = (T[])p0.Clone();
                for (int i = 0; i < n; i++)
                {
                    T q = p0[offset + i], d = weightDecay != 0 ? g[offset + i] + wd * q : g[offset + i];
                    expectStored[offset + i] = q - lr * d;
                    T o = T.FusedMultiplyAdd(a, x[i], T.Zero);
                    expectOuter[offset + i] = q - lr * (weightDecay != 0 ? o + wd * q : o);
                }
                SharpGrad.Kernels.OptimizerKernels.Sgd(stored.AsSpan(offset, n), g.AsSpan(offset, n), lr, wd, weightDecay != 0);
                SharpGrad.Kernels.OptimizerKernels.Sgd(outer.AsSpan(offset, n), ref written[0], new SharpGrad.Kernels.OuterProductRow<T>(a, x), lr, wd, weightDecay != 0);
                Assert.Equal(expectStored, stored);
                Assert.Equal(expectOuter, outer);
                for (int i = 0; i < n; i++) Assert.Equal(T.FusedMultiplyAdd(a, x[i], T.Zero), written[i]);
            }
        }
    }

    [Theory]
    [InlineData(0.0, 0.0, false)]
    [InlineData(0.05, 0.0, false)]
    [InlineData(0.0, 0.9, false)]
    [InlineData(0.05, 0.9, true)]
    [InlineData(0.0, 0.0, true)]
    public void RmsPropIsBitIdenticalToTheElementwiseRule(double weightDecay, double momentum, bool centered)
    {
        foreach (int n in Lengths)
        {
            CheckRmsProp<float>(n, weightDecay, momentum, centered);
            CheckRmsProp<double>(n, weightDecay, momentum, centered);
        }
    }

    private static void CheckRmsProp<T>(int n, double weightDecay, double momentum, bool centered) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
        var (p, grad) = Problem(n, dtype, 30 + n);
        double lrVal = 0.01, alphaVal = 0.9, epsVal = 1e-8;
        var opt = new RmsProp([p], lrVal, alphaVal, epsVal, weightDecay, momentum, centered) { FlushSubnormalState = false };
        T[] theta = p.ToArray<T>(), sq = new T[n], avg = new T[n], buf = new T[n];
        T lr = T.CreateTruncating(lrVal), a = T.CreateTruncating(alphaVal), oma = T.CreateTruncating(1 - alphaVal);
        T eps = T.CreateTruncating(epsVal), wd = T.CreateTruncating(weightDecay), mu = T.CreateTruncating(momentum);
        for (int t = 1; t <= 5; t++)
        {
            SetGrad(p, grad, t);
            T[] g = p.Grad!.ToArray<T>();
            opt.Step();
            for (int i = 0; i < n; i++)
            {
                T gi = weightDecay != 0 ? g[i] + wd * theta[i] : g[i];
                sq[i] = sq[i] * a + oma * gi * gi;
                T denom;
                if (centered)
                {
                    avg[i] = avg[i] * a + oma * gi;
                    denom = T.Sqrt(sq[i] - avg[i] * avg[i]) + eps;
                }
                else denom = T.Sqrt(sq[i]) + eps;
                if (momentum > 0)
                {
                    buf[i] = buf[i] * mu + gi / denom;
                    theta[i] -= lr * buf[i];
                }
                else theta[i] -= lr * (gi / denom);
            }
            Assert.Equal(theta, p.ToArray<T>());
        }
    }

    [Fact]
    public void FlushingStoresSubnormalMomentsAsZeroAndLeavesTheRestUnchanged()
    {
        // Elements 0..19 get one nonzero gradient and then zeros, so their first moment decays by β₁ per step and turns
        // subnormal in float32 after about 830 steps (and underflows to 0 after about 980); elements 20..39 always get a gradient. Run the same problem with
        // and without flushing: the parameters must agree exactly (what is flushed is far below their resolution), and the
        // flushed moments must be exactly 0 where the IEEE ones are subnormal.
        const int n = 40;
        var g0 = new Generator(5);
        var init = Tensor.Randn([n], g0, DType.Float32);
        var grad = Tensor.Randn([n], g0, DType.Float32).ToArray<float>();
        Tensor pFlush = init.Clone(), pIeee = init.Clone();
        pFlush.RequiresGrad = true;
        pIeee.RequiresGrad = true;
        var flush = new Adam([pFlush], 1e-3);
        var ieee = new Adam([pIeee], 1e-3) { FlushSubnormalState = false };
        for (int t = 0; t < 900; t++)
        {
            var g = new float[n];
            for (int i = 0; i < n; i++) g[i] = i < 20 ? (t == 0 ? grad[i] : 0f) : grad[i] * (t % 2 == 0 ? 1 : -1);
            pFlush.Grad = Tensor.FromArray(g);
            pIeee.Grad = Tensor.FromArray(g);
            flush.Step();
            ieee.Step();
        }
        Assert.Equal(pIeee.ToArray<float>(), pFlush.ToArray<float>());
        float[] mFlush = flush.StateDict()["0.exp_avg"].ToArray<float>(), mIeee = ieee.StateDict()["0.exp_avg"].ToArray<float>();
        int subnormal = 0;
        for (int i = 0; i < n; i++)
        {
            if (float.IsSubnormal(mIeee[i])) { subnormal++; Assert.Equal(0f, mFlush[i]); }
            else if (mIeee[i] != 0) Assert.Equal(mIeee[i], mFlush[i]);
            Assert.False(float.IsSubnormal(mFlush[i]));
        }
        Assert.True(subnormal > 0, "the test did not reach subnormal moments");
    }
}
