using SharpGrad.Optim;
using SharpGrad.Reports;

namespace SharpGrad.Cli.Report;

/// <summary>Report sections for the sheets' identities and derivatives, computed with the library at report time.</summary>
internal static class CalculusSections
{
    public static ReportSection Softmax()
    {
        var g = new Generator(7);
        double shiftGap = 0, sigmoidGap = 0;
        for (int i = 0; i < 100; i++)
        {
            var z = Tensor.Randn([6], g, DType.Float64) * 5.0;
            double m = (g.NextDouble() - 0.5) * 2000;
            shiftGap = Math.Max(shiftGap, (z.Softmax(0) - (z + m).Softmax(0)).Abs().Max().Item());
            var two = Tensor.Randn([2], g, DType.Float64) * 5.0;
            var v = two.ToArray<double>();
            sigmoidGap = Math.Max(sigmoidGap, Math.Abs(two.Softmax(0).ToArray<double>()[0] - Tensor.Scalar(v[0] - v[1], DType.Float64).Sigmoid().Item()));
        }
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        var rows = new List<IReadOnlyList<string>>();
        foreach (double c in new[] { 0.0, 0.01, 1, 10, 100, 1e6 })
            rows.Add([Fmt.N(c), Fmt.Vec((x * c).Softmax(0).ToArray<double>(), 6)]);
        // The probabilities move between c = 0 and c ≈ 5 (the gaps between the scores are 1): sample that range densely.
        var k = Enumerable.Range(0, 25).Select(i => i * 0.25).ToArray();
        var chart = new LineChart("softmax(c·[1, 2, 3]) as the scale c grows", "c", "probability");
        for (int i = 0; i < 3; i++) chart.Add($"S(cx)_{i + 1}", k, k.Select(c => (x * c).Softmax(0).ToArray<double>()[i]).ToArray());
        var sharp = (x * 6.0).Softmax(0).ToArray<double>();
        var uniform = (x * 0.0).Softmax(0).ToArray<double>();
        var oneHot = (x * 1e6).Softmax(0).ToArray<double>();
        var squash = Squashing();
        return new ReportSection("softmax-identities", "Softmax: shift invariance, scaling, and the two-class sigmoid (seed 000 Q1, seed 001 Q3)",
        [
            new Paragraph("SharpGrad's `Softmax` subtracts the maximum before exponentiating, so it is exact for any finite input; `Softmax(dim, temperature)` computes softmax(z / temperature), so the sheets' S_c(z) = S(c z) is temperature 1/c."),
            new ComparisonBlock(
            [
                new("softmax(z + m) = softmax(z) (100 random z, |m| ≤ 1000)", "holds (translation invariance)", $"max difference {Fmt.E(shiftGap)}", shiftGap < 1e-12),
                new("2-class softmax = [σ(z₁ − z₂), 1 − σ(z₁ − z₂)]", "holds with z = x₁ − x₂", $"max difference {Fmt.E(sigmoidGap)}", sigmoidGap < 1e-12),
                new("S_c at c = 0", "uniform, 1/n each", Fmt.Vec(uniform), uniform.All(v => Math.Abs(v - 1.0 / 3) < 1e-15)),
                new("S_c as c → ∞ (c = 10⁶)", "one-hot at the maximum", Fmt.Vec(oneHot), oneHot.SequenceEqual([0.0, 0, 1])),
                .. squash.Rows,
            ]),
            new TableBlock(["c", "softmax(c · [1, 2, 3])"], rows, "Scaling is not invariant: small c flattens, large c sharpens"),
            new Figure("softmax-scale", chart.ToSvg(), $"Each class probability of softmax(c·[1, 2, 3]) for c from 0 to 6, where the change happens: uniform (1/3 each) at c = 0, and already {Fmt.N(sharp[2], 4)} on the largest score at c = 6; as c → ∞ it becomes one-hot."),
            new Figure("squashing", squash.Chart.ToSvg(), "Seed 000 Q1.3: functions from ℝ into [0, 1] besides the sigmoid, and the handwritten answer's |x|, which leaves [0, 1] as soon as |x| > 1."),
        ]);
    }

