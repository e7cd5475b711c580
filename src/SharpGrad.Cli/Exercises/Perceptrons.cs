using SharpGrad.Theory;
using SharpGrad.Training;

namespace SharpGrad.Cli.Exercises;

/// <summary>A two-input Boolean gate.</summary>
public enum Gate
{
    /// <summary>x1 ∧ x2.</summary>
    And,

    /// <summary>x1 ∨ x2.</summary>
    Or,

    /// <summary>x1 ⊕ x2: not linearly separable.</summary>
    Xor,
}

/// <summary>The state after one epoch of the perceptron rule, as the binary rule's w = (w1, w2) and b.</summary>
/// <param name="Epoch">Epoch number, from 1.</param>
/// <param name="Mistakes">Updates made during the epoch (examples misclassified when visited).</param>
/// <param name="W1">Weight of x1 after the epoch.</param>
/// <param name="W2">Weight of x2 after the epoch.</param>
/// <param name="Bias">Bias after the epoch.</param>
public sealed record PerceptronEpoch(int Epoch, int Mistakes, double W1, double W2, double Bias);

/// <summary>A linear rule ŷ = [w1 x1 + w2 x2 + b &gt; 0] and how many of the four rows it gets right.</summary>
/// <param name="W1">Weight of x1.</param>
/// <param name="W2">Weight of x2.</param>
/// <param name="Bias">Bias b.</param>
/// <param name="Predictions">The rule's output on (0,0), (0,1), (1,0), (1,1).</param>
/// <param name="Correct">Rows classified correctly, 0 to 4.</param>
public sealed record LinearRule(double W1, double W2, double Bias, int[] Predictions, int Correct);

/// <summary>
/// Every rule on a grid w1, w2, b ∈ {−Range, −Range + Step, …, Range}: the most rows any of them gets right, and the first
/// rule that gets all four (null when none does).
/// </summary>
/// <param name="Range">Half-width of the grid.</param>
/// <param name="Step">Grid step.</param>
/// <param name="Candidates">Rules tried.</param>
/// <param name="BestCorrect">The most rows any rule classifies correctly.</param>
/// <param name="Separator">A rule classifying all four rows, or null.</param>
public sealed record GridSearch(double Range, double Step, long Candidates, int BestCorrect, LinearRule? Separator);

/// <summary>
/// The exact cycle of a run that never converges: the weights at the end of <see cref="RepeatEpoch"/> equal those at the
/// end of <see cref="FirstEpoch"/> (0 = the initial zeros), so every later epoch repeats the same mistakes forever.
/// </summary>
/// <param name="FirstEpoch">The earlier epoch (0 for the start).</param>
/// <param name="RepeatEpoch">The epoch whose end state equals it.</param>
public sealed record PerceptronCycle(int FirstEpoch, int RepeatEpoch)
{
    /// <summary>Length of the cycle in epochs.</summary>
    public int Period => RepeatEpoch - FirstEpoch;
}

/// <summary>The perceptron rule on one gate, with the evidence for (or against) linear separability.</summary>
/// <param name="Gate">The gate.</param>
/// <param name="Labels">The truth table on (0,0), (0,1), (1,0), (1,1).</param>
/// <param name="LearningRate">The rule's step η.</param>
/// <param name="History">One entry per epoch, the whole budget (after convergence the mistakes stay 0).</param>
/// <param name="Final">The learned rule on the four rows.</param>
/// <param name="Cycle">For a run that never converges, the proof that it never will; null otherwise (or if not found within the budget).</param>
/// <param name="Grid">The exhaustive check over a grid of rules.</param>
/// <param name="LeastSquares">The least-squares linear fit to labels ±1, thresholded at 0.</param>
/// <param name="Sheet">The sheet's hand-set rule (AND: w = (1, 1), b = −1.5; OR: b = −0.5), or null for XOR.</param>
public sealed record PerceptronRun(Gate Gate, int[] Labels, double LearningRate, IReadOnlyList<PerceptronEpoch> History,
    LinearRule Final, PerceptronCycle? Cycle, GridSearch Grid, LinearRule LeastSquares, LinearRule? Sheet)
{
    /// <summary>Mistakes per epoch, for plotting.</summary>
    public int[] MistakesPerEpoch => History.Select(h => h.Mistakes).ToArray();

    /// <summary>The first epoch without a mistake (the rule stops changing there), or null.</summary>
    public int? ConvergedEpoch => History.FirstOrDefault(h => h.Mistakes == 0)?.Epoch;

    /// <summary>True when an epoch passed without a mistake.</summary>
    public bool Converged => ConvergedEpoch is not null;

    /// <summary>Fraction of the four rows the learned rule gets right.</summary>
    public double Accuracy => Final.Correct / 4.0;

    /// <summary>Whether some line separates the classes (a separator was found on the grid).</summary>
    public bool LinearlySeparable => Grid.Separator is not null;
}

