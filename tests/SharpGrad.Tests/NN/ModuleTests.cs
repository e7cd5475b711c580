using System.Reflection;
using Module = SharpGrad.NN.Module;
using SharpGrad.NN;

namespace SharpGrad.Tests.NN;

public class ModuleTests
{
    /// <summary>One instance of every layer type; extend when a layer is added (the next test fails until you do).</summary>
    private static Module[] AllLayers() =>
    [
        new Linear(3, 2), new Linear(3, 2, bias: false), new Conv2d(2, 3, 3), new Conv1d(2, 3, 3), new MaxPool2d(2), new AvgPool2d(2),
        new Flatten(), new Dropout(0.2), new BatchNorm1d(4), new BatchNorm2d(4), new ReLU(), new LeakyReLU(), new Sigmoid(), new Tanh(),
        new Softmax(1), new LogSoftmax(1), new Identity(), new Sequential(new Linear(2, 2), new ReLU()),
        new Embedding(5, 3, paddingIdx: 0), new RNN(3, 4, 2, bidirectional: true), new LSTM(3, 4), new GRU(3, 4, bias: false),
        new RNNCell(3, 4), new LSTMCell(3, 4), new GRUCell(3, 4), new ModuleList(new Linear(2, 2)), new ModuleDict().Add("a", new ReLU()),
        new Unflatten(1, 2, 2), new MultiheadAttention(8, 2), new LayerNorm(4), new GroupNorm(2, 4), new RMSNorm(4),
        new InstanceNorm1d(3, affine: true, trackRunningStats: true), new InstanceNorm2d(3), new GELU(), new SiLU(), new ELU(), new SELU(),
        new Mish(), new PReLU(3), new Hardsigmoid(), new Hardswish(), new Softsign(), new Softplus(), new Hardtanh(), new TransformerEncoderLayer(8, 2, 16),
        new TransformerEncoder(new TransformerEncoderLayer(8, 2, 16), 2, new LayerNorm(8)), new TransformerDecoderLayer(8, 2, 16),
        new MaxPool1d(2), new MaxPool3d(2), new AvgPool1d(2), new AvgPool3d([2, 1, 2]), new AdaptiveAvgPool1d(2), new AdaptiveAvgPool2d(2),
        new AdaptiveMaxPool2d([2, 1]), new Upsample(scaleFactor: [2.0]),
        new Conv3d(2, 3, 2), new ConvTranspose1d(2, 3, 3), new ConvTranspose2d(2, 4, 3, groups: 2), new ConvTranspose3d(2, 3, 2),
        new CharMlp(5, 3, 4, 8), new CharRnn(CharRnnKind.Gru, 5, 3, 4, 8, 1), new CharTransformer(5, 3, 8, 2, 1),
        new SharpGrad.Data.StandardScaler(3),
    ];

