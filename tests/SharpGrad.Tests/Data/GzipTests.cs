using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SharpGrad.Data;

namespace SharpGrad.Tests.Data;

/// <summary>
/// Gzip IDX files whose framing is wrong: .NET's GZipStream accepts a missing trailer and anything after it, and calls
/// a CRC mismatch "an unsupported compression method"; the reader must name each.
/// </summary>
public sealed class GzipTests
{
    /// <summary>A 3x100 uint8 IDX array, half random (so the deflate data is not trivial), gzip-compressed by zlib.</summary>
    private static (byte[] Gz, byte[] Values) Sample()
    {
        var values = new byte[300];
        new Random(5).NextBytes(values.AsSpan(0, 150));
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 100]);
            gz.Write(values);
        }
        return (ms.ToArray(), values);
    }

    private static InvalidDataException Refused(byte[] file)
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(file), "x.idx.gz"));
        Assert.StartsWith("x.idx.gz", e.Message);
        return e;
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        // The CRC-32/ISO-HDLC check value of "123456789" (the catalogue of CRC parameters) and of nothing.
        Assert.Equal(0xCBF43926u, Crc32.Append(0, "123456789"u8));
        Assert.Equal(0u, Crc32.Append(0, []));
        // In pieces of every split, including ones that cross the 8-byte stride.
        var data = Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog");
        for (int split = 0; split <= data.Length; split++)
            Assert.Equal(0x414FA339u, Crc32.Append(Crc32.Append(0, data.AsSpan(0, split)), data.AsSpan(split)));
    }

    [Fact]
    public void AValidFileReadsAndItsTrailerIsZlibs()
    {
        var (gz, values) = Sample();
        var a = Idx.Read(new MemoryStream(gz), "x.idx.gz");
        Assert.Equal([3, 100], a.Shape);
        Assert.Equal(values, (byte[])a.Data);
        // zlib wrote the trailer; our CRC of the decompressed bytes must agree with it.
        var raw = new byte[12 + 300];
        new byte[] { 0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 100 }.CopyTo(raw, 0);
        values.CopyTo(raw, 12);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 8)), Crc32.Append(0, raw));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(1)]
    public void AMissingOrCutTrailerIsAnError(int cut)
    {
        var (gz, _) = Sample();
        var e = Refused(gz[..^cut]);
        Assert.Contains("no valid trailer", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void BytesAfterTheTrailerAreAnError()
    {
        var (gz, _) = Sample();
        var e = Refused([.. gz, 1, 2, 3, 4, 5]);
        Assert.Contains($"byte offset {gz.Length}: 5 bytes follow the end of the gzip stream", e.Message);
        // A second gzip member is not silently appended to the data either.
        e = Refused([.. gz, .. gz]);
        Assert.Contains($"byte offset {gz.Length}: {gz.Length} bytes follow the end of the gzip stream", e.Message);
    }

    [Fact]
    public void ACrcMismatchIsReportedAsOne()
    {
        var (gz, _) = Sample();
        var bad = (byte[])gz.Clone();
        bad[^8] ^= 0x10;
        var e = Refused(bad);
        Assert.Contains($"byte offset {gz.Length - 8}: gzip CRC-32 mismatch", e.Message);
        Assert.DoesNotContain("compression method", e.Message);
        bad = (byte[])gz.Clone();
        bad[^3] ^= 1;
        Assert.Contains("gzip size mismatch", Refused(bad).Message);
    }

    [Fact]
    public void OptionalHeaderFieldsAreSkippedAndBadHeadersNamed()
    {
        var (gz, values) = Sample();
        // FEXTRA (3 bytes), FNAME, FCOMMENT and FHCRC before the same deflate data and trailer.
        byte[] header = [0x1F, 0x8B, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 255, 3, 0, 7, 7, 7, .. "a.idx"u8, 0, .. "hi"u8, 0, 0xAB, 0xCD];
        var a = Idx.Read(new MemoryStream([.. header, .. gz.AsSpan(10)]), "x.idx.gz");
        Assert.Equal(values, (byte[])a.Data);

        var method = (byte[])gz.Clone();
        method[2] = 7;
        Assert.Contains("byte offset 2: gzip compression method 7; expected 8", Refused(method).Message);
        var reserved = (byte[])gz.Clone();
        reserved[3] = 0x20;
        Assert.Contains("byte offset 3: gzip flags 0x20 set reserved bits", Refused(reserved).Message);
        byte[] unterminated = [0x1F, 0x8B, 8, 8, 0, 0, 0, 0, 0, 255, .. "name without end"u8];
        Assert.Contains("no terminating zero byte", Refused(unterminated).Message);
    }

    [Fact]
    public void CorruptDeflateDataIsNamedAsSuch()
    {
        var (gz, _) = Sample();
        var bad = (byte[])gz.Clone();
        // Block type 3 is reserved in deflate: the first block header becomes invalid.
        bad[10] |= 0b110;
        Assert.Contains("compressed (deflate) data is corrupt", Refused(bad).Message);
    }
}