/// <summary>
/// Seed 002 Q6.3: Rosenblatt's perceptron rule (<see cref="Perceptron"/>, two classes) on the AND, OR and XOR truth
/// tables. AND and OR are linearly separable and the rule converges in a few epochs; XOR is not, and the rule cycles.
/// </summary>
public static class Perceptrons
{
    /// <summary>The four inputs in truth-table order: (0,0), (0,1), (1,0), (1,1).</summary>
    public static readonly IReadOnlyList<(int X1, int X2)> Inputs = [(0, 0), (0, 1), (1, 0), (1, 1)];

    /// <summary>
    /// Why no line separates XOR: a rule with [w1 x1 + w2 x2 + b &gt; 0] = XOR needs b ≤ 0, w2 + b &gt; 0, w1 + b &gt; 0 and
    /// w1 + w2 + b ≤ 0. The middle two give w1 + w2 + 2b &gt; 0, so w1 + w2 + b &gt; −b ≥ 0, against the last.
    /// </summary>
    public const string XorProof =
        "A linear rule [w1 x1 + w2 x2 + b > 0] computing XOR needs (0,0): b <= 0, (0,1): w2 + b > 0, (1,0): w1 + b > 0, " +
        "(1,1): w1 + w2 + b <= 0. Adding the middle two gives w1 + w2 + 2b > 0, so w1 + w2 + b > -b >= 0, contradicting the last. " +
        "No line separates XOR, so the perceptron rule (which converges exactly on separable data, Novikoff 1962) never stops making mistakes.";

    /// <summary>The gate's output on the four inputs.</summary>
    /// <param name="gate">The gate.</param>
    /// <returns>0 or 1 per row, in truth-table order.</returns>
    public static int[] TruthTable(Gate gate) => Inputs.Select(p => gate switch
    {
        Gate.And => p.X1 & p.X2,
        Gate.Or => p.X1 | p.X2,
        Gate.Xor => p.X1 ^ p.X2,
        _ => throw new ArgumentOutOfRangeException(nameof(gate), gate, "Unknown gate."),
    }).ToArray();

    /// <summary>Reads <c>and</c>, <c>or</c> or <c>xor</c> (any case).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The gate.</returns>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static Gate ParseGate(string name) => name.Trim().ToLowerInvariant() switch
    {
        "and" => Gate.And,
        "or" => Gate.Or,
        "xor" => Gate.Xor,
        _ => throw new ArgumentException($"--gate: unknown gate '{name}' (expected and, or, xor or all)."),
    };

    /// <summary>
    /// Trains a fresh two-class perceptron (weights at zero) by the perceptron rule for <paramref name="epochs"/> epochs,
    /// visiting the rows in truth-table order, and gathers the separability evidence.
    /// </summary>
    /// <param name="gate">The gate.</param>
    /// <param name="epochs">The epoch budget, at least 1.</param>
    /// <param name="learningRate">The step η, positive (with η = 1 every weight is an integer, so cycles are detected exactly).</param>
    /// <returns>The run.</returns>
    public static PerceptronRun Train(Gate gate, int epochs = 20, double learningRate = 1.0)
    {
        if (epochs < 1) throw new ArgumentException($"--epochs must be at least 1; got {epochs}.");
        if (!(learningRate > 0) || !double.IsFinite(learningRate)) throw new ArgumentException($"--lr must be positive and finite; got {learningRate}.");
        int[] labels = TruthTable(gate);
        var inputs = Tensor.FromArray(Inputs.SelectMany(p => new double[] { p.X1, p.X2 }).ToArray(), 4, 2);
        var targets = Tensor.FromArray(labels.Select(l => (long)l).ToArray());
        var model = new Perceptron(features: 2, classes: 2);
        var states = new List<double[]> { State(model) };
        var history = new List<PerceptronEpoch>(epochs);
        PerceptronCycle? cycle = null;
        for (int e = 1; e <= epochs; e++)
        {
            int mistakes = model.Epoch(inputs, targets, learningRate: learningRate);
            var (w1, w2, b) = Binary(model);
            history.Add(new PerceptronEpoch(e, mistakes, w1, w2, b));
            double[] state = State(model);
            if (cycle is null && mistakes > 0)
            {
                int earlier = states.FindIndex(s => s.AsSpan().SequenceEqual(state));
                if (earlier >= 0) cycle = new PerceptronCycle(earlier, e);
            }
            states.Add(state);
        }
        var (fw1, fw2, fb) = Binary(model);
        LinearRule? sheet = gate switch { Gate.And => Rule(1, 1, -1.5, labels), Gate.Or => Rule(1, 1, -0.5, labels), _ => null };
        return new PerceptronRun(gate, labels, learningRate, history, Rule(fw1, fw2, fb, labels), cycle, Grid(labels), LeastSquares(labels), sheet);
    }

