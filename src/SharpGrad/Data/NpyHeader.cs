using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace SharpGrad.Data;

/// <summary>What a .npy header says: the canonical descr, its item size, the layout, the shape and its element count.</summary>
internal readonly record struct NpyHeaderInfo(string Descr, int ItemSize, bool FortranOrder, int[] Shape, int Count);

/// <summary>
/// The .npy header: <c>\x93NUMPY</c>, major and minor version, the header length (u16 in 1.0, u32 in 2.0 and 3.0),
/// then a Python dict literal such as <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>.
/// The dict is parsed by a small recursive-descent parser of the Python literal subset NumPy writes; nothing is evaluated.
/// </summary>
internal static class NpyHeader
{
    internal static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>
    /// Headers have no legitimate reason to be large (NumPy writes a few dozen bytes and caps reading at 10 000 by
    /// default); the cap keeps a hostile u32 length from making us allocate gigabytes before we can check anything.
    /// </summary>
    internal const int MaxHeaderLength = 1 << 20;

    /// <summary>NumPy aligns the data to 64 bytes so that memory-mapped arrays are aligned for any SIMD width.</summary>
    private const int Alignment = 64;

    /// <summary>The full preamble (magic, version, length, padded dict ending in '\n'): version 1.0 if it fits, else 2.0.</summary>
    internal static byte[] Build(string descr, ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("{'descr': '").Append(descr).Append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }
        // A one-element tuple needs its trailing comma, or Python reads a parenthesised int.
        sb.Append(shape.Length == 1 ? ",), }" : "), }");
        string dict = sb.ToString();

        int prefix = 10;
        int unpadded = prefix + dict.Length + 1;
        int total = RoundUp(unpadded);
        if (total - prefix > ushort.MaxValue)
        {
            prefix = 12;
            total = RoundUp(prefix + dict.Length + 1);
        }
        int headerLength = total - prefix;
        if (headerLength > MaxHeaderLength)
            throw new ArgumentException($"A .npy header for a rank-{shape.Length} array would take {headerLength} bytes, more than the {MaxHeaderLength} this reader accepts.");

