namespace SharpGrad.Theory;

/// <summary>
/// A network built by <see cref="Interpolation"/> through N points of R^D: the 1-D construction applied to the points'
/// projections t_i = u · x_i on a direction u that keeps distinct points apart, so that
/// <c>f(x) = g(u · x)</c> with g the 1-D interpolant. Hidden units: one fewer than the distinct points.
/// </summary>
public sealed record ProjectedInterpolant
{
    internal ProjectedInterpolant(double[] direction, Interpolant line, TwoLayerNet network, double maxAbsError)
    {
        Direction = direction;
        Line = line;
        Network = network;
        MaxAbsError = maxAbsError;
    }

    /// <summary>The unit direction u the points are projected on.</summary>
    public IReadOnlyList<double> Direction { get; }

    /// <summary>The 1-D construction through (u · x_i, y_i); its <see cref="Interpolant.ErrorBound"/> holds here too.</summary>
    public Interpolant Line { get; }

    /// <summary>The network on R^D: W1 = w1 uᵀ [M, D] (w1 the 1-D first-layer weights), b1, W2 and b2 as in <see cref="Line"/>.</summary>
    public TwoLayerNet Network { get; }

    /// <summary>max_i |net(x_i) − y_i| over the given points, measured by running <see cref="Network"/> in float64.</summary>
    public double MaxAbsError { get; }

    /// <summary>The network's outputs at the rows of <paramref name="points"/> [B, D], in one batch.</summary>
    /// <param name="points">The inputs, one per row.</param>
    /// <returns>net(x_i) for each row.</returns>
    /// <exception cref="ArgumentException">The points do not have D columns.</exception>
    public double[] Evaluate(double[,] points)
    {
        ArgumentNullException.ThrowIfNull(points);
        int n = points.GetLength(0), d = points.GetLength(1);
        if (d != Network.InputSize) throw new ArgumentException($"ProjectedInterpolant.Evaluate: the points have {d} coordinates; the network takes {Network.InputSize}.", nameof(points));
        if (n == 0) return [];
        using var _ = Autograd.NoGrad();
        return Network.Forward(Tensor.FromArray(Flatten(points), n, d)).ToArray<double>();
    }

    internal static double[] Flatten(double[,] m)
    {
        var flat = new double[m.Length];
        Buffer.BlockCopy(m, 0, flat, 0, flat.Length * sizeof(double));
        return flat;
    }
}

public static partial class Interpolation
{
    /// <summary>
    /// Seed 001 Q5 in R^D: the ReLU network with N − 1 hidden units through N points (x_i, y_i), x_i ∈ R^D. Distinct
    /// points project to distinct t_i = u · x_i (<see cref="SeparatingDirection"/>), the 1-D hinges interpolate
    /// (t_i, y_i) exactly, and f(x) = Σ_j c_j ReLU(u · x − t_j) + y_1 is that interpolant composed with the projection,
    /// so f(x_i) = y_i exactly in exact arithmetic.
    /// </summary>
    /// <param name="x">The points, one per row [N, D]; finite.</param>
    /// <param name="y">The values, one per point; finite.</param>
    /// <returns>The interpolant with its measured error.</returns>
    /// <exception cref="ArgumentException">No points, sizes differ, a value is not finite, or one point has two different values.</exception>
    public static ProjectedInterpolant Relu(double[,] x, double[] y)
    {
        var u = SeparatingDirection(x, y);
        var t = Project(x, u);
        return Lift(x, y, u, Relu(t, y));
    }

    /// <summary>
    /// The sigmoid-step construction in R^D, through the projections as <see cref="Relu(double[,], double[])"/>; its
    /// error bound is that of the 1-D steps on (u · x_i, y_i).
    /// </summary>
    /// <param name="x">The points, one per row [N, D]; finite.</param>
    /// <param name="y">The values, one per point; finite.</param>
    /// <param name="steepness">The steepness k, positive and finite, or null for an error bound of <paramref name="tolerance"/>.</param>
    /// <param name="tolerance">The wanted error bound when <paramref name="steepness"/> is null.</param>
    /// <returns>The interpolant with its bound (<see cref="ProjectedInterpolant.Line"/>) and measured error.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Relu(double[,], double[])"/>, or a bad steepness or tolerance.</exception>
    public static ProjectedInterpolant SigmoidSteps(double[,] x, double[] y, double? steepness = null, double tolerance = 1e-6)
    {
        var u = SeparatingDirection(x, y);
        var t = Project(x, u);
        return Lift(x, y, u, SigmoidSteps(t, y, steepness ?? SteepnessFor(t, y, tolerance)));
    }

