using System.Text.Json;
using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>
/// Replays tests/golden/theory/signal.json (written by tools/golden/make_theory.py from numpy.convolve and
/// numpy.correlate) against <see cref="Signal"/>, for arrays and for Float64 and Float32 tensors.
/// </summary>
public class SignalGoldenTests
{
    private static readonly Lazy<Dictionary<string, JsonElement>> Cases = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "golden", "theory", "signal.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    });

    public static IEnumerable<object[]> Names() => Cases.Value.Keys.Select(k => new object[] { k });

    [Fact]
    public void TheGoldenFileCoversManyLengths() => Assert.True(Cases.Value.Count >= 100, $"only {Cases.Value.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesNumPy(string name)
    {
        var c = Cases.Value[name];
        double[] a = Doubles(c.GetProperty("a")), v = Doubles(c.GetProperty("v"));
        foreach (var (mode, key) in new[] { (ConvMode.Full, "full"), (ConvMode.Valid, "valid"), (ConvMode.Same, "same") })
        {
            double[] conv = Doubles(c.GetProperty("convolve").GetProperty(key));
            double[] corr = Doubles(c.GetProperty("correlate").GetProperty(key));
            TestUtil.AllClose(conv, Signal.Convolve(a, v, mode), 1e-12, 1e-13, $"{name} convolve {key}");
            TestUtil.AllClose(corr, Signal.CrossCorrelate(a, v, mode), 1e-12, 1e-13, $"{name} correlate {key}");
            TestUtil.AllClose(conv, Signal.Convolve(Tensor.FromArray(a), Tensor.FromArray(v), mode), 1e-12, 1e-13, $"{name} tensor convolve {key}");
            TestUtil.AllClose(corr, Signal.CrossCorrelate(Tensor.FromArray(a), Tensor.FromArray(v), mode), 1e-12, 1e-13, $"{name} tensor correlate {key}");
            var a32 = Tensor.FromArray(Array.ConvertAll(a, x => (float)x));
            var v32 = Tensor.FromArray(Array.ConvertAll(v, x => (float)x));
            TestUtil.AllClose(conv, Signal.Convolve(a32, v32, mode).ToArray<double>(), 1e-5, 1e-5, $"{name} float32 convolve {key}");
        }
    }

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();
}
