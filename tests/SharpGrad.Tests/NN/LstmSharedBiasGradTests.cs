using SharpGrad.NN;
using SharpGrad.Tests.Kernels;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// An LSTM layer's input projection taking its bias gradient db_ih from the layer's db_hh
/// (<see cref="Functional.LstmSharedBiasGrad"/>) instead of a row sum of its own. Not the same bits as the old path (a
/// running sum over the rows in order against Reduce's interleaved tree), so: db_ih is db_hh bit for bit, it is within
/// 1e-5 relative or 4 units in the last place of the sum of |terms| of a float64 (compensated) sum of the very gate
/// gradients (measured at the lstm-step's 1024 rows: at worst 5.1 ulp of Σ|terms| in a column, within 1e-5 of its sum,
/// where the tree was at 0.25 ulp: the accuracy db_hh already had), and every
/// other output and gradient is the old path's bit for bit; one layer (both directions) and the module's stacked, paired
/// and bidirectional layers, float32 and float64, one and two threads; and a whole step of the LSTM language model.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmSharedBiasGradTests
{
    /// <summary>Runs <paramref name="body"/> with the switch, the pair mode and the thread limit set, then restores them.</summary>
    private static T With<T>(bool shared, int pairMode, int threads, Func<T> body)
    {
        bool saved = F.LstmSharedBiasGrad;
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmSharedBiasGrad = shared;
        F.LstmPairMode = pairMode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        F.LstmSharedBiasGradTaken = false;
        try { return body(); }
        finally
        {
            F.LstmSharedBiasGrad = saved;
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// Asserts that each of <paramref name="sums"/> is within a few roundings of the exact row sum of
    /// <paramref name="terms"/> [rows, n]: |sum − Σ| ≤ 1e-5·|Σ| or ≤ 4 units in the last place (of the dtype) of Σ|terms|,
    /// Σ and Σ|terms| formed in double with Neumaier's compensation (exact enough for float64 terms too); and, whatever
    /// the order, within a running sum's error bound (rows − 1)·ε/2·Σ|terms|. Returns the largest error in units of the
    /// last place of Σ|terms|.
    /// </summary>
    private static double AssertRowSums(Tensor sums, Tensor terms, string what)
    {
        int n = sums.Numel, rows = terms.Numel / n;
        double[] s = sums.To(DType.Float64).ToArray<double>(), t = terms.To(DType.Float64).ToArray<double>();
        double eps = sums.DType == DType.Float32 ? Math.Pow(2, -23) : Math.Pow(2, -52), worst = 0;
        for (int j = 0; j < n; j++)
        {
            double sum = 0, comp = 0, abs = 0;
            for (int r = 0; r < rows; r++)
            {
                double v = t[(long)r * n + j], u = sum + v;
                comp += Math.Abs(sum) >= Math.Abs(v) ? (sum - u) + v : (v - u) + sum;
                sum = u;
                abs += Math.Abs(v);
            }
            sum += comp;
            double err = Math.Abs(s[j] - sum), ulps = abs == 0 ? (err == 0 ? 0 : double.PositiveInfinity) : err / (abs * eps);
            worst = Math.Max(worst, ulps);
            Assert.True(err <= 1e-5 * Math.Abs(sum) || ulps <= 4, $"{what}: column {j}: {s[j]} against {sum} (Σ|terms| {abs}, {ulps:F2} ulp)");
            Assert.True(ulps <= (rows - 1) / 2.0, $"{what}: column {j}: {ulps:F2} ulp of Σ|terms| over {rows} rows");
        }
        return worst;
    }

    private static Tensor Randn(Generator g, DType dtype, double scale, params int[] shape) => (Tensor.Randn(shape, g) * scale).To(dtype);

    /// <summary>
    /// One layer, F.Linear then F.LstmSequence: the projection's gradient (the gate gradients), db_ih, db_hh and the other
    /// gradients of a weighted loss over y, in one pass.
    /// </summary>
    private static Tensor[] RunLayer(int seq, int batch, int inF, int hidden, bool reverse, DType dtype)
    {
        var g = new Generator((ulong)(seq * 131 + batch * 7 + inF + hidden));
        var x = Randn(g, dtype, 1, seq, batch, inF);
        var wIh = Randn(g, dtype, 0.3, 4 * hidden, inF);
        var bIh = Randn(g, dtype, 0.2, 4 * hidden);
        var wHh = Randn(g, dtype, 0.3, 4 * hidden, hidden);
        var bHh = Randn(g, dtype, 0.2, 4 * hidden);
        var h0 = Randn(g, dtype, 0.5, batch, hidden);
        var c0 = Randn(g, dtype, 0.5, batch, hidden);
        var weight = Randn(g, dtype, 1, 2, seq, batch, hidden);
        Tensor[] leaves = [x, wIh, bIh, wHh, bHh, h0, c0];
        foreach (var t in leaves) t.RequiresGrad = true;
        var proj = F.Linear(x, wIh, bIh);
        var y = F.LstmSequence(proj, h0, c0, wHh, bHh, reverse);
        var grads = SharpGrad.Autograd.Grad((y * weight).Sum(), [proj, .. leaves]);
        return [y, .. grads.Select(t => t!)];
    }

    [Theory]
    [InlineData(6, 16, 24, 64, false, false)]    // whole tiles: the time loop forms db_hh (SumPositions)
    [InlineData(5, 13, 20, 40, true, false)]     // reverse, partial strips and unit blocks
    [InlineData(64, 16, 64, 256, false, false)]  // the lstm-step's layer: 1024 rows
    [InlineData(3, 7, 9, 12, false, false)]      // small: db_hh after the loop (WeightGrads' row-by-row sum)
    [InlineData(5, 9, 11, 32, false, true)]      // float64
    [InlineData(4, 6, 10, 20, true, true)]       // float64, reverse
    public void LayerTakesItsDbHh(int seq, int batch, int inF, int hidden, bool reverse, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var old = With(false, 1, 2, () => RunLayer(seq, batch, inF, hidden, reverse, dtype));
        Assert.False(F.LstmSharedBiasGradTaken);
        foreach (int threads in new[] { 1, 2 })
        {
            var now = With(true, 1, threads, () => RunLayer(seq, batch, inF, hidden, reverse, dtype));
            Assert.True(F.LstmSharedBiasGradTaken, "the shared bias gradient was not taken");
            // y, dXProj, dx, dW_ih, [db_ih], dW_hh, db_hh, dh0, dc0
            for (int i = 0; i < now.Length; i++)
                if (i != 4) Assert.Equal(SharedTailsTests.Bits(old[i]), SharedTailsTests.Bits(now[i]));
            Assert.Equal(SharedTailsTests.Bits(now[6]), SharedTailsTests.Bits(now[4]));
            AssertRowSums(now[4], now[1], $"new db_ih, threads {threads}");
        }
        AssertRowSums(old[4], old[1], "old db_ih");
    }

    /// <summary>
    /// nn.LSTM over [seq, batch, in] from random states: every gradient of a weighted loss over the output and the final
    /// states, by parameter name.
    /// </summary>
    private static Dictionary<string, Tensor> RunModule(int layers, bool bidirectional, int seq, int batch, int inF, int hidden, DType dtype)
    {
        var g = new Generator((ulong)(layers * 1000 + seq * 31 + batch + hidden));
        var lstm = new LSTM(inF, hidden, layers, bidirectional: bidirectional, generator: g, dtype: dtype);
        int states = layers * (bidirectional ? 2 : 1);
        var x = Randn(g, dtype, 1, seq, batch, inF);
        x.RequiresGrad = true;
        var (output, (h, c)) = lstm.Forward(x, (Randn(g, dtype, 0.5, states, batch, hidden), Randn(g, dtype, 0.5, states, batch, hidden)));
        var loss = (output * Randn(g, dtype, 1, output.ShapeRef)).Sum() + (h * Randn(g, dtype, 1, h.ShapeRef)).Sum() + (c * 0.5).Sum();
        loss.Backward();
        var result = lstm.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Grad!);
        result["output"] = output;
        result["x"] = x.Grad!;
        return result;
    }

    [Theory]
    [InlineData(2, false, 5, 16, 20, 64, 2, false)]  // a pair (the wavefront)
    [InlineData(2, false, 5, 16, 20, 64, 0, false)]  // layer by layer
    [InlineData(3, false, 4, 13, 9, 40, 2, false)]   // a pair, then a layer alone; partial strips
    [InlineData(2, true, 4, 8, 12, 32, 2, false)]    // bidirectional (no pair)
    [InlineData(2, false, 4, 9, 10, 32, 2, true)]    // float64 pair
    public void ModuleLayersTakeTheirDbHh(int layers, bool bidirectional, int seq, int batch, int inF, int hidden, int pairMode, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var old = With(false, pairMode, 2, () => RunModule(layers, bidirectional, seq, batch, inF, hidden, dtype));
        foreach (int threads in new[] { 1, 2 })
        {
            var now = With(true, pairMode, threads, () => RunModule(layers, bidirectional, seq, batch, inF, hidden, dtype));
            Assert.True(F.LstmSharedBiasGradTaken);
            int shared = 0;
            foreach (var (name, t) in now)
            {
                if (name.StartsWith("bias_ih", StringComparison.Ordinal))
                {
                    Assert.Equal(SharedTailsTests.Bits(now[name.Replace("bias_ih", "bias_hh", StringComparison.Ordinal)]), SharedTailsTests.Bits(t));
                    shared++;
                }
                else Assert.True(SharedTailsTests.Bits(old[name]).SequenceEqual(SharedTailsTests.Bits(t)), $"{name}, threads {threads}");
            }
            Assert.Equal(layers * (bidirectional ? 2 : 1), shared);
        }
    }

    /// <summary>A backward pass of the LSTM language model (lstm-step's sizes or smaller): the loss and every gradient by name.</summary>
    private static Dictionary<string, Tensor> RunLm(int vocab, int context, int batch, int embedding, int hidden)
    {
        var g = new Generator(5);
        var model = new CharRnn(CharRnnKind.Lstm, vocab, context, embeddingDim: embedding, hidden: hidden, generator: g);
        model.Train();
        var input = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context);
        var target = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context);
        var loss = F.CrossEntropy(model.ForwardSequence(input).Reshape(batch * context, vocab), target);
        loss.Backward();
        var result = model.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Grad!);
        result["loss"] = loss;
        return result;
    }

    [Theory]
    [InlineData(54, 16, 64, 64, 256)]
    [InlineData(17, 8, 32, 16, 128)]
    public void LanguageModelStepTakesTheDbHh(int vocab, int context, int batch, int embedding, int hidden)
    {
        var old = With(false, 1, 2, () => RunLm(vocab, context, batch, embedding, hidden));
        foreach (int threads in new[] { 1, 2 })
        {
            var now = With(true, 1, threads, () => RunLm(vocab, context, batch, embedding, hidden));
            Assert.True(F.LstmSharedBiasGradTaken);
            int shared = 0;
            foreach (var (name, t) in now)
            {
                if (name.Contains("bias_ih", StringComparison.Ordinal))
                {
                    var dbHh = now[name.Replace("bias_ih", "bias_hh", StringComparison.Ordinal)];
                    Assert.Equal(SharedTailsTests.Bits(dbHh), SharedTailsTests.Bits(t));
                    // Against the old tree's sum of the same terms: both within a few roundings of the exact sum.
                    var a = old[name].ToArray<float>();
                    var b = t.ToArray<float>();
                    Assert.True(a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 1e-5 * Math.Max(1e-2, Math.Abs(p.First))),
                        $"{name}: {a.Zip(b).Max(p => Math.Abs(p.First - p.Second))}");
                    shared++;
                }
                else Assert.True(SharedTailsTests.Bits(old[name]).SequenceEqual(SharedTailsTests.Bits(t)), $"{name}, threads {threads}");
            }
            Assert.Equal(2, shared);
        }
    }
}

