using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SharpGrad.Data;

namespace SharpGrad.Tests.Data;

/// <summary>
/// Small files that inflate to hundreds of megabytes, generated here (never committed): an IDX .gz, a .npz member, a
/// .npz whose entries all point at one member, and a member whose header is honest but whose data goes on. Each must
/// be refused having allocated (on this thread, all of the reader's work) at most 8 MB + 64 x the file's size, the
/// promise of RELIABILITY.md.
/// </summary>
public sealed class DecompressionBombTests
{
    private const long Mb = 1 << 20;

    private static long Promise(long fileBytes) => 8 * Mb + 64 * fileBytes;

    /// <summary>Deflates a header and then <paramref name="zeros"/> zero bytes (1 MB at a time, so the test stays small).</summary>
    private static void WriteZeros(Stream s, long zeros)
    {
        var chunk = new byte[Mb];
        for (long left = zeros; left > 0; left -= chunk.Length) s.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
    }

    private static byte[] NpyHeader(string descr, long count)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({count},), }}";
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        var h = new byte[total];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' }.CopyTo(h, 0);
        h[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), (ushort)(total - 10));
        Encoding.ASCII.GetBytes(dict.PadRight(total - 11)).CopyTo(h, 10);
        h[^1] = (byte)'\n';
        return h;
    }

    /// <summary>A .npz with one deflated member NAME.npy: a header for <paramref name="count"/> float64s, then <paramref name="zeros"/> zero bytes.</summary>
    private static byte[] Npz(string name, long count, long zeros)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry(name + ".npy", CompressionLevel.Optimal).Open();
            s.Write(NpyHeader("<f8", count));
            WriteZeros(s, zeros);
        }
        return ms.ToArray();
    }

    private static (T Result, long Allocated) Measure<T>(Func<T> f)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = f();
        return (r, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void AssertRefusedWithin(byte[] file, Action<MemoryStream> read, string expected)
    {
        var (e, allocated) = Measure(() => Record.Exception(() => read(new MemoryStream(file))));
        var ide = Assert.IsType<InvalidDataException>(e);
        Assert.Contains(expected, ide.Message);
        Assert.True(allocated <= Promise(file.Length), $"a {file.Length}-byte file allocated {allocated:N0} bytes; promised at most {Promise(file.Length):N0}");
    }

    [Fact]
    public void AnIdxGzipBombIsRefusedBeforeAllocating()
    {
        const long pixels = 256 * Mb; // 16384 x 16384 bytes of zeros: about 256 kB of gzip
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write([0, 0, 8, 2, 0, 0, 0x40, 0, 0, 0, 0x40, 0]);
            WriteZeros(gz, pixels);
        }
        byte[] file = ms.ToArray();
        Assert.True(file.Length < pixels / 500);
        AssertRefusedWithin(file, s => Idx.Read(s, "bomb.idx.gz"), "default decompression limit");
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "bomb.idx.gz"));
        Assert.Contains($"bomb.idx.gz, byte offset 12: the header announces shape [16384, 16384], {12 + pixels} bytes decompressed, more than the default decompression limit of {Decompression.DefaultLimit(file.Length)} bytes", e.Message);
        Assert.Contains("maxDecompressedBytes", e.Message);
    }

    [Fact]
    public void TheIdxLimitCanBeRaisedAndLowered()
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write([0, 0, 8, 1, 0, 0x80, 0, 0]); // 8 MB of zeros: over the default for a file of a few kB
            WriteZeros(gz, 8 * Mb);
        }
        byte[] file = ms.ToArray();
        Assert.Contains("default decompression limit", Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "z.gz")).Message);
        var a = Idx.Read(new MemoryStream(file), "z.gz", maxDecompressedBytes: 8 * Mb + 8);
        Assert.Equal(8 * Mb, ((byte[])a.Data).LongLength);
        Assert.All((byte[])a.Data, b => Assert.Equal(0, b));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "z.gz", maxDecompressedBytes: 8 * Mb + 7));
        Assert.Contains("the decompression limit of 8388615 bytes that was given", e.Message);
    }

    [Fact]
    public void AnNpzBombIsRefusedBeforeAllocating()
    {
        // One member announcing 256 MB of float64 zeros, honestly, in about 256 kB.
        byte[] file = Npz("w", 32 * Mb, 256 * Mb);
        Assert.True(file.Length < 256 * Mb / 500);
        AssertRefusedWithin(file, s => Npy.ReadNpz(s, "bomb.npz"), "default decompression limit");
        var e = Assert.Throws<InvalidDataException>(() => Npy.ReadNpz(new MemoryStream(file), "bomb.npz"));
        Assert.StartsWith("bomb.npz[w.npy], byte offset 128: shape (33554432,) of '<f8'", e.Message);
    }

    [Fact]
    public void TheNpzLimitCountsEveryMemberAndCanBeRaised()
    {
        byte[] file = Npz("w", Mb, 8 * Mb); // 8 MB of zeros in a few kB
        Assert.Contains("default decompression limit", Assert.Throws<InvalidDataException>(() => Npy.LoadNpz(new MemoryStream(file), "z.npz")).Message);
        var t = Npy.LoadNpz(new MemoryStream(file), "z.npz", maxDecompressedBytes: 9 * Mb)["w"];
        Assert.Equal([(int)Mb], t.Shape);
        Assert.All(t.ToArray<double>(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void AMemberWhoseDataGoesOnPastItsShapeIsRefused()
    {
        // The header asks for 10 float64s (80 bytes), the member inflates to 64 MB: the reader must not read on or accept it.
        byte[] file = Npz("w", 10, 64 * Mb);
        AssertRefusedWithin(file, s => Npy.ReadNpz(s, "long.npz", maxDecompressedBytes: long.MaxValue), "unexpected bytes after the 80 bytes of data");
    }

    /// <summary>Entries added to the central directory, all pointing at the first member's local header.</summary>
    private static byte[] WithAliases(byte[] zip, int aliases)
    {
        int end = zip.Length - 22;
        Assert.Equal(0x06054B50u, BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end)));
        int cdOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16)), cdSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 12));
        var entry = zip.AsSpan(cdOffset, cdSize).ToArray();
        var outp = new MemoryStream();
        outp.Write(zip, 0, cdOffset + cdSize);
        for (int i = 0; i < aliases; i++)
        {
            var copy = (byte[])entry.Clone();
            copy[46] = (byte)('b' + i); // same length, another name, same local header offset
            outp.Write(copy);
        }
        var eocd = zip.AsSpan(end, 22).ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(8), (ushort)(1 + aliases));
        BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(10), (ushort)(1 + aliases));
        BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(12), (uint)(cdSize * (1 + aliases)));
        outp.Write(eocd);
        return outp.ToArray();
    }

    [Fact]
    public void EntriesThatOverlapAreRefused()
    {
        // A small, valid member: the limit does not stop it, only the overlap check does.
        var ms = new MemoryStream();
        Npy.WriteNpz(ms, [new("a", Tensor.FromArray(new double[] { 1, 2, 3 }))], compress: true);
        byte[] file = WithAliases(ms.ToArray(), 7);
        using (var zip = new ZipArchive(new MemoryStream(file))) Assert.Equal(8, zip.Entries.Count); // .NET itself reads all eight
        var e = Assert.Throws<InvalidDataException>(() => Npy.ReadNpz(new MemoryStream(file), "alias.npz"));
        Assert.StartsWith("alias.npz, byte offset 0: zip members 'a.npy' (bytes 0 to", e.Message);
        Assert.Contains("overlap", e.Message);

        // Eight names for one 64 MB member: refused before anything is inflated, whatever the limit.
        byte[] bomb = WithAliases(Npz("a", 8 * Mb, 64 * Mb), 7);
        AssertRefusedWithin(bomb, s => Npy.ReadNpz(s, "bomb.npz", maxDecompressedBytes: long.MaxValue), "overlap");
    }
}
