namespace SharpGrad;

/// <summary>The outcome of <see cref="GradCheck.Check(Func{Tensor[], Tensor}, Tensor[])"/>: the worst disagreement between the analytic and the numerical gradient.</summary>
/// <param name="Passed">True when every element is within tolerance and two backward passes agreed exactly.</param>
/// <param name="MaxAbsError">Largest |analytic − numeric| over every input element and output direction.</param>
/// <param name="MaxRelError">Largest |analytic − numeric| / max(1, |numeric|): relative for large derivatives, absolute near 0.</param>
/// <param name="WorstInput">Which input holds the worst element.</param>
/// <param name="WorstIndex">The worst element's flat (row-major) index in that input.</param>
/// <param name="Analytic">The analytic derivative at the worst element.</param>
/// <param name="Numeric">The central-difference derivative at the worst element.</param>
/// <param name="Message">A one-line explanation when the check failed, otherwise null.</param>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, double MaxRelError, int WorstInput, int WorstIndex,
    double Analytic, double Numeric, string? Message)
{
    /// <summary>A one-line summary naming the worst element.</summary>
    public override string ToString() =>
        $"{(Passed ? "passed" : "FAILED")}: max rel error {MaxRelError:E2} (abs {MaxAbsError:E2}) at input {WorstInput}[{WorstIndex}]: analytic {Analytic:G10} vs numeric {Numeric:G10}" +
        (Message is null ? "" : $" — {Message}");
}

/// <summary>
/// Finite-difference verification of gradients (PyTorch: <c>torch.autograd.gradcheck</c>). Every input is converted to
/// float64; each element is perturbed by ±eps and the central difference (f(x+eps) − f(x−eps)) / 2eps is compared with
/// the gradient the tape computes. For outputs of up to 64 elements the whole Jacobian is compared, row by row; larger
/// outputs are checked through three random projections Σ v ⊙ f(x), which tests the same vector-Jacobian products.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks <paramref name="f"/> at <paramref name="inputs"/> with eps = 1e-6 and tolerance 1e-6.</summary>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, inputs, 1e-6, 1e-6);

    /// <summary>Checks <paramref name="f"/> with the given step and tolerance on the relative error (see <see cref="GradCheckResult.MaxRelError"/>).</summary>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "GradCheck: eps must be positive.");
        var xs = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].DType.IsFloatingPoint())
                throw new ArgumentException($"GradCheck: input {i} is {inputs[i].DType.ToTorchName()}; only floating-point inputs can be checked.", nameof(inputs));
            xs[i] = new Tensor(inputs[i].To(DType.Float64).Detach().ToArray<double>(), inputs[i].ShapeRef, DType.Float64) { RequiresGrad = true };
        }

        Tensor y0 = f(xs);
        if (y0.DType != DType.Float64)
            return Fail("the function's output is " + y0.DType.ToTorchName() + "; it must stay in float64 for a meaningful check");
        int outN = y0.Numel;
        var gen = new Generator(12345UL);
        // Directions v for the vector-Jacobian products: unit vectors (whole Jacobian) or random projections.
        var directions = new List<double[]>();
        if (outN <= 64)
            for (int r = 0; r < outN; r++) { var v = new double[outN]; v[r] = 1; directions.Add(v); }
        else
            for (int r = 0; r < 3; r++) { var v = new double[outN]; for (int j = 0; j < outN; j++) v[j] = gen.NextNormal(); directions.Add(v); }

        double worstRel = 0, worstAbs = 0, worstA = 0, worstN = 0;
        int worstInput = -1, worstIndex = -1;
        var outShape = y0.ShapeRef;
        var numericBase = new List<double[][]>(); // per input, per element: the Jacobian column
        for (int i = 0; i < xs.Length; i++)
        {
            var data = xs[i].Array<double>();
            var cols = new double[data.Length][];
            for (int e = 0; e < data.Length; e++)
            {
                double orig = data[e];
                double[] plus, minus;
                using (Autograd.NoGrad())
                {
                    data[e] = orig + eps; plus = f(xs).ToArray<double>();
                    data[e] = orig - eps; minus = f(xs).ToArray<double>();
                }
                data[e] = orig;
                var col = new double[outN];
                for (int j = 0; j < outN; j++) col[j] = (plus[j] - minus[j]) / (2 * eps);
                cols[e] = col;
            }
            numericBase.Add(cols);
        }

        foreach (var v in directions)
        {
            var vt = new Tensor(v, outShape, DType.Float64);
            var y = f(xs);
            if (!y.RequiresGrad)
            {
                // No input influences the output through the tape: the analytic gradient is 0 everywhere.
                for (int i = 0; i < xs.Length; i++) Compare(i, new double[xs[i].Numel], v);
                continue;
            }
            var grads1 = Autograd.Grad(y, xs, vt, retainGraph: true, allowUnused: true);
            var grads2 = Autograd.Grad(y, xs, vt, allowUnused: true);
            for (int i = 0; i < xs.Length; i++)
            {
                var g1 = grads1[i].ToArray<double>();
                if (!g1.AsSpan().SequenceEqual(grads2[i].ToArray<double>()))
                    return Fail($"two backward passes over the same graph gave different gradients for input {i} (non-deterministic backward)");
                Compare(i, g1, v);
            }
        }

        bool passed = worstRel <= tolerance;
        return new GradCheckResult(passed, worstAbs, worstRel, worstInput, worstIndex, worstA, worstN,
            passed ? null : $"relative error {worstRel:E2} exceeds the tolerance {tolerance:E1}");

        void Compare(int input, double[] analytic, double[] v)
        {
            var cols = numericBase[input];
            for (int e = 0; e < analytic.Length; e++)
            {
                double num = 0;
                for (int j = 0; j < outN; j++) num += v[j] * cols[e][j];
                double a = analytic[e], abs = Math.Abs(a - num);
                double rel = double.IsNaN(abs) ? double.PositiveInfinity : abs / Math.Max(1.0, Math.Abs(num));
                if (worstInput < 0 || rel > worstRel) (worstRel, worstInput, worstIndex, worstA, worstN) = (rel, input, e, a, num);
                worstAbs = Math.Max(worstAbs, double.IsNaN(abs) ? double.PositiveInfinity : abs);
            }
        }

        GradCheckResult Fail(string message) => new(false, double.NaN, double.NaN, -1, -1, double.NaN, double.NaN, message);
    }
}