    /// <summary>
    /// A unit direction u on which the distinct rows of <paramref name="x"/> have distinct projections u · x_i, chosen
    /// among fixed pseudo-random directions (a deterministic seed) as the one with the largest smallest gap between
    /// neighbouring projections relative to their spread: almost every direction separates finitely many points, and
    /// a wide gap keeps the hinges (and the sigmoid steps' steepness) well conditioned.
    /// </summary>
    /// <param name="x">The points, one per row [N, D].</param>
    /// <param name="y">The values, used only to check that repeated points agree.</param>
    /// <returns>u, of length D and norm 1.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Relu(double[,], double[])"/>, or no tried direction separates the points.</exception>
    public static double[] SeparatingDirection(double[,] x, double[] y)
    {
        Check(x, y);
        int n = x.GetLength(0), d = x.GetLength(1);
        if (d == 1) return [1.0];
        var distinct = DistinctRows(x, y);
        var g = new Generator(0x5EEDF00DUL);
        double[]? best = null;
        double bestScore = 0;
        for (int attempt = 0; attempt < 64; attempt++)
        {
            var u = new double[d];
            double norm = 0;
            for (int k = 0; k < d; k++) { u[k] = g.NextNormal(); norm += u[k] * u[k]; }
            norm = Math.Sqrt(norm);
            for (int k = 0; k < d; k++) u[k] /= norm;
            var t = distinct.Select(i => Dot(x, i, u)).OrderBy(v => v).ToArray();
            double spread = t[^1] - t[0], gap = double.PositiveInfinity;
            for (int i = 1; i < t.Length; i++) gap = Math.Min(gap, t[i] - t[i - 1]);
            double score = t.Length < 2 ? 1 : spread > 0 ? gap / spread : 0;
            if (score > bestScore) { bestScore = score; best = u; }
            if (attempt >= 15 && best is not null) break; // 16 tries, more only while none separates
        }
        return best ?? throw new ArgumentException($"Interpolation: none of 64 directions separates the {distinct.Count} distinct points of R^{d}; they are too close to one another for double precision.", nameof(x));
    }

    private static void Check(double[,] x, double[] y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        int n = x.GetLength(0), d = x.GetLength(1);
        if (n != y.Length) throw new ArgumentException($"Interpolation: {n} points but {y.Length} values.", nameof(y));
        if (n == 0 || d == 0) throw new ArgumentException($"Interpolation: at least one point with at least one coordinate is needed; got {n} x {d}.", nameof(x));
        for (int i = 0; i < n; i++)
        {
            if (!double.IsFinite(y[i])) throw new ArgumentException($"Interpolation: the value of point {i} is {y[i]}, not finite.", nameof(y));
            for (int k = 0; k < d; k++)
                if (!double.IsFinite(x[i, k])) throw new ArgumentException($"Interpolation: coordinate {k} of point {i} is {x[i, k]}, not finite.", nameof(x));
        }
    }

    /// <summary>The first index of each distinct row; a repeated row with another value is an error naming both.</summary>
    private static List<int> DistinctRows(double[,] x, double[] y)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var keep = new List<int>(n);
        var seen = new Dictionary<string, int>(n);
        for (int i = 0; i < n; i++)
        {
            var key = string.Join(",", Enumerable.Range(0, d).Select(k => BitConverter.DoubleToInt64Bits(x[i, k] + 0.0))); // +0.0: −0 is 0
            if (seen.TryGetValue(key, out int first))
            {
                if (y[first] != y[i])
                    throw new ArgumentException($"Interpolation: points {first} and {i} are the same point of R^{d} with different values {y[first]:R} and {y[i]:R}; no function passes through both.", nameof(y));
                continue;
            }
            seen[key] = i;
            keep.Add(i);
        }
        return keep;
    }

    private static double Dot(double[,] x, int row, double[] u)
    {
        double s = 0;
        for (int k = 0; k < u.Length; k++) s += x[row, k] * u[k];
        return s;
    }

    private static double[] Project(double[,] x, double[] u)
    {
        var t = new double[x.GetLength(0)];
        for (int i = 0; i < t.Length; i++) t[i] = Dot(x, i, u);
        return t;
    }

    /// <summary>The 1-D network composed with the projection: W1 ← w1 uᵀ; then the fit measured on the points themselves.</summary>
    private static ProjectedInterpolant Lift(double[,] x, double[] y, double[] u, Interpolant line)
    {
        var (w1, b1, w2, b2, activation) = line.Network;
        double[] w = w1.ToArray<double>();
        int m = w.Length, d = u.Length;
        var lifted = new double[m * d];
        for (int j = 0; j < m; j++) for (int k = 0; k < d; k++) lifted[j * d + k] = w[j] * u[k];
        var net = new TwoLayerNet(Tensor.FromArray(lifted, m, d), b1, w2, b2, activation);
        var result = new ProjectedInterpolant(u, line, net, 0);
        double[] fitted = result.Evaluate(x);
        double worst = 0;
        for (int i = 0; i < y.Length; i++) worst = Math.Max(worst, Math.Abs(fitted[i] - y[i]));
        return new ProjectedInterpolant(u, line, net, worst);
    }
}
