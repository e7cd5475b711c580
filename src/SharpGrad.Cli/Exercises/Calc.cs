using System.Globalization;
using SharpGrad.NN;
using SharpGrad.Theory;

namespace SharpGrad.Cli.Exercises;

/// <summary>Softmax values and, on request, the full Jacobian checked against diag(S) − S Sᵀ (seed 000 Q1, seed 001 Q2–Q3).</summary>
/// <param name="X">The scores z.</param>
/// <param name="Temperature">c in S = softmax(z / c).</param>
/// <param name="Values">S.</param>
/// <param name="ShiftInvarianceError">max |softmax(z + 1000) − softmax(z)|: the shift invariance of Q1.1, in floating point.</param>
/// <param name="Jacobian">∂S_i/∂z_j through autograd, or null.</param>
/// <param name="Expected">(diag(S) − S Sᵀ) / c, or null.</param>
/// <param name="MaxJacobianError">max |Jacobian − Expected|, or null.</param>
public sealed record SoftmaxResult(double[] X, double Temperature, double[] Values, double ShiftInvarianceError,
    double[,]? Jacobian, double[,]? Expected, double? MaxJacobianError);

/// <summary>Sigmoid values and derivatives through autograd (seed 004 Q1).</summary>
/// <param name="X">The inputs.</param>
/// <param name="Values">S(x).</param>
/// <param name="Derivatives">S'(x) from the backward pass.</param>
public sealed record SigmoidResult(double[] X, double[] Values, double[] Derivatives);

/// <summary>The input of <see cref="Calc.Loss"/>: either the scores, or W, b and x of a linear classifier s = W x + b.</summary>
/// <param name="Scores">The class scores, or null when W and x are given.</param>
/// <param name="W">K x D weights, or null.</param>
/// <param name="B">K biases (zeros when null).</param>
/// <param name="X">The D features.</param>
/// <param name="Label">A 0-based class index ("2") or a one-hot vector ("0,0,1").</param>
public sealed record LossInput(double[]? Scores, double[,]? W, double[]? B, double[]? X, string Label);