    [Fact]
    public void EveryLayerTypeIsCoveredByTheRegistrationCheck()
    {
        var covered = AllLayers().Select(m => m.GetType()).ToHashSet();
        var all = typeof(Module).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Module)) && !t.IsAbstract && t.IsPublic);
        Assert.All(all, t => Assert.Contains(t, covered));
    }

    [Fact]
    public void EveryTensorPropertyOfALayerIsRegistered()
    {
        // Reflection here, in the tests, so the library needs none: a layer exposing a tensor it forgot to register fails.
        foreach (var module in AllLayers())
        {
            var registered = module.NamedParameters().Concat(module.NamedBuffers()).Select(p => p.Value).ToHashSet(ReferenceEqualityComparer.Instance);
            foreach (var prop in module.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.PropertyType == typeof(Tensor)))
            {
                var value = (Tensor?)prop.GetValue(module);
                if (value is null) continue;
                Assert.True(registered.Contains(value), $"{module.GetType().Name}.{prop.Name} is not registered as a parameter or buffer.");
            }
        }
    }

    private sealed class Net : Module
    {
        public Net()
        {
            Fc1 = RegisterModule("fc1", new Linear(4, 3, generator: new Generator(1)));
            Body = RegisterModule("body", new Sequential(new Linear(3, 3, generator: new Generator(2)), new ReLU(), new BatchNorm1d(3)));
            Scale = RegisterParameter("scale", Tensor.Ones(1));
        }
        public Linear Fc1 { get; }
        public Sequential Body { get; }
        public Tensor Scale { get; }
        public override Tensor Forward(Tensor input) => Body.Forward(Fc1.Forward(input)) * Scale;
    }

    [Fact]
    public void NamedParametersUsePyTorchDottedNamesInRegistrationOrder()
    {
        var net = new Net();
        // PyTorch's order: a module's own parameters first, then each child's, depth first.
        Assert.Equal(["scale", "fc1.weight", "fc1.bias", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"],
            net.NamedParameters().Select(p => p.Key));
        Assert.Equal(["body.2.running_mean", "body.2.running_var", "body.2.num_batches_tracked"], net.NamedBuffers().Select(p => p.Key));
        Assert.Equal(4 * 3 + 3 + 3 * 3 + 3 + 3 + 3 + 1, net.ParameterCount());
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void SharedParametersAppearOnce()
    {
        var shared = new Linear(2, 2);
        var seq = new Sequential(shared, shared);
        Assert.Equal(2, seq.Parameters().Count());
    }

    [Fact]
    public void StateDictRoundTripRestoresEveryValue()
    {
        var a = new Net();
        a.Forward(Tensor.Randn([5, 4], new Generator(3))); // moves the BatchNorm running statistics
        var state = a.StateDict();
        var b = new Net();
        foreach (var p in b.Parameters()) p.Fill(0.5);
        b.LoadStateDict(state);
        foreach (var (name, t) in a.StateDict())
            Assert.Equal(t.ToArray<double>(), b.StateDict()[name].ToArray<double>());
        // The state is a copy: changing it leaves the model alone.
        state["scale"].Fill(9);
        Assert.Equal(1.0, a.Scale.Item());
    }

    [Fact]
    public void LoadStateDictRejectsMissingUnexpectedAndMisshapenEntries()
    {
        var net = new Net();
        var state = net.StateDict();
        state.Remove("scale");
        state["extra"] = Tensor.Zeros(1);
        var e = Assert.Throws<ArgumentException>(() => net.LoadStateDict(state));
        Assert.Contains("scale", e.Message);
        Assert.Contains("extra", e.Message);
        var loose = net.LoadStateDict(state, strict: false);
        Assert.Equal(["scale"], loose.MissingKeys);
        Assert.Equal(["extra"], loose.UnexpectedKeys);
        var bad = net.StateDict();
        bad["fc1.weight"] = Tensor.Zeros(2, 2);
        var e2 = Assert.Throws<ArgumentException>(() => net.LoadStateDict(bad));
        Assert.Contains("fc1.weight", e2.Message);
        Assert.Contains("[3, 4]", e2.Message);
    }

    [Fact]
    public void TrainAndEvalReachEveryDescendant()
    {
        var net = new Net();
        net.Eval();
        Assert.All(net.Modules(), m => Assert.False(m.Training));
        net.Train();
        Assert.All(net.Modules(), m => Assert.True(m.Training));
    }

    [Fact]
    public void DropoutIsTheIdentityInEvalAndScalesInTraining()
    {
        var d = new Dropout(0.25, new Generator(4));
        var x = Tensor.Ones(10_000);
        var y = d.Forward(x).ToArray<float>();
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.75) < 1e-6));
        Assert.InRange(y.Count(v => v == 0) / 10_000.0, 0.23, 0.27);
        d.Eval();
        Assert.Same(x, d.Forward(x));
    }

    [Fact]
    public void DefaultInitialisationStaysWithinPyTorchsBound()
    {
        var lin = new Linear(100, 50, generator: new Generator(5));
        double bound = 1 / Math.Sqrt(100);
        Assert.All(lin.Weight.ToArray<double>(), v => Assert.InRange(v, -bound, bound));
        Assert.All(lin.Bias!.ToArray<double>(), v => Assert.InRange(v, -bound, bound));
        // A uniform on [-b, b] has standard deviation b/√3.
        var w = lin.Weight.ToArray<double>();
        double std = Math.Sqrt(w.Select(v => v * v).Average());
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.95, bound / Math.Sqrt(3) * 1.05);
        var t = Tensor.Zeros(200, 300);
        Init.XavierUniform(t, generator: new Generator(6));
        double a = Math.Sqrt(6.0 / 500);
        Assert.All(t.ToArray<double>(), v => Assert.InRange(v, -a, a));
        Init.KaimingNormal(t, nonlinearity: "relu", generator: new Generator(7));
        double s = Math.Sqrt(t.ToArray<double>().Select(v => v * v).Average());
        Assert.InRange(s, Math.Sqrt(2.0 / 300) * 0.97, Math.Sqrt(2.0 / 300) * 1.03);
    }

    [Fact]
    public void LayerShapesFollowTheConvolutionArithmetic()
    {
        var x = Tensor.Randn([2, 3, 32, 30], new Generator(8));
        Assert.Equal([2, 8, 15, 14], new Conv2d(3, 8, 3, stride: 2).Forward(x).Shape);
        Assert.Equal([2, 8, 32, 30], new Conv2d(3, 8, 3, padding: 1).Forward(x).Shape);
        Assert.Equal([2, 8, 28, 26], new Conv2d(3, 8, 3, padding: 0, dilation: 2).Forward(x).Shape);
        Assert.Equal([2, 3, 16, 15], new MaxPool2d(2).Forward(x).Shape);
        Assert.Equal([2, 3, 10, 10], new AvgPool2d(3).Forward(x).Shape);
        Assert.Equal([2, 5, 7], new Conv1d(4, 5, 3, stride: 2, padding: 1).Forward(Tensor.Zeros(2, 4, 13)).Shape);
        Assert.Equal([2, 2880], new Flatten().Forward(x).Shape);
        var e = Assert.Throws<ArgumentException>(() => new Conv2d(4, 8, 3).Forward(x));
        Assert.Contains("3 channels", e.Message);
        Assert.Throws<ArgumentException>(() => new Conv2d(3, 8, 40).Forward(x));
        Assert.Throws<ArgumentException>(() => new Linear(5, 2).Forward(Tensor.Zeros(3, 4)));
    }

    [Fact]
    public void BatchNormTracksRunningStatisticsAndUsesThemInEval()
    {
        var bn = new BatchNorm1d(2, momentum: 0.5);
        var x = Tensor.FromArray(new float[] { 1, 10, 3, 20, 5, 30 }, 3, 2);
        var y = bn.Forward(x).ToArray<double>();
        // Column 0 is (1, 3, 5): mean 3, biased variance 8/3.
        Assert.Equal((1 - 3) / Math.Sqrt(8.0 / 3 + 1e-5), y[0], 5);
        Assert.Equal(0.5 * 3, bn.RunningMean.ToArray<double>()[0], 6);
        Assert.Equal(0.5 * 1 + 0.5 * 4.0, bn.RunningVar.ToArray<double>()[0], 5); // unbiased variance 4
        Assert.Equal(1.0, bn.NumBatchesTracked.Item());
        bn.Eval();
        var e = bn.Forward(Tensor.FromArray(new float[] { 1.5f, 5f }, 1, 2)).ToArray<double>();
        Assert.Equal((1.5 - 1.5) / Math.Sqrt(2.5 + 1e-5), e[0], 6);
    }

    [Fact]
    public void ToStringShowsTheTree()
    {
        var s = new Sequential(new Linear(4, 2), new ReLU()).ToString();
        Assert.Contains("(0): Linear(in_features=4, out_features=2, bias=True)", s);
        Assert.Contains("(1): ReLU()", s);
    }
}