/// <summary>
/// A recurrent stack run for its outputs alone skipping its final states (<see cref="Functional.LstmSkipUnreadStates"/>)
/// against forming them: two training steps of the LSTM language model (paired layers, and layer by layer) and of the
/// GRU one give the same loss, norm, gradients and parameters bit for bit, on one and two threads; the skip is checked to
/// have run, and the module's own Forward (which returns the states) still forms them.
/// </summary>
[Collection(GemmCollection.Name)]
public class LstmSkipUnreadStatesTests
{
    private static List<long[]> With(bool skip, int pairMode, int threads, Func<List<long[]>> body)
    {
        bool saved = F.LstmSkipUnreadStates;
        int savedMode = F.LstmPairMode, savedThreads = SharpGrad.Kernels.Gemm.MaxThreads;
        F.LstmSkipUnreadStates = skip;
        F.LstmPairMode = pairMode;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        F.LstmSkipUnreadStatesTaken = false;
        try { return body(); }
        finally
        {
            F.LstmSkipUnreadStates = saved;
            F.LstmPairMode = savedMode;
            SharpGrad.Kernels.Gemm.MaxThreads = savedThreads;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void LanguageModelStepsGiveTheSameBits(int pairMode)
    {
        var expected = With(false, pairMode, 2, () => SharedTailsTests.RunLm(54, 16, 64, 64, 256));
        Assert.False(F.LstmSkipUnreadStatesTaken);
        foreach (int threads in new[] { 1, 2 })
        {
            var actual = With(true, pairMode, threads, () => SharedTailsTests.RunLm(54, 16, 64, 64, 256));
            Assert.True(F.LstmSkipUnreadStatesTaken, "the states were formed");
            SharedTailsTests.AssertSame(expected, actual, $"LSTM LM, pair mode {pairMode}, threads {threads}");
        }
    }

    [Fact]
    public void SmallLanguageModelStepsGiveTheSameBits()
    {
        var expected = With(false, 1, 2, () => SharedTailsTests.RunLm());
        var actual = With(true, 1, 2, () => SharedTailsTests.RunLm());
        Assert.True(F.LstmSkipUnreadStatesTaken);
        SharedTailsTests.AssertSame(expected, actual, "small LSTM LM");
    }

    [Fact]
    public void GruLanguageModelStepsGiveTheSameBits()
    {
        var expected = With(false, 1, 2, LstmEmbeddingTableTests.RunGruLm);
        var actual = With(true, 1, 2, LstmEmbeddingTableTests.RunGruLm);
        Assert.True(F.LstmSkipUnreadStatesTaken);
        SharedTailsTests.AssertSame(expected, actual, "GRU LM");
    }

    [Fact]
    public void ForwardWithStatesStillFormsThem()
    {
        var g = new Generator(9);
        var lstm = new LSTM(8, 32, 2, generator: g);
        var x = Tensor.Randn([5, 4, 8], g);
        var (output, (h, c)) = With(true, 2, 2, () =>
        {
            var r = lstm.Forward(x, null);
            Assert.False(F.LstmSkipUnreadStatesTaken);
            return [SharedTailsTests.Bits(r.Output), SharedTailsTests.Bits(r.HiddenState.H), SharedTailsTests.Bits(r.HiddenState.C)];
        }) switch { var l => (l[0], (l[1], l[2])) };
        Assert.Equal(2 * 4 * 32, h.Length);
        Assert.Equal(2 * 4 * 32, c.Length);
        // The last layer's h_n is its last step's output.
        Assert.Equal(output.AsSpan(4 * 4 * 32, 4 * 32).ToArray(), h.AsSpan(4 * 32, 4 * 32).ToArray());
    }
}
