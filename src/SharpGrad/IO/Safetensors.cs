using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpGrad.Data;

namespace SharpGrad.IO;

/// <summary>
/// The safetensors format (Hugging Face), read and written: an 8-byte little-endian header length N, N bytes of JSON
/// mapping each tensor name to its <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (plus an optional
/// <c>__metadata__</c> map of strings), then the raw little-endian data. Nothing in the file is executed.
/// </summary>
/// <remarks>
/// <para>Tensors are saved as F32, F64 or I64 by their dtype and loaded from F32, F64, I64, and F16/BF16 (widened
/// exactly to F32); other dtypes are listed by <see cref="ReadHeader(string)"/> but not loaded.</para>
/// <para>Reading is hostile-input safe: the header length is capped at <see cref="MaxHeaderLength"/> and checked against
/// the file, the number of tensors at <see cref="MaxTensorCount"/>, and every shape and byte range is validated (see <see cref="ReadHeader(Stream, string?)"/>) before any
/// tensor is allocated, so a file can never make the reader allocate more than it holds. Every malformed input throws
/// <see cref="InvalidDataException"/> naming the file, the byte offset and the tensor and field, and what was expected.</para>
/// </remarks>
public static class Safetensors
{
    /// <summary>The largest header accepted (100 MB, the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The most tensors a file may list: 100,000. The largest published checkpoints have a few thousand per
    /// file; the cap bounds what a header of tiny entries (1.7 million empty tensors fit in 100 MB) makes the reader and
    /// <c>sharpgrad inspect</c> build.</summary>
    public const int MaxTensorCount = 100_000;

    /// <summary>The most <c>__metadata__</c> entries a file may have: 100,000, for the same reason.</summary>
    public const int MaxMetadataCount = 100_000;

    private const string StreamName = "<stream>";
    private const int Chunk = 1 << 20;

