using System.Text.Json;
using SharpGrad.Tests.Exercises;

namespace SharpGrad.Tests.Onnx;

[Collection(CliConsoleCollection.Name)]
public class OnnxInspectCliTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "golden", "onnx", name, "model.onnx");

    [Fact]
    public void Inspect_json_lists_inputs_outputs_opset_ops_and_parameters()
    {
        var (code, stdout, stderr) = CliRunner.Run("inspect", Golden("mlp"), "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(17, root.GetProperty("opset").GetInt64());
        var input = root.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("batch", input.GetProperty("shape")[0].GetString());
        Assert.Equal(784, input.GetProperty("shape").EnumerateArray().Skip(1).Aggregate(1, (p, d) => p * d.GetInt32()));
        Assert.Equal(10, root.GetProperty("outputs")[0].GetProperty("shape")[1].GetInt32());
        var ops = root.GetProperty("ops");
        Assert.Equal(2, ops.GetProperty("Gemm").GetInt32());
        Assert.Equal(1, ops.GetProperty("Relu").GetInt32());
        // tools/onnx/export_torch.py: Linear(784, 16) and Linear(16, 10).
        Assert.Equal(784 * 16 + 16 + 16 * 10 + 10, root.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void Inspect_of_a_truncated_onnx_file_is_one_line_and_exit_1()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-cut-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, File.ReadAllBytes(Golden("cnn"))[..100]);
            var (code, _, stderr) = CliRunner.Run("inspect", path);
            Assert.Equal(1, code);
            Assert.Contains(path, stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }
        finally { File.Delete(path); }
    }
}
