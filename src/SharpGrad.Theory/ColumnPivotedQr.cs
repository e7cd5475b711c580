namespace SharpGrad.Theory;

/// <summary>
/// Householder QR factorisation with column pivoting, A P = Q R, in double precision (LAPACK: <c>dgeqp3</c>): the
/// rank-revealing factorisation behind <see cref="LinearCollapse.Rank(Tensor, double?)"/>.
/// </summary>
/// <remarks>
/// <para>
/// At step k the remaining column with the largest norm (over rows k..m−1) is swapped to position k and a Householder
/// reflector zeroes it below the diagonal. So |R_00| ≥ |R_11| ≥ … and |R_00| is the largest column norm of A, which
/// lies within a factor √n of the largest singular value. The column norms are recomputed at every step rather than
/// downdated: the same O(mn) per step as applying the reflector, and immune to the cancellation that downdating suffers.
/// </para>
/// <para>
/// The numerical rank is the number of |R_ii| above a tolerance, by default max(m, n) · ε · |R_00| (the rule
/// <c>numpy.linalg.matrix_rank</c> applies to singular values), where ε is the machine epsilon of the data: 2^−52 for
/// Float64 and arrays, 2^−23 for Float32 tensors (their entries carry float32 rounding).
/// </para>
/// </remarks>
public sealed class ColumnPivotedQr
{
    private readonly double[] _r;        // row-major m x n: R on and above the diagonal, Householder vectors below
    private readonly double[] _beta;     // reflector k is H_k = I − β_k v_k v_kᵀ, acting on rows k..m−1
    private readonly double[][] _v;      // v_k, of length m − k
    private readonly int[] _permutation;

    private ColumnPivotedQr(int rows, int columns, double[] data, double epsilon)
    {
        Rows = rows;
        Columns = columns;
        Epsilon = epsilon;
        _r = data;
        int steps = Math.Min(rows, columns);
        _beta = new double[steps];
        _v = new double[steps][];
        _permutation = Enumerable.Range(0, columns).ToArray();
        Factorise();
    }

    /// <summary>Number of rows m.</summary>
    public int Rows { get; }

    /// <summary>Number of columns n.</summary>
    public int Columns { get; }

    /// <summary>Machine epsilon of the factorised data (2^−52 or 2^−23).</summary>
    public double Epsilon { get; }

    /// <summary>Column j of R (and of A P) is column <c>Permutation[j]</c> of A.</summary>
    public IReadOnlyList<int> Permutation => _permutation;

    /// <summary>|R_ii| for i = 0 .. min(m, n) − 1, non-increasing.</summary>
    public double[] RDiagonal
    {
        get
        {
            var d = new double[Math.Min(Rows, Columns)];
            for (int i = 0; i < d.Length; i++) d[i] = Math.Abs(_r[i * Columns + i]);
            return d;
        }
    }

    /// <summary>The default rank tolerance max(m, n) · ε · |R_00| (0 for an empty or zero matrix).</summary>
    public double DefaultTolerance => Math.Min(Rows, Columns) == 0 ? 0 : Math.Max(Rows, Columns) * Epsilon * Math.Abs(_r[0]);

    /// <summary>The numerical rank: how many |R_ii| exceed <paramref name="tolerance"/> (default <see cref="DefaultTolerance"/>).</summary>
    /// <param name="tolerance">The threshold, or null for the default.</param>
    /// <returns>The rank, 0 .. min(m, n).</returns>
    public int Rank(double? tolerance = null)
    {
        double tol = tolerance ?? DefaultTolerance;
        if (tol < 0 || double.IsNaN(tol)) throw new ArgumentException($"Rank: the tolerance must be at least 0; got {tol}.", nameof(tolerance));
        int rank = 0;
        foreach (double d in RDiagonal) if (d > tol) rank++;
        return rank;
    }

    /// <summary>The upper-trapezoidal factor R, min(m, n) x n.</summary>
    /// <returns>A new array.</returns>
    public double[,] R()
    {
        int t = Math.Min(Rows, Columns);
        var r = new double[t, Columns];
        for (int i = 0; i < t; i++)
            for (int j = i; j < Columns; j++) r[i, j] = _r[i * Columns + j];
        return r;
    }

