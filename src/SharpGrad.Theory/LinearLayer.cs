namespace SharpGrad.Theory;

/// <summary>
/// An affine layer <c>y = x Wᵀ + b</c> with PyTorch's weight layout [out, in] (PyTorch: <c>nn.Linear</c>); no activation.
/// </summary>
/// <param name="Weight">Weights [out, in].</param>
/// <param name="Bias">Biases [out], or null for none.</param>
public sealed record LinearLayer(Tensor Weight, Tensor? Bias = null)
{
    /// <summary>Input features: the weight's second dimension.</summary>
    public int InFeatures => Weight.ShapeRef[1];

    /// <summary>Output features: the weight's first dimension.</summary>
    public int OutFeatures => Weight.ShapeRef[0];

    /// <summary><c>x Wᵀ + b</c> for x of shape [B, in] (giving [B, out]) or [in] (giving [out]).</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        Validate(-1);
        if ((x.Rank != 1 && x.Rank != 2) || x.ShapeRef[^1] != InFeatures)
            throw new ArgumentException($"LinearLayer.Forward: the input must be [B, {InFeatures}] or [{InFeatures}]; got {Shapes.Format(x.ShapeRef)}.", nameof(x));
        Tensor y = x.MatMul(Weight.Transpose(0, 1));
        return Bias is null ? y : y + Bias;
    }

    internal void Validate(int index)
    {
        string where = index >= 0 ? $"layer {index}" : "LinearLayer";
        if (Weight is null) throw new ArgumentException($"{where}: the weight is null.");
        if (Weight.Rank != 2 || !Weight.DType.IsFloatingPoint())
            throw new ArgumentException($"{where}: the weight must be a 2-D floating-point tensor [out, in]; got {Weight.DType.ToTorchName()} {Shapes.Format(Weight.ShapeRef)}.");
        if (Bias is not null && (Bias.Rank != 1 || Bias.ShapeRef[0] != Weight.ShapeRef[0]))
            throw new ArgumentException($"{where}: the bias must be [{Weight.ShapeRef[0]}] to match the weight {Shapes.Format(Weight.ShapeRef)}; got {Shapes.Format(Bias.ShapeRef)}.");
    }
}
