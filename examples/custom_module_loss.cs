#:project ../src/SharpGrad/SharpGrad.csproj
#:property PublishAot=false
// Your own building blocks: a custom Module (a residual block with a learnable gate), a custom loss written from ops
// (log-cosh, robust to outliers), its gradient checked against finite differences, and a training loop with gradient
// clipping between backward and step. Compared with plain MSE on data where 5% of the targets are corrupted.
// Run: dotnet run examples/custom_module_loss.cs
using SharpGrad;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

// The custom loss: mean log(cosh(r)) = mean(r + softplus(-2r) - ln 2), written so it never overflows. Quadratic near
// zero like MSE, linear in the tails like L1, so a few wild targets pull the fit far less.
static Tensor LogCosh(Tensor prediction, Tensor target)
{
    var r = prediction - target;
    return (r + (r * -2.0).Softplus() - Math.Log(2)).Mean();
}

// Any function built from differentiable ops has its gradient: check it in float64 before trusting it.
var gc = new Generator(seed: 7);
var check = GradCheck.Check(t => LogCosh(t[0], t[1]), Tensor.Randn([5, 1], gc, DType.Float64) * 3, Tensor.Randn([5, 1], gc, DType.Float64));
Console.WriteLine($"log-cosh gradient check: {(check.Passed ? "passed" : "FAILED")} (max abs error {check.MaxAbsError:E1})");
if (!check.Passed) return 1;

// Data: y = sin(3 x1) + 0.5 x2² on [-1, 1]², and 5% of the training targets replaced by garbage (+8).
var g = new Generator(seed: 0);
Tensor Truth(Tensor x) => (x.Narrow(1, 0, 1) * 3.0).Sin() + x.Narrow(1, 1, 1).Square() * 0.5;
var xTrain = Tensor.Uniform([1024, 2], -1, 1, g);
var corrupt = Tensor.Rand([1024, 1], g).Lt(0.05).To(DType.Float32);
var yTrain = Truth(xTrain) + corrupt * 8.0;
var xTest = Tensor.Uniform([512, 2], -1, 1, g);
var yTest = Truth(xTest);

(double TestRmse, int Clipped, double LargestNorm) Fit(Func<Tensor, Tensor, Tensor> loss, string name)
{
    var model = new ResidualRegressor(width: 32, blocks: 2, new Generator(seed: 1));
    var optimizer = new Adam(model.Parameters(), lr: 1e-2);
    int clipped = 0;
    double largest = 0;
    for (int step = 0; step < 400; step++)
    {
        var l = loss(model.Forward(xTrain), yTrain);
        optimizer.ZeroGrad();
        l.Backward();
        // Between backward and step: rescale the gradients so their joint 2-norm is at most 1 (returns the norm before).
        double norm = Utils.ClipGradNorm(model.Parameters(), maxNorm: 1.0);
        if (norm > 1.0) clipped++;
        largest = Math.Max(largest, norm);
        optimizer.Step();
        if (step % 100 == 0) Console.WriteLine($"  {name} step {step,3}: loss {l.Item():F4}, gradient norm {norm:F3}");
    }
    model.Eval();
    using var _ = Autograd.NoGrad();
    double rmse = Math.Sqrt(F.MseLoss(model.Forward(xTest), yTest).Item());
    Console.WriteLine($"  {name}: gate values {string.Join(", ", model.Gates.Select(t => t.Item().ToString("F3")))}; {model.ParameterCount()} parameters");
    return (rmse, clipped, largest);
}

var mse = Fit((p, t) => F.MseLoss(p, t), "MSE");
var robust = Fit(LogCosh, "log-cosh");
Console.WriteLine($"clean test RMSE: MSE {mse.TestRmse:F3}, log-cosh {robust.TestRmse:F3}");
Console.WriteLine($"steps clipped: MSE {mse.Clipped}/400 (largest norm {mse.LargestNorm:F1}), log-cosh {robust.Clipped}/400 (largest {robust.LargestNorm:F1})");
// The robust loss is the point of the example: it must beat MSE on clean data, and learn the function (RMSE of
// predicting 0 everywhere is about 0.8).
return robust.TestRmse < mse.TestRmse && robust.TestRmse < 0.3 ? 0 : 1;

/// <summary>x + tanh(gate) · fc2(relu(fc1(x))): starts as the identity (gate 0) and learns how much of the branch to add.</summary>
sealed class ResidualBlock : Module
{
    private readonly Linear _fc1, _fc2;

    public ResidualBlock(int width, Generator generator)
    {
        _fc1 = RegisterModule("fc1", new Linear(width, width, generator: generator));
        _fc2 = RegisterModule("fc2", new Linear(width, width, generator: generator));
        Gate = RegisterParameter("gate", Tensor.Zeros(1));
    }

    public Tensor Gate { get; }

    public override Tensor Forward(Tensor x) => x + Gate.Tanh() * _fc2.Forward(_fc1.Forward(x).Relu());
}

/// <summary>Linear in, a stack of residual blocks, linear out. Parameter names follow the registration: block0.fc1.weight, block0.gate, ...</summary>
sealed class ResidualRegressor : Module
{
    private readonly Linear _input, _head;
    private readonly ResidualBlock[] _blocks;

    public ResidualRegressor(int width, int blocks, Generator generator)
    {
        _input = RegisterModule("input", new Linear(2, width, generator: generator));
        _blocks = [.. Enumerable.Range(0, blocks).Select(i => RegisterModule($"block{i}", new ResidualBlock(width, generator)))];
        _head = RegisterModule("head", new Linear(width, 1, generator: generator));
    }

    public IEnumerable<Tensor> Gates => _blocks.Select(b => b.Gate);

    public override Tensor Forward(Tensor x)
    {
        var h = _input.Forward(x).Relu();
        foreach (var b in _blocks) h = b.Forward(h);
        return _head.Forward(h);
    }
}
