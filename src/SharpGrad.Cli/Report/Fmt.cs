using System.Globalization;

namespace SharpGrad.Cli.Report;

/// <summary>Number formatting for the report: invariant culture, compact.</summary>
internal static class Fmt
{
    public static string N(double v, int digits = 4) =>
        double.IsNaN(v) ? "NaN" : double.IsInfinity(v) ? (v > 0 ? "∞" : "−∞") :
        Math.Abs(v) != 0 && (Math.Abs(v) < 1e-4 || Math.Abs(v) >= 1e6) ? v.ToString("0.###e+0", CultureInfo.InvariantCulture)
        : Math.Round(v, digits).ToString("0.####", CultureInfo.InvariantCulture);

    public static string E(double v) => v.ToString("0.0e+0", CultureInfo.InvariantCulture);

    public static string Vec(IEnumerable<double> v, int digits = 4) => "[" + string.Join(", ", v.Select(x => N(x, digits))) + "]";

    public static string P(double v) => double.IsNaN(v) ? "—" : v.ToString("P2", CultureInfo.InvariantCulture);
}
