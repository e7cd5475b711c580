using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary><c>sharpgrad gradcheck</c>: runs the float64 finite-difference check of every op and prints a table.</summary>
internal static class GradCheckCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var filter = new Option<string?>("--op") { Description = "Only ops whose name contains this text." };
        var cmd = new Command("gradcheck", "Check every op's gradient against central finite differences in float64; exits 1 if any fails.");
        cmd.Add(json);
        cmd.Add(filter);
        cmd.SetAction(parse => Run(parse.GetValue(json), parse.GetValue(filter)));
        return cmd;
    }

    private static int Run(bool asJson, string? filter)
    {
        var cases = GradCheckSuite.Cases().Concat(SharpGrad.Theory.TheoryGradCheckSuite.Cases()).Where(c => filter is null || c.Op.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
        if (cases.Count == 0) throw new ArgumentException($"no op matches '{filter}'.");
        var results = cases.Select(c => (Case: c, Result: c.Run())).ToList();
        int failed = results.Count(r => !r.Result.Passed);

        if (asJson)
        {
            var arr = new JsonArray();
            foreach (var (c, r) in results)
                arr.Add((JsonNode)new JsonObject
                {
                    ["op"] = c.Op, ["shapes"] = c.Shapes, ["passed"] = r.Passed,
                    ["max_rel_error"] = Json.Number(r.MaxRelError), ["max_abs_error"] = Json.Number(r.MaxAbsError),
                    ["worst_input"] = r.WorstInput, ["worst_index"] = r.WorstIndex, ["message"] = r.Message,
                });
            Json.Print(new JsonObject { ["checks"] = results.Count, ["failed"] = failed, ["results"] = arr });
            return failed == 0 ? 0 : 1;
        }

        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Gradient check (float64, central differences, eps 1e-6)[/]");
        table.AddColumn("op");
        table.AddColumn("input shapes");
        table.AddColumn(new TableColumn("worst rel. error").RightAligned());
        table.AddColumn("worst element");
        table.AddColumn("result");
        foreach (var (c, r) in results)
            table.AddRow(
                Markup.Escape(c.Op), Markup.Escape(c.Shapes), r.MaxRelError.ToString("E2"),
                r.WorstInput < 0 ? "-" : Markup.Escape($"input {r.WorstInput}[{r.WorstIndex}]"),
                r.Passed ? "[green]pass[/]" : $"[red]FAIL[/] {Markup.Escape(r.Message ?? "")}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]All {results.Count} checks passed[/] across {results.Select(r => r.Case.Op).Distinct().Count()} ops."
            : $"[red]{failed} of {results.Count} checks failed.[/]");
        return failed == 0 ? 0 : 1;
    }
}
