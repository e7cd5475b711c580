namespace SharpGrad.Theory;

/// <summary>One layer of a <see cref="ConvTrace"/>: what went in, what came out, and how many parameters the layer has.</summary>
/// <param name="Index">Position of the layer in the stack, from 0.</param>
/// <param name="Layer">The layer.</param>
/// <param name="Input">Shape of the layer's input (C, H, W).</param>
/// <param name="Output">Shape of the layer's output (C, H, W).</param>
/// <param name="Weights">Weights: out·in·kh·kw for a convolution, 0 for pooling.</param>
/// <param name="Biases">Biases: out for a convolution with bias, otherwise 0.</param>
public sealed record LayerTrace(int Index, LayerSpec Layer, FeatureShape Input, FeatureShape Output, long Weights, long Biases)
{
    /// <summary>Weights plus biases (checked: <see cref="ConvArithmetic.Trace(FeatureShape, IEnumerable{LayerSpec})"/> guarantees it fits).</summary>
    public long Parameters => checked(Weights + Biases);

    /// <summary>A one-line summary, e.g. <c>2 conv:128:k4:p1  (64, 25, 25) -> (128, 24, 24)  weights 131072 + biases 128</c>.</summary>
    public override string ToString() => FormattableString.Invariant($"{Index} {Layer}  {Input} -> {Output}  weights {Weights} + biases {Biases}");
}

/// <summary>
/// The result of <see cref="ConvArithmetic.Trace(FeatureShape, IEnumerable{LayerSpec})"/>: the shape after every layer of
/// a conv/pool stack and its parameter counts, with totals.
/// </summary>
/// <param name="Input">The stack's input shape.</param>
/// <param name="Layers">One entry per layer, in order.</param>
public sealed record ConvTrace(FeatureShape Input, IReadOnlyList<LayerTrace> Layers)
{
    /// <summary>The shape the last layer produces (the input itself for an empty stack).</summary>
    public FeatureShape Output => Layers.Count == 0 ? Input : Layers[^1].Output;

    /// <summary>Sum of the layers' weights.</summary>
    public long TotalWeights => Layers.Sum(l => l.Weights);

    /// <summary>Sum of the layers' biases.</summary>
    public long TotalBiases => Layers.Sum(l => l.Biases);

    /// <summary>All parameters of the stack, weights plus biases (checked: the trace guarantees it fits).</summary>
    public long TotalParameters => checked(TotalWeights + TotalBiases);
}
