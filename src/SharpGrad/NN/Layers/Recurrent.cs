using System.Globalization;

namespace SharpGrad.NN;

/// <summary>The nonlinearity of an Elman <see cref="RNN"/> (PyTorch: <c>nonlinearity='tanh'|'relu'</c>).</summary>
public enum RnnNonlinearity
{
    /// <summary>h' = tanh(W_ih x + b_ih + W_hh h + b_hh).</summary>
    Tanh,
    /// <summary>h' = relu(W_ih x + b_ih + W_hh h + b_hh).</summary>
    Relu,
}

/// <summary>
/// What <see cref="RNN"/>, <see cref="LSTM"/> and <see cref="GRU"/> share: the stack of layers and directions, the
/// parameters under PyTorch's names and layout (<c>weight_ih_l{k}[_reverse]</c> [gates·hidden, in],
/// <c>weight_hh_l{k}[_reverse]</c> [gates·hidden, hidden], <c>bias_ih_l{k}[_reverse]</c>, <c>bias_hh_l{k}[_reverse]</c>,
/// registered in PyTorch's order, so state dicts load both ways), all initialised from U(−1/√hidden, 1/√hidden) as
/// PyTorch does, the time loop and the inter-layer dropout.
/// </summary>
/// <remarks>
/// Each layer projects the whole sequence with one matrix product (<c>x W_ih^T + b_ih</c> for every step at once);
/// the recurrence then costs one small product per step.
/// </remarks>
public abstract class RecurrentBase : Module
{
    private readonly Tensor[] _wIh, _wHh;
    private readonly Tensor?[] _bIh, _bHh;
    private readonly int _gates;

