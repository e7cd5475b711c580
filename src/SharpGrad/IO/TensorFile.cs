using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using SharpGrad.Data;

namespace SharpGrad.IO;

/// <summary>The tensor file formats SharpGrad reads.</summary>
public enum TensorFileFormat
{
    /// <summary>safetensors.</summary>
    Safetensors,
    /// <summary>A SharpGrad training checkpoint (a checksummed safetensors file).</summary>
    Checkpoint,
    /// <summary>NumPy .npy.</summary>
    Npy,
    /// <summary>NumPy .npz (a zip of .npy).</summary>
    Npz,
    /// <summary>IDX (MNIST), plain or gzip.</summary>
    Idx,
    /// <summary>Numeric CSV.</summary>
    Csv,
}

/// <summary>One tensor of a file: name, dtype as the file spells it, shape, and its smallest, mean and largest value.</summary>
/// <param name="Name">The tensor's name (for single-array files, the file name).</param>
/// <param name="DType">The element type as the format names it, e.g. <c>F32</c>, <c>float32</c>, <c>uint8</c>.</param>
/// <param name="Shape">The dimensions.</param>
/// <param name="Count">Number of elements.</param>
/// <param name="Min">Smallest value (NaN if any is NaN); null when empty or not loaded (an unsupported dtype).</param>
/// <param name="Mean">Mean value; null likewise.</param>
/// <param name="Max">Largest value (NaN if any is NaN); null likewise.</param>
public sealed record TensorSummary(string Name, string DType, long[] Shape, long Count, double? Min, double? Mean, double? Max);

