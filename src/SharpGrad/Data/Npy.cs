using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpGrad.Data;

/// <summary>
/// NumPy's <c>.npy</c> and <c>.npz</c> files, read and written (NumPy: <c>np.load</c>, <c>np.save</c>,
/// <c>np.savez</c>, <c>np.savez_compressed</c>).
/// </summary>
/// <remarks>
/// <para>Reads format versions 1.0, 2.0 and 3.0 with the dtypes <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>,
/// <c>&lt;i8</c>, <c>|u1</c> and <c>|b1</c>; writes version 1.0 (2.0 when the header needs more than 65 535 bytes)
/// with the data aligned to 64 bytes, as NumPy does. Fortran-order arrays are transposed to row-major order on
/// reading; big-endian and structured dtypes are rejected.</para>
/// <para>Every malformed input throws <see cref="InvalidDataException"/> naming the file (or the <c>name</c>
/// argument), the byte offset or header field, and what was expected. Sizes are checked before anything is
/// allocated, against the file's length where it is known; where it is not (a pipe, a zip member), the buffer grows
/// with the data that actually arrives, so a short file cannot make the reader allocate gigabytes.</para>
/// <para>Reading a .npy from a stream leaves it just past the array's data, so arrays saved one after another
/// into one stream can be read back one after another.</para>
/// </remarks>
public static partial class Npy
{
    private const string StreamName = "<stream>";

    /// <summary>A stream whose length we cannot trust gets this much room at first, then double as data arrives.</summary>
    private const int UntrustedInitialBytes = 1 << 20;

    /// <summary>Span lengths are ints, so arrays past 2 GB are read and written in windows.</summary>
    private const int Window = 1 << 30;

    /// <summary>Reads a .npy file into a tensor: <c>&lt;f4</c> gives <see cref="DType.Float32"/>, <c>&lt;f8</c>
    /// <see cref="DType.Float64"/>, the integer and boolean dtypes widen to <see cref="DType.Int64"/> (NumPy:
    /// <c>np.load</c>).</summary>
    /// <param name="path">The .npy file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The file is not a well-formed .npy of a supported dtype.</exception>
    public static Tensor Load(string path) => ReadArray(path).ToTensor(copy: false);

    /// <summary>Reads one .npy array from <paramref name="stream"/> into a tensor; see <see cref="Load(string)"/>.</summary>
    /// <param name="stream">Positioned at the magic string; left just past the array's data.</param>
    /// <param name="name">What error messages call the stream, e.g. its file name.</param>
    /// <exception cref="InvalidDataException">The data is not a well-formed .npy of a supported dtype.</exception>
    public static Tensor Load(Stream stream, string? name = null) => ReadArray(stream, name).ToTensor(copy: false);

    /// <summary>Reads a .npy file keeping its element type, e.g. uint8 images as byte[].</summary>
    /// <param name="path">The .npy file; error messages name it.</param>
    /// <exception cref="InvalidDataException">The file is not a well-formed .npy of a supported dtype.</exception>
    public static NpyArray ReadArray(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = OpenRead(path);
        return Read(file, path, file.Length, trusted: true, wholeFile: true);
    }

    /// <summary>Reads one .npy array from <paramref name="stream"/> keeping its element type.</summary>
    /// <param name="stream">Positioned at the magic string; left just past the array's data.</param>
    /// <param name="name">What error messages call the stream, e.g. its file name.</param>
    /// <exception cref="InvalidDataException">The data is not a well-formed .npy of a supported dtype.</exception>
    public static NpyArray ReadArray(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;
        return Read(stream, name ?? StreamName, available, trusted: available is not null);
    }

    /// <summary>Saves a tensor as a .npy file (<c>&lt;f4</c>, <c>&lt;f8</c> or <c>&lt;i8</c> by its dtype) atomically:
    /// written to a temporary file in the same directory, then renamed over <paramref name="path"/> (NumPy:
    /// <c>np.save</c>).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensor">The tensor; its gradient is not saved.</param>
    public static void Save(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Save(path, NpyArray.FromTensor(tensor));
    }

    /// <summary>Saves an array as a .npy file of its own dtype, atomically; see <see cref="Save(string, Tensor)"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="array">The array.</param>
    public static void Save(string path, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        WriteAtomically(path, s => Write(s, array));
    }

    /// <summary>Writes a tensor to <paramref name="stream"/> in .npy format.</summary>
    /// <param name="stream">Written sequentially; need not be seekable.</param>
    /// <param name="tensor">The tensor; its gradient is not written.</param>
    public static void Write(Stream stream, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Write(stream, NpyArray.FromTensor(tensor));
    }

