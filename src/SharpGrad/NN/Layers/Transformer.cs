using System.Globalization;

namespace SharpGrad.NN;

/// <summary>The feed-forward activation of the transformer layers (PyTorch: <c>activation="relu"|"gelu"</c>).</summary>
public enum TransformerActivation
{
    /// <summary>ReLU (PyTorch's default).</summary>
    Relu,
    /// <summary>Exact GELU.</summary>
    Gelu,
}

/// <summary>
/// A transformer encoder layer (PyTorch: <c>nn.TransformerEncoderLayer</c>; Vaswani et al., 2017): self-attention and a
/// two-layer feed-forward block, each with a residual connection and layer normalisation — after the residual
/// (post-norm, the default) or before the block (<c>normFirst</c>, pre-norm). Children and parameters carry PyTorch's
/// names (<c>self_attn</c>, <c>linear1</c>, <c>linear2</c>, <c>norm1</c>, <c>norm2</c>), so state dicts load both ways.
/// </summary>
public sealed class TransformerEncoderLayer : Module
{
    private readonly Generator? _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="dModel">Model width.</param>
    /// <param name="nHead">Attention heads.</param>
    /// <param name="dimFeedforward">Width of the feed-forward block.</param>
    /// <param name="dropout">Dropout after attention, inside and after the feed-forward block.</param>
    /// <param name="activation">Feed-forward activation.</param>
    /// <param name="layerNormEps">LayerNorm's eps.</param>
    /// <param name="batchFirst">Inputs [batch, seq, dModel].</param>
    /// <param name="normFirst">Pre-norm (LayerNorm before each block) instead of post-norm.</param>
    /// <param name="generator">Source of the initial weights and dropout seeds.</param>
    /// <param name="dtype">Parameter dtype.</param>
    public TransformerEncoderLayer(int dModel, int nHead, int dimFeedforward = 2048, double dropout = 0.1, TransformerActivation activation = TransformerActivation.Relu,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, Generator? generator = null, DType dtype = DType.Float32)
    {
        _generator = generator;
        DModel = dModel; NHead = nHead; DimFeedforward = dimFeedforward; DropoutP = dropout; Activation = activation;
        LayerNormEps = layerNormEps; BatchFirst = batchFirst; NormFirst = normFirst; DType = dtype;
        SelfAttn = RegisterModule("self_attn", new MultiheadAttention(dModel, nHead, dropout, true, batchFirst, generator, dtype));
        Linear1 = RegisterModule("linear1", new Linear(dModel, dimFeedforward, true, generator, dtype));
        Dropout = RegisterModule("dropout", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 1UL)));
        Linear2 = RegisterModule("linear2", new Linear(dimFeedforward, dModel, true, generator, dtype));
        Norm1 = RegisterModule("norm1", new LayerNorm(dModel, layerNormEps, dtype: dtype));
        Norm2 = RegisterModule("norm2", new LayerNorm(dModel, layerNormEps, dtype: dtype));
        Dropout1 = RegisterModule("dropout1", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 2UL)));
        Dropout2 = RegisterModule("dropout2", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 3UL)));
    }

    /// <summary>Model width.</summary>
    public int DModel { get; }
    /// <summary>Heads.</summary>
    public int NHead { get; }
    /// <summary>Feed-forward width.</summary>
    public int DimFeedforward { get; }
    /// <summary>Dropout probability.</summary>
    public double DropoutP { get; }
    /// <summary>Feed-forward activation.</summary>
    public TransformerActivation Activation { get; }
    /// <summary>LayerNorm's eps.</summary>
    public double LayerNormEps { get; }
    /// <summary>Inputs are [batch, seq, dModel].</summary>
    public bool BatchFirst { get; }
    /// <summary>Pre-norm.</summary>
    public bool NormFirst { get; }
    /// <summary>Parameter dtype.</summary>
    public DType DType { get; }
    /// <summary>The self-attention.</summary>
    public MultiheadAttention SelfAttn { get; }
    /// <summary>Feed-forward input projection.</summary>
    public Linear Linear1 { get; }
    /// <summary>Dropout inside the feed-forward block.</summary>
    public Dropout Dropout { get; }
    /// <summary>Feed-forward output projection.</summary>
    public Linear Linear2 { get; }
    /// <summary>Normalisation around attention.</summary>
    public LayerNorm Norm1 { get; }
    /// <summary>Normalisation around the feed-forward block.</summary>
    public LayerNorm Norm2 { get; }
    /// <summary>Dropout after attention.</summary>
    public Dropout Dropout1 { get; }
    /// <summary>Dropout after the feed-forward block.</summary>
    public Dropout Dropout2 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null, null);

    /// <summary>Encodes <paramref name="src"/> ([seq, batch, dModel], or batch first).</summary>
    /// <param name="src">The sequence.</param>
    /// <param name="srcMask">[seq, seq] attention mask in MultiheadAttention's convention (Bool true = not allowed, or additive).</param>
    /// <param name="srcKeyPaddingMask">[batch, seq]: true marks padding.</param>
    /// <param name="isCausal">Each position attends itself and earlier ones only (when no mask is given).</param>
    public Tensor Forward(Tensor src, Tensor? srcMask, Tensor? srcKeyPaddingMask, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(src);
        var x = src;
        if (NormFirst)
        {
            x = x + SelfAttention(Norm1.Forward(x), srcMask, srcKeyPaddingMask, isCausal);
            return x + FeedForward(Norm2.Forward(x));
        }
        x = Norm1.Forward(x + SelfAttention(x, srcMask, srcKeyPaddingMask, isCausal));
        return Norm2.Forward(x + FeedForward(x));
    }

    private Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? padding, bool isCausal) =>
        Dropout1.Forward(SelfAttn.Forward(x, x, x, padding, mask, isCausal, needWeights: false).Output);

    private Tensor FeedForward(Tensor x)
    {
        if (Activation == TransformerActivation.Gelu && (Dropout.P == 0 || !Training))
        {
            // No dropout inside the block: Linear → GELU → Linear as one op, GELU in the products' epilogues. In eval
            // mode a recorded forward keeps the three ops on the tape, which the ONNX exporter reads op by op.
            DTypeRule.CheckInput("Linear", x, Linear1.Weight);
            return Dropout2.Forward(Functional.FeedForwardGelu(x, Linear1.Weight, Linear1.Bias, Linear2.Weight, Linear2.Bias, oneNode: Training));
        }
        var h = Linear1.Forward(x);
        h = Activation == TransformerActivation.Gelu ? h.Gelu() : h.Relu();
        return Dropout2.Forward(Linear2.Forward(Dropout.Forward(h)));
    }

    /// <summary>A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy in TransformerEncoder).</summary>
    internal TransformerEncoderLayer Copy()
    {
        var copy = new TransformerEncoderLayer(DModel, NHead, DimFeedforward, DropoutP, Activation, LayerNormEps, BatchFirst, NormFirst, _generator, DType);
        copy.LoadStateDict(StateDict());
        copy.Train(Training);
        return copy;
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"TransformerEncoderLayer(d_model={DModel}, nhead={NHead}, dim_feedforward={DimFeedforward}, dropout={DropoutP}, activation={Activation.ToString().ToLowerInvariant()}, norm_first={NormFirst})");
}

