using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// <c>sharpgrad demo</c>: the main job on embedded defaults. For now it shows the tensor engine at work on the seed
/// sheets' small computations; it grows as the exercises land.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var outDir = new Option<string>("--out") { Description = "Where to write the quick report.", DefaultValueFactory = _ => "sharpgrad-report" };
        var cmd = new Command("demo", "Run the quick exercises on embedded defaults and write the quick report.");
        cmd.Add(json);
        cmd.Add(outDir);
        cmd.SetAction(async (parse, ct) =>
        {
            int code = Run(parse.GetValue(json));
            if (code != 0) return code;
            string dir = parse.GetValue(outDir)!;
            if (!parse.GetValue(json)) AnsiConsole.MarkupLine("\n[bold]Writing the quick report[/] (every exercise; a short classifier run when Fashion-MNIST is installed)");
            var report = await SharpGrad.Cli.Report.ReportBuilder.BuildAsync(null, quick: true,
                parse.GetValue(json) ? null : new ConsoleStatus(), ct);
            report.Save(dir);
            if (!parse.GetValue(json)) AnsiConsole.MarkupLine($"[green]Report:[/] {Markup.Escape(Path.GetFullPath(Path.Combine(dir, "index.html")))} (and report.md)");
            return 0;
        });
        return cmd;
    }

    private static int Run(bool asJson)
    {
        // Seed 002 Q1: L = (w1 + w2) w3 at w = (1, 2.3, 5.7), its gradient, and one gradient-descent step with lr 0.01.
        var w = Tensor.FromArray(new[] { 1.0, 2.3, 5.7 });
        w.RequiresGrad = true;
        Tensor Loss(Tensor v) => (v.Narrow(0, 0, 1) + v.Narrow(0, 1, 1)) * v.Narrow(0, 2, 1);
        var loss = Loss(w).Sum();
        loss.Backward();
        double[] grad = w.Grad!.ToArray<double>();
        Tensor stepped;
        using (Autograd.NoGrad()) stepped = w - w.Grad * 0.01;
        double lossAfter = Loss(stepped).Item();

        // Seed 004 Q1: the sigmoid and its derivative at saturating inputs stay finite.
        var xs = Tensor.FromArray(new[] { -100.0, -10, 0, 10, 100 });
        xs.RequiresGrad = true;
        var s = xs.Sigmoid();
        s.Sum().Backward();

        // Seed 000 Q1 / 001 Q3: softmax is shift invariant and the two-class softmax is a sigmoid of the difference.
        var z = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        var sm = z.Softmax(0);
        double shiftGap = (sm - (z + 1000.0).Softmax(0)).Abs().Max().Item();

        var checks = GradCheckSuite.Cases().Concat(SharpGrad.Theory.TheoryGradCheckSuite.Cases()).ToList();
        int failed = checks.Count(c => !c.Run().Passed);

        if (asJson)
        {
            Json.Print(new JsonObject
            {
                ["seed002_q1"] = new JsonObject
                {
                    ["loss"] = loss.Item(), ["grad"] = new JsonArray(grad.Select(g => (JsonNode?)g).ToArray()),
                    ["after_step"] = new JsonArray(stepped.ToArray<double>().Select(g => (JsonNode?)g).ToArray()), ["loss_after"] = lossAfter,
                },
                ["sigmoid"] = new JsonArray(s.ToArray<double>().Select(v => (JsonNode?)v).ToArray()),
                ["sigmoid_derivative"] = new JsonArray(xs.Grad!.ToArray<double>().Select(v => (JsonNode?)v).ToArray()),
                ["softmax_shift_gap"] = shiftGap,
                ["gradcheck"] = new JsonObject { ["checks"] = checks.Count, ["failed"] = failed },
            });
            return failed == 0 ? 0 : 1;
        }

        AnsiConsole.MarkupLine("[bold]SharpGrad demo[/] — the engine on the seed sheets' small computations\n");
        AnsiConsole.MarkupLine("[underline]Seed 002 Q1[/]: L = (w1 + w2)·w3 at w = (1, 2.3, 5.7)");
        AnsiConsole.MarkupLine($"  L = {loss.Item():G6};  dL/dw = ({grad[0]:G6}, {grad[1]:G6}, {grad[2]:G6})");
        var st = stepped.ToArray<double>();
        AnsiConsole.MarkupLine($"  after one step with lr 0.01: w = ({st[0]:G6}, {st[1]:G6}, {st[2]:G6}), L = {lossAfter:G6} (down from {loss.Item():G6})\n");

        var table = new Table().Border(TableBorder.Rounded).Title("Seed 004 Q1: sigmoid at saturating inputs (float64)");
        table.AddColumn(new TableColumn("x").RightAligned());
        table.AddColumn(new TableColumn("S(x)").RightAligned());
        table.AddColumn(new TableColumn("S'(x) by autograd").RightAligned());
        var sv = s.ToArray<double>(); var dv = xs.Grad!.ToArray<double>(); var xv = xs.ToArray<double>();
        for (int i = 0; i < xv.Length; i++) table.AddRow(xv[i].ToString("G6"), sv[i].ToString("G6"), dv[i].ToString("G6"));
        AnsiConsole.Write(table);

        AnsiConsole.MarkupLine($"\n[underline]Seed 000 Q1[/]: softmax(z) vs softmax(z + 1000), max difference {shiftGap:G3}");
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]Gradient check: all {checks.Count} op checks pass in float64.[/]"
            : $"[red]Gradient check: {failed} of {checks.Count} op checks fail — run `sharpgrad gradcheck`.[/]");
        return failed == 0 ? 0 : 1;
    }
}
