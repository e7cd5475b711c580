using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.NN;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad summary --model mlp|logreg|cnn</c>: the layers of one of <c>train</c>'s models (built from the same
/// options) with output shapes, parameter counts and memory, for a batch of Fashion-MNIST-sized images.
/// </summary>
internal static class SummaryCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "logreg, mlp or cnn (the models of train).", DefaultValueFactory = _ => "mlp" };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes of the MLP, e.g. 256,128.", DefaultValueFactory = _ => "256,128" };
        var activation = new Option<string>("--activation") { Description = "relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
        var dropout = new Option<double>("--dropout") { Description = "Dropout probability after each hidden layer (0 = none)." };
        var convStages = new Option<string?>("--conv-stages") { Description = "A VGG-style CNN (as train's --conv-stages), e.g. 32/64,64." };
        var convKernel = new Option<int>("--conv-kernel") { Description = "Kernel size of the CNN's convolutions: 5 (default) or 3.", DefaultValueFactory = _ => 5 };
        var convPadding = new Option<int>("--conv-padding") { Description = "Zero padding of the CNN's convolutions." };
        var batch = new Option<int>("--batch") { Description = "Batch size of the input the shapes and activation memory are for.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var cmd = new Command("summary", "Layers of a model: output shapes, parameter counts and memory.");
        foreach (var o in new Option[] { model, hidden, activation, dropout, convStages, convKernel, convPadding, batch, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            string name = p.GetValue(model)!.ToLowerInvariant();
            if (name is not ("logreg" or "mlp" or "cnn"))
                throw new ArgumentException($"--model: '{name}' has no layers to list (expected logreg, mlp or cnn).");
            int n = p.GetValue(batch);
            if (n < 1) throw new ArgumentException($"--batch must be at least 1 (got {n}).");
            int kernel = p.GetValue(convKernel), padding = p.GetValue(convPadding);
            if (kernel is not (3 or 5)) throw new ArgumentException($"--conv-kernel must be 3 or 5 (got {kernel}).");
            if (padding < 0 || 2 * padding > kernel - 1) throw new ArgumentException($"--conv-padding must be 0 to {(kernel - 1) / 2} with {kernel}x{kernel} kernels (got {padding}).");
            double drop = p.GetValue(dropout);
            if (!(drop >= 0 && drop < 1)) throw new ArgumentException($"--dropout must be in [0, 1) (got {drop.ToString(CultureInfo.InvariantCulture)}).");
            var stages = p.GetValue(convStages) is string st ? TrainCommand.ParseStages(st) : null;
            if (stages is not null && name != "cnn") throw new ArgumentException($"--conv-stages is for --model cnn (got --model {name}).");
            var config = new TrainConfig
            {
                Model = name, Hidden = TrainCommand.ParseInts(p.GetValue(hidden)!, "--hidden"), Activation = TrainCommand.ParseActivation(p.GetValue(activation)!),
                Dropout = drop, ConvKernel = kernel, ConvPadding = padding, ConvStages = stages,
            };
            var m = TrainRunner.BuildModel(config, new Generator(0));
            int[] input = name == "cnn" ? [n, 1, 28, 28] : [n, 784];
            var summary = Utils.Summary(m, input);
            string description = name switch
            {
                "mlp" => $"mlp {string.Join('-', config.Hidden)} {config.Activation.ToString().ToLowerInvariant()}",
                "cnn" when stages is not null => $"cnn {TrainConfig.StagesText(stages)}",
                "cnn" => $"cnn {kernel}x{kernel}{(padding != 0 ? $" pad {padding}" : "")}",
                _ => name,
            };
            if (p.GetValue(json)) Json.Print(ToJson(description, summary));
            else Print(description, summary);
            return 0;
        });
        return cmd;
    }

    private static string Shape(int[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string Count(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static void Print(string description, ModelSummary s)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape($"{description}, input {Shape(s.InputShape)}"));
        table.AddColumn("layer");
        table.AddColumn("type");
        foreach (var c in new[] { "output shape", "params", "memory" }) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var l in s.Layers)
            table.AddRow(Markup.Escape(new string(' ', 2 * l.Depth) + l.Name), Markup.Escape(l.Type), Markup.Escape(l.OutputShape is null ? "-" : Shape(l.OutputShape)),
                Count(l.Parameters), ModelSummary.FormatBytes(l.ParameterBytes + l.OutputBytes));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"parameters [bold]{Count(s.TotalParameters)}[/] ({Count(s.TrainableParameters)} trainable), {ModelSummary.FormatBytes(s.ParameterBytes)}; " +
            $"buffers {ModelSummary.FormatBytes(s.BufferBytes)}; activations {ModelSummary.FormatBytes(s.ActivationBytes)}; input {ModelSummary.FormatBytes(s.InputBytes)}; " +
            $"total {ModelSummary.FormatBytes(s.TotalBytes)}");
        AnsiConsole.MarkupLine("[grey]memory per layer: its parameters plus its output for this input; activations: the sum over the leaf layers' outputs.[/]");
    }

    private static JsonObject ToJson(string description, ModelSummary s)
    {
        var layers = new JsonArray();
        foreach (var l in s.Layers)
        {
            layers.Add((JsonNode)new JsonObject
            {
                ["name"] = l.Name, ["type"] = l.Type, ["depth"] = l.Depth,
                ["output_shape"] = l.OutputShape is null ? null : new JsonArray(l.OutputShape.Select(d => (JsonNode?)d).ToArray()),
                ["params"] = l.Parameters, ["trainable_params"] = l.TrainableParameters, ["param_bytes"] = l.ParameterBytes, ["output_bytes"] = l.OutputBytes,
            });
        }
        return new JsonObject
        {
            ["model"] = description, ["input_shape"] = new JsonArray(s.InputShape.Select(d => (JsonNode?)d).ToArray()), ["layers"] = layers,
            ["params"] = s.TotalParameters, ["trainable_params"] = s.TrainableParameters, ["param_bytes"] = s.ParameterBytes,
            ["buffer_bytes"] = s.BufferBytes, ["activation_bytes"] = s.ActivationBytes, ["input_bytes"] = s.InputBytes, ["total_bytes"] = s.TotalBytes,
        };
    }
}
