using System.Diagnostics;
using SharpGrad.Cli.Commands;
using SharpGrad.Cli.Exercises;
using SharpGrad.Cli.Report;
using SharpGrad.Reports;

namespace SharpGrad.Tests.Report;

/// <summary>The report's numbers for the sheets, checked against values computed here independently.</summary>
public class ReportContentTests
{
    private static readonly Lazy<Task<SharpGrad.Reports.Report>> Quick = new(() => ReportBuilder.BuildAsync(null, quick: true, null, CancellationToken.None));

    private static async Task<List<Comparison>> Comparisons(string sectionId) =>
        (await Quick.Value).Sections.Single(s => s.Id == sectionId).Blocks.OfType<ComparisonBlock>().SelectMany(b => b.Rows).ToList();

    private static Comparison Row(List<Comparison> rows, string start) => rows.Single(r => r.Quantity.StartsWith(start, StringComparison.Ordinal));

    [Fact]
    public async Task Seed001Q7GivesTheOutputDimensionalityAsANumber()
    {
        // 256 → ⌊(256 − 8)/2⌋ + 1 = 125 → pool 5: 25 → ⌊(25 + 2 − 4)/1⌋ + 1 = 24; 24 · 24 · 128 channels.
        int side = ((256 - 8) / 2 + 1) / 5 + 2 * 1 - 4 + 1;
        long numel = (long)side * side * 128;
        Assert.Equal(73_728, numel);
        var row = Row(await Comparisons("seed001-q7q8"), "Q7.1 dimensionality");
        Assert.Equal(numel.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), row.SharpGradAnswer);
        Assert.True(row.Agrees);
    }

    [Fact]
    public async Task Seed001Q8Part2bIsComputed()
    {
        int side = (32 - 8) / 4 + 1;
        var row = Row(await Comparisons("seed001-q7q8"), "Q8 2(b)");
        Assert.Equal($"64×{side}×{side}", row.SharpGradAnswer);
        Assert.Equal("64×7×7", row.SheetAnswer);
        Assert.True(row.Agrees);
    }

    [Fact]
    public async Task Seed000Q13TheAbsoluteValueIsNotAMapIntoTheUnitInterval()
    {
        var rows = await Comparisons("softmax-identities");
        var abs = Row(rows, "Q1.3 the handwritten answer");
        Assert.False(abs.Agrees);
        Assert.Contains("|−5| = 5", abs.SharpGradAnswer);
        var alternatives = rows.Where(r => r.Quantity.StartsWith("Q1.3 alternative", StringComparison.Ordinal)).ToList();
        Assert.True(alternatives.Count >= 2);
        Assert.All(alternatives, r => Assert.True(r.Agrees));
        // (1 + tanh x)/2 at x = ±100 is 1 and 0 to double precision; the report's range says so.
        Assert.Contains($"range [0, 1]", Row(rows, "Q1.3 alternative (1 + tanh x) / 2").SharpGradAnswer);
    }

    [Fact]
    public async Task Seed000Q23WithoutHiddenBiasIsAnswered()
    {
        var row = Row(await Comparisons("seed000-q2q3"), "Q2.3 ReLU(Uᵀx) without the hidden bias");
        // By hand: h = max(Uᵀx, 0) with U = [[1, −1], [−1, 1]] is (0,0), (0,1), (1,0), (0,0); f = h₁ + h₂ − 0.5.
        Assert.Contains("[-0.5, 0.5, 0.5, -0.5]", row.SharpGradAnswer);
        Assert.True(row.Agrees);
    }

    [Fact]
    public void ADeadXorNetworkIsNotCountedAsPartlyCorrect()
    {
        // Both hidden units off on all four points (negative weights and biases): f ≡ b₂, here a rounding-sized 1e-17.
        double[] dead = [-1, -1, -1, -1, -0.5, -0.5, 1, 1, 1e-17];
        var e = Xor.Evaluate(dead);
        Assert.Equal(2, e.Correct); // the sheet's raw rule "f ≥ 0 is class 1" gives it two points by the sign of 1e-17
        var (correct, undecided, deadUnits) = ExerciseSections.XorVerdict(e);
        Assert.Equal((0, 4, 2), (correct, undecided, deadUnits));
        // A network with clear signs keeps its count: the sheet's hand-set solution.
        Assert.Equal((4, 0, 0), ExerciseSections.XorVerdict(Xor.Evaluate(Xor.SheetSolution)));
    }

    [Fact]
    public async Task TheXorTableShowsDeadRestartsAsUndecided()
    {
        var report = await Quick.Value;
        var section = report.Sections.Single(s => s.Id == "seed000-q2q3");
        var table = section.Blocks.OfType<TableBlock>().Single(t => t.Caption == "Restarts");
        var runs = Xor.Run(new XorOptions { Restarts = 6, HandSet = Xor.SheetSolution }).Runs;
        Assert.Equal(runs.Count, table.Rows.Count);
        for (int i = 0; i < runs.Count; i++)
        {
            var outputs = runs[i].Final.Outputs;
            int clear = Enumerable.Range(0, 4).Count(k => Math.Abs(outputs[k]) > 1e-9 && (outputs[k] > 0) == (Xor.Labels[k] > 0));
            Assert.StartsWith($"{clear}/4", table.Rows[i][2]);
        }
        Assert.Contains(runs, r => r.Final.Outputs.All(v => Math.Abs(v) <= 1e-9)); // the case this guards against occurs here
    }

    [Fact]
    public async Task TheHessianCheckSaysUpToRoundingAndAgreesWithTheClosedForm()
    {
        var rows = await Comparisons("seed003-q1");
        var smallest = Row(rows, "smallest eigenvalue");
        Assert.Contains("≥ 0 up to rounding", smallest.SharpGradAnswer);
        Assert.True(smallest.Agrees);
        Assert.True(Row(rows, "eigenvalues against the closed form").Agrees);
    }

    [Fact]
    public async Task TheSoftmaxChartCoversTheRangeWhereTheProbabilitiesChange()
    {
        var fig = (await Quick.Value).Sections.Single(s => s.Id == "softmax-identities").Blocks.OfType<Figure>().Single(f => f.Name == "softmax-scale");
        // softmax(c·[1, 2, 3])₃ = 1 / (1 + e^−c + e^−2c): 1/3 at c = 0, above 0.99 from c ≈ 4.6. The x axis must end
        // where the curve has flattened, not at 100 where the change is squeezed into the first pixels.
        var ticks = System.Text.RegularExpressions.Regex.Matches(fig.Svg, "class=\"tick x\"[^>]*>([^<]+)<").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.InRange(ticks.Max(), 4.6, 10);
    }

    [Fact]
    public async Task TheSubmissionAsksForNameIdAndChallenges()
    {
        var report = await Quick.Value;
        var submission = report.Sections.First();
        Assert.Equal("submission", submission.Id);
        var cells = submission.Blocks.OfType<TableBlock>().Single().Rows.Select(r => r[0]).ToList();
        Assert.Equal(["Name", "ID"], cells);
        Assert.Equal("challenges", report.Sections[^1].Id);
        var named = new SharpGrad.Reports.Report("t").Add(ReportBuilder.Submission("Ada Lovelace", "123456789"));
        Assert.Contains("Ada Lovelace", named.ToHtml());
        Assert.Contains("123456789", named.ToMarkdown());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryModelsReproduceCommandTrainsExactlyThatModel(bool quick)
    {
        var models = ClassifierSection.Models(quick);
        if (!quick) Assert.Contains(models, m => m.Model == "cnn");
        foreach (var c in models)
        {
            string line = ClassifierSection.TrainCommandLine(c, "out/x");
            string[] args = line[(line.IndexOf(" -- ", StringComparison.Ordinal) + 4)..].Split(' ');
            Assert.Equal("train", args[0]);
            var parsed = TrainCommand.ParseConfig(args[1..]);
            Assert.Equal(c.Fingerprint(), parsed.Fingerprint());
            Assert.Equal((c.Epochs, c.TrainLimit), (parsed.Epochs, parsed.TrainLimit));
        }
    }
}

public class CliColourTests
{
    [Fact]
    public async Task NoColourCodesWhenStdoutIsNotATerminal()
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "SharpGrad.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "xor", "--restarts", "2", "--epochs", "50" }) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "xterm-256color"; // a terminal type that supports colour, but stdout is a pipe
        psi.Environment.Remove("NO_COLOR");
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = await p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000));
        Assert.True(p.ExitCode == 0, await err);
        Assert.Contains("success", stdout);
        Assert.DoesNotContain('\u001b', stdout);
    }
}
