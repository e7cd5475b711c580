using SharpGrad.Data;
using SharpGrad.Onnx;
using SharpGrad.Optim;
using SharpGrad.Tests.Training;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Onnx;

/// <summary>
/// Models exported by PyTorch 1.13's torch.onnx.export (tools/onnx/export_torch.py; committed under
/// tests/golden/onnx) load through <see cref="OnnxModel"/>, give PyTorch's outputs and fine-tune.
/// </summary>
public class OnnxTorchTests
{
    public static TheoryData<string> Names => new() { "mlp", "cnn", "residual_cnn", "transformer", "lstm", "gru" };

    /// <summary>The sequence models read an image as 28 steps of 28 pixels.</summary>
    private static bool Sequential(string name) => name is "transformer" or "lstm" or "gru";

    private static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "golden", "onnx", name);

    [Theory]
    [MemberData(nameof(Names))]
    public void PyTorch_export_gives_PyTorch_outputs(string name)
    {
        var model = OnnxModel.Load(Path.Combine(Dir(name), "model.onnx"));
        var x = Npy.Load(Path.Combine(Dir(name), "input.npy"));
        float[] expected = Npy.Load(Path.Combine(Dir(name), "output.npy")).ToArray<float>();
        float[] actual;
        using (SharpGrad.Autograd.NoGrad()) actual = model.Forward(x).ToArray<float>();
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        Assert.True(worst <= 1e-5, $"{name}: max |SharpGrad − PyTorch| = {worst:E3}");
    }

    [FashionMnistTheory]
    [MemberData(nameof(Names))]
    public void PyTorch_export_fine_tunes_on_Fashion_MNIST(string name)
    {
        var train = FashionMnist.Load().Train;
        // The sequence models unroll 28 steps per layer and direction on the tape: a smaller batch keeps the test short.
        var indices = Enumerable.Range(0, Sequential(name) ? 64 : 256).ToArray();
        var (x, y) = train.GetBatch(indices);
        var model = OnnxModel.Load(Path.Combine(Dir(name), "model.onnx"));
        var input = Sequential(name) ? x.Reshape(-1, 28, 28) : x;
        bool logProbabilities = name == "residual_cnn"; // its head ends in log_softmax
        var optimizer = new Adam(model.Parameters(), lr: 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 50; step++)
        {
            var output = model.Forward(input);
            var loss = logProbabilities ? F.NllLoss(output, y) : F.CrossEntropy(output, y);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < 0.9 * first, $"{name}: loss {first:F4} → {last:F4} over 50 steps");
    }
}

/// <summary>A theory that runs only where Fashion-MNIST is installed.</summary>
public sealed class FashionMnistTheoryAttribute : TheoryAttribute
{
    public FashionMnistTheoryAttribute()
    {
        if (!FashionMnist.IsAvailable()) Skip = "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist).";
    }
}