    private protected RecurrentBase(string kind, int gates, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst,
        double dropout, bool bidirectional, Generator? generator, DType dtype)
    {
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"{kind}: inputSize must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, $"{kind}: hiddenSize must be positive.");
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, $"{kind}: numLayers must be positive.");
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{kind}: dropout must be in [0, 1].");
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{kind}: dtype must be Float32 or Float64, not {dtype.ToTorchName()}.", nameof(dtype));
        Kind = kind;
        _gates = gates;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        BatchFirst = batchFirst;
        Dropout = dropout;
        Bidirectional = bidirectional;
        DropoutGenerator = new Generator(generator?.NextUInt64() ?? 0UL);
        int directions = bidirectional ? 2 : 1, count = numLayers * directions;
        _wIh = new Tensor[count]; _wHh = new Tensor[count]; _bIh = new Tensor?[count]; _bHh = new Tensor?[count];
        double bound = 1 / Math.Sqrt(hiddenSize);
        for (int layer = 0; layer < numLayers; layer++)
        {
            for (int dir = 0; dir < directions; dir++)
            {
                int k = layer * directions + dir, inSize = layer == 0 ? inputSize : hiddenSize * directions;
                string suffix = string.Create(CultureInfo.InvariantCulture, $"l{layer}{(dir == 1 ? "_reverse" : "")}");
                _wIh[k] = RegisterParameter($"weight_ih_{suffix}", Tensor.Zeros([gates * hiddenSize, inSize], dtype));
                _wHh[k] = RegisterParameter($"weight_hh_{suffix}", Tensor.Zeros([gates * hiddenSize, hiddenSize], dtype));
                if (bias)
                {
                    _bIh[k] = RegisterParameter($"bias_ih_{suffix}", Tensor.Zeros([gates * hiddenSize], dtype));
                    _bHh[k] = RegisterParameter($"bias_hh_{suffix}", Tensor.Zeros([gates * hiddenSize], dtype));
                }
            }
        }
        foreach (var p in Parameters()) Init.Uniform(p, -bound, bound, generator);
    }

    /// <summary>"RNN", "LSTM" or "GRU", for messages.</summary>
    private protected string Kind { get; }
    /// <summary>Features of each input step.</summary>
    public int InputSize { get; }
    /// <summary>Features of the hidden state.</summary>
    public int HiddenSize { get; }
    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>Input and output are [batch, seq, feature] instead of [seq, batch, feature].</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout on the outputs of every layer but the last, in training mode.</summary>
    public double Dropout { get; }
    /// <summary>Whether each layer also runs backwards in time (outputs concatenated: 2·hidden features).</summary>
    public bool Bidirectional { get; }
    /// <summary>The generator of the inter-layer dropout masks (exposed so checkpoints can save its state).</summary>
    public Generator DropoutGenerator { get; }

    private int Directions => Bidirectional ? 2 : 1;

    /// <summary>One step of the cell from the input projection <c>W_ih x + b_ih</c> of that step.</summary>
    private protected abstract (Tensor H, Tensor? C) Step(Tensor inputProjection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh);

    /// <summary>
    /// The whole sequence of one layer in one direction as one op, where the cell has one: every step's output
    /// [seq, batch, hidden] (with <paramref name="batchFirst"/>, possibly [batch, seq, hidden]: <paramref name="batchMajor"/>
    /// tells) and the final states (null unless <paramref name="states"/>); null to run <see cref="Step"/> step by step instead.
    /// </summary>
    private protected virtual (Tensor Output, Tensor? H, Tensor? C)? RunSequence(Tensor projection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh, bool reverse,
        bool states, bool batchFirst, out bool batchMajor)
    {
        batchMajor = false;
        return null;
    }

    /// <summary>
    /// Whether <see cref="RunSequencePair"/> computes two stacked one-direction layers of this shape at once (with the
    /// values and the tape of the layer-by-layer path).
    /// </summary>
    private protected virtual bool PairsLayers(int seq, int batch, DType dtype) => false;

    /// <summary>
    /// Two stacked one-direction layers over the whole sequence, from the first one's input projection: each layer's
    /// outputs [seq, batch, hidden] and final states, as <see cref="RunSequence"/> gives them. Only called where
    /// <see cref="PairsLayers"/> holds. With <paramref name="batchFirst"/> the second layer's outputs may come as
    /// [batch, seq, hidden] instead (<paramref name="batchMajor"/> tells).
    /// </summary>
    private protected virtual ((Tensor Output, Tensor? H, Tensor? C) First, (Tensor Output, Tensor? H, Tensor? C) Second) RunSequencePair(Tensor projection1,
        Tensor h1, Tensor? c1, Tensor wHh1, Tensor? bHh1, Tensor wIh2, Tensor? bIh2, Tensor h2, Tensor? c2, Tensor wHh2, Tensor? bHh2, bool states,
        bool batchFirst, out bool batchMajor) =>
        throw new NotSupportedException($"{Kind}: no two-layer op.");

    /// <summary>
    /// Runs the stack. <paramref name="input"/>: [seq, batch, in] ([batch, seq, in] with <see cref="BatchFirst"/>) or
    /// unbatched [seq, in]; states: [layers·directions, batch, hidden] ([layers·directions, hidden] unbatched), zeros
    /// when null. Without <paramref name="states"/> (a caller that reads the outputs only) the final states are not
    /// formed (H and C are null).
    /// </summary>
    private protected (Tensor Output, Tensor? H, Tensor? C) Run(Tensor input, Tensor? h0, Tensor? c0, bool hasCell, Tensor? tokens = null, Tensor? table = null,
        bool states = true, bool tableGrad = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool batched = input.Rank == 3;
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"{Kind}: input must be [seq, batch, {InputSize}]{(BatchFirst ? " (batchFirst: [batch, seq, " + InputSize + "])" : "")} or unbatched [seq, {InputSize}]; got shape {Shapes.Format(input.ShapeRef)}.", nameof(input));
        var x = batched ? (BatchFirst ? input.Transpose(0, 1) : input) : input.Unsqueeze(1);
        if (x.Size(2) != InputSize)
            throw new ArgumentException($"{Kind}: input has {x.Size(2)} features per step, the layer expects {InputSize} (shape {Shapes.Format(input.ShapeRef)}).", nameof(input));
        if (x.DType != _wIh[0].DType)
            throw new ArgumentException($"{Kind}: input is {x.DType.ToTorchName()} but the layer's parameters are {_wIh[0].DType.ToTorchName()}; convert with To(DType.{_wIh[0].DType}).", nameof(input));
        int seq = x.Size(0), batch = x.Size(1), layerStates = NumLayers * Directions;
        var h = State(h0, "h0", layerStates, batch, batched, x);
        var c = hasCell ? State(c0, "c0", layerStates, batch, batched, x) : null;

        long[]? rowIndex = tokens is null || table is null || !batched ? null : TimeMajor(tokens, seq, batch);
        var hn = new Tensor?[layerStates];
        var cn = hasCell ? new Tensor?[layerStates] : null;
        var layerInput = x;
        bool batchMajor = false; // whether the last layer's outputs came batch-major (a batch-first output without the transpose)
        for (int layer = 0; layer < NumLayers; layer++)
        {
            if (Directions == 1 && layer + 1 < NumLayers && seq > 0 && (Dropout == 0 || !Training) && PairsLayers(seq, batch, x.DType))
            {
                // Two stacked layers with nothing between them: one op computes both (same values, same tape).
                int k1 = layer, k2 = layer + 1;
                var projection1 = layer == 0 && rowIndex is not null ? Functional.LinearOfRows(layerInput, rowIndex, table!, _wIh[k1], _bIh[k1], tableGrad)
                    : Functional.Linear(layerInput, _wIh[k1], _bIh[k1]);
                var (first, second) = RunSequencePair(projection1, h[k1], c?[k1], _wHh[k1], _bHh[k1], _wIh[k2], _bIh[k2], h[k2], c?[k2], _wHh[k2], _bHh[k2], states,
                    batchFirst: batched && BatchFirst && layer + 2 == NumLayers, out batchMajor);
                hn[k1] = first.H;
                hn[k2] = second.H;
                if (cn is not null) { cn[k1] = first.C; cn[k2] = second.C; }
                layerInput = second.Output;
                layer++;
                if (layer < NumLayers - 1 && Dropout > 0 && Training) layerInput = Functional.Dropout(layerInput, Dropout, true, DropoutGenerator);
                continue;
            }
            var outputs = new Tensor[Directions];
            for (int dir = 0; dir < Directions; dir++)
            {
                int k = layer * Directions + dir;
                var projection = layer == 0 && rowIndex is not null ? Functional.LinearOfRows(layerInput, rowIndex, table!, _wIh[k], _bIh[k], tableGrad)
                    : Functional.Linear(layerInput, _wIh[k], _bIh[k]); // [seq, batch, gates·hidden], one product
                Tensor hk = h[k], ck = c?[k]!;
                if (seq > 0 && RunSequence(projection, hk, ck, _wHh[k], _bHh[k], dir == 1, states,
                    batchFirst: batched && BatchFirst && Directions == 1 && layer + 1 == NumLayers, out batchMajor) is { } fused)
                {
                    outputs[dir] = fused.Output;
                    hn[k] = fused.H;
                    if (cn is not null) cn[k] = fused.C;
                    continue;
                }
                var steps = new Tensor[seq];
                for (int s = 0; s < seq; s++)
                {
                    int t = dir == 0 ? s : seq - 1 - s;
                    var (hNext, cNext) = Step(projection.Narrow(0, t, 1).Squeeze(0), hk, ck, _wHh[k], _bHh[k]);
                    hk = hNext;
                    ck = cNext!;
                    steps[t] = hk;
                }
                outputs[dir] = seq == 0 ? Tensor.Zeros([0, batch, HiddenSize], x.DType) : Tensor.Stack(steps, 0);
                hn[k] = hk;
                if (cn is not null) cn[k] = ck;
            }
            layerInput = Directions == 1 ? outputs[0] : Tensor.Concat(outputs, 2);
            if (layer < NumLayers - 1 && Dropout > 0 && Training) layerInput = Functional.Dropout(layerInput, Dropout, true, DropoutGenerator);
        }
        var output = batched ? (BatchFirst && !batchMajor ? layerInput.Transpose(0, 1) : layerInput) : layerInput.Squeeze(1);
        if (!states)
        {
            Functional.LstmSkipUnreadStatesTaken = true;
            return (output, null, null);
        }
        var hOut = Tensor.Stack(hn!, 0);
        var cOut = cn is null ? null : Tensor.Stack(cn!, 0);
        if (!batched)
        {
            hOut = hOut.Squeeze(1);
            cOut = cOut?.Squeeze(1);
        }
        return (output, hOut, cOut);
    }

    /// <summary>
    /// The output of every step of the last layer (as <see cref="Module.Forward(Tensor)"/>, from zero states) for an
    /// <paramref name="input"/> [batch, seq, in] ([seq, batch, in] without <see cref="BatchFirst"/>) that is the rows of
    /// <paramref name="table"/> [V, in] picked by the Int64 <paramref name="tokens"/> [batch, seq] (an embedding of
    /// them): the same values and tape, the first layer's input projection formed from the table's rows projected once
    /// (<see cref="Functional.LinearOfRows"/>) where that pays. With <paramref name="tableGrad"/> the caller also vouches
    /// that the input's gradient reaches the table as that of <c>table[tokens]</c> would (no padding row, nothing else
    /// reading the input's own gradient): the projection's rule then sends its gradient to the table directly
    /// (<see cref="Functional.LstmEmbeddingTableGrad"/>).
    /// </summary>
    internal Tensor ForwardEmbedded(Tensor input, Tensor tokens, Tensor table, bool tableGrad = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(table);
        bool fits = input.Rank == 3 && tokens.DType == DType.Int64 && tokens.Rank == 2 && tokens.Size(0) == input.Size(0) && tokens.Size(1) == input.Size(1);
        return Run(input, null, null, hasCell: _gates == 4, fits ? tokens : null, fits ? table : null, states: !Functional.LstmSkipUnreadStates,
            tableGrad).Output;
    }

    /// <summary>
    /// The tokens of an embedded input in the order of the time-major x's rows (row t·batch + b: step t of sequence b);
    /// null when <see cref="Functional.LinearOfRows"/> is switched off or a plan is being captured (no table then).
    /// </summary>
    private long[]? TimeMajor(Tensor tokens, int seq, int batch)
    {
        if (!Functional.LstmEmbeddingTable || Capture.Active is not null) return null;
        var src = tokens.Array<long>();
        if (!BatchFirst) return src.AsSpan(0, seq * batch).ToArray();
        var rows = new long[seq * batch];
        for (int t = 0; t < seq; t++)
            for (int b = 0; b < batch; b++) rows[t * batch + b] = src[b * seq + t];
        return rows;
    }

    /// <summary>The initial states as one [batch, hidden] tensor per layer and direction.</summary>
    private Tensor[] State(Tensor? given, string name, int states, int batch, bool batched, Tensor x)
    {
        var result = new Tensor[states];
        if (given is null)
        {
            for (int k = 0; k < states; k++) result[k] = Tensor.Zeros([batch, HiddenSize], x.DType);
            return result;
        }
        var s = batched ? given : given.Unsqueeze(1);
        if (s.Rank != 3 || s.Size(0) != states || s.Size(1) != batch || s.Size(2) != HiddenSize)
            throw new ArgumentException($"{Kind}: {name} must have shape {Shapes.Format(batched ? [states, batch, HiddenSize] : [states, HiddenSize])} (layers·directions, {(batched ? "batch, " : "")}hidden); got {Shapes.Format(given.ShapeRef)}.", name);
        for (int k = 0; k < states; k++) result[k] = s.Narrow(0, k, 1).Squeeze(0);
        return result;
    }

    /// <summary>Gate <paramref name="index"/> of a [batch, gates·hidden] projection.</summary>
    private protected Tensor Gate(Tensor projection, int index) => projection.Narrow(1, index * HiddenSize, HiddenSize);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Kind}({InputSize}, {HiddenSize}, num_layers={NumLayers}{(BatchFirst ? ", batch_first=True" : "")}{(Dropout > 0 ? $", dropout={Dropout}" : "")}{(Bidirectional ? ", bidirectional=True" : "")}{(_bIh[0] is null ? ", bias=False" : "")})");
}