    /// <summary>AND, OR and XOR in turn; see <see cref="Train"/>.</summary>
    /// <param name="epochs">The epoch budget.</param>
    /// <param name="learningRate">The step η.</param>
    /// <returns>Three runs.</returns>
    public static IReadOnlyList<PerceptronRun> TrainAll(int epochs = 20, double learningRate = 1.0) =>
        [Train(Gate.And, epochs, learningRate), Train(Gate.Or, epochs, learningRate), Train(Gate.Xor, epochs, learningRate)];

    /// <summary>The rule [w1 x1 + w2 x2 + b &gt; 0] scored on the four rows.</summary>
    /// <param name="w1">Weight of x1.</param>
    /// <param name="w2">Weight of x2.</param>
    /// <param name="b">Bias.</param>
    /// <param name="labels">The truth table.</param>
    /// <returns>The rule with its predictions.</returns>
    public static LinearRule Rule(double w1, double w2, double b, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var predictions = Inputs.Select(p => w1 * p.X1 + w2 * p.X2 + b > 0 ? 1 : 0).ToArray();
        return new LinearRule(w1, w2, b, predictions, predictions.Zip(labels, (p, l) => p == l ? 1 : 0).Sum());
    }

    /// <summary>
    /// Tries every rule with w1, w2, b on the grid i·<paramref name="step"/>, |i·step| ≤ <paramref name="range"/> (41³ rules by default).
    /// A grid can only show separability, not its absence; for XOR it agrees with <see cref="XorProof"/>: 3 of 4 at best.
    /// </summary>
    /// <param name="labels">The truth table.</param>
    /// <param name="range">Half-width of the grid.</param>
    /// <param name="step">Grid step.</param>
    /// <returns>The best score and a separator if one exists on the grid.</returns>
    public static GridSearch Grid(int[] labels, double range = 2, double step = 0.1)
    {
        ArgumentNullException.ThrowIfNull(labels);
        int n = (int)Math.Round(range / step);
        int best = -1;
        LinearRule? separator = null;
        long tried = 0;
        for (int i = -n; i <= n; i++)
            for (int j = -n; j <= n; j++)
                for (int k = -n; k <= n; k++)
                {
                    tried++;
                    double w1 = i * step, w2 = j * step, b = k * step;
                    int correct = 0;
                    for (int r = 0; r < 4; r++)
                        if ((w1 * Inputs[r].X1 + w2 * Inputs[r].X2 + b > 0 ? 1 : 0) == labels[r]) correct++;
                    best = Math.Max(best, correct);
                    if (correct == 4 && separator is null) separator = Rule(w1, w2, b, labels);
                }
        return new GridSearch(range, step, tried, best, separator);
    }

    /// <summary>
    /// The least-squares fit of t = 2y − 1 ∈ {−1, 1} by w1 x1 + w2 x2 + b (normal equations, solved exactly by Cramer's
    /// rule), used as a classifier at threshold 0. For AND it is w = (1, 1), b = −1.5 and for OR b = −0.5, the sheet's
    /// rules; for XOR it is the zero function, which puts every row on the boundary.
    /// </summary>
    /// <param name="labels">The truth table.</param>
    /// <returns>The fitted rule and its score.</returns>
    public static LinearRule LeastSquares(int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        // Normal equations AᵀA θ = Aᵀt with rows a = (x1, x2, 1).
        var ata = new double[3, 3];
        var atb = new double[3];
        for (int r = 0; r < 4; r++)
        {
            double[] a = [Inputs[r].X1, Inputs[r].X2, 1];
            double t = 2 * labels[r] - 1;
            for (int i = 0; i < 3; i++)
            {
                atb[i] += a[i] * t;
                for (int j = 0; j < 3; j++) ata[i, j] += a[i] * a[j];
            }
        }
        double det = Det(ata);
        var theta = new double[3];
        for (int c = 0; c < 3; c++)
        {
            var m = (double[,])ata.Clone();
            for (int r = 0; r < 3; r++) m[r, c] = atb[r];
            theta[c] = Det(m) / det;
        }
        return Rule(theta[0], theta[1], theta[2], labels);
    }

    private static double Det(double[,] m) =>
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
        + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);

    /// <summary>The two-class perceptron as the binary rule: w = W[1] − W[0], b = b[1] − b[0] (class 1 wins iff wᵀx + b &gt; 0).</summary>
    private static (double W1, double W2, double B) Binary(Perceptron p)
    {
        double[] w = p.Weight.ToArray<double>(), b = p.Bias.ToArray<double>();
        return (w[2] - w[0], w[3] - w[1], b[1] - b[0]);
    }

    private static double[] State(Perceptron p) => [.. p.Weight.ToArray<double>(), .. p.Bias.ToArray<double>()];
}
