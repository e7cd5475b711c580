using SharpGrad.Cli.Exercises;
using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>The Jacobi eigen-solver against matrices whose eigenvalues are known in closed form, and linreg's stability limit.</summary>
public class SymmetricEigenTests
{
    [Fact]
    public void RotatedDiagonalMatricesGiveBackTheirDiagonal()
    {
        // A = Q diag(λ) Qᵀ with Q a product of plane rotations: the eigenvalues are λ exactly.
        var rng = new Random(7);
        foreach (int n in new[] { 1, 2, 3, 5, 8 })
        {
            var lambda = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 20 - 10).ToArray();
            var a = new double[n, n];
            for (int i = 0; i < n; i++) a[i, i] = lambda[i];
            for (int r = 0; r < 3 * n; r++)
            {
                if (n < 2) break;
                int p = rng.Next(n), q = (p + 1 + rng.Next(n - 1)) % n;
                double t = rng.NextDouble() * 2 * Math.PI, c = Math.Cos(t), s = Math.Sin(t);
                for (int k = 0; k < n; k++) { double x = a[k, p], y = a[k, q]; a[k, p] = c * x - s * y; a[k, q] = s * x + c * y; }
                for (int k = 0; k < n; k++) { double x = a[p, k], y = a[q, k]; a[p, k] = c * x - s * y; a[q, k] = s * x + c * y; }
            }
            for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) a[j, i] = a[i, j] = (a[i, j] + a[j, i]) / 2;
            Array.Sort(lambda);
            TestUtil.AllClose(lambda, SymmetricEigen.Eigenvalues(a), 1e-12, 1e-12);
        }
    }

    [Fact]
    public void TwoByTwoClosedForm()
    {
        // [[a, b], [b, c]]: (a + c)/2 ± sqrt(((a − c)/2)² + b²).
        double a = 3, b = -2, c = -1, mid = (a + c) / 2, r = Math.Sqrt((a - c) * (a - c) / 4 + b * b);
        TestUtil.AllClose([mid - r, mid + r], SymmetricEigen.Eigenvalues(new double[,] { { a, b }, { b, c } }), 1e-14, 1e-14);
    }

    [Fact]
    public void NonSymmetricOrNonFiniteIsAnError()
    {
        Assert.Contains("symmetric", Assert.Throws<ArgumentException>(() => SymmetricEigen.Eigenvalues(new double[,] { { 1, 2 }, { 3, 4 } })).Message);
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Eigenvalues(new double[,] { { 1, double.NaN }, { double.NaN, 4 } }));
        Assert.Throws<ArgumentException>(() => SymmetricEigen.Eigenvalues(new double[2, 3]));
    }

    [Theory]
    [InlineData(-0.04)] // the case: power iteration from (1, 1, 1) gave 1.0 instead of 1/1.04 = 0.9615
    [InlineData(-0.9)]
    [InlineData(0.5)]
    [InlineData(0)]
    public void MaxStableLearningRateWithCorrelatedFeatures(double rho)
    {
        // Standardised x1, x2 with correlation ρ, and the intercept column: AᵀA / n = [[1, ρ, 0], [ρ, 1, 0], [0, 0, 1]],
        // eigenvalues 1 + |ρ|, 1 − |ρ|, 1, so the limit n / λ_max is 1 / (1 + |ρ|).
        double[] x1 = [1, 1, -1, -1], z = [1, -1, 1, -1];
        var a = new double[4, 3];
        for (int i = 0; i < 4; i++)
        {
            a[i, 0] = x1[i];
            a[i, 1] = rho * x1[i] + Math.Sqrt(1 - rho * rho) * z[i];
            a[i, 2] = 1;
        }
        Assert.Equal(1 / (1 + Math.Abs(rho)), LinearRegression.MaxStableLearningRate(a), 12);
    }
}
