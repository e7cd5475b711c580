using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpGrad.Data;

/// <summary>An array read from an IDX file (the MNIST format): its element type code, shape and data in row-major order.</summary>
/// <param name="TypeCode">0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.</param>
/// <param name="Shape">The dimensions from the header.</param>
/// <param name="Data">byte[], sbyte[], short[], int[], float[] or double[] by type code.</param>
public sealed record IdxArray(byte TypeCode, int[] Shape, Array Data);

/// <summary>
/// Reader of IDX files (LeCun's MNIST format, also used by Fashion-MNIST), plain or gzip-compressed (detected by the
/// gzip magic bytes). The header is validated before any large allocation: a plain file cannot ask for more elements
/// than it holds, and a gzip file for more than its decompression limit (<see cref="Decompression"/>). The gzip
/// trailer (CRC-32 and size) is checked and must end the file. Every failure is an <see cref="InvalidDataException"/>
/// naming the file, the byte offset and what was expected.
/// </summary>
public static class Idx
{
    private const int MaxDims = 16;

    /// <summary>Elements read per window: spans are int-indexed, arrays of wide types may pass 2 GB.</summary>
    private const int Window = 1 << 26;

    /// <summary>Reads the IDX file at <paramref name="path"/>.</summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <param name="maxDecompressedBytes">For a gzip file, the most bytes it may decompress to; null for
    /// <see cref="Decompression.DefaultLimit"/> of the file's size.</param>
    public static IdxArray Read(string path, long? maxDecompressedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenRead(path);
        return Read(file, path, maxDecompressedBytes);
    }

    /// <summary>Reads an IDX array from a stream; <paramref name="name"/> is used in error messages. Gzip is recognised
    /// only in a seekable stream.</summary>
    /// <param name="stream">The data, positioned at its start.</param>
    /// <param name="name">What error messages call the stream.</param>
    /// <param name="maxDecompressedBytes">For gzip data, the most bytes it may decompress to; null for
    /// <see cref="Decompression.DefaultLimit"/> of the compressed size.</param>
    public static IdxArray Read(Stream stream, string name = "<stream>", long? maxDecompressedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;
        if (stream.CanSeek && available >= 2)
        {
            long start = stream.Position;
            int b0 = stream.ReadByte(), b1 = stream.ReadByte();
            stream.Position = start;
            if (b0 == 0x1F && b1 == 0x8B)
            {
                long limit = Decompression.Resolve(maxDecompressedBytes, available.Value);
                using var gzip = new GzipReadStream(stream, name);
                return ReadRaw(gzip, name, null, (limit, () => Decompression.Explain(limit, maxDecompressedBytes, available.Value)));
            }
        }
        return ReadRaw(stream, name, available, null);
    }

    private static IdxArray ReadRaw(Stream s, string name, long? available, (long Bytes, Func<string> Explain)? limit)
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
        if (limit is var (max, explain) && dataOffset + bytes > max)
            throw new InvalidDataException($"{name}, byte offset {dataOffset}: the header announces shape [{string.Join(", ", shape)}], {dataOffset + bytes} bytes decompressed, more than {explain()}.");
        // The length is known (a file) or bounded by the decompression limit: allocate it at once. Only a stream of
        // unknown length grows its buffer with the data that arrives.
        bool exact = available is not null || limit is not null;
        Array data = type switch
        {
            0x08 => ReadData<byte>(s, count, name, dataOffset, exact),
            0x09 => ReadData<sbyte>(s, count, name, dataOffset, exact),
            0x0B => ReadData<short>(s, count, name, dataOffset, exact),
            0x0C => ReadData<int>(s, count, name, dataOffset, exact),
            0x0D => ReadData<float>(s, count, name, dataOffset, exact),
            _ => ReadData<double>(s, count, name, dataOffset, exact),
        };
        if (s.ReadByte() != -1)
            throw new InvalidDataException($"{name}, byte offset {dataOffset + bytes}: unexpected bytes after the {bytes} bytes of data that the header announces.");
        return new IdxArray(type, shape, data);
    }

    /// <summary>Reads <paramref name="count"/> big-endian elements straight into their array, then fixes the byte order in place.</summary>
    private static T[] ReadData<T>(Stream s, long count, string name, long offset, bool exact) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        var data = new T[exact ? count : Math.Min(count, (1 << 20) / size)];
        long filled = 0;
        while (filled < count)
        {
            if (filled == data.Length) Array.Resize(ref data, (int)Math.Min(count, 2L * data.Length));
            var window = MemoryMarshal.AsBytes(data.AsSpan((int)filled, (int)Math.Min(Window, data.Length - filled)));
            int got = 0;
            while (got < window.Length)
            {
                int n = s.Read(window[got..]);
                if (n == 0)
                    throw new InvalidDataException($"{name}, byte offset {offset + filled * size + got}: the data ends after {filled * size + got} of the {count * size} bytes the header announces.");
                got += n;
            }
            filled += window.Length / size;
        }
        if (BitConverter.IsLittleEndian && size > 1) SwapBytes(data);
        return data;
    }

    private static void SwapBytes<T>(T[] data) where T : unmanaged
    {
        for (int i = 0; i < data.Length; i += Window)
        {
            var part = data.AsSpan(i, Math.Min(Window, data.Length - i));
            switch (Unsafe.SizeOf<T>())
            {
                case 2: { var v = MemoryMarshal.Cast<T, short>(part); BinaryPrimitives.ReverseEndianness(v, v); break; }
                case 4: { var v = MemoryMarshal.Cast<T, int>(part); BinaryPrimitives.ReverseEndianness(v, v); break; }
                default: { var v = MemoryMarshal.Cast<T, long>(part); BinaryPrimitives.ReverseEndianness(v, v); break; }
            }
        }
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
