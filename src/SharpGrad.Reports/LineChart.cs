using System.Globalization;
using System.Net;
using System.Text;

namespace SharpGrad.Reports;

/// <summary>One line of a <see cref="LineChart"/>.</summary>
/// <param name="Name">Legend label.</param>
/// <param name="X">X coordinates.</param>
/// <param name="Y">Y coordinates (non-finite points are skipped, breaking the line).</param>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// A line chart rendered as a self-contained SVG document: axes with "nice" tick values, axis labels, a title, a
/// legend, and an optional logarithmic y axis. No fonts, scripts or external resources are referenced.
/// </summary>
public sealed class LineChart
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
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
    /// <summary>Width in pixels.</summary>
    public int Width { get; init; } = 640;
    /// <summary>Height in pixels.</summary>
    public int Height { get; init; } = 400;

    /// <summary>The series added so far.</summary>
    public IReadOnlyList<Series> Series => _series;

    /// <summary>Adds a line; x and y must have the same length.</summary>
    public LineChart Add(string name, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"Series '{name}': {x.Count} x values but {y.Count} y values.");
        _series.Add(new Series(name, x, y));
        return this;
    }

    /// <summary>Adds a line over x = 1, 2, ..., n (e.g. epochs).</summary>
    public LineChart Add(string name, IReadOnlyList<double> y) => Add(name, Enumerable.Range(1, y.Count).Select(i => (double)i).ToArray(), y);

    private bool Usable(double x, double y) => double.IsFinite(x) && double.IsFinite(y) && (!LogY || y > 0);

    /// <summary>The chart as an SVG document.</summary>
    public string ToSvg()
    {
        const int left = 70, right = 20, top = 40, bottom = 50;
        int plotW = Width - left - right, plotH = Height - top - bottom;
        var points = _series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Usable(p.First, p.Second)).ToList();
        double xMin = points.Count > 0 ? points.Min(p => p.First) : 0, xMax = points.Count > 0 ? points.Max(p => p.First) : 1;
        double yMin = points.Count > 0 ? points.Min(p => Ty(p.Second)) : 0, yMax = points.Count > 0 ? points.Max(p => Ty(p.Second)) : 1;
        if (xMax == xMin) { xMin -= 0.5; xMax += 0.5; }
        if (yMax == yMin) { yMin -= LogY ? 0.5 : Math.Max(0.5, Math.Abs(yMin) * 0.1); yMax += LogY ? 0.5 : Math.Max(0.5, Math.Abs(yMax) * 0.1); }
        var xTicks = NiceTicks(xMin, xMax, 6);
        var yTicks = LogY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax, 6);
        (xMin, xMax) = (Math.Min(xMin, xTicks[0]), Math.Max(xMax, xTicks[^1]));
        (yMin, yMax) = (Math.Min(yMin, yTicks[0]), Math.Max(yMax, yTicks[^1])); // log ticks are exponents, so this covers whole decades
        double Px(double x) => left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double ty) => top + plotH - (ty - yMin) / (yMax - yMin) * plotH;

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n"));
        sb.Append(Inv($"<title>{Esc(Title)}</title>\n<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n"));
        sb.Append(Inv($"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(Title)}</text>\n"));
        sb.Append("<g stroke=\"#ddd\" stroke-width=\"1\">\n");
        foreach (var t in xTicks) sb.Append(Inv($"<line x1=\"{Px(t):F1}\" y1=\"{top}\" x2=\"{Px(t):F1}\" y2=\"{top + plotH}\"/>\n"));
        foreach (var t in yTicks) sb.Append(Inv($"<line x1=\"{left}\" y1=\"{Py(t):F1}\" x2=\"{left + plotW}\" y2=\"{Py(t):F1}\"/>\n"));
        sb.Append("</g>\n");
        sb.Append(Inv($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n"));
        foreach (var t in xTicks)
            sb.Append(Inv($"<text x=\"{Px(t):F1}\" y=\"{top + plotH + 16}\" text-anchor=\"middle\">{Esc(FormatTick(t))}</text>\n"));
        foreach (var t in yTicks)
            sb.Append(Inv($"<text x=\"{left - 6}\" y=\"{Py(t) + 4:F1}\" text-anchor=\"end\">{Esc(LogY ? FormatTick(Math.Pow(10, t)) : FormatTick(t))}</text>\n"));
        sb.Append(Inv($"<text x=\"{left + plotW / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">{Esc(XLabel)}</text>\n"));
        sb.Append(Inv($"<text transform=\"translate(16 {top + plotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(YLabel + (LogY ? " (log scale)" : ""))}</text>\n"));

        for (int i = 0; i < _series.Count; i++)
        {
            var s = _series[i];
            string color = Palette[i % Palette.Length];
            var path = new StringBuilder();
            bool pen = false;
            int drawn = 0;
            for (int k = 0; k < s.X.Count; k++)
            {
                if (!Usable(s.X[k], s.Y[k])) { pen = false; continue; }
                path.Append(Inv($"{(pen ? 'L' : 'M')}{Px(s.X[k]):F1},{Py(Ty(s.Y[k])):F1} "));
                pen = true;
                drawn++;
            }
            sb.Append(Inv($"<path class=\"series\" data-name=\"{Esc(s.Name)}\" d=\"{path.ToString().TrimEnd()}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n"));
            if (drawn == 1 || s.X.Count <= 30)
                for (int k = 0; k < s.X.Count; k++)
                    if (Usable(s.X[k], s.Y[k])) sb.Append(Inv($"<circle cx=\"{Px(s.X[k]):F1}\" cy=\"{Py(Ty(s.Y[k])):F1}\" r=\"2.5\" fill=\"{color}\"/>\n"));
        }
        if (_series.Count > 0)
        {
            int lx = left + plotW - 170, ly = top + 10;
            sb.Append(Inv($"<g class=\"legend\"><rect x=\"{lx - 6}\" y=\"{ly - 6}\" width=\"170\" height=\"{_series.Count * 18 + 6}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#aaa\"/>\n"));
            for (int i = 0; i < _series.Count; i++)
            {
                int y = ly + i * 18 + 8;
                sb.Append(Inv($"<line x1=\"{lx}\" y1=\"{y}\" x2=\"{lx + 20}\" y2=\"{y}\" stroke=\"{Palette[i % Palette.Length]}\" stroke-width=\"2\"/><text x=\"{lx + 26}\" y=\"{y + 4}\">{Esc(_series[i].Name)}</text>\n"));
            }
            sb.Append("</g>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();

        double Ty(double y) => LogY ? Math.Log10(y) : y;
    }

    /// <summary>Tick values at 1, 2 or 5 times a power of ten, covering [min, max] with about <paramref name="target"/> ticks.</summary>
    internal static double[] NiceTicks(double min, double max, int target)
    {
        double span = max - min;
        double raw = span / Math.Max(1, target - 1);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * mag).First(s => s >= raw * 0.999);
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

    private static string FormatTick(double v)
    {
        double a = Math.Abs(v);
        if (a != 0 && (a < 1e-3 || a >= 1e5)) return v.ToString("0.#e+0", CultureInfo.InvariantCulture);
        return v.ToString("0.####", CultureInfo.InvariantCulture);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
