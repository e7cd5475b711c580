using System.Globalization;

namespace SharpGrad.NN;

/// <summary>GELU as a layer (PyTorch: <c>nn.GELU</c>); see <see cref="Tensor.Gelu"/>.</summary>
public sealed class GELU(GeluApproximation approximate = GeluApproximation.None) : Module
{
    /// <summary>Exact or tanh form.</summary>
    public GeluApproximation Approximate { get; } = approximate;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Gelu(Approximate);
    /// <inheritdoc/>
    protected override string Describe() => Approximate == GeluApproximation.Tanh ? "GELU(approximate='tanh')" : "GELU(approximate='none')";
}

/// <summary>SiLU (swish) as a layer (PyTorch: <c>nn.SiLU</c>): x · σ(x).</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Silu();
}

/// <summary>ELU as a layer (PyTorch: <c>nn.ELU</c>).</summary>
public sealed class ELU(double alpha = 1.0) : Module
{
    /// <summary>The negative saturation value.</summary>
    public double Alpha { get; } = alpha;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Elu(Alpha);
    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"ELU(alpha={Alpha})");
}

/// <summary>SELU as a layer (PyTorch: <c>nn.SELU</c>).</summary>
public sealed class SELU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Selu();
}

/// <summary>Mish as a layer (PyTorch: <c>nn.Mish</c>): x · tanh(softplus(x)).</summary>
public sealed class Mish : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Mish();
}

/// <summary>
/// Parametric ReLU (PyTorch: <c>nn.PReLU</c>; He et al., 2015): max(0, x) + a · min(0, x) with a learnt slope
/// <c>weight</c> per channel (dimension 1) or one shared (numParameters = 1), initialised to <c>init</c> (0.25).
/// </summary>
public sealed class PReLU : Module
{
    /// <summary>Creates the layer.</summary>
    public PReLU(int numParameters = 1, double init = 0.25, DType dtype = DType.Float32)
    {
        if (numParameters <= 0) throw new ArgumentOutOfRangeException(nameof(numParameters), numParameters, "PReLU: numParameters must be positive.");
        Weight = RegisterParameter("weight", Tensor.Full([numParameters], init, dtype));
    }

    /// <summary>The slopes, [numParameters].</summary>
    public Tensor Weight { get; }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        DTypeRule.CheckInput("PReLU", input, Weight);
        return Functional.Prelu(input, Weight);
    }
    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"PReLU(num_parameters={Weight.Numel})");
}