    /// <summary>The thin orthonormal factor Q, m x min(m, n), formed from the reflectors.</summary>
    /// <returns>A new array.</returns>
    public double[,] ThinQ()
    {
        int t = Math.Min(Rows, Columns);
        var q = new double[Rows, t];
        for (int i = 0; i < t; i++) q[i, i] = 1;
        // Q = H_0 H_1 … H_{t−1} applied to the first t columns of I, innermost reflector first.
        for (int k = t - 1; k >= 0; k--)
        {
            var v = _v[k];
            for (int j = 0; j < t; j++)
            {
                double dot = 0;
                for (int i = k; i < Rows; i++) dot += v[i - k] * q[i, j];
                double w = _beta[k] * dot;
                for (int i = k; i < Rows; i++) q[i, j] -= w * v[i - k];
            }
        }
        return q;
    }

    /// <summary>Factorises a matrix given as a 2-D array.</summary>
    /// <param name="matrix">The matrix; entries must be finite.</param>
    /// <returns>The factorisation, with ε = 2^−52.</returns>
    public static ColumnPivotedQr Factor(double[,] matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int m = matrix.GetLength(0), n = matrix.GetLength(1);
        var data = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) data[i * n + j] = matrix[i, j];
        return Create(m, n, data, DoubleEpsilon);
    }

    /// <summary>Factorises a 2-D tensor (copied to double; the tensor is not changed).</summary>
    /// <param name="matrix">A 2-D Float32 or Float64 tensor with finite entries.</param>
    /// <returns>The factorisation, with ε of the tensor's dtype.</returns>
    public static ColumnPivotedQr Factor(Tensor matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Rank != 2 || !matrix.DType.IsFloatingPoint())
            throw new ArgumentException($"ColumnPivotedQr: needs a 2-D floating-point tensor; got {matrix.DType.ToTorchName()} of shape {Shapes.Format(matrix.ShapeRef)}.", nameof(matrix));
        double eps = matrix.DType == DType.Float32 ? Math.Pow(2, -23) : DoubleEpsilon;
        return Create(matrix.ShapeRef[0], matrix.ShapeRef[1], matrix.ToArray<double>(), eps);
    }

    /// <summary>2^−52, the spacing of doubles at 1 (not <see cref="double.Epsilon"/>, which is the smallest subnormal).</summary>
    private static readonly double DoubleEpsilon = Math.Pow(2, -52);

    private static ColumnPivotedQr Create(int m, int n, double[] data, double eps)
    {
        foreach (double x in data)
            if (!double.IsFinite(x)) throw new ArgumentException("ColumnPivotedQr: the matrix has a NaN or infinite entry.", "matrix");
        return new ColumnPivotedQr(m, n, data, eps);
    }

    private void Factorise()
    {
        int m = Rows, n = Columns;
        var a = _r;
        for (int k = 0; k < _beta.Length; k++)
        {
            int pivot = k;
            double best = -1;
            for (int j = k; j < n; j++)
            {
                double norm = ColumnNorm(j, k);
                if (norm > best) { best = norm; pivot = j; } // first of equal norms: deterministic
            }
            if (pivot != k)
            {
                for (int i = 0; i < m; i++) (a[i * n + k], a[i * n + pivot]) = (a[i * n + pivot], a[i * n + k]);
                (_permutation[k], _permutation[pivot]) = (_permutation[pivot], _permutation[k]);
            }

            var v = new double[m - k];
            _v[k] = v;
            if (best == 0) continue; // the rest is exactly zero: identity reflector (β = 0), R_kk = 0
            double x0 = a[k * n + k];
            double alpha = x0 >= 0 ? -best : best; // the sign opposite to x0 avoids cancellation in v0 = x0 − α
            for (int i = k; i < m; i++) v[i - k] = a[i * n + k];
            v[0] = x0 - alpha;
            double vv = 0;
            foreach (double vi in v) vv += vi * vi;
            double beta = 2 / vv;
            _beta[k] = beta;
            a[k * n + k] = alpha;
            for (int i = k + 1; i < m; i++) a[i * n + k] = 0;
            for (int j = k + 1; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i - k] * a[i * n + j];
                double w = beta * dot;
                for (int i = k; i < m; i++) a[i * n + j] -= w * v[i - k];
            }
        }
    }

    /// <summary>‖A[from.., j]‖₂, scaled by the largest entry so that squares neither overflow nor underflow.</summary>
    private double ColumnNorm(int j, int from)
    {
        int n = Columns;
        double scale = 0;
        for (int i = from; i < Rows; i++) scale = Math.Max(scale, Math.Abs(_r[i * n + j]));
        if (scale == 0) return 0;
        double sum = 0;
        for (int i = from; i < Rows; i++)
        {
            double x = _r[i * n + j] / scale;
            sum += x * x;
        }
        return scale * Math.Sqrt(sum);
    }
}
