using System.Text.Json;
using SharpGrad.Cli.Exercises;
using SharpGrad.Data;
using SharpGrad.Theory;
using static SharpGrad.Tests.Exercises.CliRunner;

namespace SharpGrad.Tests.Exercises;

/// <summary>
/// <c>sharpgrad construct interpolate|convert|collapse</c> (seed 001 Q4–Q5, seed 002 Q4/Q6). The networks printed as JSON
/// are re-evaluated here with plain loops and Math.Tanh / Math.Exp, not with SharpGrad.
/// </summary>
[Collection(CliConsoleCollection.Name)]
public class ConstructCommandTests
{
    private static double[][] Matrix(JsonElement e) => e.EnumerateArray().Select(Doubles).ToArray();

    /// <summary>y = W2 φ(W1 x + b1) + b2 from JSON parameters, by hand.</summary>
    private static double[] Evaluate(JsonElement parameters, Func<double, double> phi, double[] x)
    {
        var w1 = Matrix(parameters.GetProperty("W1"));
        var b1 = Doubles(parameters.GetProperty("b1"));
        var w2 = Matrix(parameters.GetProperty("W2"));
        var b2 = Doubles(parameters.GetProperty("b2"));
        var h = w1.Select((row, j) => phi(row.Zip(x, (a, v) => a * v).Sum() + b1[j])).ToArray();
        return w2.Select((row, k) => row.Zip(h, (a, v) => a * v).Sum() + b2[k]).ToArray();
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    [Theory]
    [InlineData("relu", 3, 10)]
    [InlineData("sigmoid", 5, 12)]
    public void Interpolate_RandomPointsInRd(string activation, int dim, int n)
    {
        var j = Json("construct", "interpolate", "--dim", dim.ToString(), "--random", n.ToString(), "--activation", activation, "--seed", "4");
        Assert.Equal(n, j.GetProperty("points").GetInt32());
        Assert.Equal(dim, j.GetProperty("dim").GetInt32());
        Assert.Equal(n - 1, j.GetProperty("hidden_units").GetInt32());
        var x = j.GetProperty("x").EnumerateArray().Select(Doubles).ToArray();
        var y = Doubles(j.GetProperty("y"));
        Assert.All(x, row => Assert.Equal(dim, row.Length));
        var net = j.GetProperty(activation);
        Assert.Equal(JsonValueKind.Null, j.GetProperty(activation == "relu" ? "sigmoid" : "relu").ValueKind);
        Func<double, double> phi = activation == "relu" ? z => Math.Max(z, 0) : Sigmoid;
        double tolerance = activation == "relu" ? 1e-9 : net.GetProperty("error_bound").GetDouble() + 1e-12;
        for (int i = 0; i < n; i++) Assert.Equal(y[i], Evaluate(net.GetProperty("parameters"), phi, x[i])[0], tolerance);
        var (code, stdout, _) = Run("construct", "interpolate", "--dim", dim.ToString(), "--random", n.ToString(), "--activation", activation);
        Assert.Equal(0, code);
        Assert.Contains($"{n} points of R^{dim}, {n - 1} hidden units", stdout);
        FailsWith("--random", "construct", "interpolate", "--dim", "3");
        FailsWith("--activation", "construct", "interpolate", "--random", "4", "--activation", "tanh");
    }

    [Fact]
    public void Interpolate_GivenPoints()
    {
        double[] x = [0, 1, 2, 3], y = [1, 3, 2, 5];
        var j = Json("construct", "interpolate", "--x", "0,1,2,3", "--y", "1,3,2,5");
        Assert.Equal(3, j.GetProperty("hidden_units").GetInt32());
        Assert.True(j.GetProperty("max_abs_error").GetDouble() < 1e-9);
        var sigmoid = j.GetProperty("sigmoid");
        Assert.True(sigmoid.GetProperty("max_abs_error").GetDouble() <= sigmoid.GetProperty("error_bound").GetDouble() + 1e-12);
        Assert.True(sigmoid.GetProperty("steepness").GetDouble() > 0);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(y[i], Evaluate(j.GetProperty("relu").GetProperty("parameters"), z => Math.Max(z, 0), [x[i]])[0], 1e-9);
            Assert.Equal(y[i], Evaluate(sigmoid.GetProperty("parameters"), Sigmoid, [x[i]])[0], 1e-5);
        }
        // Between the points the ReLU network is the piecewise-linear interpolant.
        Assert.Equal(2.5, Evaluate(j.GetProperty("relu").GetProperty("parameters"), z => Math.Max(z, 0), [1.5])[0], 1e-12);
    }