        var bytes = new byte[total];
        Magic.CopyTo(bytes);
        bytes[6] = prefix == 10 ? (byte)1 : (byte)2;
        bytes[7] = 0;
        if (prefix == 10) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);
        Encoding.ASCII.GetBytes(dict, bytes.AsSpan(prefix));
        bytes.AsSpan(prefix + dict.Length, total - prefix - dict.Length - 1).Fill((byte)' ');
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    private static int RoundUp(int n) => (n + Alignment - 1) / Alignment * Alignment;

    /// <summary>
    /// Parses the header dict <paramref name="text"/>, which starts at byte <paramref name="baseOffset"/> of
    /// <paramref name="name"/>, and checks the dtype and the shape, so that nothing is allocated for a header that
    /// describes an impossible array. Unknown keys are ignored; missing or ill-typed ones throw naming the field.
    /// </summary>
    internal static NpyHeaderInfo Parse(string text, string name, long baseOffset, bool utf8)
    {
        var p = new LiteralParser(text, name, baseOffset, utf8);
        var fields = p.ParseHeaderDict();

        var (descrValue, descrPos) = Field(fields, "descr", p, "a dtype string such as '<f4'");
        if (descrValue is not string descr)
            throw p.Error(descrPos, $"header field 'descr' is {Repr(descrValue)}; expected a dtype string such as '<f4' (structured dtypes are not supported)");
        var (canonical, itemSize) = Resolve(descr);
        if (itemSize == 0)
        {
            string why = descr.StartsWith('>') ? "big-endian data is not supported; convert it in NumPy with a.astype(a.dtype.newbyteorder('<'))"
                : "this dtype is not supported";
            throw p.Error(descrPos, $"header field 'descr' is {Repr(descr)}: {why}; expected one of '<f4', '<f8', '<i4', '<i8', '|u1', '|b1'");
        }

        var (fortranValue, fortranPos) = Field(fields, "fortran_order", p, "True or False");
        if (fortranValue is not bool fortran)
            throw p.Error(fortranPos, $"header field 'fortran_order' is {Repr(fortranValue)}; expected True or False");

        var (shapeValue, shapePos) = Field(fields, "shape", p, "a tuple of dimensions such as (2, 3)");
        if (shapeValue is not object?[] tuple)
            throw p.Error(shapePos, $"header field 'shape' is {Repr(shapeValue)}; expected a tuple of non-negative integers such as (2, 3)");
        var shape = new int[tuple.Length];
        for (int i = 0; i < tuple.Length; i++)
        {
            if (tuple[i] is not long d)
                throw p.Error(shapePos, $"header field 'shape' {Repr(tuple)} has a non-integer dimension {Repr(tuple[i])} at index {i}");
            if (d < 0)
                throw p.Error(shapePos, $"header field 'shape' {Repr(tuple)} has a negative dimension {d} at index {i}; expected non-negative integers");
            if (d > int.MaxValue)
                throw p.Error(shapePos, $"header field 'shape' {Repr(tuple)} has dimension {d} at index {i}, larger than the {int.MaxValue} a tensor dimension can hold");
            shape[i] = (int)d;
        }

        // Any zero dimension makes the array empty, however large the others are.
        long count = shape.Contains(0) ? 0 : 1;
        for (int i = 0; i < shape.Length && count > 0; i++)
        {
            count *= shape[i];
            if (count > Array.MaxLength)
                throw p.Error(shapePos, $"header field 'shape' {Repr(tuple)} describes more than {Array.MaxLength} elements, the most a .NET array can hold");
        }
        return new NpyHeaderInfo(canonical, itemSize, fortran, shape, (int)count);
    }

    /// <summary>The canonical descr and item size, or size 0 if unsupported; one-byte types have no byte order.</summary>
    private static (string Descr, int Size) Resolve(string descr) => descr switch
    {
        "<f4" => ("<f4", 4),
        "<f8" => ("<f8", 8),
        "<i4" => ("<i4", 4),
        "<i8" => ("<i8", 8),
        "|u1" or "<u1" or ">u1" or "=u1" => ("|u1", 1),
        "|b1" or "<b1" or ">b1" or "=b1" => ("|b1", 1),
        _ => (descr, 0),
    };

    internal static int ItemSize(string descr) => Resolve(descr).Size;

    /// <summary>A shape as Python prints the tuple: <c>()</c>, <c>(3,)</c>, <c>(2, 3)</c>.</summary>
    internal static string FormatShape(int[] shape) => Repr(shape.Select(d => (object?)(long)d).ToArray());

    private static (object? Value, int Pos) Field(Dictionary<string, (object? Value, int Pos)> fields, string key, LiteralParser p, string expected) =>
        fields.TryGetValue(key, out var f) ? f : throw p.Error(p.Length, $"the header has no '{key}' key; expected {expected}");

    /// <summary>Python's repr of a parsed value, so that messages quote the header as the user would see it.</summary>
    internal static string Repr(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'",
        object?[] t => "(" + string.Join(", ", t.Select(Repr)) + (t.Length == 1 ? ",)" : ")"),
        List<object?> l => "[" + string.Join(", ", l.Select(Repr)) + "]",
        Dictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        _ => v.ToString() ?? "?",
    };

    /// <summary>
    /// The literal subset NumPy's header can hold: strings in either quote, True/False/None, integers (with Python 2's
    /// optional L suffix), tuples, lists and dicts with string keys. Values: string, bool, null, long, object?[] for
    /// a tuple, List&lt;object?&gt; for a list, Dictionary&lt;string, object?&gt; for a dict.
    /// </summary>
    private sealed class LiteralParser(string text, string name, long baseOffset, bool utf8)
    {
        private const int MaxDepth = 32;
        private int _pos;

        public int Length => text.Length;

        /// <summary>An error at character <paramref name="pos"/>, reported as a byte offset into the file.</summary>
        public InvalidDataException Error(int pos, string what)
        {
            pos = Math.Clamp(pos, 0, text.Length);
            long offset = baseOffset + (utf8 ? Encoding.UTF8.GetByteCount(text.AsSpan(0, pos)) : pos);
            return Npy.Fail(name, offset, what);
        }

        public Dictionary<string, (object? Value, int Pos)> ParseHeaderDict()
        {
            SkipSpace();
            Expect('{', "the header dict");
            var fields = new Dictionary<string, (object?, int)>(StringComparer.Ordinal);
            SkipSpace();
            while (Peek() != '}')
            {
                int keyPos = _pos;
                if (ParseValue(1) is not string key)
                    throw Error(keyPos, "header dict keys must be strings");
                SkipSpace();
                Expect(':', $"':' after key {Repr(key)}");
                SkipSpace();
                int valuePos = _pos;
                object? value = ParseValue(1);
                if (!fields.TryAdd(key, (value, valuePos)))
                    throw Error(keyPos, $"header dict repeats the key {Repr(key)}");
                if (!CommaOr('}')) break;
            }
            Expect('}', "'}' closing the header dict");
            SkipSpace();
            if (_pos < text.Length)
                throw Error(_pos, $"found {Describe(_pos)} after the header dict; expected only spaces and a newline");
            return fields;
        }

        private object? ParseValue(int depth)
        {
            if (depth > MaxDepth) throw Error(_pos, $"header literal nests deeper than {MaxDepth} levels");
            char c = Peek();
            switch (c)
            {
                case '\'' or '"': return ParseString();
                case '(' or '[': return ParseSequence(depth);
                case '{': return ParseDict(depth);
                case '-' or '+' or (>= '0' and <= '9'): return ParseInt();
            }
            if (TryWord("True")) return true;
            if (TryWord("False")) return false;
            if (TryWord("None")) return null;
            throw Error(_pos, $"expected a string, integer, True, False, None, tuple, list or dict, found {Describe(_pos)}");
        }

        private string ParseString()
        {
            int start = _pos;
            char quote = text[_pos++];
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length || text[_pos] == '\n')
                    throw Error(start, "unterminated string in the header");
                char c = text[_pos++];
                if (c == quote) return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (_pos >= text.Length) throw Error(start, "unterminated string in the header");
                char e = text[_pos++];
                sb.Append(e switch { 'n' => "\n", 't' => "\t", 'r' => "\r", '\\' or '\'' or '"' => e.ToString(), _ => "\\" + e });
            }
        }

        private object? ParseSequence(int depth)
        {
            char open = text[_pos++], close = open == '(' ? ')' : ']';
            var items = new List<object?>();
            bool sawComma = false;
            SkipSpace();
            while (Peek() != close)
            {
                items.Add(ParseValue(depth + 1));
                bool more = CommaOr(close);
                sawComma |= more;
                if (!more) break;
            }
            Expect(close, $"'{close}' closing the {(open == '(' ? "tuple" : "list")}");
            if (open == '[') return items;
            // As in Python, "(3)" is a parenthesised 3 and only "(3,)" is a tuple.
            return items.Count == 1 && !sawComma ? items[0] : items.ToArray();
        }

        private Dictionary<string, object?> ParseDict(int depth)
        {
            _pos++;
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            SkipSpace();
            while (Peek() != '}')
            {
                int keyPos = _pos;
                if (ParseValue(depth + 1) is not string key) throw Error(keyPos, "dict keys in the header must be strings");
                SkipSpace();
                Expect(':', $"':' after key {Repr(key)}");
                SkipSpace();
                d[key] = ParseValue(depth + 1);
                if (!CommaOr('}')) break;
            }
            Expect('}', "'}' closing a dict");
            return d;
        }

        private long ParseInt()
        {
            int start = _pos;
            bool negative = text[_pos] == '-';
            if (text[_pos] is '-' or '+') _pos++;
            int digits = _pos;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
            if (_pos == digits) throw Error(start, $"expected digits after the sign, found {Describe(_pos)}");
            var span = text.AsSpan(digits, _pos - digits);
            if (!long.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw Error(start, $"integer {span} in the header is too large");
            if (_pos < text.Length && text[_pos] is 'L' or 'l') _pos++;
            if (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '.' or '_'))
                throw Error(start, $"unsupported number {text.AsSpan(start, _pos - start + 1)}...; expected an integer");
            return negative ? -value : value;
        }

        /// <summary>After an item: true if a comma follows (so more items may), false if <paramref name="close"/> does.</summary>
        private bool CommaOr(char close)
        {
            SkipSpace();
            if (Peek() == ',') { _pos++; SkipSpace(); return true; }
            if (Peek() == close) return false;
            throw Error(_pos, $"expected ',' or '{close}', found {Describe(_pos)}");
        }

        private bool TryWord(string word)
        {
            if (!text.AsSpan(_pos).StartsWith(word, StringComparison.Ordinal)) return false;
            int end = _pos + word.Length;
            if (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) return false;
            _pos = end;
            return true;
        }

        private void Expect(char c, string what)
        {
            if (Peek() != c) throw Error(_pos, $"expected {what}, found {Describe(_pos)}");
            _pos++;
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void SkipSpace()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\n' or '\r') _pos++;
        }

        private string Describe(int pos) =>
            pos >= text.Length ? "the end of the header" : $"'{text[pos]}' (U+{(int)text[pos]:X4})";
    }
}
