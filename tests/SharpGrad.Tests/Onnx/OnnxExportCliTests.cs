using SharpGrad.IO;
using SharpGrad.NN;
using SharpGrad.Tests.Exercises;

namespace SharpGrad.Tests.Onnx;

/// <summary><c>sharpgrad train --out DIR</c> then <c>sharpgrad export DIR --onnx FILE</c>, run by ONNX Runtime.</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class OnnxExportCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpgrad-export-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("cnn", new[] { "--conv-stages", "4/6", "--dropout", "0.2" })]
    [InlineData("mlp", new[] { "--hidden", "16,8", "--activation", "tanh" })]
    public void A_trained_model_exports_and_ONNX_Runtime_gives_its_output(string model, string[] options)
    {
        string outDir = Path.Combine(_dir, model), onnx = Path.Combine(_dir, model + ".onnx");
        var (code, _, err) = CliRunner.Run(["train", "--synthetic", "64", "--model", model, .. options, "--batch-size", "16", "--epochs", "1",
            "--max-steps", "3", "--seed", "4", "--out", outDir, "--json"]);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(outDir, "model.json")));
        (code, var stdout, err) = CliRunner.Run("export", outDir, "--onnx", onnx);
        Assert.True(code == 0, err);
        Assert.Contains(onnx, stdout);

        // The reference: the same architecture built by the library directly, with the trained weights loaded.
        var g = new Generator(0);
        Module reference = model == "cnn"
            ? Models.StagedCnn([[4], [6]], 10, dropout: 0.2, generator: g)
            : Models.Mlp(784, [16, 8], 10, Activation.Tanh, generator: g);
        reference.LoadStateDict(Safetensors.Load(Path.Combine(outDir, "model.safetensors")));
        reference.Eval();
        var x = Tensor.Randn([3, 1, 28, 28], new Generator(9)); // a batch size other than the one traced (1)
        float[] expected;
        using (SharpGrad.Autograd.NoGrad()) expected = reference.Forward(x).ToArray<float>();
        double diff = OnnxExportTests.MaxAbsDiff(OnnxExportTests.RunOrt(File.ReadAllBytes(onnx), x), expected);
        Assert.True(diff <= 1e-5, $"{model}: ONNX Runtime differs from SharpGrad by {diff:E3}");
    }

    private static void AssertOneLineError((int Code, string Out, string Err) r, string expected)
    {
        Assert.Equal(1, r.Code);
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Export_errors_are_one_line_naming_what_is_wrong()
    {
        string missing = Path.Combine(_dir, "nowhere");
        AssertOneLineError(CliRunner.Run("export", missing, "--onnx", Path.Combine(_dir, "m.onnx")), missing);

        string noConfig = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(noConfig);
        AssertOneLineError(CliRunner.Run("export", noConfig, "--onnx", Path.Combine(_dir, "m.onnx")), "model.json");

        string unknown = Path.Combine(_dir, "unknown");
        Directory.CreateDirectory(unknown);
        File.WriteAllText(Path.Combine(unknown, "model.json"),
            """{"format": "sharpgrad.model/1", "model": "resnet", "hidden": [], "activation": "relu", "dropout": 0, "batchnorm": true, "conv_padding": 0, "conv_kernel": 5, "conv_stages": null}""");
        AssertOneLineError(CliRunner.Run("export", unknown, "--onnx", Path.Combine(_dir, "m.onnx")), "unknown model 'resnet'");

        AssertOneLineError(CliRunner.Run("export", unknown), "--onnx");
        Assert.False(File.Exists(Path.Combine(_dir, "m.onnx")));
    }
}
