using System.Text.Json;
using SharpGrad.Cli.Exercises;
using static SharpGrad.Tests.Exercises.CliRunner;

namespace SharpGrad.Tests.Exercises;

/// <summary>
/// Seed 002 Q6.3: the perceptron rule learns AND and OR and never XOR. Checked against a separate textbook binary
/// perceptron written here, and against the least-squares and separability arguments worked by hand.
/// </summary>
[Collection(CliConsoleCollection.Name)]
public class PerceptronExerciseTests
{
    private static readonly int[][] X = [[0, 0], [0, 1], [1, 0], [1, 1]];

    /// <summary>
    /// The textbook rule: labels t = ±1, update w += t x, b += t whenever t (w·x + b) ≤ 0. From zero weights the rule is
    /// scale-free (every weight is a sum of ±η x), so its mistakes match the two-class form whatever the step.
    /// </summary>
    private static (List<int> Mistakes, double[] W, double B) TextbookPerceptron(int[] labels, int epochs)
    {
        double[] w = [0, 0];
        double b = 0;
        var mistakes = new List<int>();
        for (int e = 0; e < epochs; e++)
        {
            int m = 0;
            for (int i = 0; i < 4; i++)
            {
                int t = 2 * labels[i] - 1;
                if (t * (w[0] * X[i][0] + w[1] * X[i][1] + b) <= 0) { w[0] += t * X[i][0]; w[1] += t * X[i][1]; b += t; m++; }
            }
            mistakes.Add(m);
        }
        return (mistakes, w, b);
    }

    [Theory]
    [InlineData(Gate.And, new[] { 0, 0, 0, 1 })]
    [InlineData(Gate.Or, new[] { 0, 1, 1, 1 })]
    [InlineData(Gate.Xor, new[] { 0, 1, 1, 0 })]
    public void MatchesTheTextbookRule(Gate gate, int[] labels)
    {
        Assert.Equal(labels, Perceptrons.TruthTable(gate));
        var run = Perceptrons.Train(gate, epochs: 30);
        var (mistakes, w, b) = TextbookPerceptron(labels, 30);
        Assert.Equal(mistakes, run.MistakesPerEpoch);
        // The two-class rule moves both class rows, so its difference is the textbook weights times 2.
        Assert.Equal((2 * w[0], 2 * w[1], 2 * b), (run.Final.W1, run.Final.W2, run.Final.Bias));
    }

    [Theory]
    [InlineData(Gate.And)]
    [InlineData(Gate.Or)]
    public void AndAndOrConvergeInAFewEpochs(Gate gate)
    {
        var run = Perceptrons.Train(gate, epochs: 20);
        Assert.True(run.Converged);
        Assert.InRange(run.ConvergedEpoch!.Value, 2, 10); // from zero weights in truth-table order: AND at 9, OR at 6
        Assert.All(run.MistakesPerEpoch.Skip(run.ConvergedEpoch.Value - 1), m => Assert.Equal(0, m));
        Assert.Equal(run.Labels, run.Final.Predictions);
        Assert.Equal(1.0, run.Accuracy);
        Assert.Null(run.Cycle);
        Assert.True(run.LinearlySeparable);
        Assert.Equal(4, run.Grid.BestCorrect);
        Assert.Equal(run.Labels, run.Grid.Separator!.Predictions);
        Assert.Equal(4, run.Sheet!.Correct); // the sheet's w = (1, 1), b = -1.5 / -0.5 are right
    }

    [Fact]
    public void LeastSquaresGivesTheSheetsRulesAndNothingForXor()
    {
        // Worked by hand from the normal equations (symmetry gives w1 = w2 = w):
        // AND, t = (-1, -1, -1, 1): 4b + 4w + 2 = 0 and 4b + 6w = 0, so w = 1, b = -1.5.
        // OR,  t = (-1, 1, 1, 1):   4b + 4w - 2 = 0 and 4b + 6w - 4 = 0, so w = 1, b = -0.5.
        // XOR, t = (-1, 1, 1, -1):  4b + 4w = 0 and 4b + 6w = 0, so w = 0, b = 0: the zero function.
        var and = Perceptrons.LeastSquares(Perceptrons.TruthTable(Gate.And));
        var or = Perceptrons.LeastSquares(Perceptrons.TruthTable(Gate.Or));
        var xor = Perceptrons.LeastSquares(Perceptrons.TruthTable(Gate.Xor));
        Assert.Equal((1, 1, -1.5), (and.W1, and.W2, and.Bias), new TupleClose());
        Assert.Equal((1, 1, -0.5), (or.W1, or.W2, or.Bias), new TupleClose());
        Assert.Equal((0, 0, 0), (xor.W1, xor.W2, xor.Bias), new TupleClose());
        Assert.Equal(4, and.Correct);
        Assert.Equal(4, or.Correct);
        Assert.Equal(2, xor.Correct); // everything on the boundary: class 0 for all four rows
    }