/// <summary>Hinge and softmax losses of one sample, and their gradient (seed 004 Q2, Q4).</summary>
/// <param name="Scores">s (computed as W x + b when W was given).</param>
/// <param name="Label">The class index.</param>
/// <param name="Probabilities">softmax(s).</param>
/// <param name="Hinge">Σ_{j≠y} max(0, s_j − s_y + 1).</param>
/// <param name="CrossEntropy">−log softmax(s)_y.</param>
/// <param name="GradScores">∂CE/∂s = softmax(s) − onehot(y).</param>
/// <param name="GradW">∂CE/∂W = (softmax(s) − onehot(y)) xᵀ, or null.</param>
/// <param name="GradB">∂CE/∂b, or null.</param>
public sealed record LossResult(double[] Scores, int Label, double[] Probabilities, double Hinge, double CrossEntropy,
    double[] GradScores, double[,]? GradW, double[]? GradB)
{
    /// <summary>One line for each loss that exceeds the double range and so is +∞.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>KL divergence in both directions from count vectors, and its gradients (seed 004 Q3).</summary>
/// <param name="PCounts">The counts P.</param>
/// <param name="QCounts">The counts Q.</param>
/// <param name="P">p = P / ΣP.</param>
/// <param name="Q">q = Q / ΣQ.</param>
/// <param name="KlPq">KL(p‖q) = Σ p log(p / q), natural log.</param>
/// <param name="KlQp">KL(q‖p).</param>
/// <param name="GradQ">∂KL(p‖q)/∂q_d = −p_d / q_d, treating q as free (not renormalised).</param>
/// <param name="GradQReverse">∂KL(q‖p)/∂q_d = log(q_d / p_d) + 1.</param>
/// <remarks>
/// 0 · log 0 = 0: an outcome with p_d = 0 adds nothing to KL(p‖q) and its gradient entry is 0. A q_d of 0 where
/// p_d &gt; 0 makes KL(p‖q) +∞ (and −p_d / q_d −∞), said in <see cref="Notes"/>; likewise for KL(q‖p).
/// </remarks>
public sealed record KlResult(double[] PCounts, double[] QCounts, double[] P, double[] Q, double KlPq, double KlQp, double[] GradQ, double[] GradQReverse)
{
    /// <summary>One line for each infinite value and why.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>True (kernel-flipping) 1-D convolution in the three NumPy modes (seed 001 Q6).</summary>
public sealed record ConvolveResult(double[] Signal, double[] Kernel, double[] Full, double[] Valid, double[] Same)
{
    /// <summary>A line when some value exceeds the double range and so is ±∞.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>The small calculations of seeds 000, 001 and 004, each done by the library (autograd where there is a derivative).</summary>
public static class Calc
{
    /// <summary>softmax(x / temperature), and with <paramref name="jacobian"/> its Jacobian via <see cref="Jacobian.Compute"/>.</summary>
    public static SoftmaxResult Softmax(double[] x, double temperature = 1.0, bool jacobian = false)
    {
        NonEmpty(x, "--x");
        if (!(temperature > 0) || !double.IsFinite(temperature)) throw new ArgumentException($"--temperature must be positive and finite (got {temperature}).");
        var z = Tensor.FromArray(x);
        var s = z.Softmax(0, temperature).ToArray<double>();
        var shifted = (z + 1000.0).Softmax(0, temperature).ToArray<double>();
        double shiftError = s.Zip(shifted, (a, b) => Math.Abs(a - b)).Max();
        if (!jacobian) return new SoftmaxResult(x, temperature, s, shiftError, null, null, null);

        int n = x.Length;
        var flat = SharpGrad.Jacobian.Compute(t => t.Softmax(0, temperature), z).ToArray<double>();
        var j = new double[n, n];
        var expected = new double[n, n];
        double worst = 0;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                j[r, c] = flat[r * n + c];
                expected[r, c] = ((r == c ? s[r] : 0) - s[r] * s[c]) / temperature; // the chain rule brings the 1/c
                worst = Math.Max(worst, j[r, c] == expected[r, c] ? 0 : Math.Abs(j[r, c] - expected[r, c])); // equal infinities agree
            }
        return new SoftmaxResult(x, temperature, s, shiftError, j, expected, worst);
    }

    /// <summary>S(x) and S'(x), the derivative through the backward pass; finite for any finite x.</summary>
    public static SigmoidResult Sigmoid(double[] x)
    {
        NonEmpty(x, "--x");
        var t = Tensor.FromArray(x);
        t.RequiresGrad = true;
        var y = t.Sigmoid();
        y.Sum().Backward(); // each S(x_i) depends on x_i alone, so the gradient of the sum is S'(x_i)
        return new SigmoidResult(x, y.ToArray<double>(), t.Grad!.ToArray<double>());
    }

    /// <summary>
    /// The class index a label denotes: "k" (0-based), or a one-hot vector whose length must be the number of classes.
    /// Anything else is an <see cref="ArgumentException"/> naming both sizes.
    /// </summary>
    public static int ResolveLabel(string label, int classes)
    {
        ArgumentNullException.ThrowIfNull(label);
        string text = label.Trim();
        if (!text.Contains(','))
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k))
                throw new ArgumentException($"--label: '{label}' is neither a class index nor a one-hot vector.");
            if (k < 0 || k >= classes)
                throw new ArgumentException($"--label: class {k} is outside 0..{classes - 1}: the scores have {classes} classes.");
            return k;
        }
        var v = text.Split(',', StringSplitOptions.TrimEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new ArgumentException($"--label: '{s}' is not a number.")).ToArray();
        if (v.Length != classes)
            throw new ArgumentException($"--label: the one-hot label has {v.Length} entries but the scores have {classes} classes; give {classes} entries or a class index 0..{classes - 1}.");
        if (v.Count(d => d == 1) != 1 || v.Any(d => d != 0 && d != 1))
            throw new ArgumentException($"--label: '{label}' is not one-hot (exactly one 1, the rest 0).");
        return Array.IndexOf(v, 1.0);
    }

    /// <summary>Multiclass hinge and cross-entropy of one sample, with ∂CE/∂s (and ∂CE/∂W, ∂CE/∂b) through autograd.</summary>
    public static LossResult Loss(LossInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor scores;
        if (input.W is not null)
        {
            if (input.Scores is not null) throw new ArgumentException("Give either --scores or --W with --x, not both.");
            int k = input.W.GetLength(0), d = input.W.GetLength(1);
            if (input.X is null) throw new ArgumentException($"--x: the features are needed with --W ({k} x {d}).");
            if (input.X.Length != d) throw new ArgumentException($"--x has {input.X.Length} entries but --W is {k} x {d}: x needs {d}.");
            var bias = input.B ?? new double[k];
            if (bias.Length != k) throw new ArgumentException($"--b has {bias.Length} entries but --W is {k} x {d}: b needs {k}.");
            // s = W x + b in double, scaled by powers of two where a product would overflow, so a finite score is never
            // lost to an intermediate ∞ − ∞; ∂CE/∂W = (∂CE/∂s) xᵀ and ∂CE/∂b = ∂CE/∂s by the chain rule below.
            var s0 = new double[k];
            for (int r = 0; r < k; r++)
            {
                var row = new double[d];
                for (int c = 0; c < d; c++) row[c] = input.W[r, c];
                s0[r] = ScaledDot(row, input.X) + bias[r];
                if (!double.IsFinite(s0[r]))
                    throw new ArgumentException($"--W, --x, --b: the score s_{r} = (W x + b)_{r} is beyond the double range (about ±1.8e308); scale the inputs down.");
            }
            scores = Tensor.FromArray(s0); // a leaf; W and b enter through the chain rule
            scores.RequiresGrad = true;
        }
        else
        {
            if (input.Scores is null) throw new ArgumentException("Give --scores, or --W and --x (and optionally --b).");
            if (input.B is not null || input.X is not null) throw new ArgumentException("--b and --x go with --W; with --scores leave them out.");
            NonEmpty(input.Scores, "--scores");
            scores = Tensor.FromArray(input.Scores);
            scores.RequiresGrad = true;
        }
        int classes = scores.Shape[0];
        int label = ResolveLabel(input.Label, classes);
        var target = Tensor.FromArray(new long[] { label });
        double hinge;
        using (Autograd.NoGrad()) hinge = Functional.MulticlassSvmLoss(scores, target, reduction: Reduction.Sum).Item();
        var ce = Functional.CrossEntropy(scores, target, Reduction.Sum);
        var gradScores = Autograd.Grad(ce, [scores])[0].ToArray<double>();
        double[,]? gradW = null;
        if (input.W is not null)
        {
            int d = input.X!.Length;
            gradW = new double[classes, d];
            for (int r = 0; r < classes; r++) for (int c = 0; c < d; c++) gradW[r, c] = gradScores[r] * input.X[c];
        }
        double[] probabilities;
        using (Autograd.NoGrad()) probabilities = scores.Softmax(0).ToArray<double>();
        var notes = new List<string>();
        if (double.IsPositiveInfinity(hinge)) notes.Add("The hinge loss exceeds the largest double (about 1.8e308): a margin s_j - s_y + 1 is beyond it, so it is +Infinity.");
        if (double.IsPositiveInfinity(ce.Item())) notes.Add("The cross-entropy exceeds the largest double (about 1.8e308): log-sum-exp(s) - s_y is beyond it, so it is +Infinity.");
        return new LossResult(scores.ToArray<double>(), label, probabilities, hinge, ce.Item(), gradScores, gradW, input.W is null ? null : (double[])gradScores.Clone()) { Notes = notes };
    }

    /// <summary>KL(p‖q) and KL(q‖p) from counts, with the gradients of both with respect to q through autograd.</summary>
    public static KlResult Kl(double[] pCounts, double[] qCounts)
    {
        NonEmpty(pCounts, "--p");
        NonEmpty(qCounts, "--q");
        if (pCounts.Length != qCounts.Length)
            throw new ArgumentException($"--p has {pCounts.Length} counts but --q has {qCounts.Length}; the distributions must have the same support.");
        foreach (var (counts, name) in new[] { (pCounts, "--p"), (qCounts, "--q") })
        {
            if (counts.Any(c => c < 0)) throw new ArgumentException($"{name}: counts must not be negative.");
            if (counts.Sum() <= 0) throw new ArgumentException($"{name}: the counts sum to 0; there is nothing to normalise.");
        }
        double[] p = Normalise(pCounts), q = Normalise(qCounts);
        var notes = new List<string>();
        int n = p.Length;
        var ptIndex = Enumerable.Range(0, n).Where(i => p[i] > 0).ToArray();   // the support of p
        var qtIndex = Enumerable.Range(0, n).Where(i => q[i] > 0).ToArray();   // the support of q

        // KL(p‖q) over the support of p (0 · log 0 = 0 elsewhere, and those terms do not depend on q), through
        // F.kl_div's form: the input is log q, the target p.
        var q1 = Tensor.FromArray(ptIndex.Select(i => q[i]).ToArray()); q1.RequiresGrad = true;
        var klPq = Functional.KlDiv(q1.Log(), Tensor.FromArray(ptIndex.Select(i => p[i]).ToArray()), Reduction.Sum);
        klPq.Backward();
        var gradQ = new double[n];
        var g1 = q1.Grad!.ToArray<double>();
        for (int k = 0; k < ptIndex.Length; k++) gradQ[ptIndex[k]] = g1[k];
        var qZero = ptIndex.Where(i => q[i] == 0).ToArray();
        if (qZero.Length > 0)
            notes.Add($"KL(p||q) = +Infinity: q is 0 where p > 0 (outcome{Plural(qZero)} {string.Join(", ", qZero)}, from 0).");

        // KL(q‖p) over the support of q: q is now the target, so the gradient flows through q log q as well as −q log p.
        var q2 = Tensor.FromArray(qtIndex.Select(i => q[i]).ToArray()); q2.RequiresGrad = true;
        var klQp = Functional.KlDiv(Tensor.FromArray(qtIndex.Select(i => p[i]).ToArray()).Log(), q2, Reduction.Sum);
        klQp.Backward();
        var gradQReverse = new double[n];
        var g2 = q2.Grad!.ToArray<double>();
        for (int k = 0; k < qtIndex.Length; k++) gradQReverse[qtIndex[k]] = g2[k];
        var pZero = qtIndex.Where(i => p[i] == 0).ToArray();
        if (pZero.Length > 0)
            notes.Add($"KL(q||p) = +Infinity: p is 0 where q > 0 (outcome{Plural(pZero)} {string.Join(", ", pZero)}, from 0).");
        // Where q_d = 0 the term q_d log(q_d / p_d) sits at the edge of its domain; its one-sided derivative is
        // log(0 / p_d) + 1 = −∞ when p_d > 0, and +∞ when p_d = 0 too (any q_d > 0 makes that term +∞).
        var edge = Enumerable.Range(0, n).Where(i => q[i] == 0).ToArray();
        foreach (int i in edge) gradQReverse[i] = p[i] > 0 ? double.NegativeInfinity : double.PositiveInfinity;
        if (edge.Length > 0)
            notes.Add($"q is 0 at outcome{Plural(edge)} {string.Join(", ", edge)} (from 0): d KL(q||p) / d q there is the one-sided derivative, -Infinity if p > 0, +Infinity if p = 0.");
        return new KlResult(pCounts, qCounts, p, q, klPq.Item(), klQp.Item(), gradQ, gradQReverse) { Notes = notes };
    }

    private static string Plural(int[] items) => items.Length == 1 ? "" : "s";

    /// <summary>The true convolution of <paramref name="signal"/> and <paramref name="kernel"/> in Full, Valid and Same modes.</summary>
    public static ConvolveResult Convolve(double[] signal, double[] kernel)
    {
        NonEmpty(signal, "--signal");
        NonEmpty(kernel, "--kernel");
        var full = Signal.Convolve(signal, kernel, ConvMode.Full);
        var notes = full.Any(double.IsInfinity)
            ? new[] { "Some sums exceed the largest double (about 1.8e308) and are shown as Infinity; they were computed with the inputs scaled, so no finite value was lost to an intermediate overflow." }
            : [];
        return new ConvolveResult(signal, kernel, full, Signal.Convolve(signal, kernel, ConvMode.Valid), Signal.Convolve(signal, kernel, ConvMode.Same)) { Notes = notes };
    }

    /// <summary>Parses "1,2,3" (invariant culture); an empty list or a non-number is an error naming the option.</summary>
    public static double[] ParseVector(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{option}: give a comma-separated list of numbers.");
        return text.Split(',', StringSplitOptions.TrimEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v : throw new ArgumentException($"{option}: '{s}' is not a finite number.")).ToArray();
    }

    /// <summary>Parses rows separated by ';' and entries by ',', e.g. "1,2;3,4"; ragged rows are an error.</summary>
    public static double[,] ParseMatrix(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{option}: give rows separated by ';', entries by ','.");
        var rows = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r => ParseVector(r, option)).ToArray();
        int cols = rows[0].Length;
        for (int i = 1; i < rows.Length; i++)
            if (rows[i].Length != cols) throw new ArgumentException($"{option}: row {i + 1} has {rows[i].Length} entries but row 1 has {cols}.");
        var m = new double[rows.Length, cols];
        for (int i = 0; i < rows.Length; i++) for (int j = 0; j < cols; j++) m[i, j] = rows[i][j];
        return m;
    }

    /// <summary>c / Σ c; when Σ c overflows (counts near 1e308), (c / max c) / Σ (c / max c) instead, which cannot.</summary>
    internal static double[] Normalise(double[] counts)
    {
        double total = counts.Sum();
        if (double.IsFinite(total)) return counts.Select(c => c / total).ToArray();
        double max = counts.Max();
        double scaled = counts.Sum(c => c / max);
        return counts.Select(c => c / max / scaled).ToArray();
    }

    /// <summary>Σ a_i b_i with a and b scaled by powers of two to a largest magnitude near 1 and the sum scaled back once.</summary>
    internal static double ScaledDot(double[] a, double[] b)
    {
        double ma = a.Max(Math.Abs), mb = b.Max(Math.Abs);
        if (ma == 0 || mb == 0) return 0;
        int ea = Math.ILogB(ma), eb = Math.ILogB(mb);
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.ScaleB(a[i], -ea) * Math.ScaleB(b[i], -eb);
        return Math.ScaleB(sum, ea + eb);
    }

    private static void NonEmpty(double[]? v, string option)
    {
        if (v is null || v.Length == 0) throw new ArgumentException($"{option}: needs at least one value.");
        if (v.Any(d => !double.IsFinite(d))) throw new ArgumentException($"{option}: every value must be finite.");
    }
}
