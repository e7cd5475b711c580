using SharpGrad.Data;
using SharpGrad.IO;
using SharpGrad.Tests.IO;
using SharpGrad.Tests.Reliability;

namespace SharpGrad.Tests.Data;

/// <summary>Bytes after a .npy file's data, and NaN or infinities in a CSV, are errors that name where they are.</summary>
public sealed class TrailingAndNonFiniteTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-hostile");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void BytesAfterNpyDataAreRejectedInAFile()
    {
        string path = _dir.File("a.npy");
        Npy.Save(path, Tensor.FromArray(new double[] { 1, 2, 3 }));
        long length = new FileInfo(path).Length;
        File.AppendAllText(path, "junk");
        var e = Assert.Throws<InvalidDataException>(() => Npy.Load(path));
        Assert.Equal($"{path}, byte offset {length}: 4 unexpected bytes after the 24 bytes of data that shape (3,) of '<f8' needs; expected the file to end there.", e.Message);
        // inspect reads files the same way.
        Assert.Throws<InvalidDataException>(() => TensorFile.Inspect(path));
    }

    [Fact]
    public void ArraysOneAfterAnotherInAStreamStillRead()
    {
        // Documented: reading from a stream stops after the data, so the next array can follow.
        var ms = new MemoryStream();
        Npy.Write(ms, Tensor.FromArray(new double[] { 1, 2 }));
        Npy.Write(ms, Tensor.FromArray(new double[] { 3 }));
        ms.Position = 0;
        Assert.Equal(new double[] { 1, 2 }, Npy.Load(ms, "s").ToArray<double>());
        Assert.Equal(new double[] { 3 }, Npy.Load(ms, "s").ToArray<double>());
    }

    [Fact]
    public void BytesAfterNpyDataAreRejectedInAnNpzMember()
    {
        var ms = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry("w.npy").Open();
            Npy.Write(s, Tensor.FromArray(new double[] { 1, 2 }));
            s.Write([1, 2, 3]);
        }
        var e = Assert.Throws<InvalidDataException>(() => Npy.LoadNpz(new MemoryStream(ms.ToArray()), "t.npz"));
        Assert.StartsWith("t.npz[w.npy], byte offset 144: unexpected bytes after the 16 bytes of data", e.Message);
    }

    [Theory]
    [InlineData("nan", 2, "NaN")]
    [InlineData("NaN", 2, "NaN")]
    [InlineData("Infinity", 2, "infinite")]
    [InlineData("-Infinity", 2, "infinite")]
    [InlineData("1e999", 2, "infinite")]
    [InlineData("\"-1e400\"", 2, "infinite")]
    public void NonFiniteCsvValuesNameFileLineAndColumn(string cell, int column, string what)
    {
        string text = $"a,b\n1,2\n3,{cell}\n";
        var e = Assert.Throws<InvalidDataException>(() => Csv.Read(new StringReader(text), "d.csv"));
        Assert.StartsWith($"d.csv, line 3, column {column} ('b'): '{cell.Trim('"')}' is {what}", e.Message);
        var t = Csv.Read(new StringReader(text), "d.csv", allowNonFinite: true);
        Assert.False(double.IsFinite(t.Values.ToArray<double>()[3]));
        Assert.Equal(3.0, t.Values.ToArray<double>()[2]);
    }

    [Fact]
    public void LinregNamesTheCellInsteadOfFailingInItsSolver()
    {
        string path = _dir.File("d.csv");
        File.WriteAllText(path, "x,y\n1,2\n2,4\n3,6\n4,nan\n5,10\n6,12\n");
        var r = CliRunner.Run(_dir.Path, ["linreg", "--data", path, "--target", "y"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"sharpgrad: {path}, line 5, column 2 ('y'): 'nan' is NaN; expected a finite number.", Assert.Single(r.Stderr.Trim().Split('\n')));
    }

    [Fact]
    public void InspectRefusesNonFiniteCsvUnlessAllowed()
    {
        string path = _dir.File("d.csv");
        File.WriteAllText(path, "x,y\n1,Infinity\n");
        var r = CliRunner.Run(_dir.Path, ["inspect", path, "--json"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("line 2, column 2 ('y'): 'Infinity' is infinite", r.Stderr);
        r = CliRunner.Run(_dir.Path, ["inspect", path, "--json", "--allow-non-finite"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(2, r.Json.GetProperty("tensors")[0].GetProperty("count").GetInt64());
    }
}
