using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Dropout where no golden file can reach it (PyTorch's random stream is not ours): the attention dropout of
/// F.ScaledDotProductAttention against softmax probabilities computed here by plain loops, and the inter-layer dropout
/// of the recurrent layers against PyTorch's rule (between layers only, never after the last, off in evaluation).
/// </summary>
public class DropoutSemanticsTests
{
    private static double[] Randn(int n, int seed)
    {
        var r = new Random(seed);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        return v;
    }

    [Fact]
    public void AttentionDropoutZeroesProbabilitiesAndRescalesTheRest()
    {
        // With value = identity the output is the dropped attention matrix itself: each entry is 0 or p_ij / (1 - p).
        const int lq = 64, lk = 32, d = 4;
        const double p = 0.3;
        var q = Randn(lq * d, 1);
        var k = Randn(lk * d, 2);
        var eye = new double[lk * lk];
        for (int i = 0; i < lk; i++) eye[i * lk + i] = 1;
        var value = Tensor.FromArray(eye, 1, 1, lk, lk);
        value.RequiresGrad = true;
        var y = F.ScaledDotProductAttention(Tensor.FromArray(q, 1, 1, lq, d), Tensor.FromArray(k, 1, 1, lk, d), value,
            dropoutP: p, generator: new Generator(11));
        var got = y.ToArray<double>();

        int zeros = 0;
        for (int i = 0; i < lq; i++)
        {
            var s = new double[lk];
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < lk; j++)
            {
                for (int t = 0; t < d; t++) s[j] += q[i * d + t] * k[j * d + t];
                s[j] /= Math.Sqrt(d);
                max = Math.Max(max, s[j]);
            }
            for (int j = 0; j < lk; j++) sum += Math.Exp(s[j] - max);
            for (int j = 0; j < lk; j++)
            {
                double prob = Math.Exp(s[j] - max) / sum, a = got[i * lk + j];
                if (a == 0) zeros++;
                else Assert.True(Math.Abs(a - prob / (1 - p)) <= 1e-12, $"[{i},{j}]: {a:R}, expected 0 or {prob / (1 - p):R}");
            }
        }
        // 2048 Bernoulli(0.3) draws: the dropped fraction is 0.3 ± 0.01 (one sd); 0.05 is five.
        Assert.InRange(zeros / (double)(lq * lk), p - 0.05, p + 0.05);

        // Backward through the same mask: dL/dvalue = Dᵀ · gout, with D the dropped matrix just read back.
        var gout = Randn(lq * lk, 3);
        (y * Tensor.FromArray(gout, 1, 1, lq, lk)).Sum().Backward();
        var gv = value.Grad!.ToArray<double>();
        for (int a = 0; a < lk; a++)
            for (int b = 0; b < lk; b++)
            {
                double e = 0;
                for (int i = 0; i < lq; i++) e += got[i * lk + a] * gout[i * lk + b];
                Assert.True(Math.Abs(gv[a * lk + b] - e) <= 1e-10, $"dvalue[{a},{b}]: {gv[a * lk + b]:R}, expected {e:R}");
            }

        // The mask comes from the generator: the same seed repeats it, another seed does not.
        var again = F.ScaledDotProductAttention(Tensor.FromArray(q, 1, 1, lq, d), Tensor.FromArray(k, 1, 1, lk, d), value.Detach(),
            dropoutP: p, generator: new Generator(11)).ToArray<double>();
        Assert.Equal(got, again);
        var other = F.ScaledDotProductAttention(Tensor.FromArray(q, 1, 1, lq, d), Tensor.FromArray(k, 1, 1, lk, d), value.Detach(),
            dropoutP: p, generator: new Generator(12)).ToArray<double>();
        Assert.NotEqual(got, other);
    }

    [Fact]
    public void RecurrentDropoutActsBetweenLayersOnlyAndOnlyInTraining()
    {
        var x = Tensor.FromArray(Randn(5 * 2 * 3, 4), 5, 2, 3);
        foreach (bool lstm in new[] { true, false })
        {
            Module Make(int layers, double dropout) => lstm
                ? new LSTM(3, 4, numLayers: layers, dropout: dropout, generator: new Generator(5), dtype: DType.Float64)
                : new GRU(3, 4, numLayers: layers, dropout: dropout, generator: new Generator(5), dtype: DType.Float64);
            Tensor Run(Module m) => m is LSTM l ? l.Forward(x, null).Output : ((GRU)m).Forward(x, null).Output;

            // One layer: PyTorch drops nothing (dropout acts on the outputs of all layers but the last).
            var plain1 = Make(1, 0);
            var dropped1 = Make(1, 0.5);
            dropped1.LoadStateDict(plain1.StateDict());
            Assert.Equal(Run(plain1).ToArray<double>(), Run(dropped1).ToArray<double>());

            // Two layers: training differs from the dropout-free network, evaluation equals it.
            var plain2 = Make(2, 0);
            var dropped2 = Make(2, 0.5);
            dropped2.LoadStateDict(plain2.StateDict());
            var reference = Run(plain2).ToArray<double>();
            Assert.NotEqual(reference, Run(dropped2).ToArray<double>());
            dropped2.Eval();
            Assert.Equal(reference, Run(dropped2).ToArray<double>());
        }
    }
}