/// <summary>
/// A multi-layer Elman recurrent network (PyTorch: <c>nn.RNN</c>): <c>h_t = tanh(x_t W_ih^T + b_ih + h_{t−1} W_hh^T + b_hh)</c>
/// (or ReLU).
/// </summary>
public sealed class RNN : RecurrentBase
{
    /// <summary>Creates the network; parameters follow PyTorch's names and initialisation.</summary>
    public RNN(int inputSize, int hiddenSize, int numLayers = 1, RnnNonlinearity nonlinearity = RnnNonlinearity.Tanh, bool bias = true,
        bool batchFirst = false, double dropout = 0, bool bidirectional = false, Generator? generator = null, DType dtype = DType.Float32)
        : base("RNN", 1, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, generator, dtype) => Nonlinearity = nonlinearity;

    /// <summary>tanh or ReLU.</summary>
    public RnnNonlinearity Nonlinearity { get; }

    /// <summary>The output of every step of the last layer, [seq, batch, directions·hidden].</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null).Output;

    /// <summary>Runs the network: every step's output of the last layer and the final hidden state of every layer and direction.</summary>
    public (Tensor Output, Tensor HiddenState) Forward(Tensor input, Tensor? h0)
    {
        var (output, h, _) = Run(input, h0, null, hasCell: false);
        return (output, h!);
    }

