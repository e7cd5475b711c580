using SharpGrad.Data;

namespace SharpGrad.Tests.Training;

/// <summary>Runs only where Debian's dataset-fashion-mnist (or $SHARPGRAD_DATA) provides the real files; .ci/run installs them.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!FashionMnist.IsAvailable()) Skip = "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist).";
    }
}

public class DataTests
{
    private static string TempFile(string name) => Path.Combine(Path.GetTempPath(), $"sharpgrad-{Guid.NewGuid():N}-{name}");

    [Fact]
    public void IdxRoundTripPlainAndGzip()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        foreach (var name in new[] { "a.idx", "a.idx.gz" })
        {
            string path = TempFile(name);
            try
            {
                Idx.WriteBytes(path, data, 2, 3, 4);
                var arr = Idx.Read(path);
                Assert.Equal(0x08, arr.TypeCode);
                Assert.Equal([2, 3, 4], arr.Shape);
                Assert.Equal(data, (byte[])arr.Data);
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void IdxReadsBigEndianWiderTypes()
    {
        // Header 00 00 0C 01 (int32, 1 dim), dim 2, then 1 and -2 big-endian.
        byte[] bytes = [0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE];
        var arr = Idx.Read(new MemoryStream(bytes), "ints.idx");
        Assert.Equal(new[] { 1, -2 }, (int[])arr.Data);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8 }, "header")]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 5 }, "magic")]
    [InlineData(new byte[] { 0, 0, 7, 1, 0, 0, 0, 1, 5 }, "type code")]
    [InlineData(new byte[] { 0, 0, 8, 0 }, "dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2 }, "elements")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 5, 1, 2 }, "only 2 bytes follow")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 1, 2 }, "unexpected bytes")]
    public void MalformedIdxIsAnInvalidDataExceptionNamingFileAndProblem(byte[] bytes, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(bytes), "bad.idx"));
        Assert.Contains("bad.idx", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void GzipThatLiesAboutItsSizeFailsWithoutAHugeAllocation()
    {
        string path = TempFile("lie.idx.gz");
        try
        {
            using (var f = File.Create(path))
            using (var gz = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionLevel.Fastest))
                gz.Write([0, 0, 8, 1, 0x7F, 0, 0, 0, 1, 2, 3]); // claims 2 GB, holds 3 bytes
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
            Assert.Contains("decompression limit", e.Message);
            // Within the limit, a claim of 1000 bytes fails on the data that is not there.
            using (var f = File.Create(path))
            using (var gz = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionLevel.Fastest))
                gz.Write([0, 0, 8, 1, 0, 0, 3, 0xE8, 1, 2, 3]);
            e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
            Assert.Contains("ends after 3 of the 1000", e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void DataLoaderBatchesShufflesDeterministicallyAndDropsLast()
    {
        var x = Tensor.Arange(10).Reshape(10, 1);
        var y = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (long)i).ToArray());
        var ds = new TensorDataset(x, y);
        var plain = new DataLoader(ds, 4).Epoch().ToList();
        Assert.Equal([4, 4, 2], plain.Select(b => b.Input.Shape[0]));
        Assert.Equal(new long[] { 8, 9 }, plain[2].Target.ToArray<long>());
        Assert.Equal(2, new DataLoader(ds, 4, dropLast: true).Epoch().Count());
        var a = new DataLoader(ds, 3, shuffle: true, generator: new Generator(5));
        var b = new DataLoader(ds, 3, shuffle: true, generator: new Generator(5));
        var first = a.Epoch().SelectMany(t => t.Target.ToArray<long>()).ToArray();
        Assert.Equal(first, b.Epoch().SelectMany(t => t.Target.ToArray<long>()).ToArray());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), first.Order());
        Assert.NotEqual(first, a.Epoch().SelectMany(t => t.Target.ToArray<long>()).ToArray()); // a new order next epoch
        // Inputs stay paired with their targets.
        foreach (var (inp, tgt) in a.Epoch()) Assert.Equal(tgt.ToArray<long>().Select(v => (float)v), inp.ToArray<float>());
    }

    [Fact]
    public void DataLoaderBatchByIndexIsTheBatchOfTheEpochAndChecksItsArguments()
    {
        var x = Tensor.Arange(10).Reshape(10, 1);
        var y = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (long)i).ToArray());
        var loader = new DataLoader(new TensorDataset(x, y), 4, shuffle: true, generator: new Generator(2));
        int[] order = loader.NextEpochOrder();
        Assert.NotEqual(Enumerable.Range(0, 10), order); // shuffled, so position and example differ
        for (int b = 0; b < loader.BatchCount; b++)
        {
            var (inp, tgt) = loader.Batch(order, b);
            // Examples 4b .. 4b + 3 of the order (the last batch short), each input with its own target (x_i = y_i = i).
            Assert.Equal(order.Skip(4 * b).Take(4).Select(i => (long)i), tgt.ToArray<long>());
            Assert.Equal(order.Skip(4 * b).Take(4).Select(i => (float)i), inp.ToArray<float>());
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => loader.Batch(order, 3));
        Assert.Contains("batch 3 is outside the 3 batches", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Batch(order, -1));
        Assert.Contains("9 entries for a dataset of 10", Assert.Throws<ArgumentException>(() => loader.Batch(order[..9], 0)).Message);
    }

    [Fact]
    public void ImageBatchesMadeInsideAScopeAreRecycledWithIt()
    {
        var pixels = new byte[3 * 33 * 33];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 251);
        var ds = new ImageDataset(pixels, [0, 1, 2], 1, 33, 33); // 2 x 1,089 floats: pooled
        Tensor inside;
        using (new TensorScope())
        {
            inside = ds.GetBatch([2, 0]).Input;
            Assert.Equal(pixels[2 * 1089 + 5] / 255f, inside.ToArray<float>()[5], 6);
        }
        Assert.Throws<ObjectDisposedException>(() => inside.ToArray<float>());
        var outside = ds.GetBatch([2, 0]).Input; // no scope: the GC's, as before
        Assert.Equal(pixels[5] / 255f, outside.ToArray<float>()[1089 + 5], 6);
    }

    [Fact]
    public void ImageDatasetScalesBytesPerBatch()
    {
        byte[] pixels = [0, 255, 51, 102, 10, 20, 30, 40];
        var ds = new ImageDataset(pixels, [3, 1], 1, 2, 2);
        var (x, y) = ds.GetBatch([1, 0]);
        Assert.Equal([2, 1, 2, 2], x.Shape);
        TestUtil.AllClose([10 / 255.0, 20 / 255.0, 30 / 255.0, 40 / 255.0, 0, 1, 0.2, 0.4], x, 1e-6, 1e-7);
        Assert.Equal(new long[] { 1, 3 }, y.ToArray<long>());
        Assert.Throws<InvalidDataException>(() => new ImageDataset(pixels, [3, 12], 1, 2, 2));
    }

    [FashionMnistFact]
    public void RealFashionMnistHasTheDocumentedSplitsAndContent()
    {
        var data = FashionMnist.Load();
        Assert.Equal(50_000, data.Train.Count);
        Assert.Equal(10_000, data.Validation.Count);
        Assert.Equal(10_000, data.Test.Count);
        // The training set is balanced: 6,000 images per class over train + validation.
        var counts = new int[10];
        for (int i = 0; i < data.Train.Count; i++) counts[data.Train.Label(i)]++;
        for (int i = 0; i < data.Validation.Count; i++) counts[data.Validation.Label(i)]++;
        Assert.All(counts, c => Assert.Equal(6000, c));
        // Mean pixel intensity of the training images is 0.2860 (Fashion-MNIST's published statistic).
        double sum = 0;
        for (int i = 0; i < data.Train.Count; i++) foreach (var p in data.Train.Pixels(i)) sum += p;
        for (int i = 0; i < data.Validation.Count; i++) foreach (var p in data.Validation.Pixels(i)) sum += p;
        Assert.Equal(0.2860, sum / 255.0 / (60_000 * 784), 3);
    }
}

