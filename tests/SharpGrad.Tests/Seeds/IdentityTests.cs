namespace SharpGrad.Tests.Seeds;

/// <summary>The identities the seed sheets ask students to prove, checked as properties over random inputs.</summary>
public class IdentityTests
{
    private static IEnumerable<Tensor> RandomVectors(int count, int n, ulong seed, double scale = 3)
    {
        var g = new Generator(seed);
        for (int i = 0; i < count; i++) yield return Tensor.Randn([n], g, DType.Float64) * scale;
    }

    [Fact]
    public void SoftmaxIsShiftInvariant() // seed 000 Q1, seed 001 Q3.1
    {
        var g = new Generator(99);
        foreach (var z in RandomVectors(50, 7, 1))
        {
            double m = (g.NextDouble() - 0.5) * 2000;
            TestUtil.AllClose(z.Softmax(0).ToArray<double>(), (z + m).Softmax(0), 1e-9, 1e-15);
        }
    }

    [Fact]
    public void TwoClassSoftmaxIsTheSigmoidOfTheDifference() // seed 000 Q1, seed 001 Q3.3
    {
        foreach (var z in RandomVectors(50, 2, 2))
        {
            var v = z.ToArray<double>();
            var s = z.Softmax(0).ToArray<double>();
            double sig = 1 / (1 + Math.Exp(-(v[0] - v[1])));
            Assert.Equal(sig, s[0], 14);
            Assert.Equal(sig, TestUtil.F64(v[0] - v[1]).Sigmoid().Item(), 14);
            Assert.Equal(1 - sig, s[1], 14);
        }
    }

    [Fact]
    public void TanhIsARescaledSigmoid() // seed 002 Q4: tanh(x) = 2 sigmoid(2x) - 1
    {
        foreach (var x in RandomVectors(20, 9, 3))
            TestUtil.AllClose(x.Tanh().ToArray<double>(), (x * 2.0).Sigmoid() * 2.0 - 1.0, 1e-13, 1e-15);
    }

    [Fact]
    public void SoftmaxScaleZeroIsUniformAndLargeScaleIsOneHot() // seed 001 Q3.2: S_c(x) = S(c x), temperature = 1/c
    {
        foreach (var z in RandomVectors(20, 5, 4))
        {
            int argmax = (int)z.ArgMax().ToArray<long>()[0];
            TestUtil.AllClose(Enumerable.Repeat(0.2, 5).ToArray(), (z * 0.0).Softmax(0), 0, 1e-15);
            TestUtil.AllClose(Enumerable.Repeat(0.2, 5).ToArray(), z.Softmax(0, temperature: 1e9), 0, 1e-8);
            var hot = z.Softmax(0, temperature: 1e-6).ToArray<double>();
            var expected = new double[5];
            expected[argmax] = 1;
            TestUtil.AllClose(expected, hot, 0, 1e-12);
            TestUtil.AllClose(expected, (z * 1e6).Softmax(0), 0, 1e-12);
        }
    }

    [Fact]
    public void SoftmaxVectorJacobianProductMatchesTheExplicitJacobian() // seed 001 Q2: O(n) backward, no n x n matrix
    {
        var g = new Generator(5);
        foreach (var z in RandomVectors(10, 6, 6))
        {
            var s = z.Softmax(0).ToArray<double>();
            var v = Enumerable.Range(0, 6).Select(_ => g.NextNormal()).ToArray();
            var zl = Tensor.FromArray(z.ToArray<double>());
            zl.RequiresGrad = true;
            zl.Softmax(0).Backward(Tensor.FromArray(v));
            // vᵀ (diag(S) - S Sᵀ), summed explicitly.
            var expected = new double[6];
            for (int j = 0; j < 6; j++) for (int i = 0; i < 6; i++) expected[j] += v[i] * ((i == j ? s[i] : 0) - s[i] * s[j]);
            TestUtil.AllClose(expected, zl.Grad!, 1e-12, 1e-15);
        }
    }

    [Fact]
    public void ReluDerivativeIsHeavisideAwayFromZero() // seed 001 Q1
    {
        foreach (var x in RandomVectors(10, 20, 7))
        {
            var leaf = Tensor.FromArray(x.ToArray<double>(), 20);
            leaf.RequiresGrad = true;
            leaf.Relu().Sum().Backward();
            Assert.Equal(x.Heaviside().ToArray<double>(), leaf.Grad!.ToArray<double>());
        }
        Assert.Equal(new double[] { 0, 0.5, 1 }, TestUtil.F64(-1, 0, 1).Heaviside().ToArray<double>());
    }

    [Fact]
    public void SteepSigmoidTendsToHeaviside() // seed 001 Q1: sigmoid(kx) -> H(x) as k -> inf, with H(0) = 1/2
    {
        var x = TestUtil.F64(-0.5, -0.01, 0, 0.01, 0.5);
        TestUtil.AllClose(x.Heaviside().ToArray<double>(), (x * 1e5).Sigmoid(), 0, 1e-40);
        var gap10 = ((x * 10.0).Sigmoid() - x.Heaviside()).Abs().Max().Item();
        var gap1000 = ((x * 1000.0).Sigmoid() - x.Heaviside()).Abs().Max().Item();
        Assert.True(gap1000 < gap10);
    }

    [Fact]
    public void SigmoidAndSoftmaxStayFiniteAtExtremeInputs() // seed 004 Q1
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.FromArray(new[] { -1e4, -100, -10, 0, 10, 100, 1e4 }).To(dtype).Detach();
            x.RequiresGrad = true;
            var s = x.Sigmoid();
            s.Sum().Backward();
            Assert.All(s.ToArray<double>(), v => Assert.True(double.IsFinite(v)));
            Assert.All(x.Grad!.ToArray<double>(), v => Assert.True(double.IsFinite(v) && v >= 0));
            var sv = s.ToArray<double>();
            Assert.Equal(0.0, sv[0]); Assert.Equal(1.0, sv[6]); Assert.Equal(0.5, sv[3]);

            foreach (var op in new Func<Tensor, Tensor>[] { t => t.Softmax(0), t => t.LogSoftmax(0), t => t.LogSumExp(0) })
            {
                var z = Tensor.FromArray(new[] { -1e4, 1e4, 3, 1e4 }).To(dtype).Detach();
                z.RequiresGrad = true;
                var y = op(z);
                y.Backward(Tensor.OnesLike(y));
                Assert.All(y.ToArray<double>(), v => Assert.True(double.IsFinite(v) || v == double.NegativeInfinity));
                Assert.All(z.Grad!.ToArray<double>(), v => Assert.True(double.IsFinite(v)));
            }
        }
        // The sigmoid derivative keeps its precision where 1 - S(x) rounds to 0: S'(100) = e^-100 / (1 + e^-100)².
        var big = TestUtil.Leaf([100.0, -100.0], 2);
        big.Sigmoid().Sum().Backward();
        Assert.Equal(Math.Exp(-100), big.Grad!.ToArray<double>()[0], 1e-50);
        Assert.Equal(Math.Exp(-100), big.Grad!.ToArray<double>()[1], 1e-50);
        Assert.Equal(1e4, TestUtil.F64(1e4, 1e4 - 1000).LogSumExp(0).Item(), 9);
    }
}
