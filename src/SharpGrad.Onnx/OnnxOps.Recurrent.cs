namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    /// <summary>
    /// ONNX's RNN, LSTM and GRU operators, unrolled over the sequence with SharpGrad's ops (matrix products, slices,
    /// activations), so an imported recurrent model records on the tape and fine-tunes. ONNX's gate orders (LSTM i, o, f,
    /// c; GRU z, r, h) are kept as the file stores them: each gate is a slice of the packed weights, so nothing is
    /// reordered and the initializers stay the parameters.
    /// </summary>
    private static void AddRecurrent(Dictionary<string, Op> t)
    {
        t["RNN"] = n => Recurrent(n, RecurrentKind.Rnn);
        t["LSTM"] = n => Recurrent(n, RecurrentKind.Lstm);
        t["GRU"] = n => Recurrent(n, RecurrentKind.Gru);
    }

    private enum RecurrentKind { Rnn, Lstm, Gru }

    private static Tensor[] Recurrent(OnnxNode n, RecurrentKind kind)
    {
        int gates = kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };
        n.RequireFloat(0, 1, 2, 3, 5, 6, 7);
        var x = n.In(0);
        var w = n.In(1);
        var r = n.In(2);
        long hiddenAttr = n.Int("hidden_size", 0);
        if (x.Rank != 3) throw n.Bad($"X must have rank 3, got shape [{string.Join(", ", x.Shape)}]");
        bool batchwise = n.Int("layout", 0) == 1;
        if (batchwise) x = x.Transpose(0, 1); // [batch, seq, in] → [seq, batch, in]
        string direction = n.Str("direction", "forward");
        int dirs = direction switch
        {
            "forward" or "reverse" => 1,
            "bidirectional" => 2,
            _ => throw n.Bad($"direction '{direction}' is not forward, reverse or bidirectional"),
        };
        if (w.Rank != 3 || w.Shape[0] != dirs || w.Shape[2] != x.Shape[2] || w.Shape[1] % gates != 0)
            throw n.Bad($"W must be [{dirs}, {gates}·hidden, {x.Shape[2]}], got [{string.Join(", ", w.Shape)}]");
        int hidden = w.Shape[1] / gates;
        if (hiddenAttr != 0 && hiddenAttr != hidden) throw n.Bad($"hidden_size {hiddenAttr} does not match W's {gates}·{hidden} rows");
        if (r.Rank != 3 || r.Shape[0] != dirs || r.Shape[1] != gates * hidden || r.Shape[2] != hidden)
            throw n.Bad($"R must be [{dirs}, {gates * hidden}, {hidden}], got [{string.Join(", ", r.Shape)}]");
        var b = n.Opt(3);
        if (b is not null && (b.Rank != 2 || b.Shape[0] != dirs || b.Shape[1] != 2 * gates * hidden))
            throw n.Bad($"B must be [{dirs}, {2 * gates * hidden}], got [{string.Join(", ", b.Shape)}]");
        int seq = x.Shape[0], batch = x.Shape[1];
        // Sequences all of full length are the plain computation; shorter ones (padding) are not supported.
        if (n.OptIntValues(4) is { } lens && lens.Any(l => l != seq)) throw n.Unsupported("sequence_lens shorter than the sequence");
        if (n.Has("activation_alpha") || n.Has("activation_beta")) throw n.Unsupported("activation_alpha/activation_beta");
        if (kind == RecurrentKind.Lstm && n.Int("input_forget", 0) != 0) throw n.Unsupported("input_forget = 1");
        float? clip = n.Has("clip") ? n.Float("clip", 0) : null;
        var activations = RecurrentActivations(n, kind, dirs);
        var h0 = State(n, 5, dirs, batch, hidden, batchwise);
        var c0 = kind == RecurrentKind.Lstm ? State(n, 6, dirs, batch, hidden, batchwise) : null;
        var peepholes = kind == RecurrentKind.Lstm ? n.Opt(7) : null;
        if (peepholes is not null && (peepholes.Rank != 2 || peepholes.Shape[0] != dirs || peepholes.Shape[1] != 3 * hidden))
            throw n.Bad($"P must be [{dirs}, {3 * hidden}], got [{string.Join(", ", peepholes.Shape)}]");
        bool linearBeforeReset = kind == RecurrentKind.Gru && n.Int("linear_before_reset", 0) != 0;

        var ys = new Tensor[dirs];
        var hs = new Tensor[dirs];
        var cs = new Tensor[dirs];
        for (int d = 0; d < dirs; d++)
        {
            bool reverse = direction == "reverse" || d == 1;
            var wd = w.Narrow(0, d, 1).Squeeze(0);           // [gates·hidden, in]
            var rd = r.Narrow(0, d, 1).Squeeze(0);           // [gates·hidden, hidden]
            var wb = b?.Narrow(0, d, 1).Squeeze(0).Narrow(0, 0, gates * hidden);
            var rb = b?.Narrow(0, d, 1).Squeeze(0).Narrow(0, gates * hidden, gates * hidden);
            // Every step's input projection in one product: [seq, batch, gates·hidden].
            var projection = x.MatMul(wd.Transpose(0, 1));
            if (wb is not null) projection += wb;
            var (f, g, hAct) = activations[d];
            var h = h0?[d] ?? Tensor.Zeros([batch, hidden], x.DType);
            var c = c0?[d] ?? Tensor.Zeros([batch, hidden], x.DType);
            Tensor? pi = null, po = null, pf = null;
            if (peepholes is not null)
            {
                var pd = peepholes.Narrow(0, d, 1).Squeeze(0);
                (pi, po, pf) = (pd.Narrow(0, 0, hidden), pd.Narrow(0, hidden, hidden), pd.Narrow(0, 2 * hidden, hidden));
            }
            var steps = new Tensor[seq];
            for (int s = 0; s < seq; s++)
            {
                int step = reverse ? seq - 1 - s : s;
                var xp = projection.Narrow(0, step, 1).Squeeze(0);      // [batch, gates·hidden]
                var hp = h.MatMul(rd.Transpose(0, 1));                   // [batch, gates·hidden]
                if (rb is not null) hp += rb;
                Tensor Gate(Tensor p, int i) => p.Narrow(1, i * hidden, hidden);
                Tensor Clip(Tensor v) => clip is { } cl ? v.Clamp(-cl, cl) : v;
                switch (kind)
                {
                    case RecurrentKind.Rnn:
                        h = f(Clip(xp + hp));
                        break;
                    case RecurrentKind.Lstm:
                    {
                        var pre = xp + hp;
                        var iPre = Gate(pre, 0);
                        var fPre = Gate(pre, 2);
                        if (pi is not null) { iPre += pi * c; fPre += pf! * c; }
                        var ig = f(Clip(iPre));
                        var fg = f(Clip(fPre));
                        var cg = g(Clip(Gate(pre, 3)));
                        c = fg * c + ig * cg;
                        var oPre = Gate(pre, 1);
                        if (po is not null) oPre += po * c;
                        h = f(Clip(oPre)) * hAct(c);
                        break;
                    }
                    default:
                    {
                        var z = f(Clip(Gate(xp, 0) + Gate(hp, 0)));
                        var rg = f(Clip(Gate(xp, 1) + Gate(hp, 1)));
                        Tensor candidate;
                        if (linearBeforeReset) candidate = Gate(xp, 2) + rg * Gate(hp, 2);
                        else
                        {
                            var rh = (rg * h).MatMul(rd.Narrow(0, 2 * hidden, hidden).Transpose(0, 1));
                            if (rb is not null) rh += rb.Narrow(0, 2 * hidden, hidden);
                            candidate = Gate(xp, 2) + rh;
                        }
                        var hc = g(Clip(candidate));
                        h = hc + z * (h - hc); // (1 − z) ⊙ ĥ + z ⊙ h
                        break;
                    }
                }
                steps[step] = h;
            }
            ys[d] = seq == 0 ? Tensor.Zeros([0, batch, hidden], x.DType) : Tensor.Stack(steps, 0); // [seq, batch, hidden]
            hs[d] = h;
            cs[d] = c;
        }
        var y = Tensor.Stack(ys, 1);                                    // [seq, dirs, batch, hidden]
        var yh = Tensor.Stack(hs, 0);                                   // [dirs, batch, hidden]
        var yc = Tensor.Stack(cs, 0);
        if (batchwise)
        {
            y = y.Permute(2, 0, 1, 3);                                  // [batch, seq, dirs, hidden]
            yh = yh.Transpose(0, 1);                                    // [batch, dirs, hidden]
            yc = yc.Transpose(0, 1);
        }
        return kind == RecurrentKind.Lstm ? [y, yh, yc] : [y, yh];
    }

    /// <summary>initial_h / initial_c as one [batch, hidden] tensor per direction, or null when absent.</summary>
    private static Tensor[]? State(OnnxNode n, int input, int dirs, int batch, int hidden, bool batchwise)
    {
        if (n.Opt(input) is not { } s) return null;
        if (batchwise) s = s.Transpose(0, 1);
        if (s.Rank != 3 || s.Shape[0] != dirs || s.Shape[1] != batch || s.Shape[2] != hidden)
            throw n.Bad($"input {input} (initial state) must be [{dirs}, {batch}, {hidden}]{(batchwise ? " in batch-first layout" : "")}, got [{string.Join(", ", n.In(input).Shape)}]");
        return [.. Enumerable.Range(0, dirs).Select(d => s.Narrow(0, d, 1).Squeeze(0))];
    }

    /// <summary>The activations per direction: f (gates), g (cell / candidate), h (LSTM output); ONNX's defaults when absent.</summary>
    private static (Func<Tensor, Tensor> F, Func<Tensor, Tensor> G, Func<Tensor, Tensor> H)[] RecurrentActivations(OnnxNode n, RecurrentKind kind, int dirs)
    {
        string[] defaults = kind switch { RecurrentKind.Lstm => ["Sigmoid", "Tanh", "Tanh"], RecurrentKind.Gru => ["Sigmoid", "Tanh"], _ => ["Tanh"] };
        int per = defaults.Length;
        string[] names = n.Proto.Attribute.FirstOrDefault(a => a.Name == "activations") is { } attr
            ? [.. attr.Strings.Select(s => s.ToStringUtf8())]
            : [.. Enumerable.Range(0, dirs).SelectMany(_ => defaults)];
        if (names.Length != per * dirs) throw n.Bad($"activations must list {per * dirs} functions, got {names.Length}");
        Func<Tensor, Tensor> Parse(string name) => name.ToLowerInvariant() switch
        {
            "sigmoid" => v => v.Sigmoid(),
            "tanh" => v => v.Tanh(),
            "relu" => v => v.Relu(),
            _ => throw n.Unsupported($"activation '{name}'"),
        };
        var result = new (Func<Tensor, Tensor>, Func<Tensor, Tensor>, Func<Tensor, Tensor>)[dirs];
        for (int d = 0; d < dirs; d++)
        {
            var f = Parse(names[d * per]);
            var g = per > 1 ? Parse(names[d * per + 1]) : f;
            var h = per > 2 ? Parse(names[d * per + 2]) : g;
            result[d] = (f, g, h);
        }
        return result;
    }
}
