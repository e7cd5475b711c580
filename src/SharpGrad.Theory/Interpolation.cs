namespace SharpGrad.Theory;

/// <summary>
/// Seed 001 Q5: a network with one hidden layer of N − 1 units and a linear output interpolates any N points
/// (x_i, y_i) of the real line exactly. Two constructions, both returned as explicit weights.
/// </summary>
/// <remarks>
/// <para>
/// <b>ReLU hinges</b> (<see cref="Relu(double[], double[])"/>). Sort the points, x_1 &lt; … &lt; x_N, and let m_j = (y_{j+1} − y_j) / (x_{j+1} − x_j)
/// be the slope of segment j. Then <c>f(x) = y_1 + Σ_{j=1}^{N−1} c_j ReLU(x − x_j)</c> with c_1 = m_1 and
/// c_j = m_j − m_{j−1} is the piecewise-linear interpolant: at x_i only the hinges j &lt; i are active and their slopes
/// add up segment by segment. Weights: W1 = 1, b1_j = −x_j, W2_j = c_j, b2 = y_1. In the sheet's terms the matrix M
/// is triangular because ReLU(x_i − x_j) = 0 for i ≤ j.
/// </para>
/// <para>
/// <b>Sigmoid steps</b> (<see cref="SigmoidSteps(double[], double[], double)"/>). With midpoints μ_j = (x_j + x_{j+1}) / 2,
/// <c>f(x) = y_1 + Σ_j (y_{j+1} − y_j) σ(k (x − μ_j))</c>. As k → ∞ each σ becomes the step H(x − μ_j) (seed 001 Q1.3)
/// and f(x_i) → y_i; for finite k the error at every data point is at most
/// Σ_j |y_{j+1} − y_j| σ(−k (x_{j+1} − x_j) / 2), which falls like e^(−k·gap/2). Weights: W1 = k, b1_j = −k μ_j,
/// W2_j = y_{j+1} − y_j, b2 = y_1.
/// </para>
/// <para>
/// Repeated points with the same value are merged (the network then has fewer hidden units); the same x with two
/// different values cannot be interpolated by any function and is an error.
/// </para>
/// </remarks>
public static partial class Interpolation
{
    /// <summary>The ReLU network through the points: exact in exact arithmetic, rounding only in floating point.</summary>
    /// <param name="x">Abscissae, in any order; finite.</param>
    /// <param name="y">Values, finite, one per abscissa.</param>
    /// <returns>The interpolant, with its measured <see cref="Interpolant.MaxAbsError"/>.</returns>
    /// <exception cref="ArgumentException">Lengths differ, there are no points, a value is not finite, or one x has two values.</exception>
    public static Interpolant Relu(double[] x, double[] y)
    {
        var (xs, ys) = SortedDistinct(x, y);
        int hidden = xs.Length - 1;
        var w1 = new double[hidden];
        var b1 = new double[hidden];
        var w2 = new double[hidden];
        double previousSlope = 0;
        for (int j = 0; j < hidden; j++)
        {
            double slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
            w1[j] = 1;
            b1[j] = -xs[j];
            w2[j] = slope - previousSlope; // the hinge at x_j turns the slope from the previous segment's to this one's
            previousSlope = slope;
        }
        var net = Build(w1, b1, w2, ys[0], Activation.Relu);
        return Finish(net, InterpolationConstruction.ReluHinges, xs, ys, 0, 0, x, y);
    }

    /// <summary>The sigmoid-step network through the points with steepness <paramref name="steepness"/>.</summary>
    /// <param name="x">Abscissae, in any order; finite.</param>
    /// <param name="y">Values, finite, one per abscissa.</param>
    /// <param name="steepness">The slope k of every step, positive and finite; see <see cref="SteepnessFor"/>.</param>
    /// <returns>The interpolant, with its <see cref="Interpolant.ErrorBound"/> and measured <see cref="Interpolant.MaxAbsError"/>.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Relu(double[], double[])"/>, or the steepness is not positive and finite.</exception>
    public static Interpolant SigmoidSteps(double[] x, double[] y, double steepness)
    {
        if (!(steepness > 0) || double.IsInfinity(steepness))
            throw new ArgumentException($"SigmoidSteps: the steepness must be positive and finite; got {steepness}.", nameof(steepness));
        var (xs, ys) = SortedDistinct(x, y);
        int hidden = xs.Length - 1;
        var w1 = new double[hidden];
        var b1 = new double[hidden];
        var w2 = new double[hidden];
        for (int j = 0; j < hidden; j++)
        {
            double mid = xs[j] + (xs[j + 1] - xs[j]) / 2; // no overflow for huge x
            w1[j] = steepness;
            b1[j] = -steepness * mid;
            w2[j] = ys[j + 1] - ys[j];
        }
        var net = Build(w1, b1, w2, ys[0], Activation.Sigmoid);
        return Finish(net, InterpolationConstruction.SigmoidSteps, xs, ys, steepness, Bound(xs, ys, steepness), x, y);
    }

