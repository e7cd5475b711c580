using SharpGrad.Kernels;
using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>
/// Sequential runs a Linear layer followed by a ReLU layer as one op (the ReLU in the GEMM's epilogue). It must give
/// what the two layers give one after the other: the same float32 bits forward and backward, on the small-product and
/// packed paths, NaN included; gradients that pass a float64 finite-difference check; and double backward.
/// </summary>
public class LinearReluFusionTests
{
    /// <summary>The layers of <paramref name="model"/> applied one by one: no fusion.</summary>
    private static Tensor Unfused(Sequential model, Tensor x)
    {
        for (int i = 0; i < model.Count; i++) x = model[i].Forward(x);
        return x;
    }

    public static TheoryData<int[], int> Shapes() => new()
    {
        { new[] { 1, 9 }, 5 },        // a batch of one: the direct loops
        { new[] { 3, 11 }, 7 },       // a few rows
        { new[] { 64, 784 }, 256 },   // the MLP's first layer: packed, both cores
        { new[] { 70, 33 }, 17 },     // packed with edge tiles
        { new[] { 2, 3, 12 }, 6 },    // leading batch dimensions
        { new[] { 12 }, 4 },          // unbatched
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FusedForwardAndBackwardAreBitIdenticalToTheTwoLayers(int[] inShape, int hidden)
    {
        var g = new Generator(7);
        var model = new Sequential(new Linear(inShape[^1], hidden, generator: g), new ReLU(), new Linear(hidden, 3, generator: g));
        var x = Tensor.Randn(inShape, g);
        x.RequiresGrad = true;

        var fused = model.Forward(x);
        var gy = Tensor.Randn(fused.ShapeRef, g);
        var fusedGrads = SharpGrad.Autograd.Grad(fused, [x, .. model.Parameters()], gy);
        var plain = Unfused(model, x);
        var plainGrads = SharpGrad.Autograd.Grad(plain, [x, .. model.Parameters()], gy);

        Assert.Equal(plain.ToArray<float>(), fused.ToArray<float>());
        for (int i = 0; i < plainGrads.Length; i++) Assert.Equal(plainGrads[i].ToArray<float>(), fusedGrads[i].ToArray<float>());
    }

    [Fact]
    public void TheFusedOpIsRecordedOnceAndOnlyForALinearFollowedByAReLU()
    {
        var g = new Generator(8);
        var x = Tensor.Randn([4, 6], g);
        var fused = new Sequential(new Linear(6, 5, generator: g), new ReLU());
        Assert.Equal("LinearReluBackward", fused.Forward(x).GradFnName);
        var relu = fused.Forward(x).GradFn!;
        Assert.Equal(3, relu.Inputs.Length); // x, weight, bias: no pre-activation tensor in between
        var notFused = new Sequential(new Linear(6, 5, generator: g), new Sigmoid());
        Assert.Equal("SigmoidBackward", notFused.Forward(x).GradFnName);
        var reluFirst = new Sequential(new ReLU(), new Linear(6, 5, generator: g));
        Assert.Equal("LinearBackward", reluFirst.Forward(x).GradFnName);
    }

    [Theory]
    [InlineData(1)]    // direct loops
    [InlineData(64)]   // packed kernels
    public void NaNStaysNaNThroughTheFusedReLUAsThroughTensorRelu(int rows)
    {
        var g = new Generator(9);
        var model = new Sequential(new Linear(40, 48, generator: g), new ReLU());
        var data = Tensor.Randn([rows, 40], g).ToArray<float>();
        data[3] = float.NaN; // poisons every output of row 0
        var x = Tensor.FromArray(data, rows, 40);
        var fused = model.Forward(x).ToArray<float>();
        var plain = Unfused(model, x).ToArray<float>();
        for (int j = 0; j < 48; j++) Assert.True(float.IsNaN(fused[j]), $"output {j} of the poisoned row is {fused[j]}");
        Assert.Equal(plain, fused);
    }

    [Fact]
    public void GemmReluEpilogueKeepsNaNOnEveryPath()
    {
        foreach (var (m, n, k) in new[] { (1, 40, 30), (64, 256, 128), (3, 5, 2) })
        {
            var a = new float[m * k];
            var b = new float[k * n];
            for (int i = 0; i < a.Length; i++) a[i] = -1;
            for (int i = 0; i < b.Length; i++) b[i] = 1;
            a[0] = float.NaN; // row 0 of C is NaN, the others -k < 0
            var c = new float[m * n];
            Gemm.Multiply<float>(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, default, GemmActivation.Relu);
            for (int j = 0; j < n; j++) Assert.True(float.IsNaN(c[j]), $"{m}x{n}x{k}: C[0, {j}] = {c[j]}");
            for (int i = n; i < c.Length; i++) Assert.Equal(0f, c[i]);
        }
    }

    [Fact]
    public void FusedGradientsPassAFloat64FiniteDifferenceCheckAndDoubleBackward()
    {
        var g = new Generator(10);
        var lin = new Linear(5, 4, generator: g, dtype: DType.Float64);
        var x = Tensor.Randn([3, 5], g, DType.Float64);
        x.RequiresGrad = true;
        Tensor f(Tensor[] t) => F.LinearRelu(t[0], t[1], t[2]);
        Tensor[] inputs = [x, lin.Weight, lin.Bias!];
        var check = GradCheck.Check(f, inputs);
        Assert.True(check.Passed, check.ToString());

        // Double backward: d/dW of <v, d(sum f(x)^2)/dx> through the fused op equals the unfused ops'.
        var v = Tensor.Randn([3, 5], g, DType.Float64);
        Tensor SecondOrder(Func<Tensor> forward)
        {
            var y = forward();
            var gx = SharpGrad.Autograd.Grad((y * y).Sum(), [x], createGraph: true)[0];
            return SharpGrad.Autograd.Grad((gx * v).Sum(), [lin.Weight])[0];
        }
        var fused = SecondOrder(() => F.LinearRelu(x, lin.Weight, lin.Bias));
        var plain = SecondOrder(() => F.Linear(x, lin.Weight, lin.Bias).Relu());
        TestUtil.AllClose(plain.ToArray<double>(), fused.ToArray<double>(), 1e-13, 1e-13, "second derivative");
    }

    [Fact]
    public void MixedDtypesFallBackToTheTwoOps()
    {
        var g = new Generator(11);
        var lin = new Linear(5, 4, generator: g, dtype: DType.Float64);
        var x = Tensor.Randn([2, 5], g); // float32 input, float64 layer: promoted, not fused
        var y = F.LinearRelu(x, lin.Weight, lin.Bias);
        Assert.Equal("ReluBackward", y.GradFnName);
        Assert.Equal(F.Linear(x, lin.Weight, lin.Bias).Relu().ToArray<double>(), y.ToArray<double>());
    }
}
