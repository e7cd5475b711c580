using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpGrad.IO;

/// <summary>
/// Parses and validates a safetensors header with <see cref="Utf8JsonReader"/> (no reflection, nothing evaluated), and
/// builds one. Every check that bounds an allocation is made here, before any tensor is allocated: dtypes known,
/// shapes non-negative with no overflow, each byte range exactly numel × itemsize, the ranges tiling the data section
/// with no gap, overlap or byte past its end.
/// </summary>
internal static class SafetensorsParser
{
    /// <summary>The header starts after the 8-byte length, so JSON position p is file offset 8 + p.</summary>
    private const long Base = 8;

    /// <summary>Ranks past this are not tensors anyone saves; the cap bounds the work a hostile header can ask for.</summary>
    private const int MaxRank = 64;

    internal static InvalidDataException Fail(string name, long? offset, string what, Exception? inner = null) =>
        new(offset is long o ? $"{name}, byte offset {o}: {what}." : $"{name}: {what}.", inner);

    private readonly record struct Parsed(SafetensorsEntry Entry, long Position);

    /// <summary>Parses the header bytes (file offset 8 onwards) of a file whose data section has <paramref name="dataLength"/> bytes.</summary>
    internal static SafetensorsHeader Parse(ReadOnlySpan<byte> header, string name, long dataLength)
    {
        int bad = FirstInvalidUtf8(header);
        if (bad >= 0) throw Fail(name, Base + bad, "the header is not valid UTF-8; expected a JSON object in UTF-8");
        if (header.IsEmpty || header[0] != (byte)'{')
            throw Fail(name, Base, $"the header begins with {Describe(header)}; expected '{{' (a JSON object)");

        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 16 });
        var parsed = new List<Parsed>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            reader.Read();
            while (true)
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.EndObject) break;
                long keyPos = Base + reader.TokenStartIndex;
                string key = reader.GetString()!;
                if (!names.Add(key)) throw Fail(name, keyPos, $"the header has the key '{key}' twice; expected every name once");
                reader.Read();
                if (key == "__metadata__") ReadMetadata(ref reader, name, metadata);
                else
                {
                    // Checked before the entry is parsed: past the cap, the work and memory a header asks for stop here.
                    if (parsed.Count == Safetensors.MaxTensorCount)
                        throw Fail(name, keyPos, $"the header lists more than {Safetensors.MaxTensorCount} tensors; expected at most {Safetensors.MaxTensorCount} (Safetensors.MaxTensorCount)");
                    parsed.Add(ReadEntry(ref reader, name, key, keyPos, dataLength));
                }
            }
            if (reader.Read()) throw Fail(name, Base + reader.TokenStartIndex, "found data after the header's JSON object; expected only spaces");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Fail(name, Base + reader.BytesConsumed, $"the header is not valid JSON ({e.Message})", e);
        }
        return new SafetensorsHeader(CheckLayout(parsed, name, dataLength, Base + header.Length), metadata, Base + header.Length);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string name, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(name, Base + reader.TokenStartIndex, $"'__metadata__' is a {Token(reader.TokenType)}; expected an object of strings");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            long pos = Base + reader.TokenStartIndex;
            if (metadata.Count == Safetensors.MaxMetadataCount)
                throw Fail(name, pos, $"'__metadata__' has more than {Safetensors.MaxMetadataCount} entries; expected at most {Safetensors.MaxMetadataCount} (Safetensors.MaxMetadataCount)");
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw Fail(name, Base + reader.TokenStartIndex, $"'__metadata__' field '{key}' is a {Token(reader.TokenType)}; expected a string");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw Fail(name, pos, $"'__metadata__' has the key '{key}' twice; expected every key once");
        }
    }

    private static Parsed ReadEntry(ref Utf8JsonReader reader, string name, string tensor, long keyPos, long dataLength)
    {
        string Where(string field) => $"tensor '{tensor}', field '{field}'";
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail(name, Base + reader.TokenStartIndex, $"tensor '{tensor}' is a {Token(reader.TokenType)}; expected an object with dtype, shape and data_offsets");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        long dtypePos = keyPos, shapePos = keyPos, offsetsPos = keyPos;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            reader.Read();
            long pos = Base + reader.TokenStartIndex;
            switch (field)
            {
                case "dtype" when dtype is null:
                    if (reader.TokenType != JsonTokenType.String) throw Fail(name, pos, $"{Where(field)} is a {Token(reader.TokenType)}; expected a string such as \"F32\"");
                    (dtype, dtypePos) = (reader.GetString()!, pos);
                    break;
                case "shape" when shape is null:
                    (shape, shapePos) = (ReadIntegers(ref reader, name, tensor, field, MaxRank), pos);
                    break;
                case "data_offsets" when offsets is null:
                    (offsets, offsetsPos) = (ReadIntegers(ref reader, name, tensor, field, 2), pos);
                    if (offsets.Length != 2) throw Fail(name, pos, $"{Where(field)} has {offsets.Length} numbers; expected two, [begin, end]");
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Fail(name, pos, $"{Where(field)} appears twice; expected it once");
                default:
                    reader.Skip(); // unknown fields are ignored, as the reference reader does
                    break;
            }
        }
        if (dtype is null) throw Fail(name, keyPos, $"tensor '{tensor}' has no 'dtype'; expected one such as \"F32\"");
        if (shape is null) throw Fail(name, keyPos, $"tensor '{tensor}' has no 'shape'; expected a list of dimensions");
        if (offsets is null) throw Fail(name, keyPos, $"tensor '{tensor}' has no 'data_offsets'; expected [begin, end]");

        int itemSize = SafetensorsDTypes.ItemSize(dtype);
        if (itemSize == 0) throw Fail(name, dtypePos, $"{Where("dtype")} is \"{dtype}\", an unknown dtype; expected one of {SafetensorsDTypes.Known}");
        long count = 1;
        foreach (long d in shape)
        {
            if (d != 0 && count > long.MaxValue / d)
                throw Fail(name, shapePos, $"{Where("shape")} {FormatShape(shape)} has more than 2^63 elements; expected a shape the file can hold");
            count *= d;
        }
        if (count > long.MaxValue / itemSize)
            throw Fail(name, shapePos, $"{Where("shape")} {FormatShape(shape)} of {dtype} needs more than 2^63 bytes; expected a shape the file can hold");
        long bytes = count * itemSize;
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw Fail(name, offsetsPos, $"{Where("data_offsets")} [{begin}, {end}] ends before it begins; expected begin <= end");
        if (end > dataLength)
            throw Fail(name, offsetsPos, $"{Where("data_offsets")} [{begin}, {end}] reaches past the data section, which has {dataLength} bytes");
        if (end - begin != bytes)
            throw Fail(name, offsetsPos, $"{Where("data_offsets")} [{begin}, {end}] span {end - begin} bytes, but shape {FormatShape(shape)} of {dtype} needs {bytes}");
        return new Parsed(new SafetensorsEntry(tensor, dtype, shape, begin, end), offsetsPos);
    }

    /// <summary>A JSON array of non-negative integers, at most <paramref name="max"/> (up to <see cref="MaxRank"/>) of them.</summary>
    private static long[] ReadIntegers(ref Utf8JsonReader reader, string name, string tensor, string field, int max)
    {
        string Where() => $"tensor '{tensor}', field '{field}'";
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Fail(name, Base + reader.TokenStartIndex, $"{Where()} is a {Token(reader.TokenType)}; expected a list of non-negative integers");
        Span<long> values = stackalloc long[MaxRank];
        int count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            long pos = Base + reader.TokenStartIndex;
            if (count == max) throw Fail(name, pos, $"{Where()} has more than {max} numbers; expected at most {max}");
            if (reader.TokenType != JsonTokenType.Number) throw Fail(name, pos, $"{Where()} holds a {Token(reader.TokenType)}; expected non-negative integers");
            if (!reader.TryGetInt64(out long v))
            {
                string text = Encoding.UTF8.GetString(reader.ValueSpan);
                throw Fail(name, pos, $"{Where()} holds {text}; expected a non-negative integer below 2^63");
            }
            if (v < 0) throw Fail(name, pos, $"{Where()} holds {v}; expected a non-negative integer");
            values[count++] = v;
        }
        return count == 0 ? [] : values[..count].ToArray();
    }

    /// <summary>The ranges, sorted by offset, must tile [0, dataLength) exactly, as the format requires.</summary>
    private static SafetensorsEntry[] CheckLayout(List<Parsed> parsed, string name, long dataLength, long dataStart)
    {
        var sorted = parsed.OrderBy(p => p.Entry.Begin).ThenBy(p => p.Entry.End).ToArray();
        long expected = 0;
        SafetensorsEntry? last = null;
        string Previous() => last is null ? "the start of the data section" : $"tensor '{last.Name}'";
        foreach (var (e, pos) in sorted)
        {
            if (e.Begin < expected)
                throw Fail(name, pos, $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap {Previous()}, which ends at {expected}; expected tensors not to share bytes");
            if (e.Begin > expected)
                throw Fail(name, pos, $"tensor '{e.Name}' begins at {e.Begin}, leaving {e.Begin - expected} unused bytes after {Previous()}; expected the data to be fully indexed");
            expected = e.End;
            last = e;
        }
        if (expected != dataLength)
            throw Fail(name, dataStart + expected, $"{dataLength - expected} bytes follow the end of {Previous()}; expected the data section ({dataLength} bytes) to be fully indexed");
        return sorted.Select(p => p.Entry).ToArray();
    }

    /// <summary>
    /// The header JSON, padded with spaces so that the data starts at a multiple of 8. When
    /// <paramref name="metadata"/> is given its entries come first, in order, so a writer can place a field at a fixed offset.
    /// </summary>
    internal static byte[] Build(IReadOnlyList<SafetensorsEntry> entries, IEnumerable<KeyValuePair<string, string>>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            var meta = metadata?.ToList();
            if (meta is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in meta) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType);
                w.WriteStartArray("shape");
                foreach (long d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int length = buffer.WrittenCount, padded = (length + 7) / 8 * 8;
        var bytes = new byte[padded];
        buffer.WrittenSpan.CopyTo(bytes);
        bytes.AsSpan(length).Fill((byte)' ');
        return bytes;
    }

    internal static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (bytes[i] < 0x80) { i++; continue; }
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int used) != OperationStatus.Done) return i;
            i += used;
        }
        return -1;
    }

    private static string Describe(ReadOnlySpan<byte> header) =>
        header.IsEmpty ? "nothing (the header is empty)" : header[0] is >= 0x20 and < 0x7F ? $"'{(char)header[0]}'" : $"byte 0x{header[0]:X2}";

    private static string Token(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "list",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
