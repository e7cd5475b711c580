using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 002 Q6: linear stacks collapse to one layer; ranks by column-pivoted QR against known-rank matrices.</summary>
public class LinearCollapseTests
{
    private static double[,] SumOfOuterProducts(int m, int n, int rank, Generator g, double scale = 1)
    {
        var a = new double[m, n];
        for (int r = 0; r < rank; r++)
        {
            var u = Enumerable.Range(0, m).Select(_ => g.NextNormal()).ToArray();
            var v = Enumerable.Range(0, n).Select(_ => g.NextNormal()).ToArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) a[i, j] += scale * u[i] * v[j];
        }
        return a;
    }

    private static Tensor ToTensor(double[,] a)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        var data = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) data[i * n + j] = a[i, j];
        return Tensor.FromArray(data, m, n);
    }

    [Theory]
    [InlineData(8, 6)]
    [InlineData(6, 8)]
    [InlineData(10, 10)]
    [InlineData(1, 5)]
    public void RankOfSumsOfOuterProducts(int m, int n)
    {
        var g = new Generator((ulong)(m * 31 + n));
        for (int rank = 0; rank <= Math.Min(m, n); rank++)
        {
            var a = SumOfOuterProducts(m, n, rank, g);
            Assert.Equal(rank, LinearCollapse.Rank(a));
            Assert.Equal(rank, LinearCollapse.Rank(ToTensor(a)));
            var big = SumOfOuterProducts(m, n, rank, g, 1e150); // scaling must not matter
            Assert.Equal(rank, LinearCollapse.Rank(big));
        }
    }

    [Fact]
    public void UVPlusWZIsRankTwo()
    {
        double[] u = [1, 2, 3, 4], v = [1, 0, -1], w = [0, 1, 0, 1], z = [2, 2, 2];
        var a = new double[4, 3];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) a[i, j] = u[i] * v[j] + w[i] * z[j];
        Assert.Equal(2, LinearCollapse.Rank(a));
    }

    [Fact]
    public void FactorisationReconstructsTheMatrix()
    {
        var g = new Generator(9);
        var a = SumOfOuterProducts(7, 5, 5, g);
        var qr = ColumnPivotedQr.Factor(a);
        double[,] q = qr.ThinQ(), r = qr.R();
        var diag = qr.RDiagonal;
        for (int i = 1; i < diag.Length; i++) Assert.True(diag[i] <= diag[i - 1] * (1 + 1e-12), "pivoting keeps |R_ii| non-increasing");
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 5; j++)
            {
                double qrij = 0;
                for (int l = 0; l < 5; l++) qrij += q[i, l] * r[l, j];
                Assert.Equal(a[i, qr.Permutation[j]], qrij, 12); // A P = Q R
            }
        for (int c1 = 0; c1 < 5; c1++)
            for (int c2 = 0; c2 < 5; c2++)
            {
                double dot = 0;
                for (int i = 0; i < 7; i++) dot += q[i, c1] * q[i, c2];
                Assert.Equal(c1 == c2 ? 1.0 : 0.0, dot, 12); // QᵀQ = I
            }
    }

    [Fact]
    public void ToleranceAndDTypeEpsilon()
    {
        var a = new double[,] { { 1, 0 }, { 0, 1e-10 } };
        Assert.Equal(2, LinearCollapse.Rank(a));
        Assert.Equal(1, LinearCollapse.Rank(a, tolerance: 1e-8));
        var qr = ColumnPivotedQr.Factor(a);
        Assert.Equal(2 * Math.Pow(2, -52), qr.DefaultTolerance);
        Assert.Equal(0, LinearCollapse.Rank(new double[3, 4]));
        // A rank-2 matrix rounded to float32 has float32-sized residue; the float32 epsilon sees through it.
        var g = new Generator(12);
        var rank2 = ToTensor(SumOfOuterProducts(9, 9, 2, g)).To(DType.Float32);
        Assert.Equal(2, LinearCollapse.Rank(rank2));
    }

    [Fact]
    public void Seed002Q6_TenToTwoToTenIsRankTwo()
    {
        var g = new Generator(2002);
        var w1 = Tensor.Randn([2, 10], g, DType.Float64);
        var w2 = Tensor.Randn([10, 2], g, DType.Float64);
        var layers = new[] { new LinearLayer(w1, Tensor.Randn([2], g, DType.Float64)), new LinearLayer(w2, Tensor.Randn([10], g, DType.Float64)) };
        var collapsed = LinearCollapse.Collapse(layers);
        Assert.Equal([10, 10], collapsed.Weight.Shape);
        Assert.Equal(2, collapsed.Rank);
        Assert.Equal([2, 2], collapsed.FactorRanks);
        Assert.Equal(2, collapsed.RankBound);
        Assert.Equal(2, collapsed.NarrowestWidth);
        var x = Tensor.Randn([50, 10], g, DType.Float64);
        var diff = (collapsed.Forward(x) - LinearCollapse.Forward(layers, x)).Abs().Max().Item();
        Assert.True(diff < 1e-12, $"max difference {diff}");
    }

    [Fact]
    public void DeepStacksCollapseAndRankNeverExceedsTheBound()
    {
        var g = new Generator(77);
        int[] widths = [6, 9, 4, 12, 7, 5];
        var layers = new List<LinearLayer>();
        for (int i = 0; i + 1 < widths.Length; i++)
            layers.Add(new LinearLayer(Tensor.Randn([widths[i + 1], widths[i]], g, DType.Float64), i == 2 ? null : Tensor.Randn([widths[i + 1]], g, DType.Float64)));
        // A rank-deficient factor: layer 3 (12 -> 7) of rank 2.
        layers[3] = new LinearLayer(ToTensor(SumOfOuterProducts(7, 12, 2, g)), layers[3].Bias);
        var c = LinearCollapse.Collapse(layers);
        Assert.Equal([5, 6], c.Weight.Shape);
        Assert.Equal(2, c.RankBound);
        Assert.True(c.Rank <= c.RankBound);
        Assert.Equal(2, c.Rank);
        Assert.Equal(4, c.NarrowestWidth);
        var x = Tensor.Randn([30, 6], g, DType.Float64);
        Assert.True((c.Forward(x) - LinearCollapse.Forward(layers, x)).Abs().Max().Item() < 1e-10);
        // The bias by the sheet's recursion, computed with plain loops.
        double[] b = new double[widths[1]];
        for (int i = 0; i < layers.Count; i++)
        {
            var w = layers[i].Weight.ToArray<double>();
            int rows = widths[i + 1], cols = widths[i];
            var next = new double[rows];
            double[] bias = layers[i].Bias?.ToArray<double>() ?? new double[rows];
            for (int r = 0; r < rows; r++)
            {
                next[r] = bias[r];
                if (i > 0) for (int q = 0; q < cols; q++) next[r] += w[r * cols + q] * b[q];
            }
            b = next;
        }
        TestUtil.AllClose(b, c.Bias, 1e-12, 1e-12);
    }

    [Fact]
    public void MismatchedStacksAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => LinearCollapse.Collapse([
            new LinearLayer(Tensor.Zeros([3, 4], DType.Float64)),
            new LinearLayer(Tensor.Zeros([2, 5], DType.Float64))]));
        Assert.Contains("layer 1", e.Message);
        Assert.Contains("[2, 5]", e.Message);
        Assert.Contains("[3, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => LinearCollapse.Collapse([]));
        Assert.Throws<ArgumentException>(() => LinearCollapse.Collapse([new LinearLayer(Tensor.Zeros([3, 4], DType.Float64), Tensor.Zeros([4], DType.Float64))]));
    }
}
