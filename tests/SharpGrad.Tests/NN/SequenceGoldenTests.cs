using System.Text.Json;
using SharpGrad.NN;
using SharpGrad.Tests.Golden;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The recurrent layers, their cells, Embedding and gradient clipping against PyTorch 1.13 (tests/golden/seq, written by
/// tools/golden/make_seq.py, float64): PyTorch's state dict is loaded into the same SharpGrad module by PyTorch's
/// names, and the outputs, the input gradients and every parameter gradient must match.
/// </summary>
public class SequenceGoldenTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "golden", "seq");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal))
            if (!d!.StartsWith("clip_", StringComparison.Ordinal)) data.Add(d);
        return data;
    }

    public static TheoryData<string> ClipCases()
    {
        var data = new TheoryData<string>();
        foreach (var d in Directory.GetDirectories(Root).Select(Path.GetFileName).Order(StringComparer.Ordinal))
            if (d!.StartsWith("clip_", StringComparison.Ordinal)) data.Add(d);
        return data;
    }

    private static Tensor Load(string dir, string name) => GoldenOpsTests.Npy.Load(Path.Combine(dir, name + ".npy")).ToTensor();

    private static Module Build(JsonElement meta)
    {
        var kw = meta.GetProperty("kwargs");
        int Int(string k, int d = 0) => kw.TryGetProperty(k, out var v) ? v.GetInt32() : d;
        bool Bool(string k, bool d) => kw.TryGetProperty(k, out var v) ? v.GetBoolean() : d;
        var dt = DType.Float64;
        return meta.GetProperty("module").GetString() switch
        {
            "LSTM" => new LSTM(Int("input_size"), Int("hidden_size"), Int("num_layers", 1), Bool("bias", true), Bool("batch_first", false), 0, Bool("bidirectional", false), dtype: dt),
            "GRU" => new GRU(Int("input_size"), Int("hidden_size"), Int("num_layers", 1), Bool("bias", true), Bool("batch_first", false), 0, Bool("bidirectional", false), dtype: dt),
            "RNN" => new RNN(Int("input_size"), Int("hidden_size"), Int("num_layers", 1),
                kw.TryGetProperty("nonlinearity", out var nl) && nl.GetString() == "relu" ? RnnNonlinearity.Relu : RnnNonlinearity.Tanh,
                Bool("bias", true), Bool("batch_first", false), 0, Bool("bidirectional", false), dtype: dt),
            "LSTMCell" => new LSTMCell(Int("input_size"), Int("hidden_size"), dtype: dt),
            "GRUCell" => new GRUCell(Int("input_size"), Int("hidden_size"), dtype: dt),
            "RNNCell" => new RNNCell(Int("input_size"), Int("hidden_size"),
                nonlinearity: kw.TryGetProperty("nonlinearity", out var n2) && n2.GetString() == "relu" ? RnnNonlinearity.Relu : RnnNonlinearity.Tanh, dtype: dt),
            "TransformerEncoderLayer" => EncoderLayer(kw, dt),
            "TransformerEncoder" => new TransformerEncoder(EncoderLayer(kw, dt), Int("num_layers"), new LayerNorm(Int("d_model"), dtype: dt)),
            "TransformerDecoderLayer" => new TransformerDecoderLayer(Int("d_model"), Int("nhead"), Int("dim_feedforward"), 0,
                kw.TryGetProperty("activation", out var da) && da.GetString() == "gelu" ? TransformerActivation.Gelu : TransformerActivation.Relu,
                batchFirst: Bool("batch_first", false), normFirst: Bool("norm_first", false), dtype: dt),
            "MultiheadAttention" => new MultiheadAttention(Int("embed_dim"), Int("num_heads"), batchFirst: Bool("batch_first", false), dtype: dt),
            "Embedding" => new Embedding(Int("num_embeddings"), Int("embedding_dim"), kw.TryGetProperty("padding_idx", out var p) ? p.GetInt32() : null, dtype: dt),
            var m => throw new InvalidOperationException($"unknown module {m}"),
        };
    }

    private static TransformerEncoderLayer EncoderLayer(JsonElement kw, DType dt) =>
        new(kw.GetProperty("d_model").GetInt32(), kw.GetProperty("nhead").GetInt32(), kw.GetProperty("dim_feedforward").GetInt32(), 0,
            kw.TryGetProperty("activation", out var a) && a.GetString() == "gelu" ? TransformerActivation.Gelu : TransformerActivation.Relu,
            batchFirst: kw.TryGetProperty("batch_first", out var bf) && bf.GetBoolean(), normFirst: kw.TryGetProperty("norm_first", out var nf) && nf.GetBoolean(), dtype: dt);

    private static Dictionary<string, Tensor> Run(Module module, Dictionary<string, Tensor> inputs, JsonElement meta) => module switch
    {
        TransformerEncoderLayer layer => new() { ["y"] = layer.Forward(inputs["src"], null, inputs.GetValueOrDefault("src_key_padding_mask")) },
        TransformerEncoder stack => new() { ["y"] = stack.Forward(inputs["src"], inputs["mask"], null) },
        // PyTorch's case passes the square subsequent mask; the causal flag is the same mask.
        TransformerDecoderLayer dec => new() { ["y"] = dec.Forward(inputs["src"], inputs["memory"], tgtKeyPaddingMask: inputs.GetValueOrDefault("src_key_padding_mask"), tgtIsCausal: true) },
        MultiheadAttention mha => Attention(mha.Forward(inputs["query"], inputs["key"], inputs["value"], inputs.GetValueOrDefault("key_padding_mask"),
            inputs.GetValueOrDefault("attn_mask"), needWeights: meta.GetProperty("need_weights").GetBoolean())),
        LSTM lstm => Outputs(lstm.Forward(inputs["x"], inputs.TryGetValue("h0", out var h) ? (h, inputs["c0"]) : null)),
        GRU gru => Pair(gru.Forward(inputs["x"], inputs.GetValueOrDefault("h0"))),
        RNN rnn => Pair(rnn.Forward(inputs["x"], inputs.GetValueOrDefault("h0"))),
        LSTMCell cell => Cell(cell.Forward(inputs["x"], (inputs["h0"], inputs["c0"]))),
        GRUCell cell => new() { ["h"] = cell.Forward(inputs["x"], inputs["h0"]) },
        RNNCell cell => new() { ["h"] = cell.Forward(inputs["x"], inputs["h0"]) },
        Embedding e => new() { ["y"] = e.Forward(inputs["indices"]) },
        _ => throw new InvalidOperationException(module.GetType().Name),
    };

    private static Dictionary<string, Tensor> Attention((Tensor Output, Tensor? Weights) r) =>
        r.Weights is null ? new() { ["output"] = r.Output } : new() { ["output"] = r.Output, ["weights"] = r.Weights };
    private static Dictionary<string, Tensor> Outputs((Tensor Output, (Tensor H, Tensor C) State) r) => new() { ["output"] = r.Output, ["h_n"] = r.State.H, ["c_n"] = r.State.C };
    private static Dictionary<string, Tensor> Pair((Tensor Output, Tensor HiddenState) r) => new() { ["output"] = r.Output, ["h_n"] = r.HiddenState };
    private static Dictionary<string, Tensor> Cell((Tensor H, Tensor C) r) => new() { ["h"] = r.H, ["c"] = r.C };

    private static void Close(string what, Tensor expected, Tensor actual)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {Shapes.Format(actual.ShapeRef)}, PyTorch's {Shapes.Format(expected.ShapeRef)}");
        var e = expected.ToArray<double>();
        var a = actual.ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-10 + 1e-10 * Math.Abs(e[i]), $"{what}[{i}]: {a[i]:R}, PyTorch's {e[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        string dir = Path.Combine(Root, name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var meta = doc.RootElement;
        var module = Build(meta);

        // PyTorch's state dict, by PyTorch's names, must load with nothing missing or left over.
        var state = Directory.GetFiles(dir, "param.*.npy").ToDictionary(f => Path.GetFileName(f)["param.".Length..^".npy".Length], f => GoldenOpsTests.Npy.Load(f).ToTensor());
        var result = module.LoadStateDict(state, strict: true);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(state.Keys.Order(StringComparer.Ordinal), module.StateDict().Keys.Order(StringComparer.Ordinal));

        var inputs = meta.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()!).ToDictionary(k => k, k =>
        {
            var t = Load(dir, "in." + k);
            if (t.DType.IsFloatingPoint()) t.RequiresGrad = true;
            return t;
        });
        var outputs = Run(module, inputs, meta);
        Tensor? loss = null;
        foreach (var k in meta.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()!))
        {
            Close($"{name}: output {k}", Load(dir, "out." + k), outputs[k]);
            if (!outputs[k].DType.IsFloatingPoint()) continue;
            var term = (outputs[k] * Load(dir, "w." + k)).Sum();
            loss = loss is null ? term : loss + term;
        }
        loss!.Backward();
        foreach (var (k, x) in inputs.Where(p => p.Value.DType.IsFloatingPoint()))
            Close($"{name}: gradient of input {k}", Load(dir, "grad.in." + k), x.Grad ?? Tensor.ZerosLike(x));
        foreach (var (k, p) in module.NamedParameters())
            Close($"{name}: gradient of {k}", Load(dir, "grad.param." + k), p.Grad ?? Tensor.ZerosLike(p));
    }

    [Theory]
    [MemberData(nameof(ClipCases))]
    public void ClipGradNormMatchesPyTorch(string name)
    {
        string dir = Path.Combine(Root, name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
        var meta = doc.RootElement;
        var normType = meta.GetProperty("norm_type") is { ValueKind: JsonValueKind.String } ? double.PositiveInfinity : meta.GetProperty("norm_type").GetDouble();
        var ps = Enumerable.Range(0, meta.GetProperty("count").GetInt32()).Select(j =>
        {
            var before = Load(dir, $"grad_before.{j}");
            var p = Tensor.ZerosLike(before);
            p.RequiresGrad = true;
            p.Grad = before.Clone();
            return p;
        }).ToArray();
        double total = Utils.ClipGradNorm(ps, meta.GetProperty("max_norm").GetDouble(), normType);
        Assert.True(Math.Abs(total - meta.GetProperty("total").GetDouble()) <= 1e-12 * (1 + total), $"total norm {total:R}, PyTorch's {meta.GetProperty("total").GetDouble():R}");
        for (int j = 0; j < ps.Length; j++) Close($"{name}: clipped gradient {j}", Load(dir, $"grad_after.{j}"), ps[j].Grad!);
    }
}
