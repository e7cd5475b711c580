using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpGrad.Cli.Commands;

/// <summary>JSON output for <c>--json</c>: one object on stdout and nothing else.</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Print(JsonObject obj) => Console.Out.WriteLine(obj.ToJsonString(Options));

    /// <summary>A double as a JSON number, or null when it is not finite (JSON has no NaN).</summary>
    public static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
}
