using SharpGrad.Data;
using SharpGrad.NN;

namespace SharpGrad.Tests.Data;

public class SplitScaleCsvTests
{
    private static TensorDataset Rows(int n) =>
        new(Tensor.FromArray(Enumerable.Range(0, n).Select(i => (double)i).ToArray(), n, 1), Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)i).ToArray()));

    [Fact]
    public void SubsetMapsIndices()
    {
        var s = new Subset(Rows(10), [7, 2, 5]);
        Assert.Equal(3, s.Count);
        var (x, y) = s.GetBatch([2, 0]);
        Assert.Equal(new[] { 5.0, 7.0 }, x.ToArray<double>());
        Assert.Equal(new long[] { 5, 7 }, y.ToArray<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(Rows(3), [3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.GetBatch([3]));
    }

    [Fact]
    public void RandomSplitFractionsFollowPyTorchsRounding()
    {
        // PyTorch: floor(n·f) each, then the remainder one at a time from the first subset: 10 × [0.33, 0.33, 0.34] → 3, 3, 3 + 1.
        var parts = Dataset.RandomSplit(Rows(10), [0.33, 0.33, 0.34], new Generator(5));
        Assert.Equal(new[] { 4, 3, 3 }, parts.Select(p => p.Count));
        // 7 × [0.5, 0.5] → 3, 3 and one left over → 4, 3.
        Assert.Equal(new[] { 4, 3 }, Dataset.RandomSplit(Rows(7), [0.5, 0.5]).Select(p => p.Count));
        // Lengths are taken as they are; together the parts are a permutation of the whole.
        var lengths = Dataset.RandomSplit(Rows(10), [6.0, 4.0], new Generator(5));
        Assert.Equal(new[] { 6, 4 }, lengths.Select(p => p.Count));
        Assert.Equal(Enumerable.Range(0, 10), lengths.SelectMany(p => p.Indices).Order());
        // Same seed, same split; another seed, another split.
        Assert.Equal(Dataset.RandomSplit(Rows(50), [0.8, 0.2], new Generator(1))[0].Indices, Dataset.RandomSplit(Rows(50), [0.8, 0.2], new Generator(1))[0].Indices);
        Assert.NotEqual(Dataset.RandomSplit(Rows(50), [0.8, 0.2], new Generator(1))[0].Indices, Dataset.RandomSplit(Rows(50), [0.8, 0.2], new Generator(2))[0].Indices);
        var e = Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Rows(10), [0.5, 0.4]));
        Assert.Contains("0.5, 0.4", e.Message);
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Rows(10), [6.0, 5.0]));
    }

    [Fact]
    public void StandardScalerFitsOnTrainingDataAndTravelsWithTheModel()
    {
        // Feature 0: 1, 2, 3, 6 → mean 3, population std √3.5; feature 1 constant 5 → scale 1.
        var x = Tensor.FromArray(new[] { 1.0, 5, 2, 5, 3, 5, 6, 5 }, 4, 2);
        var scaler = StandardScaler.FitNew(x);
        Assert.Equal(new[] { 3.0, 5.0 }, scaler.Mean.ToArray<double>());
        TestUtil.AllClose([Math.Sqrt(3.5), 1.0], scaler.Scale, 1e-15, 0);
        var z = scaler.Transform(x).ToArray<double>();
        TestUtil.AllClose([-2 / Math.Sqrt(3.5), 0, -1 / Math.Sqrt(3.5), 0, 0, 0, 3 / Math.Sqrt(3.5), 0], z, 1e-14, 1e-14);
        TestUtil.AllClose(x.ToArray<double>(), scaler.InverseTransform(scaler.Transform(x)), 1e-14, 1e-14);

        // Fitted on a training subset only, and saved in the model's state dict.
        var data = new TensorDataset(x, Tensor.FromArray(new[] { 0.0, 1, 0, 1 }));
        var train = new Subset(data, [0, 1]);
        var fitted = new StandardScaler(2, DType.Float64).Fit(train);
        Assert.Equal(new[] { 1.5, 5.0 }, fitted.Mean.ToArray<double>());
        var model = new Sequential(fitted, new Linear(2, 1, dtype: DType.Float64));
        var state = model.StateDict();
        Assert.Contains("0.mean", state.Keys);
        var other = new Sequential(new StandardScaler(2, DType.Float64), new Linear(2, 1, dtype: DType.Float64));
        other.LoadStateDict(state);
        Assert.Equal(new[] { 1.5, 5.0 }, ((StandardScaler)other[0]).Mean.ToArray<double>());
        var (wrapped, _) = fitted.Wrap(data).GetBatch([3]);
        TestUtil.AllClose([(6 - 1.5) / 0.5, 0], wrapped, 1e-14, 1e-14);
    }

    private const string Iris = "id,name,sepal,petal,label\n1,setosa,5.1,1.4,0\n2,versicolor,7.0,4.7,1\n\n3,virginica,6.3,6.0,2\n";

    [Fact]
    public void CsvReadsChosenColumnsWithInt64Classes()
    {
        var d = Csv.ReadDataset(new StringReader(Iris), new CsvOptions { Features = ["sepal", "petal"], Targets = ["label"], TargetDType = DType.Int64 }, "iris.csv");
        Assert.Equal(DType.Int64, d.Targets.DType);
        Assert.Equal(new long[] { 0, 1, 2 }, d.Targets.ToArray<long>());
        Assert.Equal(DType.Float32, d.Features.DType);
        Assert.Equal(new[] { 3, 2 }, d.Features.Shape);
        Assert.Equal(new[] { 5.1f, 1.4f, 7.0f, 4.7f, 6.3f, 6.0f }, d.Features.ToArray<float>());
        // The Int64 targets go straight into CrossEntropy.
        Assert.True(double.IsFinite(Functional.CrossEntropy(Tensor.Zeros(3, 3), d.Targets).Item()));
        Assert.Equal(3, d.ToDataset().Count);
    }

    [Fact]
    public void CsvTextCellsAndBadClassesNameFileLineAndColumn()
    {
        // Every column but the target: the text column 'name' is a feature, and its first cell is named.
        var e = Assert.Throws<InvalidDataException>(() => Csv.ReadDataset(new StringReader(Iris), new CsvOptions { Targets = ["label"] }, "iris.csv"));
        Assert.Contains("iris.csv, line 2, column 2 ('name')", e.Message);
        Assert.Contains("'setosa' is not a number", e.Message);
        var bad = "x,y\n1,0\n2,1.5\n";
        var c = Assert.Throws<InvalidDataException>(() => Csv.ReadDataset(new StringReader(bad), new CsvOptions { Targets = ["y"], TargetDType = DType.Int64 }, "b.csv"));
        Assert.Contains("b.csv, line 3, column 2 ('y')", c.Message);
        Assert.Contains("whole number", c.Message);
        var missing = Assert.Throws<ArgumentException>(() => Csv.ReadDataset(new StringReader(bad), new CsvOptions { Targets = ["z"] }, "b.csv"));
        Assert.Contains("no column named 'z'", missing.Message);
    }
}
