using System.CommandLine;
using System.Text.Json.Nodes;
using SharpGrad.Cli.Exercises;
using SharpGrad.Theory;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad conv shape</c> (seed 001 Q7): output shape and parameters of a conv/pool stack; <c>sharpgrad conv solve</c>
/// (seed 001 Q8): every (kernel, stride, padding, dilation) giving a wanted output shape.
/// </summary>
internal static class ConvCommand
{
    /// <summary>Solutions listed (table or JSON) when <c>--limit</c> is not given; the count is always the total.</summary>
    internal const int DefaultLimit = 50;

    public static Command Create()
    {
        var cmd = new Command("conv", "Convolution arithmetic: output shapes and parameter counts, and the configuration solver.");
        cmd.Add(CreateShape());
        cmd.Add(CreateSolve());
        return cmd;
    }

    private static Command CreateShape()
    {
        var input = new Option<string>("--input") { Description = "Input shape CxHxW, e.g. 3x256x256 (channels first).", DefaultValueFactory = _ => "3x256x256" };
        var layers = new Option<string[]>("--layer")
        {
            Description = "A layer, repeatable, in order: conv:OUT:kK[:sS][:pP][:dD][:nobias], maxpool:kK[:sS][:pP][:dD][:ceil], avgpool:kK[:sS][:pP][:ceil]. " +
                          "Without --layer: seed 001 Q7's conv:64:k8:s2 maxpool:k5 conv:128:k4:s1:p1.",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var cmd = new Command("shape", "Output shape and parameter count of every layer of a conv/pool stack (seed 001 Q7).");
        cmd.Add(input); cmd.Add(layers); cmd.Add(json);
        cmd.SetAction(p =>
        {
            var specs = p.GetValue(layers) is { Length: > 0 } given ? given : ConvShapes.Q7Layers.ToArray();
            var report = ConvShapes.Shape(ConvShapes.ParseShape(p.GetValue(input), "--input"), specs);
            if (p.GetValue(json)) Json.Print(ToJson(report));
            else PrintShape(report);
            return 0;
        });
        return cmd;
    }

    private static Command CreateSolve()
    {
        var input = new Option<string>("--input") { Description = "Input shape CxHxW, e.g. 3x64x64.", Required = true };
        var output = new Option<string>("--output") { Description = "Wanted output shape CxHxW, e.g. 64x32x32.", Required = true };
        var kernel = new Option<int?>("--kernel") { Description = "Fix the kernel size k." };
        var stride = new Option<int?>("--stride") { Description = "Fix the stride s." };
        var padding = new Option<int?>("--padding") { Description = "Fix the padding p." };
        var dilation = new Option<int?>("--dilation") { Description = "Fix the dilation d (1 = none)." };
        var pool = new Option<bool>("--pool") { Description = "Solve for max pooling (channels unchanged, p <= k/2)." };
        var ceil = new Option<bool>("--ceil") { Description = "Pooling with ceil_mode (requires --pool)." };
        var nonOverlapping = new Option<bool>("--non-overlapping") { Description = "Only windows that tile the input: s = d(k - 1) + 1." };
        var limit = new Option<int?>("--limit") { Description = $"List at most N solutions (default {DefaultLimit}; 0 lists none). The count is always the total, counted without listing." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var cmd = new Command("solve", "Every (kernel, stride, padding, dilation) mapping an input shape to an output shape (seed 001 Q8).");
        foreach (var o in new Option[] { input, output, kernel, stride, padding, dilation, pool, ceil, nonOverlapping, limit, json }) cmd.Add(o);
        cmd.SetAction(p =>
        {
            var constraints = new ConvConstraints
            {
                Kernel = AtLeast(p.GetValue(kernel), 1, "--kernel"), Stride = AtLeast(p.GetValue(stride), 1, "--stride"),
                Padding = AtLeast(p.GetValue(padding), 0, "--padding"), Dilation = AtLeast(p.GetValue(dilation), 1, "--dilation"),
                Pool = p.GetValue(pool), CeilMode = p.GetValue(ceil), NonOverlapping = p.GetValue(nonOverlapping),
            };
            if (constraints.CeilMode && !constraints.Pool) throw new ArgumentException("--ceil applies to pooling only; add --pool.");
            int max = AtLeast(p.GetValue(limit), 0, "--limit") ?? DefaultLimit;
            var report = ConvShapes.Solve(ConvShapes.ParseShape(p.GetValue(input), "--input"), ConvShapes.ParseShape(p.GetValue(output), "--output"), constraints, max);
            if (p.GetValue(json)) Json.Print(ToJson(report));
            else PrintSolve(report);
            return 0;
        });
        return cmd;
    }

    private static int? AtLeast(int? value, int min, string option) =>
        value is int v && v < min ? throw new ArgumentException($"{option} must be at least {min}; got {v}.") : value;

    private static JsonArray Dims(FeatureShape s) => new(JsonValue.Create(s.Channels), JsonValue.Create(s.Height), JsonValue.Create(s.Width));

    internal static JsonObject ToJson(ShapeReport r)
    {
        var layers = new JsonArray();
        foreach (var step in r.Steps)
        {
            var t = step.Trace;
            layers.Add((JsonNode)new JsonObject
            {
                ["spec"] = step.Spec, ["canonical"] = step.Canonical, ["kind"] = t.Layer.Kind.ToString().ToLowerInvariant(),
                ["input"] = Dims(t.Input), ["output"] = Dims(t.Output), ["output_numel"] = t.Output.Numel,
                ["params"] = t.Parameters, ["weights"] = t.Weights, ["biases"] = t.Biases,
            });
        }
        return new JsonObject
        {
            ["input"] = Dims(r.Input), ["layers"] = layers, ["output"] = Dims(r.Trace.Output), ["output_numel"] = r.Trace.Output.Numel,
            ["weights"] = r.Trace.TotalWeights, ["biases"] = r.Trace.TotalBiases, ["params"] = r.Trace.TotalParameters, // the whole stack's
        };
    }

    internal static JsonObject ToJson(SolveReport r)
    {
        var solutions = new JsonArray();
        foreach (var c in r.Solutions)
        {
            solutions.Add((JsonNode)new JsonObject { ["kernel"] = c.Kernel, ["stride"] = c.Stride, ["padding"] = c.Padding, ["dilation"] = c.Dilation });
        }
        var c0 = r.Constraints;
        return new JsonObject
        {
            ["input"] = Dims(r.Input), ["output"] = Dims(r.Output),
            ["constraints"] = new JsonObject
            {
                ["kernel"] = c0.Kernel, ["stride"] = c0.Stride, ["padding"] = c0.Padding, ["dilation"] = c0.Dilation,
                ["pool"] = c0.Pool, ["ceil"] = c0.CeilMode, ["non_overlapping"] = c0.NonOverlapping,
            },
            ["solutions"] = solutions, ["count"] = r.Count, ["shown"] = r.Solutions.Count, ["truncated"] = r.Truncated,
        };
    }

    private static void PrintShape(ShapeReport r)
    {
        // Narrow enough for an 80-column terminal: each layer's input is the previous row's output (the first is in the title).
        var table = new Table().Border(TableBorder.Rounded).Title($"input {r.Input} (C, H, W) = {r.Input.ToHwcString()} (H x W x C)");
        table.AddColumn("layer");
        foreach (var c in new[] { "output", "values", "parameters" }) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var s in r.Steps)
        {
            var t = s.Trace;
            table.AddRow(Markup.Escape(s.Spec), t.Output.ToString(), t.Output.Numel.ToString("N0"), Markup.Escape(t.Parameters == 0 ? "0" : $"{t.Parameters:N0} = {s.Formula}"));
        }
        AnsiConsole.Write(table);
        var tr = r.Trace;
        AnsiConsole.MarkupLine($"output {tr.Output} = {tr.Output.ToHwcString()} (H x W x C), [bold]{tr.Output.Numel:N0}[/] values; " +
            $"parameters [bold]{tr.TotalParameters:N0}[/] ({tr.TotalWeights:N0} weights + {tr.TotalBiases:N0} biases)");
        AnsiConsole.MarkupLine("[grey]o = floor((n + 2p - d(k - 1) - 1) / s) + 1 per axis; a conv has out·in·kh·kw weights and out biases; pooling has none.[/]");
    }

    private static void PrintSolve(SolveReport r)
    {
        var c = r.Constraints;
        var fixedParts = new List<string>();
        if (c.Kernel is int k) fixedParts.Add($"k = {k}");
        if (c.Stride is int s) fixedParts.Add($"s = {s}");
        if (c.Padding is int p) fixedParts.Add($"p = {p}");
        if (c.Dilation is int d) fixedParts.Add($"d = {d}");
        if (c.NonOverlapping) fixedParts.Add("non-overlapping");
        string kind = c.Pool ? (c.CeilMode ? "max pooling (ceil mode)" : "max pooling") : "convolution";
        AnsiConsole.MarkupLine($"{kind} {r.Input} -> {r.Output}{(fixedParts.Count > 0 ? ", " + string.Join(", ", fixedParts) : "")}: " +
            $"[bold]{r.Count:N0}[/] configuration{(r.Count == 1 ? "" : "s")}");
        if (r.Count == 0)
        {
            AnsiConsole.MarkupLine("[yellow]none within the bounds (k, s, d up to the larger input side; p up to d(k - 1), or k/2 for pooling).[/]");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var col in new[] { "k", "s", "p", "d", "effective k" }) table.AddColumn(new TableColumn(col).RightAligned());
        if (r.Solutions.Count == 0)
        {
            AnsiConsole.MarkupLine("[grey]none listed (--limit 0).[/]");
            return;
        }
        foreach (var x in r.Solutions)
            table.AddRow(x.Kernel.ToString(), x.Stride.ToString(), x.Padding.ToString(), x.Dilation.ToString(), x.EffectiveKernel.ToString());
        AnsiConsole.Write(table);
        if (r.Truncated)
            AnsiConsole.MarkupLine($"[grey]showing the first {r.Solutions.Count:N0} of {r.Count:N0}; use --limit N, or fix more of k, s, p, d.[/]");
    }
}