/// <summary>
/// A stack of <c>numLayers</c> copies of an encoder layer (PyTorch: <c>nn.TransformerEncoder</c>): as in PyTorch, every
/// copy starts from the given layer's parameters; they are then trained separately (<c>layers.0.…</c>, <c>layers.1.…</c>),
/// with an optional final normalisation (<c>norm</c>).
/// </summary>
public sealed class TransformerEncoder : Module
{
    /// <summary>Creates the stack.</summary>
    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers, LayerNorm? norm = null)
    {
        ArgumentNullException.ThrowIfNull(encoderLayer);
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "TransformerEncoder: numLayers must be positive.");
        Layers = RegisterModule("layers", new ModuleList());
        for (int i = 0; i < numLayers; i++) Layers.Add(encoderLayer.Copy());
        Norm = norm is null ? null : RegisterModule("norm", norm);
    }

    /// <summary>The layers.</summary>
    public ModuleList Layers { get; }
    /// <summary>The final normalisation, or null.</summary>
    public LayerNorm? Norm { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null, null);

    /// <summary>Runs every layer with the same masks (see <see cref="TransformerEncoderLayer.Forward(Tensor, Tensor?, Tensor?, bool)"/>).</summary>
    public Tensor Forward(Tensor src, Tensor? mask, Tensor? srcKeyPaddingMask, bool isCausal = false)
    {
        var x = src;
        foreach (var layer in Layers) x = ((TransformerEncoderLayer)layer).Forward(x, mask, srcKeyPaddingMask, isCausal);
        return Norm is null ? x : Norm.Forward(x);
    }
}

