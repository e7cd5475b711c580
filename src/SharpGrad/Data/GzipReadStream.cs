using System.Buffers.Binary;
using System.IO.Compression;

namespace SharpGrad.Data;

/// <summary>
/// Reads one gzip member (RFC 1952) from a seekable stream and checks everything .NET's <see cref="GZipStream"/> lets
/// pass: the header's flags, the 8-byte trailer (CRC-32 and size, which must be there and agree with the data), and
/// the end of the file right after it. Errors are <see cref="InvalidDataException"/>s naming the file and the offset.
/// </summary>
/// <remarks>
/// .NET does not say where the deflate data ended, so the trailer is found from what is known: decompression stops
/// inside the last chunk handed to the inflater, and the trailer is the 8 bytes there that hold the CRC-32 and size
/// of what came out (a 64-bit match). With the file's end, that tells a good trailer from junk after it, a CRC
/// mismatch, and a trailer that is missing.
/// </remarks>
internal sealed class GzipReadStream : Stream
{
    private const int Chunk = 1 << 16;
    private readonly Stream _source;
    private readonly string _name;
    private readonly long _end, _dataStart;
    private readonly DeflateStream _deflate;
    private readonly CountingStream _counted;
    private uint _crc;
    private long _size;
    private bool _done;

    /// <param name="source">Seekable, positioned at the gzip magic; read to its end.</param>
    /// <param name="name">What error messages call the file.</param>
    public GzipReadStream(Stream source, string name)
    {
        _source = source;
        _name = name;
        _end = source.Length;
        _dataStart = ReadHeader(source, name, _end);
        _counted = new CountingStream(source, _end);
        _deflate = new DeflateStream(_counted, CompressionMode.Decompress, leaveOpen: true);
    }

    private static long ReadHeader(Stream s, string name, long end)
    {
        long start = s.Position;
        Span<byte> h = stackalloc byte[10];
        Fill(s, h, name, start, end, "the 10-byte gzip header");
        if (h[2] != 8)
            throw new InvalidDataException($"{name}, byte offset {start + 2}: gzip compression method {h[2]}; expected 8 (deflate), the only one gzip defines.");
        byte flags = h[3];
        if ((flags & 0xE0) != 0)
            throw new InvalidDataException($"{name}, byte offset {start + 3}: gzip flags 0x{flags:X2} set reserved bits; expected them clear.");
        if ((flags & 4) != 0)
        {
            Span<byte> xlen = stackalloc byte[2];
            Fill(s, xlen, name, s.Position, end, "the gzip extra-field length");
            int n = BinaryPrimitives.ReadUInt16LittleEndian(xlen);
            if (s.Position + n > end)
                throw new InvalidDataException($"{name}, byte offset {s.Position}: the gzip extra field of {n} bytes runs past the end of the file.");
            s.Position += n;
        }
        if ((flags & 8) != 0) SkipZeroTerminated(s, name, end, "file name");
        if ((flags & 16) != 0) SkipZeroTerminated(s, name, end, "comment");
        if ((flags & 2) != 0)
        {
            if (s.Position + 2 > end) throw new InvalidDataException($"{name}, byte offset {s.Position}: the gzip header CRC runs past the end of the file.");
            s.Position += 2;
        }
        return s.Position;
    }

    private static void SkipZeroTerminated(Stream s, string name, long end, string what)
    {
        long from = s.Position;
        int b;
        while ((b = s.ReadByte()) > 0) { }
        if (b < 0) throw new InvalidDataException($"{name}, byte offset {from}: the gzip header's {what} has no terminating zero byte before the end of the file.");
    }

    private static void Fill(Stream s, Span<byte> buffer, string name, long offset, long end, string what)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = s.Read(buffer[got..]);
            if (n == 0) throw new InvalidDataException($"{name}, byte offset {offset + got}: the file ends inside {what}.");
            got += n;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_done || buffer.IsEmpty) return 0;
        int n;
        try { n = _deflate.Read(buffer); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{_name}, byte offset {_counted.Delivered - _counted.LastRead} or after: the compressed (deflate) data is corrupt ({e.Message}).", e);
        }
        if (n > 0)
        {
            _crc = Crc32.Append(_crc, buffer[..n]);
            _size += n;
            return n;
        }
        _done = true;
        CheckTrailer();
        return 0;
    }

    /// <summary>The trailer must directly follow the deflate data, hold its CRC-32 and size mod 2^32, and end the file.</summary>
    private void CheckTrailer()
    {
        uint size = unchecked((uint)_size);
        long lo = Math.Max(_dataStart, _counted.Delivered - _counted.LastRead), hi = Math.Min(_counted.Delivered, _end - 8);
        if (hi >= lo)
        {
            var window = new byte[hi - lo + 8];
            _source.Position = lo;
            Fill(_source, window, _name, lo, _end, "the gzip trailer");
            for (int i = 0; i + 8 <= window.Length; i++)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(window.AsSpan(i)) != _crc || BinaryPrimitives.ReadUInt32LittleEndian(window.AsSpan(i + 4)) != size) continue;
                long after = lo + i + 8;
                if (after != _end)
                    throw new InvalidDataException($"{_name}, byte offset {after}: {_end - after} bytes follow the end of the gzip stream; expected the file to end with its 8-byte trailer (a second gzip member or appended data is not read).");
                return;
            }
        }
        string expected = $"expected the CRC-32 {_crc:X8} and size {_size} of the decompressed data";
        if (_end - 8 >= _dataStart)
        {
            Span<byte> last = stackalloc byte[8];
            _source.Position = _end - 8;
            Fill(_source, last, _name, _end - 8, _end, "the gzip trailer");
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(last), isize = BinaryPrimitives.ReadUInt32LittleEndian(last[4..]);
            if (isize == size)
                throw new InvalidDataException($"{_name}, byte offset {_end - 8}: gzip CRC-32 mismatch: the trailer says {crc:X8}, the {_size} decompressed bytes give {_crc:X8}; the file is corrupt.");
            if (crc == _crc)
                throw new InvalidDataException($"{_name}, byte offset {_end - 4}: gzip size mismatch: the trailer says {isize} bytes (mod 2^32), the data has {_size}; the file is corrupt.");
        }
        throw new InvalidDataException($"{_name}, byte offset {_end}: the gzip stream has no valid trailer ({expected} in the 8 bytes after the compressed data); the file is truncated or corrupt.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _deflate.Dispose(); _counted.Dispose(); }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Hands the inflater at most <see cref="Chunk"/> bytes per read and remembers where the last read ended.</summary>
    private sealed class CountingStream(Stream inner, long end) : Stream
    {
        public long Delivered { get; private set; } = inner.Position;
        public int LastRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            inner.Position = Delivered;
            int n = inner.Read(buffer[..(int)Math.Min(Math.Min(buffer.Length, Chunk), end - Delivered)]);
            Delivered += n;
            if (n > 0) LastRead = n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
