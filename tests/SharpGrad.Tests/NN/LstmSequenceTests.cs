using SharpGrad.NN;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The one-op LSTM layer (<see cref="Functional.LstmSequence"/>) beside what the float64 gradient check and the PyTorch
/// golden tests cover: its float32 path (vector loops plus a scalar tail, hidden 19) against the step-by-step
/// composite of differentiable ops (<c>RecurrentCells.LstmStep</c>), outputs and every gradient; and the refusal of
/// double backward.
/// </summary>
public class LstmSequenceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Float32MatchesTheStepByStepComposite(bool reverse)
    {
        const int seq = 5, batch = 3, hidden = 19;
        var g = new Generator(7);
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