    /// <summary>Seed 000 Q1.3: alternatives to the sigmoid that map ℝ into [0, 1], and the handwritten answer f(x) = |x| checked.</summary>
    private static (IReadOnlyList<Comparison> Rows, LineChart Chart) Squashing()
    {
        var wide = Tensor.FromArray(Enumerable.Range(0, 2001).Select(i => -100 + i * 0.1).ToArray());
        (string Name, Func<Tensor, Tensor> F)[] candidates =
        [
            ("(1 + tanh x) / 2", t => (t.Tanh() + 1.0) * 0.5),
            ("(1 + x / (1 + |x|)) / 2", t => (t / (t.Abs() + 1.0) + 1.0) * 0.5),
            ("clamp(x / 4 + 1/2, 0, 1)", t => (t * 0.25 + 0.5).Clamp(0, 1)),
        ];
        var rows = new List<Comparison>();
        foreach (var (name, f) in candidates)
        {
            var v = f(wide).ToArray<double>();
            bool monotone = v.Zip(v.Skip(1)).All(p => p.Second >= p.First);
            rows.Add(new($"Q1.3 alternative {name} on x ∈ [−100, 100]", "any map of ℝ into [0, 1] is accepted",
                $"range [{Fmt.N(v.Min(), 6)}, {Fmt.N(v.Max(), 6)}], {(monotone ? "non-decreasing" : "not monotone")}", v.Min() >= 0 && v.Max() <= 1 && monotone));
        }
        var abs = wide.Abs().ToArray<double>();
        rows.Add(new("Q1.3 the handwritten answer f(x) = |x|", "f(x) = |x| (both cases of its definition)", $"range [{Fmt.N(abs.Min())}, {Fmt.N(abs.Max())}] on the same x: |−5| = {Fmt.N(Math.Abs(-5.0))}", abs.Max() <= 1,
            "|x| maps ℝ onto [0, ∞), not into [0, 1]; it is also not monotone, so it cannot serve as a probability the way σ does"));
        var grid = Enumerable.Range(0, 121).Select(i => -3 + i * 0.05).ToArray();
        var gt = Tensor.FromArray(grid);
        var chart = new LineChart("Maps from ℝ into [0, 1], and |x|", "x", "f(x)");
        chart.Add("σ(x)", grid, gt.Sigmoid().ToArray<double>(), SeriesStyle.Line);
        foreach (var (name, f) in candidates) chart.Add(name, grid, f(gt).ToArray<double>(), SeriesStyle.Line);
        chart.Add("|x| (the handwritten answer)", grid, gt.Abs().ToArray<double>(), SeriesStyle.Line);
        return (rows, chart);
    }

