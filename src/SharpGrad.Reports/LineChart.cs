using System.Globalization;
using System.Net;
using System.Text;

namespace SharpGrad.Reports;

/// <summary>How a <see cref="Series"/> is drawn.</summary>
public enum SeriesStyle
{
    /// <summary>A line, with a marker on every point when the series has at most <see cref="LineChart.MaxAutoMarkers"/> points.</summary>
    Auto,
    /// <summary>A line only.</summary>
    Line,
    /// <summary>Markers only (data points that are not a curve).</summary>
    Markers,
    /// <summary>A line with a marker on every point.</summary>
    LineAndMarkers,
}

/// <summary>One line of a <see cref="LineChart"/>.</summary>
/// <param name="Name">Legend label.</param>
/// <param name="X">X coordinates.</param>
/// <param name="Y">Y coordinates (non-finite points are skipped, breaking the line).</param>
/// <param name="Style">Line, markers, or both.</param>
/// <param name="Slot">Colour and marker slot (null: the series' position), so that one model keeps its colour across charts.</param>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, SeriesStyle Style = SeriesStyle.Auto, int? Slot = null);

/// <summary>
/// A line chart rendered as a self-contained SVG document: axes with "nice" tick values, axis labels, a title, a
/// legend to the right of the plot area (never over the data), and an optional logarithmic y axis. Up to
/// <see cref="MaxDistinctSeries"/> series get distinct colours; markers differ in shape as well. No fonts, scripts or
/// external resources are referenced.
/// </summary>
public sealed class LineChart
{
    /// <summary>Series beyond this many reuse colours (marker shapes still differ).</summary>
    public const int MaxDistinctSeries = 20;

    /// <summary><see cref="SeriesStyle.Auto"/> draws markers on series with at most this many points.</summary>
    public const int MaxAutoMarkers = 60;

    // The ten Tableau colours, then ten chosen greedily to be far (CIE76 ΔE above 27) from every earlier one and dark enough for a white background.
    private static readonly string[] Palette =
    [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
        "#0000ff", "#ff00ff", "#000000", "#000080", "#556b2f", "#ff1493", "#8b008b", "#cd853f", "#8fbc8f", "#f08080",
    ];

    private static readonly string[] MarkerShapes = ["circle", "square", "triangle", "diamond"];

    // Layout in pixels. Text widths are estimated from the character count (no font metrics without a renderer),
    // on the generous side so that a label is never cut.
    private const int Left = 76, Right = 16, Top = 40, Bottom = 50, LegendGap = 14, LegendRow = 18, LegendSample = 26;
    private const double CharWidth = 6.9, TitleCharWidth = 9.2;

    private readonly List<Series> _series = [];

    /// <summary>Creates an empty chart.</summary>
    public LineChart(string title, string xLabel, string yLabel)
    {
        (Title, XLabel, YLabel) = (title, xLabel, yLabel);
    }

    /// <summary>Chart title.</summary>
    public string Title { get; }
    /// <summary>X axis label.</summary>
    public string XLabel { get; }
    /// <summary>Y axis label.</summary>
    public string YLabel { get; }
    /// <summary>Use a base-10 logarithmic y axis (non-positive values are skipped).</summary>
    public bool LogY { get; init; }
    /// <summary>Width in pixels of the plot with its axes; the legend is added to the right of it.</summary>
    public int Width { get; init; } = 640;
    /// <summary>Height in pixels (grown when the legend needs more).</summary>
    public int Height { get; init; } = 400;

    /// <summary>The series added so far.</summary>
    public IReadOnlyList<Series> Series => _series;

    /// <summary>The colour of the series at <paramref name="index"/> (distinct for the first <see cref="MaxDistinctSeries"/>).</summary>
    public static string ColorOf(int index) => Palette[index % Palette.Length];

