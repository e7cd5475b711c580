using System.Buffers.Binary;
using System.IO.Compression;

namespace SharpGrad.Data;

/// <summary>An array read from an IDX file (the MNIST format): its element type code, shape and data in row-major order.</summary>
/// <param name="TypeCode">0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.</param>
/// <param name="Shape">The dimensions from the header.</param>
/// <param name="Data">byte[], sbyte[], short[], int[], float[] or double[] by type code.</param>
public sealed record IdxArray(byte TypeCode, int[] Shape, Array Data);

/// <summary>
/// Reader of IDX files (LeCun's MNIST format, also used by Fashion-MNIST), plain or gzip-compressed (detected by the
/// gzip magic bytes). The header is validated before any large allocation: a file cannot ask for more elements than it
/// holds. Every failure is an <see cref="InvalidDataException"/> naming the file, the byte offset and what was expected.
/// </summary>
public static class Idx
{
    private const int MaxDims = 16;

    /// <summary>Reads the IDX file at <paramref name="path"/>.</summary>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        return Read(file, path);
    }

    /// <summary>Reads an IDX array from a stream; <paramref name="name"/> is used in error messages.</summary>
    public static IdxArray Read(Stream stream, string name = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        Stream source = stream;
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;
        if (stream.CanSeek && available >= 2)
        {
            long start = stream.Position;
            int b0 = stream.ReadByte(), b1 = stream.ReadByte();
            stream.Position = start;
            if (b0 == 0x1F && b1 == 0x8B) { source = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true); available = null; }
        }
        try
        {
            return ReadRaw(source, name, available);
        }
        catch (InvalidDataException e) when (source is GZipStream && !e.Message.StartsWith(name, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{name}: the gzip stream is corrupt: {e.Message}", e);
        }
        finally
        {
            if (!ReferenceEquals(source, stream)) source.Dispose();
        }
    }

    private static IdxArray ReadRaw(Stream s, string name, long? available)
    {
        Span<byte> magic = stackalloc byte[4];
        ReadExactly(s, magic, name, 0, "the 4-byte magic number");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException($"{name}, byte offset 0: not an IDX file (the magic number must start with two zero bytes; got 0x{magic[0]:X2} 0x{magic[1]:X2}).");
        byte type = magic[2];
        int elementSize = type switch { 0x08 or 0x09 => 1, 0x0B => 2, 0x0C or 0x0D => 4, 0x0E => 8, _ => 0 };
        if (elementSize == 0)
            throw new InvalidDataException($"{name}, byte offset 2: unknown element type code 0x{type:X2} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E).");
        int dims = magic[3];
        if (dims == 0 || dims > MaxDims)
            throw new InvalidDataException($"{name}, byte offset 3: {dims} dimensions (expected 1 to {MaxDims}).");
        var header = new byte[4 * dims];
        ReadExactly(s, header, name, 4, $"{dims} big-endian dimension sizes");
        var shape = new int[dims];
        long count = 1;
        for (int i = 0; i < dims; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4 * i));
            if (d > int.MaxValue)
                throw new InvalidDataException($"{name}, byte offset {4 + 4 * i}: dimension {i} is {d}, larger than {int.MaxValue}.");
            shape[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength)
                throw new InvalidDataException($"{name}, byte offset {4 + 4 * i}: the shape [{string.Join(", ", shape.Take(i + 1))}...] has more than {Array.MaxLength} elements.");
        }
        long dataOffset = 4 + 4L * dims, bytes = count * elementSize;
        if (available is long avail && avail - dataOffset < bytes)
            throw new InvalidDataException($"{name}, byte offset {dataOffset}: the header announces shape [{string.Join(", ", shape)}] ({bytes} bytes of data) but only {Math.Max(0, avail - dataOffset)} bytes follow.");
        byte[] raw = ReadData(s, bytes, name, dataOffset);
        if (s.ReadByte() != -1)
            throw new InvalidDataException($"{name}, byte offset {dataOffset + bytes}: unexpected bytes after the {bytes} bytes of data that the header announces.");
        Array data = type switch
        {
            0x08 => raw,
            0x09 => ConvertBigEndian(raw, count, 1, (b, i) => (sbyte)b[i]),
            0x0B => ConvertBigEndian(raw, count, 2, (b, i) => BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(i))),
            0x0C => ConvertBigEndian(raw, count, 4, (b, i) => BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(i))),
            0x0D => ConvertBigEndian(raw, count, 4, (b, i) => BinaryPrimitives.ReadSingleBigEndian(b.AsSpan(i))),
            _ => ConvertBigEndian(raw, count, 8, (b, i) => BinaryPrimitives.ReadDoubleBigEndian(b.AsSpan(i))),
        };
        return new IdxArray(type, shape, data);
    }

    private static T[] ConvertBigEndian<T>(byte[] raw, long count, int size, Func<byte[], int, T> read)
    {
        var result = new T[count];
        for (int i = 0; i < result.Length; i++) result[i] = read(raw, i * size);
        return result;
    }

    /// <summary>Reads exactly <paramref name="bytes"/> bytes, growing the buffer as data arrives when the length is unknown (gzip).</summary>
    private static byte[] ReadData(Stream s, long bytes, string name, long offset)
    {
        if (bytes > Array.MaxLength)
            throw new InvalidDataException($"{name}, byte offset {offset}: {bytes} bytes of data is more than one array can hold.");
        var buffer = new byte[Math.Min(bytes, 1 << 20)];
        long filled = 0;
        while (filled < bytes)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(bytes, (long)buffer.Length * 2));
            int n = s.Read(buffer, (int)filled, (int)(buffer.Length - filled));
            if (n == 0)
                throw new InvalidDataException($"{name}, byte offset {offset + filled}: the data ends after {filled} of the {bytes} bytes the header announces.");
            filled += n;
        }
        return buffer;
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string name, long offset, string what)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = s.Read(buffer[filled..]);
            if (n == 0) throw new InvalidDataException($"{name}, byte offset {offset + filled}: the file ends inside the header (expected {what}).");
            filled += n;
        }
    }

    /// <summary>Writes an unsigned-byte IDX file (plain, or gzip when the path ends in .gz), atomically via a temporary file.</summary>
    public static void WriteBytes(string path, byte[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (count != data.Length) throw new ArgumentException($"WriteBytes: {data.Length} bytes do not fill shape [{string.Join(", ", shape)}].");
        AtomicFile.Write(path, stream =>
        {
            Stream target = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true) : stream;
            target.Write([0, 0, 0x08, (byte)shape.Length]);
            Span<byte> dim = stackalloc byte[4];
            foreach (int d in shape) { BinaryPrimitives.WriteInt32BigEndian(dim, d); target.Write(dim); }
            target.Write(data);
            if (!ReferenceEquals(target, stream)) target.Dispose();
        });
    }
}