    public static ReportSection Derivatives()
    {
        // ReLU's derivative through autograd equals the Heaviside step away from 0.
        var xs = Tensor.FromArray(new[] { -2.0, -0.5, 0.0, 0.5, 2.0 });
        xs.RequiresGrad = true;
        xs.Relu().Sum().Backward();
        var reluGrad = xs.Grad!.ToArray<double>();
        var heaviside = xs.Detach().Heaviside().ToArray<double>();
        var grid = Enumerable.Range(0, 201).Select(i => -2 + i * 0.02).ToArray();
        var gt = Tensor.FromArray(grid);
        var chart = new LineChart("σ(kx) approaches the Heaviside step H(x) as k grows", "x", "value");
        foreach (double k in new[] { 1.0, 5, 50 }) chart.Add($"σ({k}x)", grid, (gt * k).Sigmoid().ToArray<double>());
        chart.Add("H(x)", grid, gt.Heaviside().ToArray<double>());

        // Softmax and sigmoid Jacobians through autograd against their closed forms.
        var z = Tensor.FromArray(new[] { 0.3, -1.2, 2.0, 0.5 });
        var j = Jacobian.Compute(t => t.Softmax(0), z).ToArray<double>();
        var s = z.Softmax(0).ToArray<double>();
        double jacGap = 0;
        for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++) jacGap = Math.Max(jacGap, Math.Abs(j[a * 4 + b] - ((a == b ? s[a] : 0) - s[a] * s[b])));
        var sj = Jacobian.Compute(t => t.Sigmoid(), z).ToArray<double>();
        double sigGap = 0;
        for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++) { double sa = 1 / (1 + Math.Exp(-z.ToArray<double>()[a])); sigGap = Math.Max(sigGap, Math.Abs(sj[a * 4 + b] - (a == b ? sa * (1 - sa) : 0))); }

        // Sigmoid saturation (seed 004 Q1).
        var ext = Tensor.FromArray(new[] { -1e4, -100, -10, 0, 10, 100, 1e4 });
        ext.RequiresGrad = true;
        var sv = ext.Sigmoid();
        sv.Sum().Backward();
        var satRows = ext.ToArray<double>().Zip(sv.ToArray<double>(), ext.Grad!.ToArray<double>())
            .Select(t => (IReadOnlyList<string>)[Fmt.N(t.First), Fmt.N(t.Second, 10), Fmt.N(t.Third, 10)]).ToList();
        double[] sheetX = [100, -100, 10, -10, 0];
        var sx = Tensor.FromArray(sheetX);
        sx.RequiresGrad = true;
        var sy = sx.Sigmoid();
        sy.Sum().Backward();
        var sheetS = sy.ToArray<double>();
        var sheetD = sx.Grad!.ToArray<double>();
        var lx = Tensor.Uniform([201], -10, 10, new Generator(2), DType.Float64);
        var p = lx.Sigmoid();
        double logitGap = ((p / (1.0 - p)).Log() - lx).Abs().Max().Item();
        return new ReportSection("derivatives", "Activations and their derivatives (seed 001 Q1–Q2, seed 004 Q1)",
        [
            new ComparisonBlock(
            [
                new("d/dx ReLU(x) at x = −2, −0.5, 0, 0.5, 2 (autograd)", "H(x) for x ≠ 0", Fmt.Vec(reluGrad), reluGrad.Where((v, i) => i != 2).SequenceEqual(heaviside.Where((v, i) => i != 2)),
                    "At exactly 0 SharpGrad uses the subgradient 0, as PyTorch does; H(0) = 1/2 is the Heaviside op's convention."),
                new("softmax Jacobian = diag(S) − S Sᵀ (autograd, n = 4)", "closed form", $"max difference {Fmt.E(jacGap)}", jacGap < 1e-14),
                new("sigmoid Jacobian = diag(σ(1 − σ))", "closed form", $"max difference {Fmt.E(sigGap)}", sigGap < 1e-14),
                new("S(x) at x = 100, −100, 10, −10, 0 (two decimals)", "1.00, 0.00, 1.00, 0.00, 0.5", string.Join(", ", sheetX.Select((v, i) => sheetS[i].ToString("0.00", System.Globalization.CultureInfo.InvariantCulture))),
                    sheetS.Select(v => Math.Round(v, 2)).SequenceEqual([1.0, 0.0, 1.0, 0.0, 0.5])),
                new("S′(x) at the same points (two decimals)", "0.00, 0.00, 0.00, 0.00, 0.25", string.Join(", ", sheetD.Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture))),
                    sheetD.Select(v => Math.Round(v, 2)).SequenceEqual([0.0, 0.0, 0.0, 0.0, 0.25])),
                new("logit(S(x)) = x: the logit is the sigmoid's inverse (x in [−10, 10])", "logit⁻¹(x) = S(x) = 1/(1 + e^−x)", $"max |logit(S(x)) − x| = {Fmt.E(logitGap)}", logitGap < 1e-8),
            ]),
            new Paragraph("The backward passes of softmax and sigmoid are O(n) vector-Jacobian products, S ⊙ (g − ⟨g, S⟩) and g ⊙ σ(x) σ(−x); the n × n Jacobian above is assembled only by `Jacobian.Compute`, one backward pass per row."),
            new Figure("sigmoid-steep", chart.ToSvg(), "σ(kx) for k = 1, 5, 50 against H(x): the limit is the step, with value 1/2 at 0."),
            new TableBlock(["x", "σ(x)", "σ′(x) by autograd"], satRows, "Saturation in float64: no NaN or overflow at ±1e4; σ′(±100) = e^−100 ≈ 3.7e−44 keeps its precision because the backward uses σ(x)σ(−x)"),
        ]);
    }

    public static ReportSection ScalarGraph()
    {
        // Seed 002 Q1: L = (w1 + w2) w3.
        var w = Tensor.FromArray(new[] { 1.0, 2.3, 5.7 });
        w.RequiresGrad = true;
        static Tensor L(Tensor v) => ((v.Narrow(0, 0, 1) + v.Narrow(0, 1, 1)) * v.Narrow(0, 2, 1)).Sum();
        var loss = L(w);
        var opt = new Sgd([w], lr: 0.01);
        loss.Backward();
        var grad = w.Grad!.ToArray<double>();
        opt.Step();
        var after = w.ToArray<double>();
        double lossAfter = L(w.Detach()).Item();
        bool Near(double a, double b, double tol = 5e-4) => Math.Abs(a - b) <= tol;
        return new ReportSection("seed002-q1", "Gradients of a scalar graph and one step of gradient descent (seed 002 Q1)",
        [
            new Paragraph("L = (w₁ + w₂) w₃ at w = (1, 2.3, 5.7); the tape records two ops, one reverse sweep gives every partial derivative, and `Sgd` with lr 0.01 takes one step."),
            new ComparisonBlock(
            [
                new("L", "18.81", Fmt.N(loss.Item()), Near(loss.Item(), 18.81)),
                new("∂L/∂w₁, ∂L/∂w₂", "5.7, 5.7", $"{Fmt.N(grad[0])}, {Fmt.N(grad[1])}", Near(grad[0], 5.7) && Near(grad[1], 5.7)),
                new("∂L/∂w₃", "3.3", Fmt.N(grad[2]), Near(grad[2], 3.3)),
                new("w after one step", "0.943, 2.243, 5.667", string.Join(", ", after.Select(v => Fmt.N(v, 3))), Near(after[0], 0.943) && Near(after[1], 2.243) && Near(after[2], 5.667)),
                new("L after one step (it decreases)", "18.055", Fmt.N(lossAfter, 3), Near(lossAfter, 18.055)),
            ]),
        ]);
    }

    public static ReportSection TanhAndAdam()
    {
        var x = Tensor.Uniform([1001], -8, 8, new Generator(3), DType.Float64);
        double gap = (x.Tanh() - ((x * 2.0).Sigmoid() * 2.0 - 1.0)).Abs().Max().Item();
        // Adam's bias correction: after one step from m = v = 0, m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ ±lr.
        var p = Tensor.FromArray(new[] { 1.0, 1.0, 1.0 });
        p.RequiresGrad = true;
        var adam = new Adam([p], lr: 0.01);
        (p * Tensor.FromArray(new[] { 1000.0, 1.0, 0.001 })).Sum().Backward();
        adam.Step();
        var steps = p.ToArray<double>().Select(v => 1 - v).ToArray();
        // Without correction the first step would be lr·(1 − β₁)g / (√((1 − β₂)g²) + ε) ≈ lr·0.1/0.0316 ≈ 3.16·lr.
        double uncorrected = 0.01 * 0.1 / Math.Sqrt(0.001);
        return new ReportSection("seed002-q4", "tanh as a rescaled sigmoid, and Adam's bias correction (seed 002 Q4)",
        [
            new ComparisonBlock(
            [
                new("tanh(x) = 2σ(2x) − 1 on 1,001 points in [−8, 8]", "identity", $"max difference {Fmt.E(gap)}", gap < 1e-14),
                new("Adam's first step for gradients 1000, 1, 0.001 (lr 0.01)", "≈ lr for every scale (bias-corrected)", Fmt.Vec(steps, 6), steps.All(s => Math.Abs(s - 0.01) < 1e-4),
                    $"without the correction it would be {Fmt.N(uncorrected)} — moments initialised at 0 are biased toward 0 early on"),
            ]),
            new Paragraph("Cross-entropy is maximum likelihood: for a categorical model p(y | x) = softmax(f(x))_y, the negative log-likelihood of a data set is Σ −log softmax(f(xᵢ))_{yᵢ}, exactly `CrossEntropy` with Sum reduction."),
        ]);
    }

    public static ReportSection Hessian()
    {
        var g = new Generator(11);
        double[] x = [0.5, -1.0, 2.0];
        var w = Tensor.Randn([3, 3], g, DType.Float64);
        var xt = Tensor.FromArray(x, 3, 1);
        var h = SharpGrad.Hessian.Compute(W => -W.MatMul(xt).Reshape(3).LogSoftmax(0).Narrow(0, 1, 1).Sum(), w).Reshape(9, 9).ToArray<double>();
        var eig = SymmetricEigenvalues(h, 9);
        // Independent closed form: the Hessian is (diag(p) − p pᵀ) ⊗ x xᵀ, whose eigenvalues are those of the 3 × 3
        // factor times ‖x‖² (x xᵀ has rank one), and 0 six more times.
        var p = w.Detach().MatMul(xt).Reshape(3).Softmax(0).ToArray<double>();
        double xx = x.Sum(v => v * v);
        var factor = new double[9];
        for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) factor[a * 3 + b] = (a == b ? p[a] : 0) - p[a] * p[b];
        var expected = SymmetricEigenvalues(factor, 3).Select(v => v * xx).Concat(Enumerable.Repeat(0.0, 6)).OrderBy(v => v).ToArray();
        double eigGap = eig.Zip(expected).Max(t => Math.Abs(t.First - t.Second));
        // "≥ 0" is decided up to rounding: eigenvalues that are zero in exact arithmetic come out of float64 as ±1e-17 or so.
        double tol = 1e-12 * eig.Max(Math.Abs);
        int zero = eig.Count(v => Math.Abs(v) <= tol), positive = eig.Count(v => v > tol);
        return new ReportSection("seed003-q1", "The multinomial logistic loss is convex: its Hessian is PSD (seed 003 Q1)",
        [
            new Paragraph("The Hessian of L(W) = −log softmax(W x)_y with respect to the 3 × 3 weights W, computed by double backward (`Hessian.Compute`: the Jacobian of the gradient), equals (diag(p) − p pᵀ) ⊗ x xᵀ; its eigenvalues (Jacobi rotations) are all ≥ 0."),
            new TableBlock(["eigenvalues of the 9 × 9 Hessian (float64)"], [[Fmt.Vec(eig, 6)]]),
            new ComparisonBlock(
            [
                new("eigenvalues against the closed form: those of diag(p) − p pᵀ times ‖x‖², and six zeros", "—", $"max difference {Fmt.E(eigGap)}", eigGap <= 1e-12 * Math.Max(1, eig.Max())),
                new("smallest eigenvalue", "≥ 0 (positive semi-definite)", $"{Fmt.N(eig.Min(), 12)}: ≥ 0 up to rounding", eig.Min() >= -tol,
                    $"{positive} eigenvalues are positive and {zero} are zero up to rounding (|λ| ≤ 1e-12 · max|λ| = {Fmt.E(tol)}); rank 2 = (3 − 1) · rank(x xᵀ). In exact arithmetic the zeros are exactly 0; float64 leaves residues of either sign, so a tiny negative value here is rounding, not a failure of convexity."),
            ]),
        ]);
    }

    /// <summary>Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations.</summary>
    internal static double[] SymmetricEigenvalues(double[] a, int n)
    {
        var m = (double[])a.Clone();
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k * n + p], mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p * n + k], mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                }
        }
        return Enumerable.Range(0, n).Select(i => m[i * n + i]).OrderBy(v => v).ToArray();
    }
}