    [Fact]
    public void XorNeverConvergesAndCycles()
    {
        var run = Perceptrons.Train(Gate.Xor, epochs: 100);
        Assert.False(run.Converged);
        Assert.All(run.MistakesPerEpoch, m => Assert.True(m > 0));
        Assert.True(run.Accuracy < 1);
        Assert.NotNull(run.Cycle);
        Assert.True(run.Cycle!.Period >= 1);
        // The weights really repeat: the state at the end of both epochs is the same, and so is every later epoch.
        var h = run.History;
        var at = (int epoch) => epoch == 0 ? (0.0, 0.0, 0.0) : (h[epoch - 1].W1, h[epoch - 1].W2, h[epoch - 1].Bias);
        Assert.Equal(at(run.Cycle.FirstEpoch), at(run.Cycle.RepeatEpoch));
        for (int e = run.Cycle.RepeatEpoch + 1; e <= 100; e++) Assert.Equal(at(e - run.Cycle.Period), at(e));
        Assert.False(run.LinearlySeparable);
        Assert.Equal(3, run.Grid.BestCorrect);
        Assert.Equal(41L * 41 * 41, run.Grid.Candidates);
        Assert.Null(run.Sheet);
    }

    [Fact]
    public void NoRandomLineSeparatesXor()
    {
        // Independent of the grid: a million random rules, none right on all four rows, some on three.
        var g = new Generator(11);
        int best = 0;
        for (int n = 0; n < 1_000_000; n++)
        {
            double w1 = 10 * g.NextNormal(), w2 = 10 * g.NextNormal(), b = 10 * g.NextNormal();
            int correct = 0;
            for (int i = 0; i < 4; i++) if ((w1 * X[i][0] + w2 * X[i][1] + b > 0 ? 1 : 0) == (X[i][0] ^ X[i][1])) correct++;
            best = Math.Max(best, correct);
        }
        Assert.Equal(3, best);
    }

    [Fact]
    public void CommandJson()
    {
        // One shape for every --gate: {"gates": [...]} (a single gate used to give a bare object).
        var xor = Assert.Single(Json("construct", "perceptron", "--gate", "xor", "--epochs", "30").GetProperty("gates").EnumerateArray());
        Assert.Equal("xor", xor.GetProperty("gate").GetString());
        Assert.False(xor.GetProperty("converged").GetBoolean());
        Assert.Equal(JsonValueKind.Null, xor.GetProperty("converged_epoch").ValueKind);
        var mistakes = Ints(xor.GetProperty("mistakes"));
        Assert.Equal(30, mistakes.Length);
        Assert.All(mistakes, m => Assert.True(m > 0));
        Assert.False(xor.GetProperty("linearly_separable").GetBoolean());
        Assert.Equal(3, xor.GetProperty("grid").GetProperty("best_correct").GetInt32());
        Assert.Contains("contradicting", xor.GetProperty("proof").GetString());

        var and = Assert.Single(Json("construct", "perceptron", "--gate", "AND").GetProperty("gates").EnumerateArray());
        Assert.True(and.GetProperty("converged").GetBoolean());
        Assert.Equal(Ints(and.GetProperty("labels")), Ints(and.GetProperty("predictions")));

        var all = Json("construct", "perceptron");
        Assert.Equal(["and", "or", "xor"], all.GetProperty("gates").EnumerateArray().Select(e => e.GetProperty("gate").GetString()));
        var (code, stdout, _) = Run("construct", "perceptron", "--gate", "xor", "--epochs", "8");
        Assert.Equal(0, code);
        Assert.Contains("never converges", stdout);
    }

    [Fact]
    public void UserErrors()
    {
        FailsWith("nand", "construct", "perceptron", "--gate", "nand");
        FailsWith("--epochs", "construct", "perceptron", "--epochs", "0");
        FailsWith("--lr", "construct", "perceptron", "--lr", "0");
        Assert.Throws<ArgumentException>(() => Perceptrons.Train(Gate.And, epochs: 0));
    }

    private sealed class TupleClose : IEqualityComparer<(double, double, double)>
    {
        public bool Equals((double, double, double) a, (double, double, double) b) =>
            Math.Abs(a.Item1 - b.Item1) < 1e-12 && Math.Abs(a.Item2 - b.Item2) < 1e-12 && Math.Abs(a.Item3 - b.Item3) < 1e-12;

        public int GetHashCode((double, double, double) obj) => 0;
    }
}
