using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpGrad.Cli.Commands;

/// <summary>
/// JSON output for <c>--json</c>: one object on stdout and nothing else. The rules every command keeps (README,
/// "JSON output"): one shape per command whatever the options; one key per concept (<c>params</c> is always a count of
/// parameters); a number that is not finite is the string <c>"NaN"</c>, <c>"Infinity"</c> or <c>"-Infinity"</c>
/// (JSON has no such numbers; these are the names .NET, Python's <c>float()</c> and JavaScript's <c>Number()</c>
/// read back), never null. null means only "no value" (an absent cycle, a statistic of an empty tensor).
/// </summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Print(JsonObject obj) => Console.Out.WriteLine(obj.ToJsonString(Options));

    /// <summary>A double as a JSON number, or as the string "NaN", "Infinity" or "-Infinity" when it is not finite.</summary>
    public static JsonNode Number(double v) =>
        double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");

    /// <summary>Doubles as a JSON array, non-finite values as <see cref="Number"/> writes them.</summary>
    public static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)Number(v)).ToArray());
}