/// <summary>
/// A transformer decoder layer (PyTorch: <c>nn.TransformerDecoderLayer</c>): self-attention over the target, attention
/// over the encoder's output (<c>multihead_attn</c>), and the feed-forward block, each with residual and LayerNorm
/// (<c>norm1..3</c>), post- or pre-norm.
/// </summary>
public sealed class TransformerDecoderLayer : Module
{
    /// <summary>Creates the layer; the arguments are those of <see cref="TransformerEncoderLayer"/>.</summary>
    public TransformerDecoderLayer(int dModel, int nHead, int dimFeedforward = 2048, double dropout = 0.1, TransformerActivation activation = TransformerActivation.Relu,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, Generator? generator = null, DType dtype = DType.Float32)
    {
        Activation = activation;
        NormFirst = normFirst;
        SelfAttn = RegisterModule("self_attn", new MultiheadAttention(dModel, nHead, dropout, true, batchFirst, generator, dtype));
        MultiheadAttn = RegisterModule("multihead_attn", new MultiheadAttention(dModel, nHead, dropout, true, batchFirst, generator, dtype));
        Linear1 = RegisterModule("linear1", new Linear(dModel, dimFeedforward, true, generator, dtype));
        Dropout = RegisterModule("dropout", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 1UL)));
        Linear2 = RegisterModule("linear2", new Linear(dimFeedforward, dModel, true, generator, dtype));
        Norm1 = RegisterModule("norm1", new LayerNorm(dModel, layerNormEps, dtype: dtype));
        Norm2 = RegisterModule("norm2", new LayerNorm(dModel, layerNormEps, dtype: dtype));
        Norm3 = RegisterModule("norm3", new LayerNorm(dModel, layerNormEps, dtype: dtype));
        Dropout1 = RegisterModule("dropout1", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 2UL)));
        Dropout2 = RegisterModule("dropout2", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 3UL)));
        Dropout3 = RegisterModule("dropout3", new Dropout(dropout, new Generator(generator?.NextUInt64() ?? 4UL)));
    }

    /// <summary>Feed-forward activation.</summary>
    public TransformerActivation Activation { get; }
    /// <summary>Pre-norm.</summary>
    public bool NormFirst { get; }
    /// <summary>Self-attention over the target.</summary>
    public MultiheadAttention SelfAttn { get; }
    /// <summary>Attention over the memory.</summary>
    public MultiheadAttention MultiheadAttn { get; }
    /// <summary>Feed-forward input projection.</summary>
    public Linear Linear1 { get; }
    /// <summary>Dropout inside the feed-forward block.</summary>
    public Dropout Dropout { get; }
    /// <summary>Feed-forward output projection.</summary>
    public Linear Linear2 { get; }
    /// <summary>Normalisation around self-attention.</summary>
    public LayerNorm Norm1 { get; }
    /// <summary>Normalisation around cross-attention.</summary>
    public LayerNorm Norm2 { get; }
    /// <summary>Normalisation around the feed-forward block.</summary>
    public LayerNorm Norm3 { get; }
    /// <summary>Dropout after self-attention.</summary>
    public Dropout Dropout1 { get; }
    /// <summary>Dropout after cross-attention.</summary>
    public Dropout Dropout2 { get; }
    /// <summary>Dropout after the feed-forward block.</summary>
    public Dropout Dropout3 { get; }

    /// <summary>Not defined: a decoder layer needs the memory; call <see cref="Forward(Tensor, Tensor, Tensor?, Tensor?, Tensor?, Tensor?, bool, bool)"/>.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("TransformerDecoderLayer needs the encoder's output: call Forward(tgt, memory, ...).");

    /// <summary>Decodes <paramref name="tgt"/> attending to <paramref name="memory"/>; masks as in MultiheadAttention (true = not allowed / padding).</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(tgt);
        ArgumentNullException.ThrowIfNull(memory);
        var x = tgt;
        if (NormFirst)
        {
            x = x + SelfBlock(Norm1.Forward(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal);
            x = x + CrossBlock(Norm2.Forward(x), memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal);
            return x + FeedForward(Norm3.Forward(x));
        }
        x = Norm1.Forward(x + SelfBlock(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal));
        x = Norm2.Forward(x + CrossBlock(x, memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal));
        return Norm3.Forward(x + FeedForward(x));
    }

    private Tensor SelfBlock(Tensor x, Tensor? mask, Tensor? padding, bool causal) =>
        Dropout1.Forward(SelfAttn.Forward(x, x, x, padding, mask, causal, needWeights: false).Output);

    private Tensor CrossBlock(Tensor x, Tensor memory, Tensor? mask, Tensor? padding, bool causal) =>
        Dropout2.Forward(MultiheadAttn.Forward(x, memory, memory, padding, mask, causal, needWeights: false).Output);

    private Tensor FeedForward(Tensor x)
    {
        if (Activation == TransformerActivation.Gelu && (Dropout.P == 0 || !Training))
        {
            // No dropout inside the block: Linear → GELU → Linear as one op, GELU in the products' epilogues. In eval
            // mode a recorded forward keeps the three ops on the tape, which the ONNX exporter reads op by op.
            DTypeRule.CheckInput("Linear", x, Linear1.Weight);
            return Dropout3.Forward(Functional.FeedForwardGelu(x, Linear1.Weight, Linear1.Bias, Linear2.Weight, Linear2.Bias, oneNode: Training));
        }
        var h = Linear1.Forward(x);
        h = Activation == TransformerActivation.Gelu ? h.Gelu() : h.Relu();
        return Dropout3.Forward(Linear2.Forward(Dropout.Forward(h)));
    }
}
