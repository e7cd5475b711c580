using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Multi-head attention (PyTorch: <c>nn.MultiheadAttention</c>; Vaswani et al., 2017): queries, keys and values are
/// projected by <c>in_proj_weight</c> [3E, E] (+ <c>in_proj_bias</c>), split into <c>numHeads</c> heads of E/numHeads
/// features, attended per head with <see cref="Functional.ScaledDotProductAttention"/>, joined and projected by
/// <c>out_proj</c>. Parameter names, layout and initialisation are PyTorch's (Xavier-uniform input projection, zero
/// biases), so state dicts load both ways.
/// </summary>
/// <remarks>
/// Masks follow this layer's PyTorch convention, the opposite of <see cref="Functional.ScaledDotProductAttention"/>'s:
/// a Bool <c>true</c> marks what may NOT be attended. A float mask is added to the scores. The returned weights are the
/// attention probabilities averaged over heads, [batch, target, source] (computed only when asked for; without them
/// the fused kernel runs and no [target, source] matrix is formed).
/// </remarks>
public sealed class MultiheadAttention : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="embedDim">Model width E (query, key and value features).</param>
    /// <param name="numHeads">Heads; must divide E.</param>
    /// <param name="dropout">Dropout on the attention probabilities in training.</param>
    /// <param name="bias">Biases on the input and output projections.</param>
    /// <param name="batchFirst">Inputs [batch, seq, E] instead of [seq, batch, E].</param>
    /// <param name="generator">Source of the initial weights and of the dropout seeds.</param>
    /// <param name="dtype">Parameter dtype.</param>
    public MultiheadAttention(int embedDim, int numHeads, double dropout = 0, bool bias = true, bool batchFirst = false, Generator? generator = null, DType dtype = DType.Float32)
    {
        if (embedDim <= 0) throw new ArgumentOutOfRangeException(nameof(embedDim), embedDim, "MultiheadAttention: embedDim must be positive.");
        if (numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), numHeads, $"MultiheadAttention: numHeads must divide embedDim ({embedDim}).");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "MultiheadAttention: dropout must be in [0, 1).");
        EmbedDim = embedDim;
        NumHeads = numHeads;
        Dropout = dropout;
        BatchFirst = batchFirst;
        InProjWeight = RegisterParameter("in_proj_weight", Tensor.Zeros([3 * embedDim, embedDim], dtype));
        InProjBias = bias ? RegisterParameter("in_proj_bias", Tensor.Zeros([3 * embedDim], dtype)) : null;
        OutProj = RegisterModule("out_proj", new Linear(embedDim, embedDim, bias, generator, dtype));
        Init.XavierUniform(InProjWeight, 1, generator);
        OutProj.Bias?.Fill(0);
        DropoutGenerator = new Generator(generator?.NextUInt64() ?? 0UL);
    }

    /// <summary>Model width E.</summary>
    public int EmbedDim { get; }
    /// <summary>Heads.</summary>
    public int NumHeads { get; }
    /// <summary>Dropout on the attention probabilities.</summary>
    public double Dropout { get; }
    /// <summary>Inputs are [batch, seq, E].</summary>
    public bool BatchFirst { get; }
    /// <summary>The stacked query, key and value projections, [3E, E].</summary>
    public Tensor InProjWeight { get; }
    /// <summary>Their biases, [3E], or null.</summary>
    public Tensor? InProjBias { get; }
    /// <summary>The output projection.</summary>
    public Linear OutProj { get; }
    /// <summary>The generator of the dropout seeds (exposed so checkpoints can save its state).</summary>
    public Generator DropoutGenerator { get; }

    /// <summary>Self-attention of <paramref name="input"/> without masks; the output only.</summary>
    public override Tensor Forward(Tensor input) => Forward(input, input, input, needWeights: false).Output;

    /// <summary>
    /// Attends <paramref name="query"/> [L, B, E] over <paramref name="key"/>/<paramref name="value"/> [S, B, E] (batch
    /// first with <see cref="BatchFirst"/>; unbatched [L, E] too).
    /// </summary>
    /// <param name="query">Targets, [L, B, E].</param>
    /// <param name="key">Sources, [S, B, E].</param>
    /// <param name="value">Values, [S, B, E].</param>
    /// <param name="keyPaddingMask">[B, S] (or [S] unbatched): Bool true = padding, ignored; or float, added.</param>
    /// <param name="attnMask">[L, S] or [B·heads, L, S]: Bool true = not allowed; or float, added.</param>
    /// <param name="isCausal">Target i attends sources 0..i (used when no <paramref name="attnMask"/> is given; combined with the padding mask).</param>
    /// <param name="needWeights">Also return the head-averaged attention weights [B, L, S].</param>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, Tensor? attnMask = null,
        bool isCausal = false, bool needWeights = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        bool batched = query.Rank == 3;
        if (query.Rank is not (2 or 3) || key.Rank != query.Rank || value.Rank != query.Rank)
            throw new ArgumentException($"MultiheadAttention: query, key and value must all be [seq, batch, {EmbedDim}] ({(BatchFirst ? "batch first" : "sequence first")}) or unbatched [seq, {EmbedDim}]; got {Shapes.Format(query.ShapeRef)}, {Shapes.Format(key.ShapeRef)}, {Shapes.Format(value.ShapeRef)}.");
        DTypeRule.CheckInput("MultiheadAttention (query)", query, InProjWeight);
        DTypeRule.CheckInput("MultiheadAttention (key)", key, InProjWeight);
        DTypeRule.CheckInput("MultiheadAttention (value)", value, InProjWeight);
        // To [B, L, E].
        Tensor ToBatchFirst(Tensor t) => !batched ? t.Unsqueeze(0) : BatchFirst ? t : t.Transpose(0, 1);
        Tensor q = ToBatchFirst(query), k = ToBatchFirst(key), v = ToBatchFirst(value);
        if (q.Size(2) != EmbedDim || k.Size(2) != EmbedDim || v.Size(2) != EmbedDim)
            throw new ArgumentException($"MultiheadAttention: every input needs {EmbedDim} features; got {Shapes.Format(query.ShapeRef)}, {Shapes.Format(key.ShapeRef)}, {Shapes.Format(value.ShapeRef)}.");
        if (k.Size(0) != q.Size(0) || v.Size(0) != q.Size(0) || k.Size(1) != v.Size(1))
            throw new ArgumentException($"MultiheadAttention: batch sizes or key/value lengths disagree: query {Shapes.Format(query.ShapeRef)}, key {Shapes.Format(key.ShapeRef)}, value {Shapes.Format(value.ShapeRef)}.");
        int b = q.Size(0), l = q.Size(1), s = k.Size(1), h = NumHeads, hd = EmbedDim / NumHeads;

        // isCausal stands for the lower-triangular attnMask when none is given; alone it is the kernel's causal mode.
        var causalMask = isCausal && attnMask is null && keyPaddingMask is not null ? CausalAttend(l, s).LogicalNot() : attnMask;
        var mask = CombinedMask(keyPaddingMask, causalMask, b, l, s, batched, q.DType);
        bool causal = isCausal && mask is null;
        double p = Training ? Dropout : 0;
        Tensor joined;
        Tensor? weights = null;
        if (PacksSelfAttention(query, key, value, needWeights))
        {
            // Self-attention: one in-projection product for q, k and v, the kernel reading the heads in place and
            // writing them merged. In eval mode a recorded forward keeps the per-part ops, which the ONNX exporter reads.
            var qkv = Functional.Linear(q, InProjWeight, InProjBias);
            joined = Functional.PackedSelfAttention(qkv, h, mask, p, causal, DropoutGenerator);
        }
        else
        {
            Tensor Project(Tensor x, int part) => Functional.Linear(x, InProjWeight.Narrow(0, part * EmbedDim, EmbedDim), InProjBias?.Narrow(0, part * EmbedDim, EmbedDim))
                .Reshape(b, x.Size(1), h, hd).Transpose(1, 2); // [B, heads, seq, hd]
            var qh = Project(q, 0);
            var kh = Project(k, 1);
            var vh = Project(v, 2);
            Tensor attended;
            if (!needWeights)
                attended = Functional.ScaledDotProductAttention(qh, kh, vh, mask, p, causal, generator: DropoutGenerator);
            else
            {
                // The probabilities are wanted: the same computation written out, so they can be returned.
                var scores = qh.MatMul(kh.Transpose(2, 3)) * (1 / Math.Sqrt(hd));
                if (causal) mask = CausalAttend(l, s);
                if (mask is not null) scores = mask.DType == DType.Bool ? scores.MaskedFill(mask.LogicalNot(), double.NegativeInfinity) : scores + mask;
                var probabilities = Functional.Dropout(scores.Softmax(-1), p, p > 0, DropoutGenerator);
                attended = probabilities.MatMul(vh);
                weights = probabilities.Mean(1); // averaged over heads: [B, L, S]
                if (!batched) weights = weights.Squeeze(0);
            }
            joined = attended.Transpose(1, 2).Reshape(b, l, EmbedDim);
        }
        var output = OutProj.Forward(joined);
        output = !batched ? output.Squeeze(0) : BatchFirst ? output : output.Transpose(0, 1);
        return (output, weights);
    }

    /// <summary>
    /// Whether this call takes the packed self-attention path: one tensor as query, key and value, no weights wanted, not
    /// inside a <see cref="Jit"/> capture, and either training or not recorded (a recorded eval forward keeps the
    /// per-part projections and the head split/merge on the tape, the form the ONNX exporter reads).
    /// </summary>
    private bool PacksSelfAttention(Tensor query, Tensor key, Tensor value, bool needWeights) =>
        ReferenceEquals(query, key) && ReferenceEquals(key, value) && !needWeights && Capture.Active is null
        && (Training || !(SharpGrad.Autograd.ShouldRecord(query, InProjWeight) || (InProjBias is not null && SharpGrad.Autograd.ShouldRecord(InProjBias))));

    /// <summary>
    /// The two PyTorch masks (true = ignore) as one mask in <see cref="Functional.ScaledDotProductAttention"/>'s terms,
    /// broadcastable to [B, heads, L, S]: Bool true = attend when both are Bool, else additive.
    /// </summary>
    private Tensor? CombinedMask(Tensor? keyPadding, Tensor? attnMask, int b, int l, int s, bool batched, DType dtype)
    {
        Tensor? result = null;
        if (keyPadding is not null)
        {
            var kp = batched ? keyPadding : keyPadding.Unsqueeze(0);
            if (kp.Rank != 2 || kp.Size(0) != b || kp.Size(1) != s)
                throw new ArgumentException($"MultiheadAttention: keyPaddingMask must be [{b}, {s}] (batch, source length); got {Shapes.Format(keyPadding.ShapeRef)}.", nameof(keyPadding));
            result = AsAttend(kp.Reshape(b, 1, 1, s), dtype);
        }
        if (attnMask is not null)
        {
            Tensor am = attnMask.Rank switch
            {
                2 when attnMask.Size(0) == l && attnMask.Size(1) == s => attnMask,
                3 when attnMask.Size(0) == b * NumHeads && attnMask.Size(1) == l && attnMask.Size(2) == s => attnMask.Reshape(b, NumHeads, l, s),
                _ => throw new ArgumentException($"MultiheadAttention: attnMask must be [{l}, {s}] or [{b * NumHeads}, {l}, {s}] (batch·heads, target, source); got {Shapes.Format(attnMask.ShapeRef)}.", nameof(attnMask)),
            };
            var a = AsAttend(am, dtype);
            result = result is null ? a : Combine(result, a, dtype);
        }
        return result;
    }

    /// <summary>Query i may attend keys 0..i: the lower triangle, true = attend.</summary>
    private static Tensor CausalAttend(int l, int s)
    {
        var m = new bool[l * s];
        for (int i = 0; i < l; i++)
            for (int j = 0; j <= i && j < s; j++) m[i * s + j] = true;
        return Tensor.FromArray(m, l, s);
    }

    /// <summary>A PyTorch-convention mask (true = ignore) as an attend mask, or a float mask unchanged.</summary>
    private static Tensor AsAttend(Tensor mask, DType dtype) => mask.DType switch
    {
        DType.Bool => mask.LogicalNot(),
        _ when mask.DType.IsFloatingPoint() => mask.To(dtype),
        _ => throw new ArgumentException($"MultiheadAttention: masks must be Bool or floating point; got {mask.DType.ToTorchName()}."),
    };

    private static Tensor Combine(Tensor x, Tensor y, DType dtype)
    {
        if (x.DType == DType.Bool && y.DType == DType.Bool) return x.LogicalAnd(y);
        static Tensor Additive(Tensor m, DType dtype) => m.DType == DType.Bool ? Tensor.Where(m, 0.0, Tensor.Full([], double.NegativeInfinity, dtype)) : m;
        return Additive(x, dtype) + Additive(y, dtype);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"MultiheadAttention(embed_dim={EmbedDim}, num_heads={NumHeads}{(Dropout > 0 ? $", dropout={Dropout}" : "")}{(BatchFirst ? ", batch_first=True" : "")})");
}