    /// <summary>
    /// A steepness k for which <see cref="SigmoidSteps(double[], double[], double)"/> is guaranteed (in exact arithmetic) to be within
    /// <paramref name="tolerance"/> of every data point: k = 2 ln(S / tol) / g, with S = Σ |y_{j+1} − y_j| and g the
    /// smallest gap between neighbouring x, since σ(−t) &lt; e^(−t).
    /// </summary>
    /// <param name="x">Abscissae.</param>
    /// <param name="y">Values.</param>
    /// <param name="tolerance">The wanted error bound, positive.</param>
    /// <returns>The steepness (at least 1/g, so the steps are never flatter than the data's spacing).</returns>
    public static double SteepnessFor(double[] x, double[] y, double tolerance)
    {
        if (!(tolerance > 0)) throw new ArgumentException($"SteepnessFor: the tolerance must be positive; got {tolerance}.", nameof(tolerance));
        var (xs, ys) = SortedDistinct(x, y);
        if (xs.Length == 1) return 1;
        double variation = 0, gap = double.PositiveInfinity;
        for (int j = 0; j + 1 < xs.Length; j++)
        {
            variation += Math.Abs(ys[j + 1] - ys[j]);
            gap = Math.Min(gap, xs[j + 1] - xs[j]);
        }
        return 2 * Math.Max(Math.Log(variation / tolerance), 0.5) / gap;
    }

    /// <summary>Σ_j |Δy_j| σ(−k·gap_j/2): at x_i a step j &lt; i misses 1 by σ(−k(x_i − μ_j)) and a step j ≥ i overshoots 0 by σ(−k(μ_j − x_i)).</summary>
    private static double Bound(double[] xs, double[] ys, double k)
    {
        double bound = 0;
        for (int j = 0; j + 1 < xs.Length; j++)
            bound += Math.Abs(ys[j + 1] - ys[j]) / (1 + Math.Exp(k * (xs[j + 1] - xs[j]) / 2));
        return bound;
    }

    private static TwoLayerNet Build(double[] w1, double[] b1, double[] w2, double b2, Activation activation)
    {
        int hidden = w1.Length;
        return new TwoLayerNet(Tensor.FromArray(w1, hidden, 1), Tensor.FromArray(b1, hidden),
            Tensor.FromArray(w2, 1, hidden), Tensor.FromArray(new[] { b2 }, 1), activation);
    }

    /// <summary>Measures the fit on the points as given (duplicates included) by running the network.</summary>
    private static Interpolant Finish(TwoLayerNet net, InterpolationConstruction how, double[] xs, double[] ys,
        double steepness, double bound, double[] x, double[] y)
    {
        var result = new Interpolant(net, how, xs, ys, steepness, bound, 0);
        double[] fitted = result.Evaluate(x);
        double worst = 0;
        for (int i = 0; i < x.Length; i++) worst = Math.Max(worst, Math.Abs(fitted[i] - y[i]));
        return new Interpolant(net, how, xs, ys, steepness, bound, worst);
    }

    private static (double[] X, double[] Y) SortedDistinct(double[] x, double[] y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Length != y.Length)
            throw new ArgumentException($"Interpolation: {x.Length} abscissae but {y.Length} values.", nameof(y));
        if (x.Length == 0) throw new ArgumentException("Interpolation: at least one point is needed.", nameof(x));
        for (int i = 0; i < x.Length; i++)
            if (!double.IsFinite(x[i]) || !double.IsFinite(y[i]))
                throw new ArgumentException($"Interpolation: point {i} ({x[i]}, {y[i]}) is not finite.", nameof(x));
        int[] order = Enumerable.Range(0, x.Length).ToArray();
        Array.Sort(order, (a, b) => x[a] != x[b] ? x[a].CompareTo(x[b]) : a.CompareTo(b));
        var xs = new List<double>(x.Length);
        var ys = new List<double>(x.Length);
        int previous = -1;
        foreach (int i in order)
        {
            if (previous >= 0 && x[i] == x[previous])
            {
                if (y[i] != y[previous])
                    throw new ArgumentException(
                        $"Interpolation: x = {x[i]:R} appears at positions {previous} and {i} with different values {y[previous]:R} and {y[i]:R}; no function passes through both.", nameof(y));
                continue;
            }
            xs.Add(x[i]);
            ys.Add(y[i]);
            previous = i;
        }
        return (xs.ToArray(), ys.ToArray());
    }
}
