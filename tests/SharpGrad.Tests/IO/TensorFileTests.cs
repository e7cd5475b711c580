using SharpGrad.Data;
using SharpGrad.IO;

namespace SharpGrad.Tests.IO;

public sealed class TensorFileTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-tf");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryFormatIsRecognisedAndSummarised()
    {
        var t = Tensor.FromArray(new float[] { 1, -2, 4, 5 }, 2, 2);
        string st = _dir.File("a.safetensors"), npy = _dir.File("a.npy"), npz = _dir.File("a.npz"), idx = _dir.File("a-idx3-ubyte"),
            gz = _dir.File("a-idx3-ubyte.gz"), csv = _dir.File("a.csv"), ck = _dir.File("ck.safetensors");
        Safetensors.Save(st, [new("w", t)], [new("format", "pt")]);
        Npy.Save(npy, t);
        Npy.SaveNpz(npz, [new("w", t), new("n", Tensor.FromArray(new long[] { 3, 9 }))]);
        Idx.WriteBytes(idx, [0, 10, 255, 3, 3, 3], 2, 3);
        Idx.WriteBytes(gz, [0, 10, 255, 3, 3, 3], 2, 3);
        File.WriteAllText(csv, "x,y\n1,2\n3,-6\n");
        new Checkpoint { Model = new() { ["w"] = t }, Step = 4 }.Save(ck);

        var s = TensorFile.Inspect(st);
        Assert.Equal(TensorFileFormat.Safetensors, s.Format);
        var w = s.Tensors.Single();
        Assert.Equal(("w", "F32", 4L, -2.0, 2.0, 5.0), (w.Name, w.DType, w.Count, w.Min!.Value, w.Mean!.Value, w.Max!.Value));
        Assert.Equal([2L, 2], s.Tensors[0].Shape);
        Assert.Equal("pt", s.Metadata["format"]);

        Assert.Equal((TensorFileFormat.Npy, "float32", 2.0), One(npy));
        var z = TensorFile.Inspect(npz);
        Assert.Equal(TensorFileFormat.Npz, z.Format);
        Assert.Equal(["w", "n"], z.Tensors.Select(x => x.Name));
        Assert.Equal(6, z.Tensors[1].Mean);
        Assert.Equal((TensorFileFormat.Idx, "uint8", 274.0 / 6), One(idx));
        Assert.Equal((TensorFileFormat.Idx, "uint8", 274.0 / 6), One(gz));
        var c = TensorFile.Inspect(csv);
        Assert.Equal((TensorFileFormat.Csv, "x,y", -6.0), (c.Format, c.Metadata["columns"], c.Tensors[0].Min));
        var k = TensorFile.Inspect(ck);
        Assert.Equal(TensorFileFormat.Checkpoint, k.Format);
        Assert.Equal("model.w", k.Tensors[0].Name);
        Assert.Equal("4", k.Metadata["step"]);
    }

    private static (TensorFileFormat, string, double) One(string path)
    {
        var s = TensorFile.Inspect(path);
        var t = s.Tensors.Single();
        return (s.Format, t.DType, t.Mean!.Value);
    }

    [Fact]
    public void NaNAndEmptyTensorsAreReportedAsSuch()
    {
        string path = _dir.File("n.safetensors");
        Safetensors.Save(path, [new("nan", Tensor.FromArray(new double[] { 1, double.NaN })), new("empty", Tensor.Zeros([0], DType.Float32))]);
        var s = TensorFile.Inspect(path).Tensors;
        Assert.True(double.IsNaN(s[0].Min!.Value) && double.IsNaN(s[0].Max!.Value));
        Assert.Null(s[1].Mean);
    }

    [Fact]
    public void AnUnknownFileNamesItselfAndTheFormatsExpected()
    {
        string path = _dir.File("x.bin");
        File.WriteAllText(path, "hello world");
        var e = Assert.Throws<InvalidDataException>(() => TensorFile.Inspect(path));
        Assert.StartsWith(path + ", byte offset 0: unrecognised format", e.Message);
    }

    [Fact]
    public void ACorruptCheckpointIsNotSummarised()
    {
        string path = _dir.File("ck.safetensors");
        new Checkpoint { Model = new() { ["w"] = Tensor.Ones(3) } }.Save(path);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("checksum mismatch", Assert.Throws<InvalidDataException>(() => TensorFile.Inspect(path)).Message);
    }
}
