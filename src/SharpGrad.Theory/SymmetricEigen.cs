namespace SharpGrad.Theory;

/// <summary>
/// Eigenvalues of a small real symmetric matrix by the cyclic Jacobi method (NumPy's <c>eigvalsh</c> for the sizes a
/// course exercise has): every sweep zeroes each off-diagonal entry in turn with a plane rotation, until the
/// off-diagonal part is negligible.
/// </summary>
/// <remarks>
/// Unlike power iteration it needs no starting vector, so it cannot miss an eigenvalue whose eigenvector is orthogonal
/// to the start (power iteration from (1, …, 1) returns the wrong λ_max for two negatively correlated features). Each
/// rotation is orthogonal, so the eigenvalues are found to about machine precision times ‖A‖. Cost O(n³) per sweep;
/// a handful of sweeps suffice (convergence is quadratic).
/// </remarks>
public static class SymmetricEigen
{
    /// <summary>The eigenvalues of the symmetric matrix <paramref name="a"/>, in ascending order.</summary>
    /// <param name="a">An n x n symmetric matrix (only symmetry up to rounding is required; the upper triangle is used). Not modified.</param>
    /// <returns>The n eigenvalues, smallest first.</returns>
    /// <exception cref="ArgumentException">The matrix is not square, holds a non-finite value, or is not symmetric (the message names an entry).</exception>
    public static double[] Eigenvalues(double[,] a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int n = a.GetLength(0);
        if (a.GetLength(1) != n) throw new ArgumentException($"SymmetricEigen: the matrix is {n} x {a.GetLength(1)}; it must be square.", nameof(a));
        var m = (double[,])a.Clone();
        double scale = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (!double.IsFinite(m[i, j])) throw new ArgumentException($"SymmetricEigen: entry ({i}, {j}) is {m[i, j]}.", nameof(a));
                scale = Math.Max(scale, Math.Abs(m[i, j]));
            }
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (Math.Abs(m[i, j] - m[j, i]) > 1e-10 * scale)
                    throw new ArgumentException($"SymmetricEigen: the matrix is not symmetric: ({i}, {j}) = {m[i, j]} but ({j}, {i}) = {m[j, i]}.", nameof(a));

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++)
            {
                diag += m[i, i] * m[i, i];
                for (int j = i + 1; j < n; j++) off += m[i, j] * m[i, j];
            }
            if (off <= 1e-32 * (diag + off) || off == 0) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                    if (m[p, q] != 0) Rotate(m, n, p, q);
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = m[i, i];
        Array.Sort(values);
        return values;
    }

    /// <summary>
    /// Applies the rotation J(p, q, θ) on both sides (m ← Jᵀ m J) that makes m[p, q] zero. The angle is the smaller root
    /// of t² + 2 τ t − 1 = 0, |t| ≤ 1, which keeps the rotation close to the identity and the update stable.
    /// </summary>
    private static void Rotate(double[,] m, int n, int p, int q)
    {
        double apq = m[p, q];
        double tau = (m[q, q] - m[p, p]) / (2 * apq);
        double t = (tau >= 0 ? 1 : -1) / (Math.Abs(tau) + Math.Sqrt(1 + tau * tau));
        if (double.IsInfinity(tau * tau)) t = 1 / (2 * tau); // |τ| huge: the root is ≈ 1/(2τ)
        double c = 1 / Math.Sqrt(1 + t * t), s = t * c;
        for (int k = 0; k < n; k++)
        {
            // Columns p and q: m ← m J.
            double mkp = m[k, p], mkq = m[k, q];
            m[k, p] = c * mkp - s * mkq;
            m[k, q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < n; k++)
        {
            // Rows p and q: m ← Jᵀ m.
            double mpk = m[p, k], mqk = m[q, k];
            m[p, k] = c * mpk - s * mqk;
            m[q, k] = s * mpk + c * mqk;
        }
        m[p, q] = 0;
        m[q, p] = 0;
    }
}