/// <summary>What <see cref="TensorFile.Inspect"/> found in a file.</summary>
/// <param name="Path">The file.</param>
/// <param name="Format">Its format, recognised from its content.</param>
/// <param name="Tensors">Its tensors in file order.</param>
/// <param name="Metadata">Metadata strings (safetensors <c>__metadata__</c>, CSV column names).</param>
public sealed record TensorFileSummary(string Path, TensorFileFormat Format, IReadOnlyList<TensorSummary> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Recognises and summarises any tensor file SharpGrad reads (the engine of <c>sharpgrad inspect</c>): safetensors,
/// checkpoints, .npy, .npz, IDX and CSV. Each is read with its hostile-input-safe loader, so a malformed file throws
/// <see cref="InvalidDataException"/> naming the file, the offset or field, and what was expected.
/// </summary>
public static class TensorFile
{
    /// <summary>The format of <paramref name="path"/>, from its first bytes (CSV from its extension).</summary>
    /// <exception cref="InvalidDataException">No supported format matches.</exception>
    public static TensorFileFormat Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = Safetensors.OpenRead(path);
        var head = new byte[Checkpoint.ChecksumOffset];
        int n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var b = head.AsSpan(0, n);
        if (b.StartsWith((ReadOnlySpan<byte>)[0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59])) return TensorFileFormat.Npy;
        if (b.StartsWith("PK\x03\x04"u8) || b.StartsWith("PK\x05\x06"u8)) return TensorFileFormat.Npz;
        if (b.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B])) return TensorFileFormat.Idx;
        // '{' after 8 bytes is safetensors whatever the length says: its reader then explains what is wrong with it.
        if (n >= 9 && b[8] == (byte)'{')
            return n == head.Length && b[8..].SequenceEqual("{\"__metadata__\":{\"sha256\":\""u8) ? TensorFileFormat.Checkpoint : TensorFileFormat.Safetensors;
        if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E && b[3] is >= 1 and <= 16) return TensorFileFormat.Idx;
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase)) return TensorFileFormat.Csv;
        throw new InvalidDataException($"{path}, byte offset 0: unrecognised format (first bytes {Convert.ToHexString(b[..Math.Min(8, n)])}); expected safetensors, a SharpGrad checkpoint, .npy, .npz, IDX (plain or gzip) or a .csv file.");
    }

    /// <summary>Reads <paramref name="path"/> and summarises each tensor (a checkpoint's checksum is verified first).</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxDecompressedBytes">For IDX .gz and .npz, the most bytes the data may decompress to; null for
    /// <see cref="Decompression.DefaultLimit"/> of the file's size.</param>
    /// <param name="allowNonFinite">For CSV, accept NaN and infinities instead of rejecting them.</param>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the file and the offset or field.</exception>
    public static TensorFileSummary Inspect(string path, long? maxDecompressedBytes = null, bool allowNonFinite = false)
    {
        var format = Detect(path);
        var tensors = new List<TensorSummary>();
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        switch (format)
        {
            case TensorFileFormat.Safetensors or TensorFileFormat.Checkpoint:
            {
                if (format == TensorFileFormat.Checkpoint) Checkpoint.Load(path);
                using var file = Safetensors.OpenRead(path);
                var header = Safetensors.ReadHeader(file, path);
                metadata = header.Metadata;
                foreach (var e in header.Entries)
                {
                    if (!e.IsLoadable || e.Count == 0) { tensors.Add(new TensorSummary(e.Name, e.DType, e.Shape, e.Count, null, null, null)); continue; }
                    var t = Safetensors.ReadTensor(file, 0, header, e, path);
                    tensors.Add(Summarise(e.Name, e.DType, e.Shape, t.Storage));
                }
                break;
            }
            case TensorFileFormat.Npy:
            {
                var a = Npy.ReadArray(path);
                tensors.Add(Summarise(Path.GetFileName(path), NumpyName(a.Descr), Longs(a.Shape), a.Data));
                break;
            }
            case TensorFileFormat.Npz:
                foreach (var (name, a) in Npy.ReadNpz(path, maxDecompressedBytes)) tensors.Add(Summarise(name, NumpyName(a.Descr), Longs(a.Shape), a.Data));
                break;
            case TensorFileFormat.Idx:
            {
                var a = Idx.Read(path, maxDecompressedBytes);
                string dtype = a.TypeCode switch { 0x08 => "uint8", 0x09 => "int8", 0x0B => "int16", 0x0C => "int32", 0x0D => "float32", _ => "float64" };
                tensors.Add(Summarise(Path.GetFileName(path), dtype, Longs(a.Shape), a.Data));
                break;
            }
            default:
            {
                var table = Csv.Read(path, hasHeader: !FirstLineIsNumeric(path), allowNonFinite: allowNonFinite);
                tensors.Add(Summarise("values", "float64", Longs(table.Values.ShapeRef), table.Values.Storage));
                metadata = new Dictionary<string, string> { ["columns"] = string.Join(",", table.Columns) };
                break;
            }
        }
        return new TensorFileSummary(path, format, tensors, metadata);
    }

    private static long[] Longs(int[] shape) => shape.Select(d => (long)d).ToArray();

    private static string NumpyName(string descr) => descr switch
    {
        "<f4" => "float32", "<f8" => "float64", "<i4" => "int32", "<i8" => "int64", "|u1" => "uint8", "|b1" => "bool", _ => descr,
    };

    /// <summary>A CSV whose first line is all numbers has no header row.</summary>
    private static bool FirstLineIsNumeric(string path)
    {
        using var reader = new StreamReader(path);
        string? line;
        while ((line = reader.ReadLine()) is not null && line.Trim().Length == 0) { }
        return line is not null && line.Split(',').All(c => double.TryParse(c.Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out _));
    }

    internal static TensorSummary Summarise(string name, string dtype, long[] shape, Array data)
    {
        // By exact type: the runtime lets a byte[] pass for an sbyte[] (and int[] for uint[]), so 'is' patterns would mislead.
        Type type = data.GetType();
        var (min, mean, max) =
            type == typeof(float[]) ? Stats<float>((float[])data) :
            type == typeof(double[]) ? Stats<double>((double[])data) :
            type == typeof(long[]) ? Stats<long>((long[])data) :
            type == typeof(int[]) ? Stats<int>((int[])data) :
            type == typeof(short[]) ? Stats<short>((short[])data) :
            type == typeof(sbyte[]) ? Stats<sbyte>((sbyte[])data) :
            type == typeof(byte[]) ? Stats<byte>((byte[])data) :
            type == typeof(bool[]) ? Stats<byte>(((bool[])data).Select(x => x ? (byte)1 : (byte)0).ToArray()) :
            ((double?)null, (double?)null, (double?)null);
        return new TensorSummary(name, dtype, shape, data.Length, min, mean, max);
    }

    private static (double?, double?, double?) Stats<T>(ReadOnlySpan<T> values) where T : INumberBase<T>
    {
        if (values.IsEmpty) return (null, null, null);
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        bool nan = false;
        foreach (var x in values)
        {
            double v = double.CreateTruncating(x);
            if (double.IsNaN(v)) { nan = true; continue; }
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        return nan ? (double.NaN, double.NaN, double.NaN) : (min, sum / values.Length, max);
    }
}