    /// <summary>
    /// Saves tensors as a safetensors file atomically (written to a temporary file, flushed, renamed), in enumeration
    /// order (Python: <c>safetensors.torch.save_file</c>). The bytes depend only on the names, values and metadata.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Names (non-empty, unique, not <c>__metadata__</c>) and tensors; e.g. a module's <c>StateDict()</c>.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings, written first and in order.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        AtomicFile.Write(path, s => Write(s, list, metadata));
    }

    /// <summary>Writes tensors to <paramref name="stream"/> in safetensors format; see <see cref="Save"/>.</summary>
    /// <param name="stream">Written sequentially; need not be seekable.</param>
    /// <param name="tensors">Names and tensors.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var entries = new List<SafetensorsEntry>(list.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, t) in list)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__") throw new ArgumentException($"Safetensors: invalid tensor name '{name}'.", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"Safetensors: the tensor name '{name}' appears twice.", nameof(tensors));
            if (t is null) throw new ArgumentException($"Safetensors: tensor '{name}' is null.", nameof(tensors));
            long bytes = (long)t.Numel * t.DType.ElementSize();
            entries.Add(new SafetensorsEntry(name, SafetensorsDTypes.FromDType(t.DType), t.ShapeRef.Select(d => (long)d).ToArray(), offset, offset + bytes));
            offset += bytes;
        }
        byte[] header = SafetensorsParser.Build(entries, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var (_, t) in list) WriteLittleEndian(stream, t);
    }

    /// <summary>Loads every tensor of a safetensors file by name, in data order (Python: <c>safetensors.torch.load_file</c>).</summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The file is malformed or holds a dtype SharpGrad does not load.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path) => Read(path).Tensors;

    /// <summary>Reads every tensor and the <c>__metadata__</c> of a safetensors file.</summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The file is malformed or holds a dtype SharpGrad does not load.</exception>
    public static SafetensorsContents Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = OpenRead(path);
        return Read(file, path);
    }

    /// <summary>Reads every tensor and the <c>__metadata__</c> from a seekable stream holding one safetensors file from its position to its end.</summary>
    /// <param name="stream">Seekable; positioned at the 8-byte header length.</param>
    /// <param name="name">What error messages call the stream, e.g. its file name.</param>
    /// <exception cref="InvalidDataException">The data is malformed or holds a dtype SharpGrad does not load.</exception>
    public static SafetensorsContents Read(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long start = stream.CanSeek ? stream.Position : 0;
        var header = ReadHeader(stream, name);
        name ??= StreamName;
        foreach (var e in header.Entries) CheckLoadable(e, name, header.DataStart);
        var tensors = new OrderedDictionary<string, Tensor>(header.Entries.Count, StringComparer.Ordinal);
        foreach (var e in header.Entries) tensors.Add(e.Name, ReadTensorAt(stream, start, header, e, name));
        return new SafetensorsContents(tensors, header.Metadata);
    }

    /// <summary>Reads and validates the header of a safetensors file without reading any tensor data.</summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The header is malformed or does not fit the file.</exception>
    public static SafetensorsHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = OpenRead(path);
        return ReadHeader(file, path);
    }

    /// <summary>
    /// Reads and validates the header: the length is at most <see cref="MaxHeaderLength"/> and fits the stream; the
    /// header is UTF-8 JSON beginning with '{' with no duplicate keys; each tensor has a known dtype, non-negative
    /// dimensions and <c>data_offsets</c> spanning exactly numel × itemsize bytes; the ranges tile the data section
    /// with no gap or overlap and end exactly at the end of the stream. The stream is left just past the header.
    /// </summary>
    /// <param name="stream">Seekable; positioned at the 8-byte header length.</param>
    /// <param name="name">What error messages call the stream.</param>
    /// <exception cref="InvalidDataException">The header is malformed or does not fit the stream.</exception>
    public static SafetensorsHeader ReadHeader(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("Safetensors: the stream must be seekable (its length bounds every size in the header).", nameof(stream));
        name ??= StreamName;
        long available = stream.Length - stream.Position;
        if (available < 8)
            throw SafetensorsParser.Fail(name, 0, $"the file has {available} bytes; expected at least 8 (the little-endian header length) and a JSON header");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
            throw SafetensorsParser.Fail(name, 0, $"the header length is {n} bytes; expected at most {MaxHeaderLength}");
        if ((long)n > available - 8)
            throw SafetensorsParser.Fail(name, 0, $"the header length is {n} bytes but only {available - 8} bytes follow; the file is truncated or not safetensors");
        if (n < 2)
            throw SafetensorsParser.Fail(name, 0, $"the header length is {n} bytes; expected at least 2 (a JSON object)");
        var bytes = new byte[n];
        stream.ReadExactly(bytes);
        return SafetensorsParser.Parse(bytes, name, available - 8 - (long)n);
    }

    /// <summary>Reads one tensor listed in <paramref name="header"/> (e.g. to inspect a large file one tensor at a time).</summary>
    /// <param name="stream">The seekable stream the header was read from, whose safetensors data starts at <paramref name="start"/>.</param>
    /// <param name="start">Stream position of the file's first byte.</param>
    /// <param name="header">The header returned by <see cref="ReadHeader(Stream, string?)"/>.</param>
    /// <param name="entry">One of its entries.</param>
    /// <param name="name">What error messages call the stream.</param>
    /// <exception cref="InvalidDataException">The dtype is not loadable or the data cannot be read.</exception>
    public static Tensor ReadTensor(Stream stream, long start, SafetensorsHeader header, SafetensorsEntry entry, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(entry);
        name ??= StreamName;
        CheckLoadable(entry, name, header.DataStart);
        return ReadTensorAt(stream, start, header, entry, name);
    }

    private static void CheckLoadable(SafetensorsEntry e, string name, long dataStart)
    {
        if (!e.IsLoadable)
            throw SafetensorsParser.Fail(name, dataStart + e.Begin, $"tensor '{e.Name}' has dtype {e.DType}, which SharpGrad does not load; expected F32, F64, I64, F16 or BF16");
        foreach (long d in e.Shape)
            if (d > int.MaxValue) throw SafetensorsParser.Fail(name, dataStart + e.Begin, $"tensor '{e.Name}' has dimension {d}; expected at most {int.MaxValue}");
        if (e.Count > Array.MaxLength)
            throw SafetensorsParser.Fail(name, dataStart + e.Begin, $"tensor '{e.Name}' has {e.Count} elements; expected at most {Array.MaxLength}, the most a .NET array holds");
    }

    private static Tensor ReadTensorAt(Stream s, long start, SafetensorsHeader header, SafetensorsEntry e, string name)
    {
        int count = (int)e.Count;
        int[] shape = e.Shape.Select(d => (int)d).ToArray();
        long offset = header.DataStart + e.Begin;
        s.Position = start + offset;
        try
        {
            switch (e.DType)
            {
                case "F32": { var a = new float[count]; ReadInto(s, MemoryMarshal.AsBytes(a.AsSpan()), 4); return new Tensor(a, shape, DType.Float32); }
                case "F64": { var a = new double[count]; ReadInto(s, MemoryMarshal.AsBytes(a.AsSpan()), 8); return new Tensor(a, shape, DType.Float64); }
                case "I64": { var a = new long[count]; ReadInto(s, MemoryMarshal.AsBytes(a.AsSpan()), 8); return new Tensor(a, shape, DType.Int64); }
                default:
                {
                    var half = new ushort[count];
                    ReadInto(s, MemoryMarshal.AsBytes(half.AsSpan()), 2);
                    var a = new float[count];
                    if (e.DType == "F16") for (int i = 0; i < count; i++) a[i] = (float)BitConverter.UInt16BitsToHalf(half[i]);
                    else for (int i = 0; i < count; i++) a[i] = BitConverter.Int32BitsToSingle(half[i] << 16); // BF16 is the top half of an F32
                    return new Tensor(a, shape, DType.Float32);
                }
            }
        }
        catch (EndOfStreamException ex)
        {
            throw SafetensorsParser.Fail(name, offset, $"tensor '{e.Name}' ends early: the file changed or was truncated while being read", ex);
        }
    }

    private static void ReadInto(Stream s, Span<byte> bytes, int itemSize)
    {
        for (int o = 0; o < bytes.Length; o += Chunk) s.ReadExactly(bytes.Slice(o, Math.Min(Chunk, bytes.Length - o)));
        if (!BitConverter.IsLittleEndian && itemSize > 1)
            for (int i = 0; i < bytes.Length; i += itemSize) bytes.Slice(i, itemSize).Reverse();
    }

    private static void WriteLittleEndian(Stream s, Tensor t)
    {
        ReadOnlySpan<byte> bytes = t.Bytes;
        int size = t.DType.ElementSize();
        if (BitConverter.IsLittleEndian)
        {
            for (int o = 0; o < bytes.Length; o += Chunk) s.Write(bytes.Slice(o, Math.Min(Chunk, bytes.Length - o)));
            return;
        }
        var buffer = new byte[Math.Min(Chunk, bytes.Length)];
        for (int o = 0; o < bytes.Length; o += buffer.Length)
        {
            int n = Math.Min(buffer.Length, bytes.Length - o);
            bytes.Slice(o, n).CopyTo(buffer);
            for (int i = 0; i < n; i += size) buffer.AsSpan(i, size).Reverse();
            s.Write(buffer, 0, n);
        }
    }

    internal static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
}
