using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpGrad.IO;
using SharpGrad.Onnx;
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
        var file = new Argument<string>("FILE") { Description = "A .safetensors, checkpoint, .npy, .npz, IDX (plain or .gz), .csv or .onnx file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var maxDecompressed = new Option<long?>("--max-decompressed")
        {
            Description = "For .gz and .npz files, the most bytes the data may decompress to (default: 2 MiB + 24 x the file's size).",
        };
        var allowNonFinite = new Option<bool>("--allow-non-finite") { Description = "For CSV files, accept nan, inf and values too large for a double." };
        var cmd = new Command("inspect", "List the tensors in a weights or data file: name, dtype, shape, min, mean, max.");
        cmd.Add(file);
        cmd.Add(json);
        cmd.Add(maxDecompressed);
        cmd.Add(allowNonFinite);
        cmd.SetAction(p => Run(p.GetValue(file)!, p.GetValue(json), p.GetValue(maxDecompressed), p.GetValue(allowNonFinite)));
        return cmd;
    }

    private static int Run(string path, bool json, long? maxDecompressed, bool allowNonFinite)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{path} is a directory; inspect takes one file (.safetensors, checkpoint, .npy, .npz, IDX or .csv).");
        if (maxDecompressed < 0) throw new ArgumentException($"--max-decompressed must be at least 0 (got {maxDecompressed}).");
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return RunOnnx(path, json);
        TensorFileSummary s;
        try { s = TensorFile.Inspect(path, maxDecompressed, allowNonFinite); }
        catch (UnauthorizedAccessException e) { throw new IOException($"{path}: {e.Message}", e); }
        string format = s.Format.ToString().ToLowerInvariant();
        if (json)
        {
            // Streamed tensor by tensor: a file of 100,000 tensors must not become one document in memory.
            using var stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("file", path);
                w.WriteString("format", format);
                w.WriteStartArray("tensors");
                foreach (var t in s.Tensors)
                {
                    var shape = new JsonArray();
                    foreach (long d in t.Shape) shape.Add((JsonNode)JsonValue.Create(d));
                    new JsonObject
                    {
                        ["name"] = t.Name, ["dtype"] = t.DType, ["shape"] = shape, ["count"] = t.Count,
                        ["min"] = Number(t.Min), ["mean"] = Number(t.Mean), ["max"] = Number(t.Max),
                    }.WriteTo(w);
                    if (w.BytesPending > 1 << 16) w.Flush();
                }
                w.WriteEndArray();
                var metadata = new JsonObject();
                foreach (var (k, v) in s.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) metadata[k] = v;
                w.WritePropertyName("metadata");
                metadata.WriteTo(w);
                w.WriteEndObject();
            }
            stdout.Write("\n"u8);
            return 0;
        }
        long elements = s.Tensors.Sum(t => t.Count);
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {format}, {s.Tensors.Count:N0} tensor{(s.Tensors.Count == 1 ? "" : "s")}, {elements:N0} elements" +
            (s.Format == TensorFileFormat.Checkpoint ? " (checksum verified)" : ""));
        foreach (var (k, v) in s.Metadata.Where(kv => kv.Key != "trainer.history").OrderBy(kv => kv.Key, StringComparer.Ordinal))
            AnsiConsole.MarkupLine($"  {Markup.Escape(k)} = {Markup.Escape(v.Length > 100 ? v[..100] + "..." : v)}");
        if (s.Tensors.Count > TableRows)
        {
            PlainRows(s.Tensors);
            return 0;
        }
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

    /// <summary>Above this many tensors the table is printed as plain aligned columns, line by line: a rendered table
    /// costs kilobytes and tens of microseconds per row, and its rows all live until it is drawn.</summary>
    private const int TableRows = 1000;

    private static void PlainRows(IReadOnlyList<TensorSummary> tensors)
    {
        static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
        int name = 4, dtype = 5, shape = 5;
        foreach (var t in tensors) { name = Math.Max(name, t.Name.Length); dtype = Math.Max(dtype, t.DType.Length); shape = Math.Max(shape, Shape(t.Shape).Length); }
        var o = Console.Out;
        o.WriteLine($"{"name".PadRight(name)}  {"dtype".PadRight(dtype)}  {"shape".PadRight(shape)}  {"min",12}  {"mean",12}  {"max",12}");
        foreach (var t in tensors)
            o.WriteLine($"{t.Name.PadRight(name)}  {t.DType.PadRight(dtype)}  {Shape(t.Shape).PadRight(shape)}  {Format(t.Min),12}  {Format(t.Mean),12}  {Format(t.Max),12}");
    }

    /// <summary>An ONNX model: inputs, outputs, opset, op histogram and parameters; nothing in the graph is run.</summary>
    private static int RunOnnx(string path, bool json)
    {
        OnnxModelInfo m;
        try { m = OnnxModelInfo.Read(path); }
        catch (UnauthorizedAccessException e) { throw new IOException($"{path}: {e.Message}", e); }
        long parameters = m.Initializers.Where(i => i.ElementType is "FLOAT" or "DOUBLE" or "FLOAT16" or "BFLOAT16").Sum(i => i.Count);
        if (json)
        {
            static JsonObject Value(OnnxValueInfo v)
            {
                JsonArray? shape = v.Shape is null ? null : [.. v.Shape.Select(d => long.TryParse(d, CultureInfo.InvariantCulture, out long n) ? JsonValue.Create(n) : (JsonNode)JsonValue.Create(d))];
                return new JsonObject { ["name"] = v.Name, ["dtype"] = v.ElementType, ["shape"] = shape };
            }
            var ops = new JsonObject();
            foreach (var (op, count) in m.OpHistogram) ops[op] = count;
            var inits = new JsonArray();
            foreach (var i in m.Initializers)
                inits.Add((JsonNode)new JsonObject { ["name"] = i.Name, ["dtype"] = i.ElementType, ["shape"] = new JsonArray([.. i.Shape.Select(d => (JsonNode)JsonValue.Create(d))]), ["count"] = i.Count });
            Json.Print(new JsonObject
            {
                ["file"] = path, ["format"] = "onnx", ["ir_version"] = m.IrVersion, ["opset"] = m.Opset, ["producer"] = m.Producer,
                ["inputs"] = new JsonArray([.. m.Inputs.Select(Value)]), ["outputs"] = new JsonArray([.. m.Outputs.Select(Value)]),
                ["ops"] = ops, ["parameters"] = parameters, ["initializers"] = inits,
            });
            return 0;
        }
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]: onnx, IR {m.IrVersion}, opset {m.Opset?.ToString(CultureInfo.InvariantCulture) ?? "none"}, {Markup.Escape(m.Producer)}, {parameters:N0} parameters");
        foreach (var v in m.Inputs) AnsiConsole.MarkupLine("  input  " + Markup.Escape($"{v.Name}: {v.ElementType} [{string.Join(", ", v.Shape ?? [])}]"));
        foreach (var v in m.Outputs) AnsiConsole.MarkupLine("  output " + Markup.Escape($"{v.Name}: {v.ElementType} [{string.Join(", ", v.Shape ?? [])}]"));
        AnsiConsole.MarkupLine("  ops: " + Markup.Escape(string.Join(", ", m.OpHistogram.Select(p => $"{p.Key} ×{p.Value}"))));
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn(new TableColumn("initializer").NoWrap());
        table.AddColumn(new TableColumn("dtype").NoWrap());
        table.AddColumn(new TableColumn("shape").NoWrap());
        table.AddColumn(new TableColumn("count").RightAligned());
        foreach (var i in m.Initializers)
            table.AddRow(Markup.Escape(i.Name), Markup.Escape(i.ElementType), Markup.Escape("[" + string.Join(", ", i.Shape) + "]"), i.Count.ToString("N0", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }

    private static JsonNode? Number(double? v) => v is double d ? Json.Number(d) : null;

    private static string Format(double? v) => v is double d ? d.ToString("G6", CultureInfo.InvariantCulture) : "-";
}