    /// <summary>Adds a line; x and y must have the same length. <paramref name="slot"/> fixes its colour and marker (default: its position).</summary>
    public LineChart Add(string name, IReadOnlyList<double> x, IReadOnlyList<double> y, SeriesStyle style = SeriesStyle.Auto, int? slot = null)
    {
        if (slot < 0) throw new ArgumentOutOfRangeException(nameof(slot), slot, "A colour slot is 0 or more.");
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"Series '{name}': {x.Count} x values but {y.Count} y values.");
        _series.Add(new Series(name, x, y, style, slot));
        return this;
    }

    /// <summary>Adds a line over x = 1, 2, ..., n (e.g. epochs).</summary>
    public LineChart Add(string name, IReadOnlyList<double> y, int? slot = null) => Add(name, Enumerable.Range(1, y.Count).Select(i => (double)i).ToArray(), y, SeriesStyle.Auto, slot);

    private bool Usable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!LogY || y > 0);

    /// <summary>The estimated width in pixels of <paramref name="text"/> at the chart's 12 px font.</summary>
    internal static double TextWidth(string text) => text.Length * CharWidth;

    /// <summary>The chart as an SVG document.</summary>
    public string ToSvg()
    {
        int plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        int legendW = _series.Count == 0 ? 0 : (int)Math.Ceiling(LegendSample + 8 + _series.Max(s => TextWidth(s.Name)) + 12);
        int legendH = _series.Count * LegendRow + 10;
        int svgW = Width + (legendW > 0 ? LegendGap + legendW + 4 : 0);
        svgW = Math.Max(svgW, (int)Math.Ceiling(TextWidth(Title) * TitleCharWidth / CharWidth) + 20);
        int svgH = Math.Max(Height, Top + legendH + 10);

        var points = _series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Usable(p.First, p.Second)).ToList();
        double xMin = points.Count > 0 ? points.Min(p => p.First) : 0, xMax = points.Count > 0 ? points.Max(p => p.First) : 1;
        double yMin = points.Count > 0 ? points.Min(p => Ty(p.Second)) : 0, yMax = points.Count > 0 ? points.Max(p => Ty(p.Second)) : 1;
        bool integerX = points.Count > 0 && points.All(p => p.First == Math.Round(p.First));
        if (xMax == xMin) { xMin -= integerX ? 1 : 0.5; xMax += integerX ? 1 : 0.5; }
        if (yMax == yMin) { yMin -= LogY ? 0.5 : Math.Max(0.5, Math.Abs(yMin) * 0.1); yMax += LogY ? 0.5 : Math.Max(0.5, Math.Abs(yMax) * 0.1); }
        var xTicks = NiceTicks(xMin, xMax, 6, integerX);
        var yTicks = LogY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax, 6);
        (xMin, xMax) = (Math.Min(xMin, xTicks[0]), Math.Max(xMax, xTicks[^1]));
        (yMin, yMax) = (Math.Min(yMin, yTicks[0]), Math.Max(yMax, yTicks[^1])); // log ticks are exponents, so this covers whole decades
        double Px(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double ty) => Top + plotH - (ty - yMin) / (yMax - yMin) * plotH;
        var xLabels = TickLabels(xTicks);
        var yLabels = LogY ? yTicks.Select(PowerOfTenLabel).ToArray() : TickLabels(yTicks);

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{svgW}\" height=\"{svgH}\" viewBox=\"0 0 {svgW} {svgH}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n"));
        sb.Append(Inv($"<title>{Esc(Title)}</title>\n<rect width=\"{svgW}\" height=\"{svgH}\" fill=\"white\"/>\n"));
        sb.Append(Inv($"<text class=\"title\" x=\"{svgW / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(Title)}</text>\n"));
        sb.Append("<g stroke=\"#ddd\" stroke-width=\"1\">\n");
        foreach (var t in xTicks) sb.Append(Inv($"<line x1=\"{Px(t):F1}\" y1=\"{Top}\" x2=\"{Px(t):F1}\" y2=\"{Top + plotH}\"/>\n"));
        foreach (var t in yTicks) sb.Append(Inv($"<line x1=\"{Left}\" y1=\"{Py(t):F1}\" x2=\"{Left + plotW}\" y2=\"{Py(t):F1}\"/>\n"));
        sb.Append("</g>\n");
        sb.Append(Inv($"<rect class=\"plot-area\" x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n"));
        for (int i = 0; i < xTicks.Length; i++)
            sb.Append(Inv($"<text class=\"tick x\" x=\"{Px(xTicks[i]):F1}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{Esc(xLabels[i])}</text>\n"));
        for (int i = 0; i < yTicks.Length; i++)
            sb.Append(Inv($"<text class=\"tick y\" x=\"{Left - 6}\" y=\"{Py(yTicks[i]) + 4:F1}\" text-anchor=\"end\">{Esc(yLabels[i])}</text>\n"));
        sb.Append(Inv($"<text x=\"{Left + plotW / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">{Esc(XLabel)}</text>\n"));
        sb.Append(Inv($"<text transform=\"translate(14 {Top + plotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(YLabel + (LogY ? " (log scale)" : ""))}</text>\n"));

        for (int i = 0; i < _series.Count; i++)
        {
            var s = _series[i];
            int slot = s.Slot ?? i;
            string color = ColorOf(slot);
            var (line, markers) = Drawn(s);
            sb.Append(Inv($"<g class=\"series\" data-name=\"{Esc(s.Name)}\" data-color=\"{color}\">\n"));
            if (line)
            {
                var path = new StringBuilder();
                bool pen = false;
                for (int k = 0; k < s.X.Count; k++)
                {
                    if (!Usable(s.X[k], s.Y[k])) { pen = false; continue; }
                    path.Append(Inv($"{(pen ? 'L' : 'M')}{Px(s.X[k]):F1},{Py(Ty(s.Y[k])):F1} "));
                    pen = true;
                }
                sb.Append(Inv($"<path class=\"line\" d=\"{path.ToString().TrimEnd()}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n"));
            }
            if (markers)
                for (int k = 0; k < s.X.Count; k++)
                    if (Usable(s.X[k], s.Y[k])) sb.Append(Marker(slot, Px(s.X[k]), Py(Ty(s.Y[k])), color, !line)).Append('\n');
            sb.Append("</g>\n");
        }
        if (_series.Count > 0)
        {
            int lx = Width + LegendGap, ly = Top;
            sb.Append(Inv($"<g class=\"legend\"><rect class=\"legend-box\" x=\"{lx}\" y=\"{ly}\" width=\"{legendW}\" height=\"{legendH}\" fill=\"white\" stroke=\"#aaa\"/>\n"));
            for (int i = 0; i < _series.Count; i++)
            {
                int y = ly + 5 + i * LegendRow + LegendRow / 2;
                var (line, markers) = Drawn(_series[i]);
                int slot = _series[i].Slot ?? i;
                string color = ColorOf(slot);
                if (line || !markers) sb.Append(Inv($"<line x1=\"{lx + 6}\" y1=\"{y}\" x2=\"{lx + LegendSample}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2\"/>"));
                if (markers) sb.Append(Marker(slot, lx + 6 + (LegendSample - 6) / 2.0, y, color, !line));
                sb.Append(Inv($"<text class=\"legend-label\" x=\"{lx + LegendSample + 8}\" y=\"{y + 4}\">{Esc(_series[i].Name)}</text>\n"));
            }
            sb.Append("</g>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();

        double Ty(double y) => LogY ? Math.Log10(y) : y;
    }

    private (bool Line, bool Markers) Drawn(Series s) => s.Style switch
    {
        SeriesStyle.Line => (true, false),
        SeriesStyle.Markers => (false, true),
        SeriesStyle.LineAndMarkers => (true, true),
        _ => (true, s.X.Zip(s.Y).Count(p => Usable(p.First, p.Second)) is var n && (n <= MaxAutoMarkers)),
    };

    /// <summary>A marker of the series' shape (circle, square, triangle, diamond in turn), centred at (x, y).</summary>
    private static string Marker(int series, double x, double y, string color, bool alone = false)
    {
        // Points without a line are the data themselves: larger, with a white rim so that lines drawn near them do not hide them.
        double r = alone ? 4.6 : 3.2;
        string rim = alone ? " stroke=\"white\" stroke-width=\"1\"" : "";
        string shape = MarkerShapes[series % MarkerShapes.Length];
        return shape switch
        {
            "circle" => Inv($"<circle class=\"marker circle\" cx=\"{x:F1}\" cy=\"{y:F1}\" r=\"{r}\" fill=\"{color}\"{rim}/>"),
            "square" => Inv($"<rect class=\"marker square\" x=\"{x - r:F1}\" y=\"{y - r:F1}\" width=\"{2 * r:F1}\" height=\"{2 * r:F1}\" fill=\"{color}\"{rim}/>"),
            "triangle" => Inv($"<polygon class=\"marker triangle\" points=\"{x:F1},{y - r - 0.8:F1} {x - r - 0.6:F1},{y + r:F1} {x + r + 0.6:F1},{y + r:F1}\" fill=\"{color}\"{rim}/>"),
            _ => Inv($"<polygon class=\"marker diamond\" points=\"{x:F1},{y - r - 0.8:F1} {x + r + 0.8:F1},{y:F1} {x:F1},{y + r + 0.8:F1} {x - r - 0.8:F1},{y:F1}\" fill=\"{color}\"{rim}/>"),
        };
    }

    /// <summary>Tick values at 1, 2 or 5 times a power of ten (at least 1 when <paramref name="integer"/>), covering [min, max] with about <paramref name="target"/> ticks.</summary>
    internal static double[] NiceTicks(double min, double max, int target, bool integer = false)
    {
        double span = max - min;
        double raw = span / Math.Max(1, target - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * mag).First(s => s >= raw * 0.999);
        if (integer) step = Math.Max(step, 1); // epochs and other counts: no tick at 1.5
        double start = Math.Floor(min / step + 1e-9) * step, end = Math.Ceiling(max / step - 1e-9) * step;
        var ticks = new List<double>();
        for (double t = start; t <= end + step * 1e-6; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks.ToArray();
    }

    private static double[] LogTicks(double minExp, double maxExp)
    {
        double lo = Math.Floor(minExp), hi = Math.Ceiling(maxExp);
        int every = (int)Math.Max(1, Math.Ceiling((hi - lo) / 8));
        var ticks = new List<double>();
        for (double e = lo; e <= hi; e += every) ticks.Add(e);
        return ticks.ToArray();
    }

    /// <summary>
    /// Labels for evenly spaced ticks with as few digits as keep every label distinct (so 0.0011 and 0.0012 never both
    /// read "0.001"); scientific notation for all of them when the largest magnitude is below 1e-3 or from 1e5.
    /// </summary>
    internal static string[] TickLabels(IReadOnlyList<double> ticks)
    {
        double largest = ticks.Count == 0 ? 0 : ticks.Max(Math.Abs);
        bool scientific = largest != 0 && (largest < 1e-3 || largest >= 1e5);
        for (int digits = 0; digits <= 15; digits++)
        {
            var labels = ticks.Select(t => FormatNumber(t, digits, scientific)).ToArray();
            if (labels.Distinct(StringComparer.Ordinal).Count() == labels.Length) return labels;
        }
        return ticks.Select(t => t.ToString("R", CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary><paramref name="v"/> with at most <paramref name="digits"/> decimals (of the mantissa when scientific); trailing zeros dropped.</summary>
    internal static string FormatNumber(double v, int digits, bool scientific)
    {
        string hashes = digits == 0 ? "" : "." + new string('#', digits);
        string text = v == 0 ? "0" : v.ToString(scientific ? "0" + hashes + "e+0" : "0" + hashes, CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    /// <summary>The label of the log-axis tick 10^<paramref name="exponent"/>: 0.001 … 10000 written out, 1e-7 or 1e+5 beyond.</summary>
    private static string PowerOfTenLabel(double exponent)
    {
        int e = (int)Math.Round(exponent);
        return e is >= -3 and <= 4 ? FormatNumber(Math.Pow(10, e), Math.Max(0, -e), false) : FormatNumber(Math.Pow(10, e), 0, true);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
