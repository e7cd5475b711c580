using System.Buffers.Binary;
using System.Text;

namespace SharpGrad.Data;

/// <summary>
/// Checks where the members of a zip archive lie before anything is decompressed: every central-directory entry must
/// point at its own local header and compressed bytes, with no two members sharing bytes. Without this, entries that
/// all point at one large member make a small archive decompress that member again and again (a "zip bomb" of
/// overlapping entries). <see cref="System.IO.Compression.ZipArchive"/> does not expose the offsets, so the end
/// record, its ZIP64 form and the central directory are read here (APPNOTE 4.3).
/// </summary>
internal static class ZipLayout
{
    private const uint EndSignature = 0x06054B50, End64Signature = 0x06064B50, Locator64Signature = 0x07064B50;
    private const uint CentralSignature = 0x02014B50, LocalSignature = 0x04034B50;

    private readonly record struct Member(string Name, long Offset, long End);

    /// <summary>Throws when two members overlap or a member does not lie where its entry says.</summary>
    /// <param name="s">The archive; seekable. Its position is restored.</param>
    /// <param name="name">What error messages call the archive.</param>
    public static void CheckNoOverlap(Stream s, string name)
    {
        long origin = s.Position;
        try { Check(s, name); }
        finally { s.Position = origin; }
    }

    private static void Check(Stream s, string name)
    {
        long length = s.Length;
        // The end record is the last 22 bytes plus a comment of up to 65,535 bytes; scan back for its signature.
        int tail = (int)Math.Min(length, 22 + 0xFFFF);
        var buf = ReadAt(s, length - tail, tail, name, "the end of the archive");
        int at = -1;
        for (int i = tail - 22; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(i)) == EndSignature) { at = i; break; }
        if (at < 0) return; // not a zip archive at all: ZipArchive reports that in its own words
        long endOffset = length - tail + at;
        var end = buf.AsSpan(at, 22);
        long entries = BinaryPrimitives.ReadUInt16LittleEndian(end[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(end[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(end[16..]);
        if ((entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) && endOffset >= 20)
        {
            var locator = ReadAt(s, endOffset - 20, 20, name, "the ZIP64 end locator");
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Locator64Signature)
            {
                long end64 = BinaryPrimitives.ReadInt64LittleEndian(locator.AsSpan(8));
                if (end64 < 0 || end64 > endOffset - 56) throw Npy.Fail(name, endOffset - 12, $"the ZIP64 end record offset {end64} lies outside the archive");
                var e64 = ReadAt(s, end64, 56, name, "the ZIP64 end record");
                if (BinaryPrimitives.ReadUInt32LittleEndian(e64) != End64Signature) throw Npy.Fail(name, end64, "no ZIP64 end record where the locator points");
                entries = BinaryPrimitives.ReadInt64LittleEndian(e64.AsSpan(32));
                cdSize = BinaryPrimitives.ReadInt64LittleEndian(e64.AsSpan(40));
                cdOffset = BinaryPrimitives.ReadInt64LittleEndian(e64.AsSpan(48));
            }
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > length || cdSize > length - cdOffset)
            throw Npy.Fail(name, endOffset, $"the central directory [{cdOffset}, +{cdSize}) lies outside the {length}-byte archive");
        // Each entry takes at least 46 bytes, so the count cannot ask for more work than the directory's size allows.
        if (entries > cdSize / 46)
            throw Npy.Fail(name, endOffset, $"the end record announces {entries} entries, more than a {cdSize}-byte central directory holds");
        var cd = ReadAt(s, cdOffset, (int)Math.Min(cdSize, int.MaxValue), name, "the central directory");
        var members = new List<Member>((int)entries);
        int p = 0;
        for (long k = 0; k < entries; k++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != CentralSignature)
                throw Npy.Fail(name, cdOffset + p, $"central directory entry {k} is missing or truncated");
            var e = cd.AsSpan(p);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(e[28..]), extraLength = BinaryPrimitives.ReadUInt16LittleEndian(e[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(e[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(e[42..]);
            if (p + 46L + nameLength + extraLength + commentLength > cd.Length)
                throw Npy.Fail(name, cdOffset + p, $"central directory entry {k} runs past the end of the directory");
            string member = Encoding.UTF8.GetString(e.Slice(46, nameLength));
            // ZIP64: the fields that overflowed 32 bits follow, in this order, in extra field 0x0001.
            var extra = e.Slice(46 + nameLength, extraLength);
            while (extra.Length >= 4)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra), size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
                if (size > extra.Length - 4) break;
                if (id == 1)
                {
                    var z = extra.Slice(4, size);
                    if (uncompressed == 0xFFFFFFFF && z.Length >= 8) { z = z[8..]; }
                    if (compressed == 0xFFFFFFFF && z.Length >= 8) { compressed = BinaryPrimitives.ReadInt64LittleEndian(z); z = z[8..]; }
                    if (local == 0xFFFFFFFF && z.Length >= 8) local = BinaryPrimitives.ReadInt64LittleEndian(z);
                }
                extra = extra[(4 + size)..];
            }
            if (local < 0 || compressed < 0 || local > cdOffset - 30)
                throw Npy.Fail(name, cdOffset + p, $"member '{member}' has its local header at {local}, outside the data before the central directory (byte {cdOffset})");
            var header = ReadAt(s, local, 30, name, $"the local header of '{member}'");
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalSignature)
                throw Npy.Fail(name, local, $"member '{member}': no local header where the central directory points");
            long data = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(28));
            if (compressed > cdOffset - data)
                throw Npy.Fail(name, local, $"member '{member}': {compressed} compressed bytes from byte {data} run into the central directory at byte {cdOffset}");
            members.Add(new Member(member, local, data + compressed));
            p += 46 + nameLength + extraLength + commentLength;
        }
        members.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 1; i < members.Count; i++)
        {
            if (members[i].Offset < members[i - 1].End)
                throw Npy.Fail(name, members[i].Offset, $"zip members '{members[i - 1].Name}' (bytes {members[i - 1].Offset} to {members[i - 1].End}) and '{members[i].Name}' (from byte {members[i].Offset}) overlap; expected each member's bytes to be its own");
        }
    }

    private static byte[] ReadAt(Stream s, long offset, int count, string name, string what)
    {
        if (offset < 0 || count < 0 || offset > s.Length - count) throw Npy.Fail(name, offset, $"{what} lies outside the archive");
        var buffer = new byte[count];
        s.Position = offset;
        int got = 0;
        while (got < count)
        {
            int n = s.Read(buffer, got, count - got);
            if (n == 0) throw Npy.Fail(name, offset + got, $"the archive ends inside {what}");
            got += n;
        }
        return buffer;
    }
}
