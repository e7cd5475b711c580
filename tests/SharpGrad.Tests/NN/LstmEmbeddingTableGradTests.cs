using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The gradients of a projection of embedded tokens taken through the table (<see cref="Functional.LinearOfRows"/> with
/// its source's gradient, switch <see cref="Functional.LstmEmbeddingTableGrad"/>): g's rows summed per token, then the
/// source's gradient S W, dW = Sᵀ source and db = Σ S. Not the old path's bits (a token's rows are summed before the
/// products), so: the source's, W's and b's gradients against a float64 (compensated) evaluation of the very sums, within
/// 1e-5 relative or a few units in the last place of Σ|terms| (every token repeated, so a dropped occurrence fails), the
/// same bits on one and two threads; x read by another op too; a createGraph pass on the old rule; whole training steps of
/// the LSTM and GRU language models (every other gradient the old bits, the embedding's and W_ih's close to the old ones);
/// and a finite-difference check of a float64 LSTM language model's embedding and W_ih gradients.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmEmbeddingTableGradTests
{
    /// <summary>Runs <paramref name="body"/> with the switch and the thread limit set, then restores them.</summary>
    private static T With<T>(bool tableGrad, int threads, Func<T> body)
    {
        bool saved = F.LstmEmbeddingTableGrad;
        int savedThreads = Gemm.MaxThreads;
        F.LstmEmbeddingTableGrad = tableGrad;
        Gemm.MaxThreads = threads;
        F.LstmEmbeddingTableGradTaken = false;
        F.LstmEmbeddingTableTaken = false;
        try { return body(); }
        finally
        {
            F.LstmEmbeddingTableGrad = saved;
            Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// A compensated (Neumaier) double sum of terms and the sum of their magnitudes, to hold a result against: exact
    /// enough for float32 and float64 results alike.
    /// </summary>
    private struct Reference
    {
        private double _sum, _comp;
        public double Abs;
        public void Add(double v)
        {
            double u = _sum + v;
            _comp += Math.Abs(_sum) >= Math.Abs(v) ? (_sum - u) + v : (v - u) + _sum;
            _sum = u;
            Abs += Math.Abs(v);
        }
        public readonly double Sum => _sum + _comp;
    }

    /// <summary>
    /// Asserts every element of <paramref name="actual"/> within 1e-5 of its reference (float32 only) or within
    /// <paramref name="ulps"/> units in the last place (of the dtype) of its Σ|terms|; returns the worst in those units.
    /// </summary>
    private static double AssertClose(Tensor actual, Reference[] expected, string what, double ulps = 8)
    {
        var a = actual.To(DType.Float64).ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        double eps = actual.DType == DType.Float32 ? Math.Pow(2, -23) : Math.Pow(2, -52), worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double sum = expected[i].Sum, err = Math.Abs(a[i] - sum), u = expected[i].Abs == 0 ? (err == 0 ? 0 : double.PositiveInfinity) : err / (expected[i].Abs * eps);
            worst = Math.Max(worst, u);
            bool relative = actual.DType == DType.Float32 && err <= 1e-5 * Math.Abs(sum);
            Assert.True(relative || u <= ulps, $"{what}: element {i}: {a[i]} against {sum} (Σ|terms| {expected[i].Abs}, {u:F2} ulp)");
        }
        return worst;
    }

    /// <summary>
    /// x = source[tokens] (every token at least twice, one row of the source unused), y = LinearOfRows(x) with the source's
    /// gradient through the table, a loss Σ y ⊙ G (G random: y's gradient) plus, with <paramref name="otherUse"/>, Σ x ⊙ H
    /// (x read by another op); the gradients of the source, W and b, held against float64 references. Returns the
    /// gradients' bits.
    /// </summary>
    private static List<long[]> RunProjection(int vocab, int rows, int inF, int outF, bool bias, DType dtype, bool otherUse, bool expectTable)
    {
        var gen = new Generator((ulong)(vocab * 7 + rows + inF + outF));
        var source = (Tensor.Randn([vocab, inF], gen)).To(dtype);
        var w = (Tensor.Randn([outF, inF], gen) * 0.2).To(dtype);
        var b = bias ? Tensor.Randn([outF], gen).To(dtype) : null;
        var tokens = Enumerable.Range(0, rows).Select(r => (long)((r * 7 + r / 5) % (vocab - 1))).ToArray(); // row vocab-1 unused
        var gy = Tensor.Randn([rows, outF], gen).To(dtype);
        var hx = Tensor.Randn([rows, inF], gen).To(dtype);
        source.RequiresGrad = true;
        w.RequiresGrad = true;
        if (b is not null) b.RequiresGrad = true;
        var x = source.IndexSelect(0, Tensor.FromArray(tokens, rows));
        var y = F.LinearOfRows(x, tokens, source, w, b, sourceGrad: true);
        var loss = (y * gy).Sum();
        if (otherUse) loss = loss + (x * hx).Sum();
        loss.Backward();
        Assert.Equal(expectTable, F.LstmEmbeddingTableGradTaken);

        double[] s = source.Detach().To(DType.Float64).ToArray<double>(), wv = w.Detach().To(DType.Float64).ToArray<double>();
        double[] g = gy.To(DType.Float64).ToArray<double>(), h = hx.To(DType.Float64).ToArray<double>();
        var dSource = new Reference[vocab * inF];
        var dW = new Reference[outF * inF];
        var db = new Reference[outF];
        for (int r = 0; r < rows; r++)
        {
            long v = tokens[r];
            for (int o = 0; o < outF; o++)
            {
                double gro = g[(long)r * outF + o];
                db[o].Add(gro);
                for (int i = 0; i < inF; i++)
                {
                    dSource[v * inF + i].Add(gro * wv[(long)o * inF + i]);
                    dW[(long)o * inF + i].Add(gro * s[v * inF + i]);
                }
            }
            if (otherUse)
                for (int i = 0; i < inF; i++) dSource[v * inF + i].Add(h[(long)r * inF + i]);
        }
        string what = $"{vocab} x {rows} x {inF} x {outF} {dtype}{(otherUse ? " (x read again)" : "")}";
        AssertClose(source.Grad!, dSource, what + " dSource");
        AssertClose(w.Grad!, dW, what + " dW");
        if (b is not null) AssertClose(b.Grad!, db, what + " db");
        var bits = new List<long[]> { SharedTailsTests.Bits(y), SharedTailsTests.Bits(source.Grad!), SharedTailsTests.Bits(w.Grad!) };
        if (b is not null) bits.Add(SharedTailsTests.Bits(b.Grad!));
        return bits;
    }

    [Theory]
    [InlineData(54, 1024, 64, 1024, true, false, false)]   // the lstm-step's first layer
    [InlineData(13, 1001, 37, 100, true, false, true)]     // odd rows, columns and depth (a column block's tail), x read again
    [InlineData(9, 203, 600, 64, false, false, false)]     // two k blocks, no bias
    [InlineData(30, 517, 48, 96, true, true, false)]       // float64
    [InlineData(7, 130, 300, 40, true, true, true)]        // float64, several k blocks, odd columns, x read again
    public void TheTableGivesTheGradientsWithinRoundingOnAnyThreadCount(int vocab, int rows, int inF, int outF, bool bias, bool float64, bool otherUse)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var old = With(false, 2, () => RunProjection(vocab, rows, inF, outF, bias, dtype, otherUse, expectTable: false));
        var one = With(true, 1, () => RunProjection(vocab, rows, inF, outF, bias, dtype, otherUse, expectTable: true));
        var two = With(true, 2, () => RunProjection(vocab, rows, inF, outF, bias, dtype, otherUse, expectTable: true));
        SharedTailsTests.AssertSame(one, two, "table gradients, one and two threads");
        Assert.Equal(old[0], two[0]); // the forward is untouched
    }

    [Fact]
    public void ACreateGraphPassTakesTheLinearsRule()
    {
        List<long[]> Run()
        {
            var gen = new Generator(5);
            var source = Tensor.Randn([11, 24], gen);
            var w = Tensor.Randn([64, 24], gen) * 0.2;
            var b = Tensor.Randn([64], gen);
            source.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
            var tokens = Enumerable.Range(0, 300).Select(r => (long)(r * 5 % 11)).ToArray();
            var x = source.IndexSelect(0, Tensor.FromArray(tokens, 300));
            var y = F.LinearOfRows(x, tokens, source, w, b, sourceGrad: true);
            var grads = SharpGrad.Autograd.Grad((y * y).Sum(), [source, w, b], createGraph: true);
            Assert.True(F.LstmEmbeddingTableTaken);
            Assert.False(F.LstmEmbeddingTableGradTaken);
            Assert.True(grads[0].RequiresGrad); // recorded: differentiable again
            return [.. grads.Select(SharedTailsTests.Bits)];
        }
        SharedTailsTests.AssertSame(With(false, 2, Run), With(true, 2, Run), "createGraph");
    }

    /// <summary>
    /// One training step's gradients of a language model (<paramref name="kind"/>, the lstm-step's sizes for the LSTM), by
    /// name, and the loss.
    /// </summary>
    private static (Dictionary<string, Tensor> Grads, Tensor Loss) LmGrads(CharRnnKind kind, bool expectTable)
    {
        var g = new Generator(3);
        bool lstm = kind == CharRnnKind.Lstm;
        int vocab = lstm ? 54 : 23, context = lstm ? 16 : 12, batch = lstm ? 64 : 40;
        var model = new CharRnn(kind, vocab, context, embeddingDim: lstm ? 64 : 24, hidden: lstm ? 256 : 96, generator: g);
        model.Train();
        var input = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context);
        var target = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context);
        var loss = F.CrossEntropy(model.ForwardSequence(input).Reshape(batch * context, vocab), target);
        loss.Backward();
        Assert.True(F.LstmEmbeddingTableTaken);
        Assert.Equal(expectTable, F.LstmEmbeddingTableGradTaken);
        return (model.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Grad!), loss);
    }

    [Theory]
    [InlineData(CharRnnKind.Lstm)]
    [InlineData(CharRnnKind.Gru)]
    public void LanguageModelGradientsStayClose(CharRnnKind kind)
    {
        var (old, oldLoss) = With(false, 2, () => LmGrads(kind, expectTable: false));
        foreach (int threads in new[] { 1, 2 })
        {
            var (table, loss) = With(true, threads, () => LmGrads(kind, expectTable: true));
            Assert.Equal(SharedTailsTests.Bits(oldLoss), SharedTailsTests.Bits(loss));
            // The LSTM's db_ih is its layer's db_hh either way; the GRU's is the sum of S's rows.
            var changed = kind == CharRnnKind.Lstm ? new[] { "embedding.weight", "rnn.weight_ih_l0" } : ["embedding.weight", "rnn.weight_ih_l0", "rnn.bias_ih_l0"];
            foreach (var (name, grad) in old)
            {
                if (!changed.Contains(name))
                {
                    Assert.Equal(SharedTailsTests.Bits(grad), SharedTailsTests.Bits(table[name]));
                    continue;
                }
                double[] a = grad.To(DType.Float64).ToArray<double>(), b = table[name].To(DType.Float64).ToArray<double>();
                double scale = a.Max(Math.Abs), worst = a.Zip(b, (p, q) => Math.Abs(p - q)).Max();
                Assert.True(worst <= 1e-5 * scale, $"{kind} {name} threads {threads}: {worst:E2} apart, largest |gradient| {scale:E2}");
                Assert.False(a.SequenceEqual(b), $"{kind} {name}: the old bits (the table's sums not taken?)");
            }
        }
    }

    [Fact]
    public void AFloat64LstmLanguageModelPassesAGradientCheck()
    {
        // The CharRnn LSTM's path (embedding → the stack's ForwardEmbedded → head → cross-entropy) in float64, its
        // embedding and first W_ih against central differences.
        var gen = new Generator(9);
        const int vocab = 13, context = 10, batch = 24, dim = 16, hidden = 32;
        var embedding = new Embedding(vocab, dim, generator: gen, dtype: DType.Float64);
        var lstm = new LSTM(dim, hidden, 2, batchFirst: true, generator: gen, dtype: DType.Float64);
        var head = new Linear(hidden, vocab, generator: gen, dtype: DType.Float64);
        var input = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)gen.NextInt(vocab)).ToArray(), batch, context);
        var target = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)gen.NextInt(vocab)).ToArray(), batch * context);
        Tensor Loss() => F.CrossEntropy(head.Forward(lstm.ForwardEmbedded(embedding.Forward(input), input, embedding.Weight, tableGrad: true))
            .Reshape(batch * context, vocab), target);
        var wIh = lstm.NamedParameters().First(p => p.Key == "weight_ih_l0").Value;
        With(true, 2, () =>
        {
            Loss().Backward();
            Assert.True(F.LstmEmbeddingTableGradTaken);
            foreach (var p in new[] { embedding.Weight, wIh })
            {
                var data = p.Array<double>();
                var grad = p.Grad!.ToArray<double>();
                for (int k = 0; k < 24; k++)
                {
                    int e = (int)((long)k * 7919 % data.Length);
                    double orig = data[e], step = 1e-6, plus, minus;
                    using (SharpGrad.Autograd.NoGrad())
                    {
                        data[e] = orig + step; plus = Loss().ToArray<double>()[0];
                        data[e] = orig - step; minus = Loss().ToArray<double>()[0];
                    }
                    data[e] = orig;
                    double numeric = (plus - minus) / (2 * step);
                    Assert.True(Math.Abs(numeric - grad[e]) <= 1e-6 * Math.Max(1e-3, Math.Abs(numeric)) + 2e-9,
                        $"{Shapes.Format(p.ShapeRef)} element {e}: {grad[e]} against {numeric}");
                }
            }
            return 0;
        });
    }
}