    /// <summary>Writes an array to <paramref name="stream"/> in .npy format with its own dtype.</summary>
    /// <param name="stream">Written sequentially; need not be seekable.</param>
    /// <param name="array">The array.</param>
    public static void Write(Stream stream, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        stream.Write(NpyHeader.Build(array.Descr, array.ShapeRef));
        int size = NpyHeader.ItemSize(array.Descr);
        long total = (long)array.Data.Length * size;
        if (BitConverter.IsLittleEndian || size == 1)
        {
            for (long o = 0; o < total; o += Window)
                stream.Write(Bytes(array.Data, o, (int)Math.Min(Window, total - o)));
            return;
        }
        var buffer = new byte[1 << 16];
        for (long o = 0; o < total; o += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, total - o);
            Bytes(array.Data, o, n).CopyTo(buffer);
            ReverseItems(buffer.AsSpan(0, n), size);
            stream.Write(buffer, 0, n);
        }
    }

    /// <summary>The one way errors are reported: file, offset (when there is one), what was wrong and what was expected.</summary>
    internal static InvalidDataException Fail(string name, long? offset, string what, Exception? inner = null) =>
        new(offset is long o ? $"{name}, byte offset {o}: {what}." : $"{name}: {what}.", inner);

    /// <param name="s">Positioned at the magic string.</param>
    /// <param name="name">What error messages call the source.</param>
    /// <param name="available">Bytes from the magic string to the end of the data, if known.</param>
    /// <param name="trusted">Whether <paramref name="available"/> is the true length (a file or seekable stream) and
    /// so may size the allocation, or only a claim (a zip member) that must not.</param>
    /// <param name="wholeFile">The array must end the input: bytes after its data are an error (a file, a zip member),
    /// not the next array of a stream.</param>
    /// <param name="budget">For a compressed source, what the decompressed bytes may still add up to; the array is refused
    /// before allocation if it needs more, and allocated whole if it does not.</param>
    private static NpyArray Read(Stream s, string name, long? available, bool trusted, bool wholeFile = false, DecompressionBudget? budget = null)
    {
        Span<byte> prefix = stackalloc byte[12];
        ReadExactly(s, prefix[..8], name, 0, "the magic string and version");
        if (!prefix[..6].SequenceEqual(NpyHeader.Magic))
        {
            string hint = prefix[..4].SequenceEqual("PK\x03\x04"u8) ? "; this is a zip archive, read it with Npy.LoadNpz" : "";
            throw Fail(name, 0, $"not a .npy file: expected the magic string 93 4E 55 4D 50 59 (\\x93NUMPY), found {Convert.ToHexString(prefix[..6])}{hint}");
        }
        byte major = prefix[6], minor = prefix[7];
        if (major is not (1 or 2 or 3) || minor != 0)
            throw Fail(name, 6, $"unsupported .npy format version {major}.{minor}; expected 1.0, 2.0 or 3.0");

        int lengthSize = major == 1 ? 2 : 4;
        ReadExactly(s, prefix.Slice(8, lengthSize), name, 8, "the header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        long headerStart = 8 + lengthSize;
        if (headerLength > NpyHeader.MaxHeaderLength)
            throw Fail(name, 8, $"header length {headerLength} is larger than the {NpyHeader.MaxHeaderLength} bytes a .npy header may have");
        if (available is long a && headerStart + headerLength > a)
            throw Fail(name, 8, $"truncated header: the header length says {headerLength} bytes, only {a - headerStart} follow");

        var headerBytes = new byte[headerLength];
        ReadExactly(s, headerBytes, name, headerStart, "the header");
        string text;
        try { text = major == 3 ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes); }
        catch (DecoderFallbackException e) { throw Fail(name, headerStart + Math.Max(e.Index, 0), "the version 3.0 header is not valid UTF-8", e); }
        var info = NpyHeader.Parse(text, name, headerStart, utf8: major == 3);

        long dataStart = headerStart + headerLength;
        long need = (long)info.Count * info.ItemSize;
        if (available is long av && need > av - dataStart)
            throw Fail(name, dataStart, $"truncated data: shape {NpyHeader.FormatShape(info.Shape)} of '{info.Descr}' needs {need} bytes, only {av - dataStart} available");

        if (wholeFile && trusted && available is long total && total > dataStart + need)
            throw Fail(name, dataStart + need, $"{total - dataStart - need} unexpected bytes after the {need} bytes of data that shape {NpyHeader.FormatShape(info.Shape)} of '{info.Descr}' needs; expected the file to end there");
        budget?.Take(dataStart + need, name, dataStart, $"shape {NpyHeader.FormatShape(info.Shape)} of '{info.Descr}'");
        Array data = ReadData(s, info, name, dataStart, (trusted && available is not null) || budget is not null);
        if (wholeFile && !trusted && s.ReadByte() != -1)
            throw Fail(name, dataStart + need, $"unexpected bytes after the {need} bytes of data that shape {NpyHeader.FormatShape(info.Shape)} of '{info.Descr}' needs; expected the member to end there");
        if (info.FortranOrder && info.Shape.Length > 1) data = ToRowMajor(data, info.Shape);
        return new NpyArray(data, info.Shape, info.Descr);
    }

    private static Array ReadData(Stream s, NpyHeaderInfo info, string name, long offset, bool trusted)
    {
        int size = info.ItemSize;
        long need = (long)info.Count * size;
        Array data = NewArray(info.Descr, trusted ? info.Count : Math.Min(info.Count, UntrustedInitialBytes / size));
        long got = 0;
        while (got < need)
        {
            long capacity = (long)data.Length * size;
            if (got == capacity)
            {
                var bigger = NewArray(info.Descr, (int)Math.Min(info.Count, 2L * data.Length));
                Array.Copy(data, bigger, data.Length);
                data = bigger;
                capacity = (long)data.Length * size;
            }
            int n = s.Read(Bytes(data, got, (int)Math.Min(Window, capacity - got)));
            if (n == 0)
                throw Fail(name, offset + got, $"truncated data: shape {NpyHeader.FormatShape(info.Shape)} of '{info.Descr}' needs {need} bytes from byte offset {offset}, only {got} available");
            got += n;
        }
        if (!BitConverter.IsLittleEndian && size > 1)
        {
            for (long o = 0; o < need; o += Window)
                ReverseItems(Bytes(data, o, (int)Math.Min(Window, need - o)), size);
        }
        if (data is bool[] bools)
        {
            // A bool holding 2 is not a valid .NET bool, so the raw bytes are normalised in place.
            var bytes = MemoryMarshal.AsBytes(bools.AsSpan());
            for (int i = 0; i < bytes.Length; i++) bytes[i] = bytes[i] != 0 ? (byte)1 : (byte)0;
        }
        return data;
    }

    private static Array NewArray(string descr, int length) => descr switch
    {
        "<f4" => new float[length],
        "<f8" => new double[length],
        "<i4" => new int[length],
        "<i8" => new long[length],
        "|b1" => new bool[length],
        _ => new byte[length],
    };

    /// <summary>A window onto the raw bytes of a primitive array; byte offsets may pass 2 GB, window lengths may not.</summary>
    private static Span<byte> Bytes(Array data, long offset, int length) =>
        MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref MemoryMarshal.GetArrayDataReference(data), (nint)offset), length);

    private static void ReverseItems(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    /// <summary>Reorders column-major elements to row-major: element (i0, ..., ik) sits at sum(ij * stride_j) in the
    /// source, where stride_0 = 1 and stride_j = shape[0] * ... * shape[j-1].</summary>
    private static Array ToRowMajor(Array data, int[] shape) => data switch
    {
        float[] f => ToRowMajor(f, shape),
        double[] d => ToRowMajor(d, shape),
        int[] i => ToRowMajor(i, shape),
        long[] l => ToRowMajor(l, shape),
        byte[] b => ToRowMajor(b, shape),
        bool[] b => ToRowMajor(b, shape),
        _ => throw new InvalidOperationException($"Unexpected array {data.GetType().Name}."),
    };

    private static T[] ToRowMajor<T>(T[] src, int[] shape)
    {
        int rank = shape.Length;
        var strides = new long[rank];
        long stride = 1;
        for (int j = 0; j < rank; stride *= shape[j], j++) strides[j] = stride;
        var dst = new T[src.Length];
        var index = new int[rank];
        long from = 0;
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = src[from];
            // Odometer over the row-major index, last dimension fastest.
            for (int j = rank - 1; j >= 0; j--)
            {
                if (++index[j] < shape[j]) { from += strides[j]; break; }
                from -= (long)(shape[j] - 1) * strides[j];
                index[j] = 0;
            }
        }
        return dst;
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string name, long offset, string what)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Read(buffer[got..]);
            if (n == 0)
                throw Fail(name, offset + got, $"truncated file: {what} needs {buffer.Length} bytes from byte offset {offset}, only {got} available");
            got += n;
        }
    }

    /// <summary>What the members of one compressed archive may still decompress to.</summary>
    private sealed class DecompressionBudget(long limit, Func<string> explain)
    {
        private long _used;

        public void Take(long bytes, string name, long offset, string what)
        {
            if (bytes > limit - _used)
                throw Fail(name, offset, $"{what} makes the member {bytes} bytes decompressed, after {_used} bytes in earlier members: more than {explain()}");
            _used += bytes;
        }
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    /// <summary>Nothing is written half: a crash leaves either the old file or the new one, never a torn one.</summary>
    private static void WriteAtomically(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, write);
    }
}