public class CsvTests
{
    [Fact]
    public void ReadsHeaderQuotesAndNumbers()
    {
        var t = Csv.Read(new StringReader("x,\"y, quoted\",target\n1,2.5,-3e2\n\n4,5,6\n"), "t.csv");
        Assert.Equal(["x", "y, quoted", "target"], t.Columns);
        Assert.Equal([2, 3], t.Values.Shape);
        Assert.Equal(new double[] { 1, 2.5, -300, 4, 5, 6 }, t.Values.ToArray<double>());
        var (features, target) = t.Split("target");
        Assert.Equal(new double[] { 1, 2.5, 4, 5 }, features.ToArray<double>());
        Assert.Equal(new double[] { -300, 6 }, target.ToArray<double>());
        Assert.Throws<ArgumentException>(() => t.Split("nope"));
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "line 3")]
    [InlineData("a,b\n1,x\n", "line 2, column 2 ('b')")]
    [InlineData("a,b\n1,\"2\n", "not closed")]
    [InlineData("", "no data")]
    public void MalformedCsvNamesTheLineAndColumn(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Csv.Read(new StringReader(text), "bad.csv"));
        Assert.Contains("bad.csv", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void WriteThenReadRoundTrips()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpgrad-{Guid.NewGuid():N}.csv");
        try
        {
            var values = Tensor.FromArray(new[] { 0.1, -2, 1e-300, 3.25 }, 2, 2);
            Csv.Write(path, ["a", "b,c"], values);
            var back = Csv.Read(path);
            Assert.Equal(["a", "b,c"], back.Columns);
            Assert.Equal(values.ToArray<double>(), back.Values.ToArray<double>());
        }
        finally { File.Delete(path); }
    }
}
