using System.Globalization;
using System.Text;

namespace SharpGrad.Data;

/// <summary>A numeric table read from CSV: column names and a [rows, columns] Float64 tensor.</summary>
/// <param name="Columns">Column names (from the header, or c0, c1, ... without one).</param>
/// <param name="Values">The values, shape [rows, columns].</param>
public sealed record CsvTable(IReadOnlyList<string> Columns, Tensor Values)
{
    /// <summary>The index of the column named <paramref name="name"/>; an error listing the columns when there is none.</summary>
    public int ColumnIndex(string name)
    {
        for (int i = 0; i < Columns.Count; i++) if (Columns[i] == name) return i;
        throw new ArgumentException($"CSV: no column named '{name}' (columns: {string.Join(", ", Columns)}).", nameof(name));
    }

    /// <summary>Splits into features (every other column) [rows, columns − 1] and the target column [rows].</summary>
    public (Tensor Features, Tensor Target) Split(string targetColumn)
    {
        int t = ColumnIndex(targetColumn);
        int cols = Columns.Count;
        var keep = Tensor.FromArray(Enumerable.Range(0, cols).Where(c => c != t).Select(c => (long)c).ToArray());
        return (Values.IndexSelect(1, keep), Values.IndexSelect(1, Tensor.FromArray(new long[] { t })).Reshape(-1));
    }
}

/// <summary>
/// Reader and writer of numeric CSV files (RFC 4180 quoting, invariant culture numbers). Every cell must parse as a
/// finite number; a bad cell, a non-finite value (<c>nan</c>, <c>Infinity</c>, or <c>1e999</c>, which overflows) or a
/// ragged row is an <see cref="InvalidDataException"/> naming the file, the line and the column.
/// </summary>
public static class Csv
{
    /// <summary>Reads the CSV file at <paramref name="path"/>.</summary>
    /// <param name="path">The file; error messages name it.</param>
    /// <param name="hasHeader">Whether the first non-blank line names the columns.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="allowNonFinite">Accept NaN and infinities (written <c>nan</c>, <c>Infinity</c>, <c>-inf</c>, or a
    /// number too large for a double) instead of rejecting them.</param>
    public static CsvTable Read(string path, bool hasHeader = true, char separator = ',', bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, path, hasHeader, separator, allowNonFinite);
    }

    /// <summary>Reads CSV text from a reader; <paramref name="name"/> is used in error messages.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="name">What error messages call the text.</param>
    /// <param name="hasHeader">Whether the first non-blank line names the columns.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="allowNonFinite">Accept NaN and infinities instead of rejecting them.</param>
    public static CsvTable Read(TextReader reader, string name = "<csv>", bool hasHeader = true, char separator = ',', bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        List<string>? header = null;
        var values = new List<double>();
        int columns = -1, line = 0, rows = 0;
        string? text;
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (text.Length == 0 || (text.Trim().Length == 0)) continue;
            var cells = SplitLine(text, separator, name, line);
            if (hasHeader && header is null)
            {
                header = cells.Select(c => c.Trim()).ToList();
                columns = header.Count;
                continue;
            }
            if (columns < 0) columns = cells.Count;
            if (cells.Count != columns)
                throw new InvalidDataException($"{name}, line {line}: {cells.Count} fields where the {(header is null ? "first row" : "header")} has {columns}.");
            for (int c = 0; c < cells.Count; c++)
            {
                if (!double.TryParse(cells[c].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new InvalidDataException($"{name}, line {line}, column {c + 1}{(header is null ? "" : $" ('{header[c]}')")}: '{cells[c]}' is not a number.");
                // A NaN or infinity would otherwise surface far away (a solver failing with no file or line to blame).
                if (!allowNonFinite && !double.IsFinite(v))
                    throw new InvalidDataException($"{name}, line {line}, column {c + 1}{(header is null ? "" : $" ('{header[c]}')")}: '{cells[c].Trim()}' is {(double.IsNaN(v) ? "NaN" : "infinite")}; expected a finite number.");
                values.Add(v);
            }
            rows++;
        }
        if (columns <= 0) throw new InvalidDataException($"{name}: no data.");
        header ??= Enumerable.Range(0, columns).Select(i => "c" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        return new CsvTable(header, Tensor.FromArray(values.ToArray(), rows, columns));
    }

    private static List<string> SplitLine(string text, char separator, string name, int line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == separator) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(ch);
        }
        if (quoted) throw new InvalidDataException($"{name}, line {line}: a quoted field is not closed.");
        cells.Add(cell.ToString());
        return cells;
    }

    /// <summary>Writes a [rows, columns] tensor with a header line, atomically.</summary>
    public static void Write(string path, IReadOnlyList<string> columns, Tensor values)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Rank != 2 || values.ShapeRef[1] != columns.Count)
            throw new ArgumentException($"Csv.Write: values of shape {Shapes.Format(values.ShapeRef)} do not match {columns.Count} columns.");
        var sb = new StringBuilder();
        sb.AppendJoin(',', columns.Select(Quote)).Append('\n');
        var v = values.ToArray<double>();
        int cols = columns.Count;
        for (int r = 0; r < values.ShapeRef[0]; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                if (c > 0) sb.Append(',');
                sb.Append(v[r * cols + c].ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        AtomicFile.WriteText(path, sb.ToString());
    }

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
