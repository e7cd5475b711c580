using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SharpGrad.Tests.Reliability;

// Mutations of the container formats: .npz (zip), IDX (plain and gzip) and CSV.
internal static partial class Mutator
{
    /// <summary>Either a zip-structure field set to a boundary value, or one member mutated (as .npy) and the archive rebuilt.</summary>
    public static (byte[] Data, string What) Npz(Random r, byte[] seed)
    {
        if (r.Next(2) == 0) return ZipField(r, seed);
        List<(string Name, byte[] Bytes)> members;
        try
        {
            using var zip = new ZipArchive(new MemoryStream(seed), ZipArchiveMode.Read);
            members = zip.Entries.Select(e =>
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                return (e.FullName, ms.ToArray());
            }).ToList();
        }
        catch (Exception) { return Generic(r, seed); } // a mutated archive given to a second mutation
        if (members.Count == 0) return Generic(r, seed);
        int k = r.Next(members.Count);
        var (bytes, what) = Mutate(r, members[k].Bytes, NpyHeader);
        members[k] = (r.Next(8) == 0 ? members[k].Name + "x" : members[k].Name, bytes);
        bool deflate = r.Next(2) == 0;
        var output = new MemoryStream();
        try
        {
            using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, data) in members)
            {
                using var s = zip.CreateEntry(name, deflate ? CompressionLevel.Fastest : CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        }
        catch (ArgumentException) { return Generic(r, seed); } // a member name a zip cannot hold, from an earlier mutation
        return (output.ToArray(), $"member {members[k].Name}: {what} ({(deflate ? "deflated" : "stored")})");
    }

    /// <summary>Sets a size, count, length or offset field of a local header, central directory entry or end record.</summary>
    private static (byte[] Data, string What) ZipField(Random r, byte[] seed)
    {
        var d = (byte[])seed.Clone();
        var fields = new List<(int At, int Width, string Name)>();
        for (int i = 0; i + 4 <= d.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(i));
            if (sig == 0x04034B50) fields.AddRange([(i + 18, 4, "local compressed size"), (i + 22, 4, "local size"), (i + 26, 2, "local name length"), (i + 28, 2, "local extra length"), (i + 8, 2, "local method")]);
            else if (sig == 0x02014B50) fields.AddRange([(i + 20, 4, "central compressed size"), (i + 24, 4, "central size"), (i + 28, 2, "central name length"), (i + 42, 4, "local header offset"), (i + 10, 2, "central method")]);
            else if (sig == 0x06054B50) fields.AddRange([(i + 8, 2, "entries on disk"), (i + 10, 2, "entries"), (i + 12, 4, "directory size"), (i + 16, 4, "directory offset")]);
        }
        fields.RemoveAll(f => f.At + f.Width > d.Length);
        if (fields.Count == 0) return Generic(r, seed);
        var (at, width, name) = fields[r.Next(fields.Count)];
        long v = Boundaries[r.Next(Boundaries.Length)];
        if (r.Next(3) == 0) v = d.Length + r.Next(-40, 41);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, v);
        b[..width].CopyTo(d.AsSpan(at));
        return (d, $"zip {name} at {at} := {v}");
    }

    /// <summary>An IDX header field (type, rank, a dimension) set to a boundary value; gzip files are edited inside and re-compressed.</summary>
    public static (byte[] Data, string What) Idx(Random r, byte[] seed)
    {
        bool gz = seed.Length > 2 && seed[0] == 0x1F && seed[1] == 0x8B;
        byte[] raw = seed;
        if (gz)
        {
            try
            {
                using var s = new GZipStream(new MemoryStream(seed), CompressionMode.Decompress);
                var ms = new MemoryStream();
                s.CopyTo(ms);
                raw = ms.ToArray();
            }
            catch (Exception) { return Generic(r, seed); } // a mutated stream given to a second mutation
        }
        if (raw.Length < 4) return Generic(r, seed);
        var d = (byte[])raw.Clone();
        string what;
        switch (r.Next(4))
        {
            case 0: d[2] = (byte)new[] { 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF }[r.Next(9)]; what = $"type := 0x{d[2]:X2}"; break;
            case 1: d[3] = (byte)new[] { 0, 1, 2, 3, 4, 16, 17, 255 }[r.Next(8)]; what = $"rank := {d[3]}"; break;
            case 2:
            {
                int dims = Math.Max(1, Math.Min(d[3], (d.Length - 4) / 4));
                int i = r.Next(dims), at = 4 + 4 * i;
                if (at + 4 > d.Length) { (d, what) = Generic(r, d); break; }
                uint v = (uint)Boundaries[r.Next(Boundaries.Length)];
                BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(at), v);
                what = $"dimension {i} := {v}";
                break;
            }
            default: (d, what) = Generic(r, d); break;
        }
        if (!gz) return (d, "idx " + what);
        var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) z.Write(d);
        return (output.ToArray(), $"idx (re-gzipped) {what}");
    }

    private static readonly string[] Cells =
    [
        "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "", " ", "\"", "\"\"", "\"1,2\"", "0x10", "1e-400", "٣", "１", "--1", "+", ".",
        "1,2", "\"unterminated", "1\r2", "9223372036854775808", "\0", "1_000", "1 000",
    ];

    /// <summary>A CSV cell replaced with something awkward, a line doubled or dropped, separators or quotes inserted, or a very long line.</summary>
    public static (byte[] Data, string What) Csv(Random r, byte[] seed)
    {
        string text = Encoding.UTF8.GetString(seed);
        var lines = text.Split('\n').ToList();
        int l = r.Next(lines.Count);
        string what;
        switch (r.Next(5))
        {
            case 0:
            {
                var cells = lines[l].Split(',');
                int c = r.Next(cells.Length);
                string with = Cells[r.Next(Cells.Length)];
                what = $"line {l + 1} cell {c + 1} := '{with}'";
                cells[c] = with;
                lines[l] = string.Join(',', cells);
                break;
            }
            case 1: lines.Insert(l, lines[l]); what = $"double line {l + 1}"; break;
            case 2: lines.RemoveAt(l); what = $"drop line {l + 1}"; break;
            case 3:
            {
                int p = r.Next(lines[l].Length + 1);
                string ins = new[] { ",", "\"", "\n", "\r", ",,", "\t" }[r.Next(6)];
                lines[l] = lines[l].Insert(p, ins);
                what = $"insert {ins.Replace("\n", "\\n").Replace("\r", "\\r")} in line {l + 1}";
                break;
            }
            default: lines.Insert(l, string.Join(',', Enumerable.Repeat("1", 5000))); what = $"insert a 5000-field line at {l + 1}"; break;
        }
        return (Encoding.UTF8.GetBytes(string.Join('\n', lines)), "csv " + what);
    }
}
