using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SharpGrad.Reports;

namespace SharpGrad.Tests.Report;

public class LineChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static (double X, double Y, double W, double H) Rect(XDocument doc, string cls)
    {
        var r = doc.Descendants(Svg + "rect").Single(e => (string?)e.Attribute("class") == cls);
        double A(string n) => double.Parse((string)r.Attribute(n)!, CultureInfo.InvariantCulture);
        return (A("x"), A("y"), A("width"), A("height"));
    }

    private static LineChart Many(int n, int points = 10)
    {
        var chart = new LineChart("twenty models", "epoch", "accuracy");
        for (int i = 0; i < n; i++)
            chart.Add($"mlp 256-128 relu adam lr=0.00{i % 10} run {i}", Enumerable.Range(0, points).Select(k => 0.5 + 0.01 * i + 0.001 * k).ToArray());
        return chart;
    }

    [Fact]
    public void TheLegendIsOutsideThePlotAreaAndInsideTheImage()
    {
        var doc = XDocument.Parse(Many(20).ToSvg());
        var plot = Rect(doc, "plot-area");
        var legend = Rect(doc, "legend-box");
        double width = double.Parse((string)doc.Root!.Attribute("width")!, CultureInfo.InvariantCulture);
        double height = double.Parse((string)doc.Root!.Attribute("height")!, CultureInfo.InvariantCulture);
        Assert.True(legend.X >= plot.X + plot.W, $"legend at x = {legend.X} starts inside the plot (right edge {plot.X + plot.W})");
        Assert.True(legend.X + legend.W <= width && legend.Y + legend.H <= height, "the legend runs off the image");
        Assert.Equal(20, doc.Descendants(Svg + "text").Count(t => (string?)t.Attribute("class") == "legend-label"));
    }

    /// <summary>CIE76 distance in Lab between two sRGB colours, computed here from the standard formulas (D65).</summary>
    private static double DeltaE(string a, string b)
    {
        static (double L, double A, double B) Lab(string hex)
        {
            double Lin(int i)
            {
                double c = int.Parse(hex.Substring(i, 2), NumberStyles.HexNumber) / 255.0;
                return c > 0.04045 ? Math.Pow((c + 0.055) / 1.055, 2.4) : c / 12.92;
            }
            double r = Lin(1), g = Lin(3), bl = Lin(5);
            double x = (0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047, y = 0.2126 * r + 0.7152 * g + 0.0722 * bl, z = (0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883;
            static double F(double t) => t > 0.008856 ? Math.Cbrt(t) : 7.787 * t + 16.0 / 116;
            return (116 * F(y) - 16, 500 * (F(x) - F(y)), 200 * (F(y) - F(z)));
        }
        var (l1, a1, b1) = Lab(a);
        var (l2, a2, b2) = Lab(b);
        return Math.Sqrt((l1 - l2) * (l1 - l2) + (a1 - a2) * (a1 - a2) + (b1 - b2) * (b1 - b2));
    }

    [Fact]
    public void TwentySeriesGetDistinctColours()
    {
        var doc = XDocument.Parse(Many(20).ToSvg());
        var colors = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").Select(g => (string)g.Attribute("data-color")!).ToList();
        Assert.Equal(20, colors.Count);
        Assert.Equal(20, colors.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        for (int i = 0; i < colors.Count; i++)
            for (int j = i + 1; j < colors.Count; j++)
                Assert.True(DeltaE(colors[i], colors[j]) >= 20, $"{colors[i]} and {colors[j]} are too alike (ΔE {DeltaE(colors[i], colors[j]):F1})");
    }

    [Fact]
    public void DataPointsAreDrawnAsMarkers()
    {
        double[] x = [1, 2, 3, 4, 5], y = [3, 1, 4, 1, 5];
        var chart = new LineChart("points", "x", "y")
            .Add("curve", x, y)
            .Add("data points", x, y, SeriesStyle.Markers)
            .Add("dense", Enumerable.Range(0, 500).Select(i => (double)i).ToArray(), Enumerable.Range(0, 500).Select(i => (double)i / 100).ToArray());
        var doc = XDocument.Parse(chart.ToSvg());
        var groups = doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series").ToDictionary(g => (string)g.Attribute("data-name")!);
        static int Markers(XElement g) => g.Elements().Count(e => ((string?)e.Attribute("class") ?? "").StartsWith("marker", StringComparison.Ordinal));
        static int Lines(XElement g) => g.Elements(Svg + "path").Count();
        Assert.Equal((5, 1), (Markers(groups["curve"]), Lines(groups["curve"])));
        Assert.Equal((5, 0), (Markers(groups["data points"]), Lines(groups["data points"])));
        Assert.Equal((0, 1), (Markers(groups["dense"]), Lines(groups["dense"])));
        // The marker shapes differ between series, so lines stay apart even in grey print.
        var shapes = groups.Values.Take(2).Select(g => g.Elements().First(e => ((string?)e.Attribute("class") ?? "").StartsWith("marker", StringComparison.Ordinal)).Attribute("class")!.Value).ToList();
        Assert.NotEqual(shapes[0], shapes[1]);
    }

    [Theory]
    [InlineData(0.0011, 0.0012)]
    [InlineData(100_000, 100_500)]
    [InlineData(0.9995, 1.0)]
    [InlineData(1e-6, 3e-6)]
    [InlineData(-0.3, 0.2)]
    [InlineData(1, 2)]
    public void TickLabelsAreDistinctAndReadBackAsTheirValues(double lo, double hi)
    {
        var svg = new LineChart("ticks", "x", "y").Add("s", [lo, hi], [lo, hi]).ToSvg();
        var doc = XDocument.Parse(svg);
        foreach (string axis in new[] { "tick x", "tick y" })
        {
            var labels = doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == axis).Select(t => t.Value).ToList();
            Assert.True(labels.Count >= 2);
            Assert.Equal(labels.Count, labels.Distinct().Count());
            var values = labels.Select(l => double.Parse(l, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
            double step = values[1] - values[0];
            Assert.True(step > 0, $"labels not increasing: {string.Join(", ", labels)}");
            // Evenly spaced as printed: every printed label is its tick value, not a rounding that hides the step.
            for (int i = 1; i < values.Count; i++) Assert.Equal(step, values[i] - values[i - 1], step * 1e-6);
        }
    }

    [Fact]
    public void EpochAxesTickAtWholeNumbers()
    {
        var doc = XDocument.Parse(new LineChart("two epochs", "epoch", "loss").Add("a", [0.5, 0.4]).ToSvg());
        var labels = doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "tick x").Select(t => t.Value).ToList();
        Assert.All(labels, l => Assert.Matches(new Regex("^-?[0-9]+$"), l));
    }
}
