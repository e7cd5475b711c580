using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpGrad.Data;
using SharpGrad.NN;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>model.json</c>, written by <c>train --out</c> beside the weights: what <see cref="TrainRunner.BuildModel"/> needs
/// to rebuild the module the weights belong to (the architecture options only, not the optimizer or data), and the
/// shape of one input. <c>sharpgrad export</c> reads it back.
/// </summary>
internal static class ModelConfigFile
{
    public const string FileName = "model.json";

    /// <summary>One Fashion-MNIST image, as the trainer feeds every model.</summary>
    public static readonly int[] InputShape = [1, 28, 28];

    public static void Write(string dir, TrainConfig c)
    {
        var obj = new JsonObject
        {
            ["format"] = "sharpgrad.model/1",
            ["model"] = c.Model,
            ["hidden"] = new JsonArray([.. c.Hidden.Select(h => (JsonNode?)h)]),
            ["activation"] = c.Activation.ToString().ToLowerInvariant(),
            ["dropout"] = c.Dropout,
            ["batchnorm"] = c.BatchNorm,
            ["conv_padding"] = c.ConvPadding,
            ["conv_kernel"] = c.ConvKernel,
            ["conv_stages"] = c.ConvStages is null ? null : TrainConfig.StagesText(c.ConvStages),
            ["input_shape"] = new JsonArray([.. InputShape.Select(d => (JsonNode?)d)]),
        };
        AtomicFile.WriteText(Path.Combine(dir, FileName), obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads DIR/model.json back into the architecture part of a <see cref="TrainConfig"/>; every error names the file and the key.</summary>
    public static TrainConfig Read(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} does not exist: export needs the directory 'sharpgrad train --out DIR' wrote (its model.json says which model the weights belong to).", path);
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        T Get<T>(string key)
        {
            try
            {
                return obj[key] is { } node ? node.GetValue<T>() : throw new InvalidDataException($"{path}: the key '{key}' is missing.");
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}: '{key}' is not a {typeof(T).Name.ToLowerInvariant()} ({e.Message}).", e);
            }
        }
        string format = Get<string>("format");
        if (format != "sharpgrad.model/1") throw new InvalidDataException($"{path}: format '{format}' is not sharpgrad.model/1.");
        string model = Get<string>("model");
        if (!TrainRunner.ModelNames.Contains(model))
            throw new InvalidDataException($"{path}: unknown model '{model}' (expected {string.Join(", ", TrainRunner.ModelNames)}).");
        if (obj["hidden"] is not JsonArray hiddenArray) throw new InvalidDataException($"{path}: 'hidden' must be an array of layer sizes.");
        int[] hidden;
        try { hidden = [.. hiddenArray.Select(h => h!.GetValue<int>())]; }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new InvalidDataException($"{path}: 'hidden' must hold positive integers.", e);
        }
        if (hidden.Any(h => h <= 0)) throw new InvalidDataException($"{path}: 'hidden' must hold positive integers.");
        Activation activation;
        try { activation = TrainCommand.ParseActivation(Get<string>("activation")); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: 'activation': {e.Message}", e); }
        double dropout = Get<double>("dropout");
        if (!(dropout >= 0 && dropout < 1)) throw new InvalidDataException($"{path}: 'dropout' must be in [0, 1), got {dropout.ToString(CultureInfo.InvariantCulture)}.");
        string? stages = obj["conv_stages"] is null ? null : Get<string>("conv_stages");
        int[][]? convStages;
        try { convStages = stages is null ? null : TrainCommand.ParseStages(stages); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: 'conv_stages': {e.Message}", e); }
        return new TrainConfig
        {
            Model = model,
            Hidden = hidden,
            Activation = activation,
            Dropout = dropout,
            BatchNorm = Get<bool>("batchnorm"),
            ConvPadding = Get<int>("conv_padding"),
            ConvKernel = Get<int>("conv_kernel"),
            ConvStages = convStages,
        };
    }
}
