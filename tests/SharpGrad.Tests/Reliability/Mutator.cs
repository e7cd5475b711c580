using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SharpGrad.IO;

namespace SharpGrad.Tests.Reliability;

/// <summary>
/// Turns a valid file into a hostile one: generic byte mutations (truncation, bit flips, random bytes, boundary
/// integers in either byte order, insertions, deletions, duplicated chunks, trailing garbage) and, per format, edits
/// of the header that keep it parseable enough to reach the deeper checks (huge, negative and overflowing dimensions
/// and sizes, wrong dtypes, shuffled offsets, fixed-up length prefixes, re-signed checkpoints, re-zipped members).
/// Each mutation returns a description, so a failing case can be reproduced from its seed and read.
/// </summary>
internal static partial class Mutator
{
    /// <summary>Boundary values for binary fields: sizes, counts, lengths.</summary>
    private static readonly long[] Boundaries =
    [
        0, 1, -1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, int.MaxValue, int.MinValue, uint.MaxValue,
        1L << 32, 1L << 40, 1L << 62, long.MaxValue, long.MinValue, 100_000_000, 100_000_001, 0x7FFFFFC7,
    ];

    /// <summary>Boundary values for numbers written as text (shapes, offsets, CSV cells).</summary>
    private static readonly string[] TextNumbers =
    [
        "0", "1", "-1", "-0", "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999", "1e30", "2.5", "1e-400", "65536", "100000000",
    ];

    public delegate (byte[] Data, string What) Edit(Random r, byte[] seed);

    /// <summary>A mutation of <paramref name="seed"/>: a structured edit in about a third of the cases when there is one.</summary>
    public static (byte[] Data, string What) Mutate(Random r, byte[] seed, Edit? structured)
    {
        if (structured is not null && r.Next(3) == 0) return structured(r, seed);
        var (data, what) = Generic(r, seed);
        if (r.Next(6) == 0)
        {
            var (again, more) = structured is not null && r.Next(2) == 0 ? structured(r, data) : Generic(r, data);
            return (again, what + " + " + more);
        }
        return (data, what);
    }

    public static (byte[] Data, string What) Generic(Random r, byte[] seed)
    {
        int len = seed.Length;
        var d = (byte[])seed.Clone();
        int Pos() => len == 0 ? 0 : r.Next(2) == 0 ? r.Next(Math.Min(len, 128)) : r.Next(len);
        switch (r.Next(8))
        {
            case 0:
            {
                int keep = r.Next(2) == 0 ? r.Next(len + 1) : Math.Max(0, len - 1 - r.Next(Math.Min(len, 64)));
                return (d[..keep], $"truncate to {keep} of {len} bytes");
            }
            case 1:
            {
                int n = 1 + r.Next(4);
                var at = new List<string>();
                for (int i = 0; i < n && len > 0; i++)
                {
                    int p = Pos(), bit = r.Next(8);
                    d[p] ^= (byte)(1 << bit);
                    at.Add($"{p}.{bit}");
                }
                return (d, $"flip bits {string.Join(",", at)}");
            }
            case 2:
            {
                int n = 1 + r.Next(8);
                for (int i = 0; i < n && len > 0; i++) d[Pos()] = (byte)r.Next(256);
                return (d, $"set {n} random bytes");
            }
            case 3:
            {
                int width = 1 << r.Next(4), p = Pos();
                if (len < width) return (d, "no room for a boundary value");
                p = Math.Min(p, len - width);
                long v = Boundaries[r.Next(Boundaries.Length)];
                if (r.Next(4) == 0) v = len + r.Next(-8, 9);
                bool big = r.Next(2) == 0;
                Span<byte> b = stackalloc byte[8];
                if (big) BinaryPrimitives.WriteInt64BigEndian(b, v); else BinaryPrimitives.WriteInt64LittleEndian(b, v);
                (big ? b[(8 - width)..] : b[..width]).CopyTo(d.AsSpan(p));
                return (d, $"write {v} as {width} bytes {(big ? "big" : "little")}-endian at {p}");
            }
            case 4:
            {
                int p = r.Next(len + 1), n = 1 + r.Next(16);
                var ins = new byte[n];
                r.NextBytes(ins);
                return ([.. d[..p], .. ins, .. d[p..]], $"insert {n} bytes at {p}");
            }
            case 5:
            {
                if (len == 0) return (d, "nothing to delete");
                int p = r.Next(len), n = 1 + r.Next(Math.Max(1, Math.Min(len - p, r.Next(2) == 0 ? 16 : len / 4 + 1)));
                n = Math.Min(n, len - p);
                return ([.. d[..p], .. d[(p + n)..]], $"delete {n} bytes at {p}");
            }
            case 6:
            {
                if (len == 0) return (d, "nothing to copy");
                int from = r.Next(len), n = Math.Min(len - from, 1 + r.Next(64)), to = r.Next(len);
                var chunk = d[from..(from + n)];
                return ([.. d[..to], .. chunk, .. d[to..]], $"copy {n} bytes from {from} to {to}");
            }
            default:
            {
                var tail = new byte[1 + r.Next(64)];
                r.NextBytes(tail);
                return ([.. d, .. tail], $"append {tail.Length} bytes");
            }
        }
    }

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex Number();

