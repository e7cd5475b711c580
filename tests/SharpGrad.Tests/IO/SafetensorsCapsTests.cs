using System.Buffers.Binary;
using System.Text;
using SharpGrad.IO;
using SharpGrad.Tests.Reliability;

namespace SharpGrad.Tests.IO;

/// <summary>
/// Headers of very many tiny entries: 100 MB holds 1.65 million empty tensors, which without a cap took gigabytes and
/// minutes to list. The tensor count is capped at <see cref="Safetensors.MaxTensorCount"/> and what reading allocates
/// stays proportional to the file.
/// </summary>
public sealed class SafetensorsCapsTests : IDisposable
{
    private readonly TempDir _dir = new("sharpgrad-caps");

    public void Dispose() => _dir.Dispose();

    /// <summary>A file of <paramref name="tensors"/> empty F32 tensors and <paramref name="metadata"/> metadata entries, generated here.</summary>
    private static byte[] ManyEntries(int tensors, int metadata = 0)
    {
        var json = new StringBuilder(tensors * 64 + metadata * 16 + 64).Append('{');
        if (metadata > 0)
        {
            json.Append("\"__metadata__\":{");
            for (int i = 0; i < metadata; i++) json.Append(i == 0 ? "" : ",").Append("\"m").Append(i).Append("\":\"\"");
            json.Append("},");
        }
        for (int i = 0; i < tensors; i++)
            json.Append(i == 0 ? "" : ",").Append("\"t").Append(i).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
        json.Append('}');
        while ((json.Length + 8) % 8 != 0) json.Append(' ');
        var header = Encoding.ASCII.GetBytes(json.ToString());
        var file = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        return file;
    }

    [Fact]
    public void TheTensorCountIsCappedAndTheCapItselfLoads()
    {
        var atCap = Safetensors.ReadHeader(new MemoryStream(ManyEntries(Safetensors.MaxTensorCount)), "cap.safetensors");
        Assert.Equal(Safetensors.MaxTensorCount, atCap.Entries.Count);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.ReadHeader(new MemoryStream(ManyEntries(Safetensors.MaxTensorCount + 1)), "over.safetensors"));
        Assert.Matches(@"^over\.safetensors, byte offset \d+: the header lists more than 100000 tensors; expected at most 100000", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Safetensors.ReadHeader(new MemoryStream(ManyEntries(1, Safetensors.MaxMetadataCount + 1)), "meta.safetensors"));
        Assert.Contains("'__metadata__' has more than 100000 entries", e.Message);
    }

    [Fact]
    public void AHundredMegabyteHeaderOfEmptyTensorsIsRefusedWithMemoryProportionalToTheFile()
    {
        byte[] file = ManyEntries(1_650_000);
        Assert.InRange(file.Length, 90_000_000, Safetensors.MaxHeaderLength + 8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.ReadHeader(new MemoryStream(file), "huge.safetensors"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("more than 100000 tensors", e.Message);
        // The header's bytes (the file's size) plus what 100,000 parsed entries take: well under twice the file.
        Assert.True(allocated < 2L * file.Length, $"a {file.Length:N0}-byte header allocated {allocated:N0} bytes");
    }

    [Fact]
    public void InspectListsTheMostTensorsAllowedAndRefusesMore()
    {
        string cap = _dir.File("cap.safetensors"), huge = _dir.File("huge.safetensors");
        File.WriteAllBytes(cap, ManyEntries(Safetensors.MaxTensorCount));
        File.WriteAllBytes(huge, ManyEntries(1_650_000));

        var json = CliRunner.Run(_dir.Path, ["inspect", cap, "--json"]);
        Assert.Equal(0, json.ExitCode);
        var tensors = json.Json.GetProperty("tensors");
        Assert.Equal(Safetensors.MaxTensorCount, tensors.GetArrayLength());
        Assert.Equal("t99999", tensors[Safetensors.MaxTensorCount - 1].GetProperty("name").GetString());

        var table = CliRunner.Run(_dir.Path, ["inspect", cap]);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("100,000 tensors", table.Stdout.Replace("\n", "", StringComparison.Ordinal));
        var lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int columns = Array.FindIndex(lines, l => l.StartsWith("name ", StringComparison.Ordinal));
        Assert.Equal(Safetensors.MaxTensorCount, lines.Length - columns - 1); // one line per tensor after the column names
        Assert.Matches(@"^t99999 +F32 +\[0\] +- +- +-$", lines[^1]);

        foreach (string[] args in new[] { new[] { "inspect", huge, "--json" }, ["inspect", huge] })
        {
            var r = CliRunner.Run(_dir.Path, args);
            Assert.Equal(1, r.ExitCode);
            Assert.Matches($@"^sharpgrad: {System.Text.RegularExpressions.Regex.Escape(huge)}, byte offset \d+: the header lists more than 100000 tensors", Assert.Single(r.Stderr.Trim().Split('\n')));
        }
    }
}
