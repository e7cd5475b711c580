using System.Text.Json;
using SharpGrad.Training;

namespace SharpGrad.Tests.Training;

public class MetricsTests
{
    private static readonly string GoldenPath = Path.Combine(AppContext.BaseDirectory, "golden", "metrics", "metrics.json");

    private static IEnumerable<JsonElement> Cases(string kind)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenPath));
        return doc.RootElement.EnumerateArray().Where(c => c.GetProperty("kind").GetString() == kind).Select(c => c.Clone()).ToList();
    }

    private static double[] D(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static long[] L(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetInt64()).ToArray();
    private static int I(JsonElement e, string name) => e.GetProperty(name).GetInt32();

    [Fact]
    public void ClassificationMetricsMatchNumPy()
    {
        foreach (var c in Cases("classification"))
        {
            int n = I(c, "n"), k = I(c, "c");
            var scores = Tensor.FromArray(D(c, "scores"), n, k);
            var target = Tensor.FromArray(L(c, "target"));
            Assert.Equal(c.GetProperty("accuracy").GetDouble(), Metrics.Accuracy(scores, target), 12);
            Assert.Equal(c.GetProperty("topk").GetDouble(), Metrics.TopKAccuracy(scores, target, I(c, "k")), 12);
            Assert.Equal(L(c, "confusion"), Metrics.ConfusionMatrix(scores, target, k).ToArray<long>());
            var s = Metrics.PrecisionRecallF1(scores, target, k);
            Assert.Equal(D(c, "precision"), s.Precision, (a, b) => Math.Abs(a - b) < 1e-12);
            Assert.Equal(D(c, "recall"), s.Recall, (a, b) => Math.Abs(a - b) < 1e-12);
            Assert.Equal(D(c, "f1"), s.F1, (a, b) => Math.Abs(a - b) < 1e-12);
            Assert.Equal(L(c, "support"), s.Support);
            Assert.Equal(c.GetProperty("macro_precision").GetDouble(), Metrics.Precision(scores, target, k), 12);
            Assert.Equal(c.GetProperty("macro_recall").GetDouble(), Metrics.Recall(scores, target, k), 12);
            Assert.Equal(c.GetProperty("macro_f1").GetDouble(), Metrics.F1Score(scores, target, k), 12);
            // Float32 scores and predicted labels give the same counts.
            Assert.Equal(c.GetProperty("accuracy").GetDouble(), Metrics.Accuracy(scores.To(DType.Float32), target), 12);
            Assert.Equal(c.GetProperty("accuracy").GetDouble(), Metrics.Accuracy(scores.ArgMax(1), target), 12);
        }
    }

    [Fact]
    public void RegressionMetricsMatchNumPy()
    {
        foreach (var c in Cases("regression"))
        {
            int n = I(c, "n"), k = I(c, "k");
            var p = k == 1 ? Tensor.FromArray(D(c, "prediction"), n) : Tensor.FromArray(D(c, "prediction"), n, k);
            var t = k == 1 ? Tensor.FromArray(D(c, "target"), n) : Tensor.FromArray(D(c, "target"), n, k);
            Assert.Equal(c.GetProperty("mae").GetDouble(), Metrics.MeanAbsoluteError(p, t), 12);
            Assert.Equal(c.GetProperty("rmse").GetDouble(), Metrics.RootMeanSquaredError(p, t), 12);
            Assert.Equal(c.GetProperty("r2").GetDouble(), Metrics.R2Score(p, t), 12);
        }
    }

    [Fact]
    public void RocAucMatchesThePairCountWithTies()
    {
        foreach (var c in Cases("auc"))
        {
            var s = Tensor.FromArray(D(c, "scores"));
            var y = Tensor.FromArray(L(c, "target"));
            Assert.Equal(c.GetProperty("auc").GetDouble(), Metrics.RocAuc(s, y), 12);
            // Two-column scores: their difference orders examples like the positive column's softmax.
            int n = I(c, "n");
            var two = Tensor.FromArray(D(c, "scores").SelectMany(v => new[] { -v / 2, v / 2 }).ToArray(), n, 2);
            Assert.Equal(c.GetProperty("auc").GetDouble(), Metrics.RocAuc(two, y.To(DType.Float32)), 12);
        }
    }

    [Fact]
    public void HandWorkedSmallCases()
    {
        // Predictions [0, 2, 1, 1, 0] against targets [0, 1, 1, 2, 0]:
        // confusion rows (true) x cols (pred): [[2,0,0],[0,1,1],[0,1,0]]; class 1: P = 1/2, R = 1/2; class 2: P = 0, R = 0.
        var pred = Tensor.FromArray(new long[] { 0, 2, 1, 1, 0 });
        var y = Tensor.FromArray(new long[] { 0, 1, 1, 2, 0 });
        Assert.Equal(new long[] { 2, 0, 0, 0, 1, 1, 0, 1, 0 }, Metrics.ConfusionMatrix(pred, y, 3).ToArray<long>());
        Assert.Equal(3.0 / 5, Metrics.Accuracy(pred, y), 15);
        var s = Metrics.PrecisionRecallF1(pred, y, 3);
        Assert.Equal(new[] { 1.0, 0.5, 0.0 }, s.Precision);
        Assert.Equal(new[] { 1.0, 0.5, 0.0 }, s.Recall);
        Assert.Equal(1.5 / 3, s.MacroF1, 15);

        // AUC: positives score {0.9, 0.4}, negatives {0.4, 0.1}: pairs 0.9>0.4, 0.9>0.1, 0.4=0.4 (1/2), 0.4>0.1 -> 3.5/4.
        Assert.Equal(3.5 / 4, Metrics.RocAuc(Tensor.FromArray(new[] { 0.9, 0.4, 0.4, 0.1 }), Tensor.FromArray(new long[] { 1, 1, 0, 0 })), 15);

        // R²: targets [1, 2, 3], predictions [1, 2, 4]: 1 - 1/2.
        Assert.Equal(0.5, Metrics.R2Score(Tensor.FromArray(new[] { 1.0, 2, 4 }), Tensor.FromArray(new[] { 1.0, 2, 3 })), 15);
        // Top-2 of [[3, 1, 2]] with target 1 (ranked last) misses; target 2 hits.
        var row = Tensor.FromArray(new[] { 3.0, 1, 2 }, 1, 3);
        Assert.Equal(0, Metrics.TopKAccuracy(row, Tensor.FromArray(new long[] { 1 }), 2));
        Assert.Equal(1, Metrics.TopKAccuracy(row, Tensor.FromArray(new long[] { 2 }), 2));
    }

    [Fact]
    public void BadInputsSayWhatIsWrong()
    {
        var scores = Tensor.FromArray(new[] { 0.1, 0.9, 0.8, 0.2 }, 2, 2);
        Assert.Contains("class targets must be Int64", Assert.Throws<ArgumentException>(() => Metrics.Accuracy(scores, Tensor.FromArray(new[] { 1.0, 0 }))).Message);
        Assert.Contains("only negatives", Assert.Throws<ArgumentException>(() => Metrics.RocAuc(scores, Tensor.FromArray(new long[] { 0, 0 }))).Message);
        Assert.Contains("[2, 2]", Assert.Throws<ArgumentException>(() => Metrics.MeanAbsoluteError(scores, Tensor.FromArray(new[] { 1.0, 0 }))).Message);
        Assert.Contains("outside [0, 1]", Assert.Throws<ArgumentException>(() => Metrics.Accuracy(scores, Tensor.FromArray(new long[] { 0, 2 }))).Message);
    }
}
