using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Fully connected layer y = x Wᵀ + b (PyTorch: <c>nn.Linear</c>). Weight [out, in], bias [out], both initialised from
/// U(−1/√in, 1/√in) as PyTorch does (<see cref="Init.DefaultLayer"/>).
/// </summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of each input sample.</param>
    /// <param name="outFeatures">Size of each output sample.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="generator">Source of the initial weights (the default generator when null).</param>
    /// <param name="dtype">Parameter dtype.</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.Zeros([outFeatures, inFeatures], dtype));
        Bias = bias ? RegisterParameter("bias", Tensor.Zeros([outFeatures], dtype)) : null;
        Init.DefaultLayer(Weight, Bias, generator);
    }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }
    /// <summary>Output size.</summary>
    public int OutFeatures { get; }
    /// <summary>The weight, shape [out, in].</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        DTypeRule.CheckInput("Linear", input, Weight);
        return Functional.Linear(input, Weight, Bias);
    }

    /// <summary><c>Relu(Forward(input))</c> in one op (the ReLU in the GEMM's epilogue), for <see cref="Sequential"/>.</summary>
    internal Tensor ForwardRelu(Tensor input)
    {
        DTypeRule.CheckInput("Linear", input, Weight);
        return Functional.LinearRelu(input, Weight, Bias);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")})");
}