    [Fact]
    public void Interpolate_RandomPointsAndTheSigmoidLimit()
    {
        var j = Json("construct", "interpolate", "--points", "12", "--seed", "3");
        Assert.Equal(12, j.GetProperty("points").GetInt32());
        Assert.Equal(11, j.GetProperty("hidden_units").GetInt32());
        Assert.True(j.GetProperty("max_abs_error").GetDouble() < 1e-9);
        var sweep = j.GetProperty("sigmoid").GetProperty("sweep").EnumerateArray()
            .Select(s => (K: s.GetProperty("steepness").GetDouble(), Err: s.GetProperty("max_abs_error").GetDouble(), Bound: s.GetProperty("error_bound").GetDouble())).ToArray();
        Assert.True(sweep.Length >= 5);
        foreach (var s in sweep) Assert.True(s.Err <= s.Bound + 1e-12, $"k = {s.K}: error {s.Err} above bound {s.Bound}");
        Assert.True(sweep[^1].Err < 1e-12 && sweep[0].Err > 1e-3, "the sigmoid network approaches the points only as k grows");
    }

    [Fact]
    public void Interpolate_FromCsvEqualsTheSamePointsGiven()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-interp-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, "x,y\n3,5\n0,1\n2,2\n1,3\n");
        try
        {
            var fromFile = Json("construct", "interpolate", "--data", path);
            var given = Json("construct", "interpolate", "--x", "0,1,2,3", "--y", "1,3,2,5");
            Assert.Equal(given.GetProperty("relu").GetRawText(), fromFile.GetProperty("relu").GetRawText());
            Assert.Equal(3, fromFile.GetProperty("hidden_units").GetInt32());
            File.WriteAllText(path, "a,b\n1,2\n");
            FailsWith("column 'x'", "construct", "interpolate", "--data", path);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Interpolate_UserErrors()
    {
        FailsWith("abscissae", "construct", "interpolate", "--x", "1,2", "--y", "1");
        FailsWith("different values", "construct", "interpolate", "--x", "1,1", "--y", "1,2");
        FailsWith("one way", "construct", "interpolate", "--x", "1,2", "--y", "1,2", "--points", "3");
        FailsWith("together", "construct", "interpolate", "--x", "1,2");
        FailsWith("'q'", "construct", "interpolate", "--x", "1,q", "--y", "1,2");
        FailsWith("steepness", "construct", "interpolate", "--steepness", "-1");
        FailsWith("nope.csv", "construct", "interpolate", "--data", "/nonexistent/nope.csv");
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("sigmoid")]
    public void Convert_RandomNetwork(string to)
    {
        var j = Json("construct", "convert", "--to", to, "--inputs", "4", "--hidden", "7", "--outputs", "3", "--seed", "5", "--samples", "500");
        Assert.Equal(to, j.GetProperty("to").GetString());
        Assert.True(j.GetProperty("max_abs_difference").GetDouble() < 1e-12);
        var src = j.GetProperty("source_parameters");
        var dst = j.GetProperty("parameters");
        // The sheet's map for sigmoid -> tanh: W1/2, b1/2, W2/2 (and back: doubled), exact in binary floating point.
        double factor = to == "tanh" ? 0.5 : 2;
        Assert.Equal(Matrix(src.GetProperty("W1")).SelectMany(r => r).Select(v => v * factor), Matrix(dst.GetProperty("W1")).SelectMany(r => r));
        Assert.Equal(Doubles(src.GetProperty("b1")).Select(v => v * factor), Doubles(dst.GetProperty("b1")));
        Func<double, double> from = to == "tanh" ? Sigmoid : Math.Tanh, into = to == "tanh" ? Math.Tanh : Sigmoid;
        var g = new Generator(9);
        for (int i = 0; i < 50; i++)
        {
            double[] x = Enumerable.Range(0, 4).Select(_ => 3 * g.NextNormal()).ToArray();
            double[] a = Evaluate(src, from, x), b = Evaluate(dst, into, x);
            for (int k = 0; k < 3; k++) Assert.True(Math.Abs(a[k] - b[k]) < 1e-12, $"{a[k]} vs {b[k]}");
        }
    }

    [Fact]
    public void Convert_FromNpz()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-conv-{Guid.NewGuid():N}.npz");
        var g = new Generator(2);
        try
        {
            // float32 weights and a column-vector b2, as a NumPy user might save them.
            Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[]
            {
                new("W1", Tensor.Randn([6, 2], g)), new("b1", Tensor.Randn([6], g)), new("W2", Tensor.Randn([1, 6], g)), new("b2", Tensor.Randn([1, 1], g)),
            });
            var j = Json("construct", "convert", "--to", "sigmoid", "--weights", path);
            Assert.Equal("tanh", j.GetProperty("from").GetString());
            Assert.Equal((2, 6, 1), (j.GetProperty("inputs").GetInt32(), j.GetProperty("hidden").GetInt32(), j.GetProperty("outputs").GetInt32()));
            Assert.True(j.GetProperty("max_abs_difference").GetDouble() < 1e-12);

            var net = Constructions.LoadNetwork(path, Activation.Tanh);
            Assert.Equal(DType.Float64, net.DType);
            Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[] { new("W1", Tensor.Randn([6, 2], g)), new("b1", Tensor.Randn([6], g)) });
            FailsWith("'W2'", "construct", "convert", "--weights", path);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Convert_UserErrors()
    {
        FailsWith("tanh or sigmoid", "construct", "convert", "--to", "relu");
        FailsWith("--hidden", "construct", "convert", "--hidden", "0");
        FailsWith("--samples", "construct", "convert", "--samples", "0");
    }

    [Fact]
    public void Collapse_RandomStack()
    {
        var j = Json("construct", "collapse", "--widths", "10,3,8,6", "--seed", "1");
        Assert.Equal([10, 3, 8, 6], Ints(j.GetProperty("widths")));
        int rank = j.GetProperty("rank").GetInt32();
        int[] factorRanks = Ints(j.GetProperty("factor_ranks"));
        Assert.Equal([3, 3, 6], factorRanks); // random Gaussian matrices have full rank
        Assert.Equal(factorRanks.Min(), j.GetProperty("rank_bound").GetInt32());
        Assert.True(rank <= factorRanks.Min());
        Assert.Equal(3, rank);
        Assert.True(j.GetProperty("max_abs_difference").GetDouble() < 1e-12);
        var w = Matrix(j.GetProperty("weight"));
        Assert.Equal(6, w.Length);
        Assert.Equal(10, w[0].Length);
        Assert.Equal(3, EliminationRank(w));
    }

    [Fact]
    public void Collapse_ProductIsTheMatrixProduct_AndTheSheetsBottleneck()
    {
        var layers = Constructions.RandomStack([5, 4, 3], 7);
        var r = Constructions.Collapse(layers, 10, 8);
        double[] w0 = layers[0].Weight.ToArray<double>(), w1 = layers[1].Weight.ToArray<double>(), b0 = layers[0].Bias!.ToArray<double>(), b1 = layers[1].Bias!.ToArray<double>();
        var expectedW = new double[3 * 5];
        var expectedB = new double[3];
        for (int i = 0; i < 3; i++)
        {
            expectedB[i] = b1[i];
            for (int m = 0; m < 4; m++)
            {
                expectedB[i] += w1[i * 4 + m] * b0[m];
                for (int j = 0; j < 5; j++) expectedW[i * 5 + j] += w1[i * 4 + m] * w0[m * 5 + j];
            }
        }
        TestUtil.AllClose(expectedW, r.Collapsed.Weight, 1e-13, 1e-13);
        TestUtil.AllClose(expectedB, r.Collapsed.Bias, 1e-13, 1e-13);

        var q6 = Constructions.Seed002Q6Bottleneck();
        Assert.Equal(2, q6.Collapsed.Rank); // 10 -> 2 -> 10: a 10 x 10 matrix of rank 2
        Assert.Equal([10, 10], q6.Collapsed.Weight.Shape);
    }

    [Fact]
    public void Collapse_FromNpz_WithARankOneFactor()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-collapse-{Guid.NewGuid():N}.npz");
        var g = new Generator(4);
        var u = Tensor.Randn([6, 1], g, DType.Float64);
        var v = Tensor.Randn([1, 5], g, DType.Float64);
        try
        {
            Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[]
            {
                new("W0", u.MatMul(v)), new("b0", Tensor.Randn([6], g, DType.Float64)), new("W1", Tensor.Randn([4, 6], g, DType.Float64)),
            });
            var j = Json("construct", "collapse", "--weights", path);
            Assert.Equal([1, 4], Ints(j.GetProperty("factor_ranks")));
            Assert.Equal(1, j.GetProperty("rank").GetInt32());
            Assert.True(j.GetProperty("max_abs_difference").GetDouble() < 1e-12);

            Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[] { new("W0", u.MatMul(v)), new("W2", Tensor.Randn([4, 6], g, DType.Float64)) });
            FailsWith("W2", "construct", "collapse", "--weights", path);
            Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[] { new("W0", u.MatMul(v)), new("W1", Tensor.Randn([4, 7], g, DType.Float64)) });
            FailsWith("layer 1", "construct", "collapse", "--weights", path);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Collapse_UserErrors()
    {
        FailsWith("at least two", "construct", "collapse", "--widths", "10");
        FailsWith("'x'", "construct", "collapse", "--widths", "10,x,3");
        FailsWith("'0'", "construct", "collapse", "--widths", "10,0,3");
    }

    [Fact]
    public void HumanOutputRuns()
    {
        foreach (var args in new[] { new[] { "construct", "interpolate" }, ["construct", "convert"], ["construct", "collapse"] })
        {
            var (code, stdout, stderr) = Run(args);
            Assert.True(code == 0, stderr);
            Assert.NotEmpty(stdout);
        }
    }

    /// <summary>Rank by Gaussian elimination with partial pivoting: an independent check of the QR rank.</summary>
    private static int EliminationRank(double[][] rows)
    {
        var a = rows.Select(r => (double[])r.Clone()).ToArray();
        int m = a.Length, n = a[0].Length, rank = 0;
        double scale = a.SelectMany(r => r).Max(Math.Abs);
        for (int col = 0; col < n && rank < m; col++)
        {
            int pivot = Enumerable.Range(rank, m - rank).MaxBy(i => Math.Abs(a[i][col]));
            if (Math.Abs(a[pivot][col]) <= 1e-10 * scale) continue;
            (a[rank], a[pivot]) = (a[pivot], a[rank]);
            for (int i = rank + 1; i < m; i++)
            {
                double f = a[i][col] / a[rank][col];
                for (int j = col; j < n; j++) a[i][j] -= f * a[rank][j];
            }
            rank++;
        }
        return rank;
    }
}
