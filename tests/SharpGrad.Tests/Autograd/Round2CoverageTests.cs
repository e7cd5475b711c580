using System.Text.Json;

namespace SharpGrad.Tests.Autograd;

/// <summary>
/// Keeps docs/COVERAGE.md true: every differentiable op of DESIGN.md "Round 2 API" (issue 13) and every layer of issue 14
/// has a float64 gradient check in the suite and PyTorch golden data (forward and backward) among the committed cases,
/// so removing a registration or a golden script's case fails here and not silently.
/// </summary>
public class Round2CoverageTests
{
    private static readonly string Golden = Path.Combine(AppContext.BaseDirectory, "golden");

    // Differentiable ops: a gradcheck registration and a golden case whose backward is compared.
    private static readonly string[] DifferentiableOps =
    [
        "Sin", "Cos", "Tan", "Erf", "Floor", "Ceil", "Round", "Sign", "Reciprocal", "Rsqrt", "Square", "Log1p", "Expm1", "Remainder",
        "Where", "MaskedFill",
        "Gelu", "Silu", "Elu", "Selu", "Mish", "HardSigmoid", "HardSwish", "Softsign", "Softplus", "Hardtanh", "Prelu",
        "Var", "Std", "Prod", "Norm", "TopK", "Sort", "CumSum",
        "Split", "Chunk", "Repeat", "Flip", "Roll", "Tril", "Triu", "Slice", "Pad", "Scatter", "ScatterAdd", "IndexAdd", "Einsum",
        "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
        "AdaptiveMaxPool2d", "Interpolate",
        "LayerNorm", "GroupNorm", "RmsNorm", "InstanceNorm", "Normalize", "ScaledDotProductAttention",
    ];

    // Bool / Int64 results: a golden case compared exactly.
    private static readonly string[] ExactOps =
        ["Eq", "Ne", "Lt", "Le", "Gt", "Ge", "LogicalAnd", "LogicalOr", "LogicalNot", "IsNan", "IsFinite", "ArgMin", "ArgSort", "OneHot"];

    // Layers: a module golden case (state dict by PyTorch's names; output, input and parameter gradients).
    private static readonly string[] Layers =
    [
        "Embedding", "LayerNorm", "GroupNorm", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "GELU", "SiLU", "ELU", "SELU", "Mish",
        "Hardsigmoid", "Hardswish", "Softsign", "Softplus", "Hardtanh", "PReLU", "Unflatten", "Composite", "ConvTranspose1d", "ConvTranspose2d", "Conv3d", "MaxPool1d", "MaxPool3d", "AvgPool1d",
        "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Upsample", "MultiheadAttention",
        "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    ];

    private static List<(string Method, bool Backward)> GoldenCalls()
    {
        var list = new List<(string, bool)>();
        foreach (var file in Directory.GetFiles(Path.Combine(Golden, "calls"), "manifest.json", SearchOption.AllDirectories))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
                list.Add((c.GetProperty("method").GetString()!, c.GetProperty("backward").GetBoolean()));
        }
        return list;
    }

    [Fact]
    public void EveryRound2DifferentiableOpHasAGradcheckAndABackwardGoldenCase()
    {
        var checkedOps = GradCheckSuite.Cases().Select(c => c.Op).ToList();
        var golden = GoldenCalls();
        var missing = new List<string>();
        foreach (var op in DifferentiableOps)
        {
            if (!checkedOps.Any(o => o == op || o.StartsWith(op + "(", StringComparison.Ordinal))) missing.Add($"{op}: no gradcheck");
            if (!golden.Any(g => g.Method == op && g.Backward)) missing.Add($"{op}: no golden case with backward");
        }
        foreach (var op in ExactOps)
            if (!golden.Any(g => g.Method == op)) missing.Add($"{op}: no golden case");
        Assert.True(missing.Count == 0, string.Join("; ", missing));
    }

    [Fact]
    public void EveryIssue14LayerHasAModuleGoldenCaseAndAGradcheck()
    {
        var modules = new HashSet<string>(StringComparer.Ordinal);
        foreach (var family in new[] { "layers", "conv_layers", "seq" })
            foreach (var file in Directory.GetFiles(Path.Combine(Golden, family), "case.json", SearchOption.AllDirectories))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                if (doc.RootElement.TryGetProperty("module", out var m)) modules.Add(m.GetString()!);
            }
        var missing = Layers.Where(l => !modules.Contains(l)).ToList();
        Assert.True(missing.Count == 0, "no module golden case for " + string.Join(", ", missing));

        // Each layer's own Forward is differentiated in float64 by one of the layer registrations.
        var layerChecks = GradCheckSuite.Cases().Select(c => c.Op).Where(o => o.StartsWith("Layers(", StringComparison.Ordinal)
            || o.StartsWith("Recurrent layers(", StringComparison.Ordinal)).ToList();
        var notChecked = Layers.Where(l => l != "Composite" && !layerChecks.Any(o => o.Contains(l, StringComparison.Ordinal))).ToList();
        Assert.True(notChecked.Count == 0, "no layer gradcheck for " + string.Join(", ", notChecked));
    }
}
