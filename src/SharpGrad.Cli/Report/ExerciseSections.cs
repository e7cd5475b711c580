using System.Globalization;
using SharpGrad.Cli.Commands;
using SharpGrad.Cli.Exercises;
using SharpGrad.Reports;
using SharpGrad.Theory;

namespace SharpGrad.Cli.Report;

/// <summary>Sections for the exercises implemented in <c>SharpGrad.Cli.Exercises</c>: each runs the same code as its command.</summary>
internal static class ExerciseSections
{
    public static IEnumerable<ReportSection> All(bool quick, IProgress<string>? status)
    {
        status?.Report("XOR by gradient descent");
        yield return XorSection(quick);
        status?.Report("linear regression");
        yield return LinregSection();
        status?.Report("losses, KL and convolution");
        yield return LossSection();
        yield return ConvolveSection();
        status?.Report("convolution arithmetic and solver");
        yield return ConvShapeSection();
        status?.Report("constructions");
        yield return ConstructionSection();
        yield return PerceptronSection();
    }

    private static string I(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>|f(x)| at or below this is zero up to rounding: such a point is undecided, not classified.</summary>
    internal const double XorTie = 1e-9;

    /// <summary>
    /// How a trained XOR network stands: points classified with a clear sign (|f| above <see cref="XorTie"/>), points
    /// where f is 0 up to rounding (the sheet's "f ≥ 0" rule would call them class 1 by the sign of a rounding
    /// residue), and hidden units that are off (pre-activation ≤ 0) on all four points.
    /// </summary>
    internal static (int Correct, int Undecided, int DeadUnits) XorVerdict(XorEvaluation e, bool hiddenBias = true)
    {
        int correct = 0, undecided = 0;
        for (int i = 0; i < 4; i++)
        {
            if (Math.Abs(e.Outputs[i]) <= XorTie) undecided++;
            else if (Xor.Classifies(e.Outputs[i], Xor.Labels[i])) correct++;
        }
        var q = e.Parameters; // U11, U12, U21, U22, b11, b12, w1, w2, b2; U[i, j] from input i to hidden unit j
        int dead = 0;
        for (int j = 0; j < 2; j++)
        {
            bool on = false;
            for (int n = 0; n < 4; n++)
                if (Xor.Inputs[2 * n] * q[j] + Xor.Inputs[2 * n + 1] * q[2 + j] + (hiddenBias ? q[4 + j] : 0) > 0) on = true;
            if (!on) dead++;
        }
        return (correct, undecided, dead);
    }

    private static ReportSection XorSection(bool quick)
    {
        int restarts = quick ? 6 : 20;
        var r = Xor.Run(new XorOptions { Restarts = restarts, HandSet = Xor.SheetSolution });
        var noBias = Xor.Run(new XorOptions { Restarts = restarts, HandSet = Xor.SheetSolution, HiddenBias = false });
        var charts = XorCommand.Charts(r);
        var rows = r.Runs.Select(run =>
        {
            var (correct, undecided, dead) = XorVerdict(run.Final);
            string state = run.Succeeded ? "yes" : run.DivergedAtEpoch is int d ? $"diverged at epoch {d}"
                : dead == 2 || undecided == 4 ? $"no: dead network (f = 0 up to rounding on every point; {dead} hidden unit(s) off everywhere)"
                : dead == 1 ? "no: one hidden unit dead" : "no: local minimum";
            return (IReadOnlyList<string>)[run.Seed.ToString(CultureInfo.InvariantCulture), Fmt.N(run.FinalLoss, 6),
                $"{correct}/4" + (undecided > 0 ? $" ({undecided} with f = 0 up to rounding: undecided)" : ""), state];
        }).ToList();
        double success = r.SuccessFraction;
        int deadRuns = r.Runs.Count(run => XorVerdict(run.Final) is var v && (v.DeadUnits == 2 || v.Undecided == 4));
        var hand = r.HandSet!;
        var handNoBias = noBias.HandSet!;
        return new ReportSection("seed000-q2q3", "XOR with a 2-2-1 ReLU network (seed 000 Q2–Q3)",
        [
            new Paragraph($"f(x) = wᵀ max(Uᵀx + b₁, 0) + b₂ on the four XOR points with labels −1/1, squared loss, full-batch gradient descent ({r.Options.Epochs} epochs, lr {Fmt.N(r.Options.LearningRate)}), {r.Runs.Count} random initialisations. A run succeeds when sign(f) classifies all four points. A point where f is 0 up to rounding (|f| ≤ {Fmt.E(XorTie)}) is counted as undecided, not as correct: the sheet's rule \"class 1 iff f ≥ 0\" would otherwise let the sign of a 1e-16 residue decide it, and a dead network (f ≡ 0) would be scored 2/4 or 3/4 by chance."),
            new ComparisonBlock(
            [
                new("Q2.1 the sheet's hand-set network (U = [[1, −1], [−1, 1]], b₁ = 0, w = (1, 1), b₂ = −0.5)", "solves XOR", $"outputs {Fmt.Vec(hand.Outputs)}, {XorVerdict(hand).Correct}/4 correct, loss {Fmt.N(hand.Loss)}", XorVerdict(hand).Correct == 4),
                new("Q2.2 identity activation (a linear model): least-squares fit", "cannot solve XOR", $"weights {Fmt.Vec(r.Linear.Weights)}, misclassifies {r.Linear.Misclassified} point(s)", r.Linear.Misclassified >= 1,
                    "the least-squares linear fit of XOR is f ≡ 0; any linear f has f(0,1) + f(1,0) = f(0,0) + f(1,1), so it cannot give +,+ on one pair and −,− on the other"),
                new("Q2.3 ReLU(Uᵀx) without the hidden bias b₁: the sheet's network (its b₁ is 0)", "the same as with max (handwritten: \"same as section ①\")",
                    $"outputs {Fmt.Vec(handNoBias.Outputs)}, {XorVerdict(handNoBias, hiddenBias: false).Correct}/4 correct", XorVerdict(handNoBias, hiddenBias: false).Correct == 4,
                    "without b₁ each hidden unit is 0 at (0, 0), but b₂ still shifts the output, so XOR stays representable"),
                new("Q2.3 gradient descent without b₁ (same seeds)", "—", $"{Fmt.P(noBias.SuccessFraction)} of {noBias.Runs.Count} restarts succeed (with b₁: {Fmt.P(success)})", null),
                new("Q3 gradient descent from random starts", "succeeds from some initialisations", $"{Fmt.P(success)} of {r.Runs.Count} restarts succeed; {deadRuns} end dead", success > 0,
                    "failures are dead-ReLU local minima: a hidden unit that is off on all four points gets no gradient and never recovers"),
            ]),
            new TableBlock(["seed", "final loss", "correct (clear sign)", "success"], rows, "Restarts"),
            new Figure("xor-loss", charts[0].Chart.ToSvg(), "Loss per epoch of every restart (log scale)."),
            new Figure("xor-params", charts[1].Chart.ToSvg(), "Two randomly chosen parameters of the best run during training."),
            new CodeBlock($"dotnet run --project src/SharpGrad.Cli -- xor --restarts {restarts} --out out/xor\n" +
                          $"dotnet run --project src/SharpGrad.Cli -- xor --restarts {restarts} --no-bias\n" +
                          "dotnet run examples/xor.cs"),
        ]);
    }

    private static ReportSection LinregSection()
    {
        var r = LinearRegression.Run(new LinregOptions());
        var charts = LinregCommand.Charts(r);
        return new ReportSection("seed003-q2", "Linear regression: closed form versus gradient descent, and an MLP (seed 003 Q2)",
        [
            new Paragraph($"Synthetic data: {r.Data.TrainY.Length} training and {r.Data.TestY.Length} test rows, {r.Data.FeatureNames.Count} standardised features. The closed form is least squares by QR (never an explicit inverse); gradient descent runs {r.Distance.Length} full-batch epochs on the mean squared error."),
            new TableBlock(["model", "train MSE", "test MSE"],
            [
                ["closed form (QR)", Fmt.N(r.ClosedFormTrainLoss, 6), Fmt.N(r.ClosedFormTestLoss, 6)],
                ["gradient descent", Fmt.N(r.FinalGdTrainLoss, 6), Fmt.N(r.FinalGdTestLoss, 6)],
                [$"MLP ({I(r.MlpParameters)} parameters)", Fmt.N(r.FinalMlpTrainLoss, 6), Fmt.N(r.FinalMlpTestLoss, 6)],
            ]),
            new ComparisonBlock(
            [
                new("distance between the GD and closed-form weights", "shrinks to 0 as GD converges", $"{Fmt.N(r.InitialDistance)} → {Fmt.E(r.Distance[^1])}", r.Distance[^1] < 1e-6),
                new("largest stable learning rate n / λ_max(AᵀA)", "—", Fmt.N(r.MaxStableLearningRate), null, "gradient descent diverges at or above it"),
            ]),
            new Paragraph("On data that is linear plus noise, the MLP cannot beat the linear model on the test set: it fits the noise (lower training error, higher test error). The sheet's claim that its network is \"45% better\" does not follow from its own numbers (0.165 against 0.238 is 31% lower)."),
            new Figure("linreg-distance", charts[0].Chart.ToSvg(), "Euclidean distance between the gradient-descent and closed-form weights per epoch (log scale)."),
            new Figure("linreg-loss", charts[1].Chart.ToSvg(), "Training and test MSE of gradient descent against the closed form."),
            new Figure("linreg-mlp", charts[2].Chart.ToSvg(), "The MLP regressor's training and test MSE."),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- linreg --out out/linreg"),
        ]);
    }

    private static ReportSection LossSection()
    {
        double[,] w = { { 0.01, -0.05, 0.1, 0.05 }, { 0.7, 0.2, 0.05, 0.16 }, { 0.0, -0.45, -0.2, 0.03 } };
        var loss = Calc.Loss(new LossInput(null, w, [0.0, 0.2, -0.3], [-15, 22, -44, 56], "2"));
        string error;
        try { Calc.Loss(new LossInput(null, w, [0.0, 0.2, -0.3], [-15, 22, -44, 56], "0,0,0,1")); error = "(no error)"; }
        catch (ArgumentException e) { error = e.Message; }
        var kl = Calc.Kl([1, 6, 12, 5, 2, 8, 12, 4], [1, 3, 6, 8, 15, 10, 5, 2]);
        return new ReportSection("seed004-losses", "Hinge, softmax and KL losses with their gradients (seed 004 Q2–Q4)",
        [
            new Paragraph("Scores s = W x + b for the sheet's W, b and x. The sheet's label y = [0, 0, 0, 1] has four entries for three classes; SharpGrad refuses it with the message below rather than guess. Its answers 1.58 and 1.04 are those of class 2 (0-based), i.e. y = [0, 0, 1]."),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- calc loss --W \"0.01,-0.05,0.1,0.05;0.7,0.2,0.05,0.16;0.0,-0.45,-0.2,0.03\" --b 0,0.2,-0.3 --x -15,22,-44,56 --label 0,0,0,1\n→ " + error +
                "\ndotnet run --project src/SharpGrad.Cli -- calc loss --W \"0.01,-0.05,0.1,0.05;0.7,0.2,0.05,0.16;0.0,-0.45,-0.2,0.03\" --b 0,0.2,-0.3 --x -15,22,-44,56 --label 2"),
            new ComparisonBlock(
            [
                new("scores W x + b", "[−2.85, 0.86, 0.28]", Fmt.Vec(loss.Scores), loss.Scores.Zip(new[] { -2.85, 0.86, 0.28 }).All(p => Math.Abs(p.First - p.Second) < 1e-9)),
                new("label", "y = [0, 0, 0, 1] (4 entries, 3 classes)", "class 2", false, "inconsistent in the sheet: the numbers it gives are for class 2"),
                new("SVM (hinge) loss Σ_{j≠y} max(0, s_j − s_y + 1)", "1.580", Fmt.N(loss.Hinge), Math.Abs(loss.Hinge - 1.58) < 5e-4, "PyTorch's MultiMarginLoss divides this by the number of classes"),
                new("softmax (cross-entropy) loss", "1.040", Fmt.N(loss.CrossEntropy), Math.Abs(loss.CrossEntropy - 1.04) < 5e-4, "the sheet writes it without its minus sign"),
                new("∂CE/∂s = softmax(s) − onehot(y)", "—", Fmt.Vec(loss.GradScores), null, "checked by finite differences in the tests"),
                new("KL(p‖q) from the counts P, Q", "0.352", Fmt.N(kl.KlPq), Math.Abs(kl.KlPq - 0.352) < 5e-4),
                new("KL(q‖p)", "0.484 (labelled KL(p‖q) again in the sheet)", Fmt.N(kl.KlQp), Math.Abs(kl.KlQp - 0.484) < 5e-4, "KL is asymmetric"),
                new("∂KL(p‖q)/∂q_d", "−p_d / q_d", Fmt.Vec(kl.GradQ, 3), kl.GradQ.Zip(kl.P.Zip(kl.Q)).All(t => Math.Abs(t.First + t.Second.First / t.Second.Second) < 1e-9)),
                new("∂KL(q‖p)/∂q_d", "log(q_d / p_d) + 1", Fmt.Vec(kl.GradQReverse, 3), kl.GradQReverse.Zip(kl.P.Zip(kl.Q)).All(t => Math.Abs(t.First - (Math.Log(t.Second.Second / t.Second.First) + 1)) < 1e-9)),
            ]),
        ]);
    }

