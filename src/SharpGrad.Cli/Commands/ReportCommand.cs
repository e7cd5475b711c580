using System.CommandLine;
using SharpGrad.Cli.Report;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad report</c>: one self-contained report of every seed exercise, as HTML and Markdown.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Directory for index.html, report.md and figures/.", DefaultValueFactory = _ => "report" };
        var data = new Option<string?>("--data") { Description = "Directory with the Fashion-MNIST IDX files." };
        var quick = new Option<bool>("--quick") { Description = "Train the classifiers briefly on a subset (about a minute)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (paths and section titles) instead of text." };
        var name = new Option<string?>("--name") { Description = "Your name, for the report's front page (seed 000 asks for it)." };
        var id = new Option<string?>("--id") { Description = "Your student ID, for the report's front page." };
        var cmd = new Command("report", "Write the report of every seed exercise: index.html (self-contained) and report.md.");
        cmd.Add(outDir); cmd.Add(data); cmd.Add(quick); cmd.Add(json); cmd.Add(name); cmd.Add(id);
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(outDir)!, p.GetValue(data), p.GetValue(quick), p.GetValue(json), ct, p.GetValue(name), p.GetValue(id)));
        return cmd;
    }

    internal static async Task<int> RunAsync(string outDir, string? data, bool quick, bool json, CancellationToken ct, string? author = null, string? studentId = null)
    {
        // Both checked before the work (minutes of it without --quick): a report that cannot be saved, or one that
        // would silently leave out the classifiers the user asked to train on their data, is refused at once.
        if (data is not null && !SharpGrad.Data.FashionMnist.IsAvailable(data))
            throw new ArgumentException($"--data: '{data}' does not hold the four Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz).");
        TrainRunner.CheckWritable(outDir, "--out");
        IProgress<string>? status = json ? null : new ConsoleStatus();
        var report = await ReportBuilder.BuildAsync(data, quick, status, ct, author, studentId);
        report.Save(outDir);
        string index = Path.GetFullPath(Path.Combine(outDir, "index.html"));
        if (json)
        {
            var sections = new System.Text.Json.Nodes.JsonArray(report.Sections.Select(s => (System.Text.Json.Nodes.JsonNode?)s.Title).ToArray());
            int disagreements = report.Sections.SelectMany(s => s.Blocks).OfType<SharpGrad.Reports.ComparisonBlock>().SelectMany(b => b.Rows).Count(r => r.Agrees == false);
            Json.Print(new System.Text.Json.Nodes.JsonObject { ["html"] = index, ["markdown"] = Path.GetFullPath(Path.Combine(outDir, "report.md")), ["sections"] = sections, ["sheet_disagreements"] = disagreements });
        }
        else AnsiConsole.MarkupLine($"[green]Report written:[/] {Markup.Escape(index)} ({report.Sections.Count} sections) and report.md");
        return 0;
    }
}
