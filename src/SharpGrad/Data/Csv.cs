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

/// <summary>Which columns of a CSV file are features and targets, and their dtypes (<see cref="Csv.ReadDataset(string, CsvOptions)"/>).</summary>
public sealed class CsvOptions
{
    /// <summary>The target columns by name (c0, c1, ... without a header); one gives targets [N], several [N, k].</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];
    /// <summary>The feature columns by name, in order; null takes every column that is not a target.</summary>
    public IReadOnlyList<string>? Features { get; init; }
    /// <summary>The targets' dtype: Float32 (default) or Float64 for regression, Int64 for class indices.</summary>
    public DType TargetDType { get; init; } = DType.Float32;
    /// <summary>The features' dtype (default Float32, the layers' default).</summary>
    public DType FeatureDType { get; init; } = DType.Float32;
    /// <summary>Whether the first non-blank line names the columns (default true).</summary>
    public bool HasHeader { get; init; } = true;
    /// <summary>The field separator (default ',').</summary>
    public char Separator { get; init; } = ',';
    /// <summary>Accept NaN and infinities in the selected columns instead of rejecting them.</summary>
    public bool AllowNonFinite { get; init; }
}

/// <summary>Features and targets read from a CSV file.</summary>
/// <param name="FeatureNames">The feature columns, in order.</param>
/// <param name="Features">[N, features], in <see cref="CsvOptions.FeatureDType"/>.</param>
/// <param name="TargetNames">The target columns.</param>
/// <param name="Targets">[N] for one target column, [N, k] for several, in <see cref="CsvOptions.TargetDType"/>.</param>
public sealed record CsvData(IReadOnlyList<string> FeatureNames, Tensor Features, IReadOnlyList<string> TargetNames, Tensor Targets)
{
    /// <summary>The rows as a <see cref="TensorDataset"/>.</summary>
    public TensorDataset ToDataset() => new(Features, Targets);
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
        var (header, values, rows, columns) = ReadCore(reader, name, hasHeader, separator, allowNonFinite, null);
        return new CsvTable(header, Tensor.FromArray(values, rows, columns.Length));
    }

    /// <summary>
    /// Reads features and targets from the CSV file at <paramref name="path"/>: only the columns named in
    /// <paramref name="options"/> are parsed (so a text column such as a name or an id can stay in the file), targets in
    /// their own dtype (Int64 for class labels, which must then be whole numbers). A text cell, a non-integer class or a
    /// non-finite value in a selected column is an <see cref="InvalidDataException"/> naming the file, line and column.
    /// </summary>
    public static CsvData ReadDataset(string path, CsvOptions options)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return ReadDataset(reader, options, path);
    }

    /// <summary>Reads features and targets from CSV text (see <see cref="ReadDataset(string, CsvOptions)"/>); <paramref name="name"/> is used in errors.</summary>
    public static CsvData ReadDataset(TextReader reader, CsvOptions options, string name = "<csv>")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Targets is null || options.Targets.Count == 0)
            throw new ArgumentException("CSV: no target columns given (CsvOptions.Targets).", nameof(options));
        if (!options.FeatureDType.IsFloatingPoint())
            throw new ArgumentException($"CSV: FeatureDType must be floating point; got {options.FeatureDType.ToTorchName()}.", nameof(options));
        if (options.TargetDType is not (DType.Float32 or DType.Float64 or DType.Int64))
            throw new ArgumentException($"CSV: TargetDType must be Float32, Float64 or Int64 (class labels); got {options.TargetDType.ToTorchName()}.", nameof(options));
        string[] featureNames = [], targetNames = [.. options.Targets];
        (int[] Columns, bool[] Integer, string[] Role) Select(IReadOnlyList<string> header)
        {
            int Index(string column, string role)
            {
                for (int i = 0; i < header.Count; i++) if (header[i] == column) return i;
                throw new ArgumentException($"{name}: no column named '{column}' for the {role} (columns: {string.Join(", ", header)}).");
            }
            var targets = targetNames.Select(t => Index(t, "targets")).ToArray();
            featureNames = options.Features is null ? header.Where((_, i) => Array.IndexOf(targets, i) < 0).ToArray() : [.. options.Features];
            var features = featureNames.Select(f => Index(f, "features")).ToArray();
            foreach (int f in features)
                if (Array.IndexOf(targets, f) >= 0) throw new ArgumentException($"{name}: column '{header[f]}' is both a feature and a target.");
            if (features.Length == 0) throw new ArgumentException($"{name}: no feature columns (every column is a target).");
            bool integer = options.TargetDType == DType.Int64;
            return ([.. features, .. targets], [.. features.Select(_ => false), .. targets.Select(_ => integer)],
                [.. features.Select(_ => "feature"), .. targets.Select(_ => "target")]);
        }
        var (_, values, rows, columns) = ReadCore(reader, name, options.HasHeader, options.Separator, options.AllowNonFinite, Select);
        int nf = featureNames.Length, nt = targetNames.Length, width = columns.Length;
        var x = new double[rows * nf];
        var y = new double[rows * nt];
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(values, r * width, x, r * nf, nf);
            Array.Copy(values, r * width + nf, y, r * nt, nt);
        }
        var features = Tensor.FromArray(x, rows, nf).To(options.FeatureDType);
        Tensor targets = options.TargetDType == DType.Int64
            ? Tensor.FromArray(y.Select(v => (long)v).ToArray(), nt == 1 ? [rows] : [rows, nt])
            : Tensor.FromArray(y, nt == 1 ? [rows] : [rows, nt]).To(options.TargetDType);
        return new CsvData(featureNames, features, targetNames, targets);
    }

    /// <summary>
    /// The reading loop: blank lines skipped, the header (or c0, c1, ...) named, ragged rows refused, and the cells of the
    /// selected columns (all without <paramref name="select"/>) parsed as finite numbers (whole ones where asked).
    /// </summary>
    private static (List<string> Header, double[] Values, int Rows, int[] Columns) ReadCore(TextReader reader, string name, bool hasHeader, char separator,
        bool allowNonFinite, Func<IReadOnlyList<string>, (int[] Columns, bool[] Integer, string[] Role)>? select)
    {
        ArgumentNullException.ThrowIfNull(reader);
        List<string>? header = null;
        var values = new List<double>();
        int columns = -1, line = 0, rows = 0;
        (int[] Columns, bool[] Integer, string[]? Role) chosen = default;
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
            if (chosen.Columns is null)
            {
                var names = header ?? Enumerable.Range(0, columns).Select(i => "c" + i.ToString(CultureInfo.InvariantCulture)).ToList();
                chosen = select is null ? (Enumerable.Range(0, columns).ToArray(), new bool[columns], null) : select(names);
            }
            for (int k = 0; k < chosen.Columns.Length; k++)
            {
                int c = chosen.Columns[k];
                string where = $"{name}, line {line}, column {c + 1}{(header is null ? "" : $" ('{header[c]}')")}";
                string cell = cells[c].Trim();
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new InvalidDataException(chosen.Role is null
                        ? $"{where}: '{cells[c]}' is not a number."
                        : $"{where}: '{cells[c]}' is not a number; this column is a {chosen.Role[k]}. Leave text columns out of CsvOptions.Features and Targets, or encode them as numbers first.");
                // A NaN or infinity would otherwise surface far away (a solver failing with no file or line to blame).
                if (!allowNonFinite && !double.IsFinite(v))
                    throw new InvalidDataException($"{where}: '{cell}' is {(double.IsNaN(v) ? "NaN" : "infinite")}; expected a finite number.");
                if (chosen.Integer![k] && (v != Math.Floor(v) || Math.Abs(v) > 9.007199254740992e15))
                    throw new InvalidDataException($"{where}: '{cell}' is not a whole number; Int64 targets are class indices.");
                values.Add(v);
            }
            rows++;
        }
        if (columns <= 0) throw new InvalidDataException($"{name}: no data.");
        header ??= Enumerable.Range(0, columns).Select(i => "c" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        if (chosen.Columns is null) chosen = select is null ? (Enumerable.Range(0, columns).ToArray(), new bool[columns], null) : select(header);
        return (header, values.ToArray(), rows, chosen.Columns);
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
