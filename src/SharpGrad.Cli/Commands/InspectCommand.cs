using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpGrad.IO;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad inspect FILE [--json]</c>: the tensors in any file SharpGrad reads (safetensors, checkpoint, .npy,
/// .npz, IDX, CSV) with dtype, shape and min/mean/max. Nothing in the file is executed; a malformed file ends with one
/// line naming the file, the offset or field, and what was expected, and exit code 1.
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "A .safetensors, checkpoint, .npy, .npz, IDX (plain or .gz) or .csv file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var cmd = new Command("inspect", "List the tensors in a weights or data file: name, dtype, shape, min, mean, max.");
        cmd.Add(file);
        cmd.Add(json);
        cmd.SetAction(p => Run(p.GetValue(file)!, p.GetValue(json)));
        return cmd;
    }

    private static int Run(string path, bool json)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{path} is a directory; inspect takes one file (.safetensors, checkpoint, .npy, .npz, IDX or .csv).");
        TensorFileSummary s;
        try { s = TensorFile.Inspect(path); }
        catch (UnauthorizedAccessException e) { throw new IOException($"{path}: {e.Message}", e); }
        string format = s.Format.ToString().ToLowerInvariant();
        if (json)
        {
            var tensors = new JsonArray();
            foreach (var t in s.Tensors)
            {
                var shape = new JsonArray();
                foreach (long d in t.Shape) shape.Add(d);
                tensors.Add(new JsonObject
                {
                    ["name"] = t.Name, ["dtype"] = t.DType, ["shape"] = shape, ["count"] = t.Count,
                    ["min"] = Number(t.Min), ["mean"] = Number(t.Mean), ["max"] = Number(t.Max),
                });
            }
            var metadata = new JsonObject();
            foreach (var (k, v) in s.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) metadata[k] = v;
            Json.Print(new JsonObject { ["file"] = path, ["format"] = format, ["tensors"] = tensors, ["metadata"] = metadata });
            return 0;
        }
        long elements = s.Tensors.Sum(t => t.Count);
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {format}, {s.Tensors.Count:N0} tensor{(s.Tensors.Count == 1 ? "" : "s")}, {elements:N0} elements" +
            (s.Format == TensorFileFormat.Checkpoint ? " (checksum verified)" : ""));
        foreach (var (k, v) in s.Metadata.Where(kv => kv.Key != "trainer.history").OrderBy(kv => kv.Key, StringComparer.Ordinal))
            AnsiConsole.MarkupLine($"  {Markup.Escape(k)} = {Markup.Escape(v.Length > 100 ? v[..100] + "..." : v)}");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(new TableColumn("name").NoWrap());
        table.AddColumn(new TableColumn("dtype").NoWrap());
        table.AddColumn(new TableColumn("shape").NoWrap());
        foreach (var c in new[] { "min", "mean", "max" }) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var t in s.Tensors)
            table.AddRow(Markup.Escape(t.Name), Markup.Escape(t.DType), Markup.Escape("[" + string.Join(", ", t.Shape) + "]"), Format(t.Min), Format(t.Mean), Format(t.Max));
        AnsiConsole.Write(table);
        return 0;
    }

    private static JsonNode? Number(double? v) => v is double d ? Json.Number(d) : null;

    private static string Format(double? v) => v is double d ? d.ToString("G6", CultureInfo.InvariantCulture) : "-";
}