    private static ReportSection ConvolveSection()
    {
        var c = Calc.Convolve([1, 2, 3, 4], [1, 0, 2]);
        var corr = Signal.CrossCorrelate([1.0, 2, 3, 4], [1.0, 0, 2], ConvMode.Valid);
        return new ReportSection("seed001-q6", "True 1-D convolution with kernel flipping (seed 001 Q6)",
        [
            new Paragraph("`Theory.Signal.Convolve` flips the kernel, as numpy.convolve does; convolution layers compute the cross-correlation instead (no flip), as in PyTorch."),
            new ComparisonBlock(
            [
                new("[1, 2, 3, 4] * [1, 0, 2], full", "[1, 2, 5, 8, 6, 8]", Fmt.Vec(c.Full), c.Full.SequenceEqual([1.0, 2, 5, 8, 6, 8])),
                new("valid", "[5, 8]", Fmt.Vec(c.Valid), c.Valid.SequenceEqual([5.0, 8])),
                new("same", "[2, 5, 8, 6]", Fmt.Vec(c.Same), c.Same.SequenceEqual([2.0, 5, 8, 6])),
                new("cross-correlation (what Conv1d computes), valid", "—", Fmt.Vec(corr), null, "differs: the kernel is not flipped"),
            ]),
        ]);
    }

