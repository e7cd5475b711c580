using System.CommandLine;
using SharpGrad.IO;
using SharpGrad.Onnx;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad export DIR --onnx FILE</c>: rebuilds the model <c>train --out DIR</c> trained (from DIR/model.json),
/// loads its weights (DIR/model.safetensors) and writes it as an ONNX model with a dynamic batch axis.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "The directory 'sharpgrad train --out DIR' wrote (model.json and model.safetensors)." };
        var onnx = new Option<string?>("--onnx") { Description = "Write the model as ONNX to this file (input [batch, 1, 28, 28], output [batch, 10])." };
        var opset = new Option<int>("--opset") { Description = $"ONNX opset ({OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset}).", DefaultValueFactory = _ => 17 };
        var cmd = new Command("export", "Export a model trained with 'train --out DIR' to another format (ONNX).");
        cmd.Add(dir);
        cmd.Add(onnx);
        cmd.Add(opset);
        cmd.SetAction(p => Run(p.GetValue(dir)!, p.GetValue(onnx), p.GetValue(opset)));
        return cmd;
    }

    private static int Run(string dir, string? onnx, int opset)
    {
        if (onnx is null) throw new ArgumentException("export: say the format and file, e.g. --onnx model.onnx.");
        if (opset is < OnnxExporter.MinOpset or > OnnxExporter.MaxOpset)
            throw new ArgumentException($"--opset: {opset} is not supported (expected {OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset}).");
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such directory (give the directory 'sharpgrad train --out DIR' wrote).");
        var config = ModelConfigFile.Read(dir);
        if (config.Model == "perceptron") throw new ArgumentException($"{Path.Combine(dir, ModelConfigFile.FileName)}: the perceptron has no module to export (train logreg, mlp or cnn).");
        string weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights} does not exist: the directory has a model.json but no weights.", weights);
        var model = TrainRunner.BuildModel(config, new Generator(0));
        try { model.LoadStateDict(Safetensors.Load(weights)); }
        catch (ArgumentException e) { throw new InvalidDataException($"{weights}: the weights do not fit the model model.json describes ({config.Describe()}): {e.Message}", e); }
        try
        {
            OnnxExporter.Export(model, [Tensor.Zeros([1, .. ModelConfigFile.InputShape])], onnx, opset);
        }
        catch (UnauthorizedAccessException e) { throw new IOException($"--onnx: cannot write '{onnx}' ({e.Message})", e); }
        Console.Out.WriteLine($"exported {config.Describe()} ({model.ParameterCount():N0} parameters) to {onnx} (ONNX opset {opset}; input [batch, {string.Join(", ", ModelConfigFile.InputShape)}], output [batch, 10] class scores)");
        return 0;
    }
}
