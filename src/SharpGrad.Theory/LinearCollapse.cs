namespace SharpGrad.Theory;

/// <summary>
/// The result of <see cref="LinearCollapse.Collapse"/>: the single affine layer equal to a stack of linear layers,
/// with the ranks that bound its expressive power.
/// </summary>
/// <param name="Layer">The equivalent single layer: W = W_L ⋯ W_1, b = W_L(⋯(W_2 b_1 + b_2)⋯) + b_L.</param>
/// <param name="Rank">Numerical rank of W.</param>
/// <param name="FactorRanks">Numerical rank of each W_i, in stack order.</param>
/// <param name="NarrowestWidth">The smallest of the input width and every layer's output width.</param>
public sealed record CollapsedStack(LinearLayer Layer, int Rank, IReadOnlyList<int> FactorRanks, int NarrowestWidth)
{
    /// <summary>The collapsed weight W.</summary>
    public Tensor Weight => Layer.Weight;

    /// <summary>The collapsed bias b (zeros when no layer had a bias).</summary>
    public Tensor Bias => Layer.Bias ?? Tensor.Zeros([Layer.OutFeatures], Layer.Weight.DType);

    /// <summary>
    /// min_i rank(W_i): rank(W) can never exceed it, because rank(AB) ≤ min(rank A, rank B) — the image of AB lies in
    /// the image of A, and is A applied to the image of B, whose dimension A cannot raise.
    /// </summary>
    public int RankBound => FactorRanks.Min();

    /// <summary><c>x Wᵀ + b</c>, the same function as running the stack layer by layer.</summary>
    /// <param name="x">Input [B, in] or [in].</param>
    /// <returns>Output [B, out] or [out].</returns>
    public Tensor Forward(Tensor x) => Layer.Forward(x);
}

/// <summary>
/// Seed 002 Q6: linear layers stacked without activations collapse to one affine layer, whose weight has rank at most
/// the smallest rank among the factors (so a 10 → 2 → 10 stack is a rank-2 map, not a general 10 x 10 one).
/// </summary>
public static class LinearCollapse
{
    /// <summary>
    /// Multiplies out a stack of affine layers (first layer first): W = W_L ⋯ W_1 and b = W_L(⋯(W_2 b_1 + b_2)⋯) + b_L,
    /// with the ranks of W and of every W_i. Built from tensor ops, so gradients flow to the layers' parameters.
    /// </summary>
    /// <param name="layers">At least one layer; layer i + 1's input width must equal layer i's output width.</param>
    /// <returns>The collapsed layer and its ranks.</returns>
    /// <exception cref="ArgumentException">The stack is empty or the shapes do not chain; the message names the layer and both shapes.</exception>
    public static CollapsedStack Collapse(IReadOnlyList<LinearLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("Collapse: the stack has no layers.", nameof(layers));
        for (int i = 0; i < layers.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(layers[i], nameof(layers));
            layers[i].Validate(i);
            if (i > 0 && layers[i].InFeatures != layers[i - 1].OutFeatures)
                throw new ArgumentException(
                    $"Collapse: layer {i} takes {layers[i].InFeatures} inputs (weight {Shapes.Format(layers[i].Weight.ShapeRef)}) but layer {i - 1} gives {layers[i - 1].OutFeatures} (weight {Shapes.Format(layers[i - 1].Weight.ShapeRef)}).", nameof(layers));
        }

        Tensor weight = layers[0].Weight;
        Tensor bias = layers[0].Bias ?? Tensor.Zeros([layers[0].OutFeatures], weight.DType);
        int narrowest = Math.Min(layers[0].InFeatures, layers[0].OutFeatures);
        for (int i = 1; i < layers.Count; i++)
        {
            var layer = layers[i];
            weight = layer.Weight.MatMul(weight);
            bias = layer.Weight.MatMul(bias);
            if (layer.Bias is not null) bias += layer.Bias;
            narrowest = Math.Min(narrowest, layer.OutFeatures);
        }
        var factorRanks = layers.Select(l => Rank(l.Weight)).ToArray();
        return new CollapsedStack(new LinearLayer(weight, bias), Rank(weight), factorRanks, narrowest);
    }

    /// <summary>Runs the stack layer by layer (the reference the collapsed layer must reproduce).</summary>
    /// <param name="layers">The layers, first first.</param>
    /// <param name="x">Input [B, in] or [in].</param>
    /// <returns>The last layer's output.</returns>
    public static Tensor Forward(IReadOnlyList<LinearLayer> layers, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) x = layer.Forward(x);
        return x;
    }

    /// <summary>
    /// The numerical rank of a 2-D tensor by Householder QR with column pivoting (<see cref="ColumnPivotedQr"/>):
    /// the number of |R_ii| above <paramref name="tolerance"/>, by default max(m, n) · ε · |R_00| with ε the machine
    /// epsilon of the tensor's dtype (2^−52 for Float64, 2^−23 for Float32).
    /// </summary>
    /// <param name="matrix">A 2-D Float32 or Float64 tensor.</param>
    /// <param name="tolerance">The threshold on |R_ii|, or null for the default.</param>
    /// <returns>The rank.</returns>
    public static int Rank(Tensor matrix, double? tolerance = null) => ColumnPivotedQr.Factor(matrix).Rank(tolerance);

    /// <summary>The numerical rank of a matrix given as a 2-D array (ε = 2^−52); see <see cref="Rank(Tensor, double?)"/>.</summary>
    /// <param name="matrix">The matrix.</param>
    /// <param name="tolerance">The threshold on |R_ii|, or null for max(m, n) · ε · |R_00|.</param>
    /// <returns>The rank.</returns>
    public static int Rank(double[,] matrix, double? tolerance = null) => ColumnPivotedQr.Factor(matrix).Rank(tolerance);
}
