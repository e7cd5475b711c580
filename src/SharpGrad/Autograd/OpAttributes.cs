namespace SharpGrad;

// The non-tensor arguments of a recorded op, kept on its Node (Node.Attributes) so that tools reading the tape — the
// ONNX exporter — can rebuild the op exactly. Only ops whose inputs and output shape do not already say everything set
// one; each is immutable and holds what the op's forward used, after defaults and negative dims are resolved.

/// <summary>A tensor-scalar op (<c>x + s</c>, <c>s - x</c>, <c>x^p</c>, a slope): the scalar, and whether it was the left operand.</summary>
internal sealed record ScalarAttributes(double Value, bool ScalarFirst = false);

/// <summary>An op along one dimension (softmax, a reduction, concatenation); <c>Dim</c> is non-negative.</summary>
internal sealed record DimAttributes(int Dim, bool KeepDim = false);

/// <summary>Clamp's bounds (null: unbounded on that side).</summary>
internal sealed record ClampAttributes(double? Min, double? Max);

/// <summary>Permute's order: output dim i is input dim <c>Perm[i]</c>.</summary>
internal sealed record PermuteAttributes(int[] Perm);

/// <summary>Narrow: <c>Length</c> elements from <c>Start</c> along <c>Dim</c>.</summary>
internal sealed record NarrowAttributes(int Dim, int Start, int Length);

/// <summary>A matrix product of transposed operands (the last two dims swapped); null attributes mean neither is.</summary>
internal sealed record MatMulAttributes(bool TransA, bool TransB);

/// <summary>
/// A convolution's geometry, one value per spatial dimension (1 to 3); <c>Transposed</c> for ConvTranspose, whose
/// <c>OutputPadding</c> is then meaningful (zeros otherwise).
/// </summary>
internal sealed record ConvAttributes(int[] Stride, int[] Padding, int[] Dilation, int Groups, int[] OutputPadding, bool Transposed);

/// <summary>A 2-D pooling window (max or average; average counts padding, as PyTorch's default).</summary>
internal sealed record Pool2dAttributes((int H, int W) Kernel, (int H, int W) Stride, (int H, int W) Padding, (int H, int W) Dilation);

/// <summary>Batch normalisation: the running statistics (module buffers) and whether batch statistics were used instead.</summary>
internal sealed record BatchNormAttributes(Tensor? RunningMean, Tensor? RunningVar, double Eps, bool Training);

/// <summary>
/// Scaled dot-product attention: the mask the scores were given (Bool: true = attend; else added), the score scale,
/// whether the causal (lower-triangular) mask applied, and the dropout probability on the attention weights.
/// </summary>
internal sealed record AttentionAttributes(Tensor? Mask, double Scale, bool Causal, double DropoutP);

/// <summary>
/// Layer normalisation over the last <c>Dims</c> dimensions, with <c>Eps</c> added to the variance; <c>HasWeight</c>
/// tells a lone weight input from a lone bias.
/// </summary>
internal sealed record LayerNormAttributes(int Dims, double Eps, bool HasWeight);

/// <summary>Softplus's β and the threshold of βx above which it is x itself.</summary>
internal sealed record SoftplusAttributes(double Beta, double Threshold);

/// <summary>GELU's form (exact or the tanh approximation).</summary>
internal sealed record GeluAttributes(GeluApproximation Approximate);

/// <summary><c>Scale · ELU_Alpha(x)</c>: ELU (scale 1) and SELU.</summary>
internal sealed record EluAttributes(double Alpha, double Scale);

/// <summary>Constant padding: PyTorch's pads (last dimension first, a (before, after) pair each; negative crops) and the fill value.</summary>
internal sealed record PadAttributes(int[] Pads, double Value);

/// <summary>The diagonal of Tril/Triu (0 the main one, positive above it).</summary>
internal sealed record TriangleAttributes(int Diagonal);

/// <summary>A cumulative sum along <c>Dim</c>, from the end when <c>Reverse</c>.</summary>
internal sealed record ScanAttributes(int Dim, bool Reverse);

/// <summary>A pooling op's windows per spatial dimension and, for averages, the divisor override.</summary>
internal sealed record PoolAttributes(PoolAxis[] Axes, int? DivisorOverride);

/// <summary>
/// A Linear formed from a table of rows (<c>NN.Functional.LinearOfRows</c>) whose entry also lists the table, at
/// <c>TableInput</c> after the Linear's own inputs, for its gradient: the op is the Linear of the inputs before it.
/// </summary>
internal sealed record LinearOfRowsAttributes(int TableInput);