    private protected override (Tensor H, Tensor? C) Step(Tensor inputProjection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh) =>
        (RecurrentCells.RnnStep(inputProjection, h, wHh, bHh, Nonlinearity), null);
}

/// <summary>
/// A multi-layer long short-term memory network (PyTorch: <c>nn.LSTM</c>; Hochreiter and Schmidhuber, 1997). Gates in
/// PyTorch's order i, f, g, o: <c>c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)</c>, <c>h_t = σ(o) ⊙ tanh(c_t)</c>.
/// </summary>
public sealed class LSTM : RecurrentBase
{
    /// <summary>Creates the network; parameters follow PyTorch's names and initialisation.</summary>
    public LSTM(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, Generator? generator = null, DType dtype = DType.Float32)
        : base("LSTM", 4, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, generator, dtype) { }

    /// <summary>The output of every step of the last layer, [seq, batch, directions·hidden].</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null).Output;

    /// <summary>Runs the network from the states (h0, c0) (zeros when null): the outputs and the final (h, c) of every layer and direction.</summary>
    public (Tensor Output, (Tensor H, Tensor C) HiddenState) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (output, h, c) = Run(input, state?.H, state?.C, hasCell: true);
        return (output, (h!, c!));
    }

    private protected override (Tensor H, Tensor? C) Step(Tensor inputProjection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh) =>
        RecurrentCells.LstmStep(inputProjection, h, c!, wHh, bHh, HiddenSize);

    /// <summary>
    /// The layer's steps as one op (<see cref="Functional.LstmSequence"/>): one node on the tape instead of a dozen per
    /// step. Without <paramref name="states"/> (and with <see cref="Functional.LstmHiddenOutput"/>) the op's recorded
    /// output is the h sequence itself (<see cref="Functional.LstmHiddenSequence"/>), batch-major when
    /// <paramref name="batchFirst"/> asks and <see cref="Functional.LstmBatchFirstOutputApplies"/>.
    /// </summary>
    private protected override (Tensor Output, Tensor? H, Tensor? C)? RunSequence(Tensor projection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh, bool reverse,
        bool states, bool batchFirst, out bool batchMajor)
    {
        batchMajor = false;
        if (!states && Functional.LstmHiddenOutput)
        {
            batchMajor = batchFirst && !reverse && Functional.LstmBatchFirstOutputApplies(projection.Size(0), projection.Size(1), HiddenSize, projection.DType);
            return (Functional.LstmHiddenSequence(projection, h, c!, wHh, bHh, reverse, batchMajor), null, null);
        }
        int seq = projection.Size(0), batch = projection.Size(1);
        var y = Functional.LstmSequence(projection, h, c!, wHh, bHh, reverse); // [2, seq, batch, hidden]: every h_t, then every c_t
        return Results(y, y.Narrow(0, 0, 1).Reshape(seq, batch, HiddenSize), reverse, states);
    }

    /// <summary>
    /// The outputs and the final (h, c) of a layer from its <see cref="Functional.LstmSequence"/> result y and y's h half
    /// (the outputs alone unless <paramref name="states"/>).
    /// </summary>
    private (Tensor Output, Tensor? H, Tensor? C) Results(Tensor y, Tensor output, bool reverse, bool states)
    {
        if (!states) return (output, null, null);
        int batch = y.Size(2), last = reverse ? 0 : y.Size(1) - 1;
        // The last step first, then the c half: the final cell state without copying every step's c.
        return (output, output.Narrow(0, last, 1).Reshape(batch, HiddenSize), y.Narrow(1, last, 1).Narrow(0, 1, 1).Reshape(batch, HiddenSize));
    }

    private protected override bool PairsLayers(int seq, int batch, DType dtype) => Functional.LstmPairApplies(seq, batch, HiddenSize, dtype);

    /// <summary>
    /// Two stacked layers as one op (<see cref="Functional.LstmPair"/>), recorded as the two layers' ops (without
    /// <paramref name="states"/>, and with <see cref="Functional.LstmHiddenOutput"/>, each with its h sequence as its output,
    /// the second one batch-major when <paramref name="batchFirst"/> asks and <see cref="Functional.LstmBatchFirstOutputApplies"/>).
    /// </summary>
    private protected override ((Tensor Output, Tensor? H, Tensor? C) First, (Tensor Output, Tensor? H, Tensor? C) Second) RunSequencePair(Tensor projection1,
        Tensor h1, Tensor? c1, Tensor wHh1, Tensor? bHh1, Tensor wIh2, Tensor? bIh2, Tensor h2, Tensor? c2, Tensor wHh2, Tensor? bHh2, bool states,
        bool batchFirst, out bool batchMajor)
    {
        batchMajor = false;
        if (!states && Functional.LstmHiddenOutput)
        {
            batchMajor = batchFirst && Functional.LstmBatchFirstOutputApplies(projection1.Size(0), projection1.Size(1), HiddenSize, projection1.DType);
            var (_, h1s, h2s) = Functional.LstmPair(projection1, h1, c1!, wHh1, bHh1, wIh2, bIh2, h2, c2!, wHh2, bHh2, hiddenOnly: true, batchMajor2: batchMajor);
            return ((h1s, null, null), (h2s, null, null));
        }
        int seq = projection1.Size(0), batch = projection1.Size(1);
        var (y1, output1, y2) = Functional.LstmPair(projection1, h1, c1!, wHh1, bHh1, wIh2, bIh2, h2, c2!, wHh2, bHh2);
        var first = Results(y1, output1, reverse: false, states);
        return (first, Results(y2, y2.Narrow(0, 0, 1).Reshape(seq, batch, HiddenSize), reverse: false, states));
    }
}