    /// <summary>Replaces a random match of <paramref name="pattern"/> in <paramref name="text"/> with one of <paramref name="choices"/>.</summary>
    private static (string Text, string What) Replace(Random r, string text, Regex pattern, string[] choices)
    {
        var matches = pattern.Matches(text);
        if (matches.Count == 0) return (text, "no match");
        var m = matches[r.Next(matches.Count)];
        string with = choices[r.Next(choices.Length)];
        return (text[..m.Index] + with + text[(m.Index + m.Length)..], $"'{m.Value}' at {m.Index} -> '{with}'");
    }

    private static readonly string[] DTypes = ["F32", "F64", "I64", "F16", "BF16", "I32", "U8", "BOOL", "C64", "F8_E4M3", "X", "", "f32"];

    private static readonly string[] Shapes =
        ["[]", "[0]", "[-1]", "[1,1,1,1,1,1,1,1]", "[4294967296,4294967296]", "[9223372036854775807]", "[1e3]", "[\"3\"]", "null", "{}", "[3,4", "[2147483648]"];

    /// <summary>An edit of a safetensors header: numbers, dtypes, shapes, characters; usually with the length prefix fixed up.</summary>
    public static (byte[] Data, string What) SafetensorsHeader(Random r, byte[] seed)
    {
        if (seed.Length < 8) return Generic(r, seed);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(seed);
        if (n > (ulong)seed.Length - 8) return Generic(r, seed);
        string header = Encoding.UTF8.GetString(seed, 8, (int)n);
        byte[] data = seed[(8 + (int)n)..];
        string what;
        switch (r.Next(6))
        {
            case 0: (header, what) = Replace(r, header, Number(), TextNumbers); break;
            case 1: (header, what) = Replace(r, header, new Regex("\"(F32|F64|I64|F16|BF16)\""), DTypes.Select(t => $"\"{t}\"").ToArray()); break;
            case 2: (header, what) = Replace(r, header, new Regex(@"\[[-\d,\s]*\]"), Shapes); break;
            case 3:
            {
                int p = r.Next(header.Length);
                bool dup = r.Next(2) == 0;
                what = $"{(dup ? "double" : "drop")} char {p} '{header[p]}'";
                header = dup ? header.Insert(p, header[p].ToString()) : header.Remove(p, 1);
                break;
            }
            case 4:
            {
                string extra = $"\"x{r.Next(9)}\":{{\"dtype\":\"F32\",\"shape\":[{TextNumbers[r.Next(TextNumbers.Length)]}],\"data_offsets\":[{TextNumbers[r.Next(TextNumbers.Length)]},{TextNumbers[r.Next(TextNumbers.Length)]}]}},";
                int brace = header.IndexOf('{');
                header = brace < 0 ? header : header.Insert(brace + 1, extra);
                what = $"add tensor {extra}";
                break;
            }
            default:
            {
                var offsets = new Regex(@"\[\d+,\s*\d+\]").Matches(header);
                if (offsets.Count < 2) { what = "fewer than two tensors"; break; }
                int i = r.Next(offsets.Count), j = (i + 1 + r.Next(offsets.Count - 1)) % offsets.Count;
                var (a, b) = (offsets[Math.Min(i, j)], offsets[Math.Max(i, j)]);
                header = header[..a.Index] + b.Value + header[(a.Index + a.Length)..b.Index] + a.Value + header[(b.Index + b.Length)..];
                what = $"swap data_offsets {a.Value} and {b.Value}";
                break;
            }
        }
        byte[] h = Encoding.UTF8.GetBytes(header);
        bool fix = r.Next(10) < 7;
        var result = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, fix ? (ulong)h.Length : n);
        h.CopyTo(result, 8);
        data.CopyTo(result, 8 + h.Length);
        return (result, $"header: {what}{(fix ? " (length fixed)" : "")}");
    }

    /// <summary>A safetensors header edit of a checkpoint, re-signed half the time so it passes the checksum and reaches the content checks.</summary>
    public static (byte[] Data, string What) CheckpointHeader(Random r, byte[] seed)
    {
        var (data, what) = r.Next(4) == 0 ? Generic(r, seed) : SafetensorsHeader(r, seed);
        return r.Next(2) == 0 ? (Resign(data), what + " (re-signed)") : (data, what);
    }

    /// <summary>Recomputes a checkpoint's checksum, if its prefix still has room for one.</summary>
    public static byte[] Resign(byte[] data)
    {
        int at = Checkpoint.ChecksumOffset;
        if (data.Length < at + 64) return data;
        var d = (byte[])data.Clone();
        d.AsSpan(at, 64).Fill((byte)'0');
        Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(d))).CopyTo(d, at);
        return d;
    }

    private static readonly string[] Descrs = ["'<f4'", "'<f8'", "'<i4'", "'<i8'", "'|u1'", "'|b1'", "'>f4'", "'<f2'", "'<U3'", "'|O'", "'<c16'", "'f4'", "None", "[('a', '<f4')]"];

    /// <summary>An edit of a .npy header dict (shape dimensions, descr, fortran_order), usually with its length fixed up.</summary>
    public static (byte[] Data, string What) NpyHeader(Random r, byte[] seed)
    {
        if (seed.Length < 10) return Generic(r, seed);
        int major = seed[6], lengthSize = major == 1 ? 2 : 4, start = 8 + lengthSize;
        if (seed.Length < start) return Generic(r, seed);
        long hl = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(seed.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(seed.AsSpan(8));
        if (start + hl > seed.Length) return Generic(r, seed);
        string header = Encoding.Latin1.GetString(seed, start, (int)hl);
        string what;
        switch (r.Next(4))
        {
            case 0: (header, what) = Replace(r, header, Number(), TextNumbers); break;
            case 1: (header, what) = Replace(r, header, new Regex(@"'[<>|=][a-zA-Z]\d*'"), Descrs); break;
            case 2: (header, what) = Replace(r, header, new Regex("True|False"), ["True", "False", "1", "None", "'no'"]); break;
            default: (header, what) = Replace(r, header, new Regex(@"\([\d,\s]*\)"), ["()", "(0,)", "(-1,)", "(4294967296, 4294967296)", "(2147483647, 2147483647)", "(1,)*40", "(" + string.Concat(Enumerable.Repeat("1, ", 40)) + ")"]); break;
        }
        byte[] h = Encoding.Latin1.GetBytes(header);
        bool fix = r.Next(10) < 7 && (major != 1 || h.Length <= ushort.MaxValue);
        var result = new byte[start + h.Length + (seed.Length - start - hl)];
        seed.AsSpan(0, start).CopyTo(result);
        if (fix)
        {
            if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)h.Length);
            else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)h.Length);
        }
        h.CopyTo(result, start);
        seed.AsSpan(start + (int)hl).CopyTo(result.AsSpan(start + h.Length));
        return (result, $"npy header: {what}{(fix ? " (length fixed)" : "")}");
    }
}