    private static ReportSection ConvShapeSection()
    {
        var q7 = ConvShapes.Seed001Q7();
        var trace = q7.Report.Trace;
        var rows = trace.Layers.Select(l => (IReadOnlyList<string>)[l.Layer.ToString() ?? "", l.Input.ToHwcString(), l.Output.ToHwcString(), I(l.Weights), I(l.Biases)]).ToList();
        var q8 = ConvShapes.Seed001Q8();
        var q8b = ConvShapes.Seed001Q8PartB();
        var parts = q8.Select(p => new Comparison($"Q8 {p.Part}: {p.Question}", p.SheetAnswer.ToString(),
            p.SheetIsRight ? $"gives {p.SheetOutput.ToHwcString()} ✓; {p.Solutions.Count} configuration(s) in all" :
                $"gives {p.SheetOutput.ToHwcString()}, not {p.Target.ToHwcString()}; correct: {string.Join("; ", p.Solutions.Take(4))}",
            p.SheetIsRight)).ToList();
        return new ReportSection("seed001-q7q8", "Convolution arithmetic and the configuration solver (seed 001 Q7–Q8)",
        [
            new Paragraph("Output size per dimension: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1. Parameters of a convolution: out · in · k² weights plus out biases."),
            new TableBlock(["layer", "input (HxWxC)", "output (HxWxC)", "weights", "biases"], rows, "Q7: 3×256×256 through conv 64 8×8/2, max pool 5×5, conv 128 4×4/1 pad 1"),
            new ComparisonBlock(
            [
                new("Q7.1 output shape", q7.SheetOutput.ToHwcString(), trace.Output.ToHwcString(), trace.Output == q7.SheetOutput),
                new("Q7.1 dimensionality of the output (a scalar: H·W·C)", $"{q7.SheetOutput.ToHwcString()} (the sheet gives the shape, not the number)", I(q7.OutputNumel),
                    q7.OutputNumel == q7.SheetOutput.Numel, $"{q7.SheetOutput.ToHwcString()} = {I(q7.SheetOutput.Numel)}"),
                new("Q7 parameters of the last layer (weights only)", I(q7.SheetLastLayerWeights), I(q7.LastLayerWeights), q7.LastLayerWeights == q7.SheetLastLayerWeights, $"{I(q7.LastLayerWeights + trace.Layers[^1].Biases)} with biases"),
                .. parts.Take(3), // 1(a), 1(b), 2(a); 2(b) asks for a shape, then part 3
                new("Q8 2(b): output shape with k = 8, s = 4 (p = 0, d = 1) on 64×32×32", "64×7×7", $"{q8b.Trace.Output.Channels}×{q8b.Trace.Output.Height}×{q8b.Trace.Output.Width}", q8b.Trace.Output == new FeatureShape(64, 7, 7),
                    "⌊(32 − 8) / 4⌋ + 1 = 7"),
                .. parts.Skip(3),
            ]),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- conv shape --input 3x256x256 --layer conv:64:k8:s2 --layer maxpool:k5 --layer conv:128:k4:s1:p1\n" +
                          "dotnet run --project src/SharpGrad.Cli -- conv solve --input 64x8x8 --output 128x4x4 --padding 2 --dilation 2"),
        ]);
    }

    private static ReportSection ConstructionSection()
    {
        var (x, y) = Constructions.RandomPoints(7, 3);
        var interp = Constructions.Interpolate(x, y);
        var grid = Enumerable.Range(0, 241).Select(i => x.Min() - 0.5 + i * (x.Max() - x.Min() + 1) / 240).ToArray();
        var chart = new LineChart($"Interpolating {x.Length} points with {x.Length - 1} hidden units", "x", "f(x)")
            .Add("ReLU construction", grid, grid.Select(v => interp.Relu.Evaluate(v)).ToArray())
            .Add($"sigmoid steps, k = {Fmt.N(interp.Sigmoid.Steepness)}", grid, grid.Select(v => interp.Sigmoid.Evaluate(v)).ToArray())
            .Add("data points", x.OrderBy(v => v).ToArray(), x.Zip(y).OrderBy(p => p.First).Select(p => p.Second).ToArray(), SeriesStyle.Markers);
        var toTanh = Constructions.Convert(Constructions.RandomNetwork(3, 5, 2, Activation.Sigmoid, 1), Activation.Tanh, 1000, 2);
        var toSigmoid = Constructions.Convert(Constructions.RandomNetwork(3, 5, 2, Activation.Tanh, 3), Activation.Sigmoid, 1000, 4);
        var collapse = Constructions.Collapse(Constructions.RandomStack([10, 3, 8, 6], 5), 1000, 6);
        var bottleneck = Constructions.Seed002Q6Bottleneck();
        return new ReportSection("constructions", "Exact constructions: interpolation, sigmoid ↔ tanh, collapse of linear stacks (seed 001 Q4–Q5, seed 002 Q4, Q6)",
        [
            new ComparisonBlock(
            [
                new($"ReLU network with N − 1 = {interp.Relu.Network.W1.Shape[0]} hidden units through N = {x.Length} points", "interpolates exactly", $"max |f(xᵢ) − yᵢ| = {Fmt.E(interp.Relu.MaxAbsError)}", interp.Relu.MaxAbsError < 1e-9),
                new("sigmoid steps (the limit construction)", "error → 0 as the steepness grows", $"k = {Fmt.N(interp.Sigmoid.Steepness)}: max error {Fmt.E(interp.Sigmoid.MaxAbsError)} (bound {Fmt.E(interp.Sigmoid.ErrorBound)})", interp.Sigmoid.MaxAbsError <= interp.Sigmoid.ErrorBound),
                new("sigmoid network → tanh network (W₁/2, b₁/2, W₂/2, b₂ + W₂·1/2)", "same function", $"max difference {Fmt.E(toTanh.MaxAbsDifference)} over {toTanh.Samples} inputs", toTanh.MaxAbsDifference < 1e-12),
                new("tanh network → sigmoid network", "same function", $"max difference {Fmt.E(toSigmoid.MaxAbsDifference)}", toSigmoid.MaxAbsDifference < 1e-12, "the sheet's flat bias changes (+0.5, −1) hold only when the outgoing weights are 1; the exact change is ±Σⱼ W₂[k, j]"),
                new("stack 10 → 3 → 8 → 6 collapsed to one layer", "rank ≤ min rank of the factors", $"rank {collapse.Collapsed.Rank}, factor ranks [{string.Join(", ", collapse.Collapsed.FactorRanks)}], max difference {Fmt.E(collapse.MaxAbsDifference)}", collapse.Collapsed.Rank <= collapse.Collapsed.FactorRanks.Min()),
                new("stack 10 → 2 → 10 (a bottleneck)", "rank ≤ 2", $"rank {bottleneck.Collapsed.Rank}", bottleneck.Collapsed.Rank <= 2),
            ]),
            new Figure("interpolation", chart.ToSvg(), "Both constructions pass through every data point."),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- construct interpolate --points 7 --seed 3\n" +
                          "dotnet run --project src/SharpGrad.Cli -- construct convert --to tanh\n" +
                          "dotnet run --project src/SharpGrad.Cli -- construct collapse --widths 10,3,8,6"),
        ]);
    }

    private static ReportSection PerceptronSection()
    {
        var runs = Perceptrons.TrainAll();
        var chart = new LineChart("Perceptron rule: mistakes per epoch", "epoch", "mistakes (of 4)");
        foreach (var run in runs) chart.Add(run.Gate.ToString().ToUpperInvariant(), run.MistakesPerEpoch.Select(m => (double)m).ToArray());
        var rows = runs.Select(r => new Comparison($"{r.Gate.ToString().ToUpperInvariant()} by the perceptron rule",
            r.Gate == Gate.Xor ? "not linearly separable: never converges" : "converges",
            r.Converged ? $"no mistakes from epoch {r.ConvergedEpoch}; w = ({Fmt.N(r.Final.W1)}, {Fmt.N(r.Final.W2)}), b = {Fmt.N(r.Final.Bias)}"
                        : $"still {r.History[^1].Mistakes} mistakes after {r.History.Count} epochs; best line on a {I(r.Grid.Candidates)}-rule grid gets {r.Grid.BestCorrect}/4",
            r.Gate == Gate.Xor ? !r.Converged : r.Converged)).ToList();
        return new ReportSection("seed002-q6", "AND, OR and XOR by the perceptron learning rule (seed 002 Q6)",
        [
            new Paragraph("The rule updates only on mistakes (w ← w + η y x); it converges whenever a separating line exists. XOR has none, and the rule cycles."),
            new ComparisonBlock(rows),
            new Figure("perceptron-gates", chart.ToSvg(), "Mistakes per epoch: AND and OR reach 0, XOR never does."),
            new CodeBlock("dotnet run --project src/SharpGrad.Cli -- construct perceptron --gate all --epochs 20"),
        ]);
    }
}