/// <summary>
/// A multi-layer gated recurrent unit network (PyTorch: <c>nn.GRU</c>; Cho et al., 2014). Gates in PyTorch's order r, z,
/// n: <c>n = tanh(x_n + r ⊙ (W_hn h + b_hn))</c>, <c>h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}</c>.
/// </summary>
public sealed class GRU : RecurrentBase
{
    /// <summary>Creates the network; parameters follow PyTorch's names and initialisation.</summary>
    public GRU(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, Generator? generator = null, DType dtype = DType.Float32)
        : base("GRU", 3, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, generator, dtype) { }

    /// <summary>The output of every step of the last layer, [seq, batch, directions·hidden].</summary>
    public override Tensor Forward(Tensor input) => Forward(input, null).Output;

    /// <summary>Runs the network: every step's output of the last layer and the final hidden state of every layer and direction.</summary>
    public (Tensor Output, Tensor HiddenState) Forward(Tensor input, Tensor? h0)
    {
        var (output, h, _) = Run(input, h0, null, hasCell: false);
        return (output, h!);
    }

    private protected override (Tensor H, Tensor? C) Step(Tensor inputProjection, Tensor h, Tensor? c, Tensor wHh, Tensor? bHh) =>
        (RecurrentCells.GruStep(inputProjection, h, wHh, bHh, HiddenSize), null);
}
