using System.Globalization;

namespace SharpGrad.NN;

/// <summary>Hard sigmoid as a layer (PyTorch: <c>nn.Hardsigmoid</c>): clamp(x / 6 + 1/2, 0, 1); see <see cref="Tensor.HardSigmoid"/>.</summary>
public sealed class Hardsigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.HardSigmoid();
}

/// <summary>Hard swish as a layer (PyTorch: <c>nn.Hardswish</c>): x · hardsigmoid(x); see <see cref="Tensor.HardSwish"/>.</summary>
public sealed class Hardswish : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.HardSwish();
}

/// <summary>Softsign as a layer (PyTorch: <c>nn.Softsign</c>): x / (1 + |x|).</summary>
public sealed class Softsign : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softsign();
}

/// <summary>
/// Softplus as a layer (PyTorch: <c>nn.Softplus</c>): log(1 + exp(beta · x)) / beta, and x itself where beta · x exceeds
/// <c>threshold</c>; see <see cref="Tensor.Softplus"/>.
/// </summary>
public sealed class Softplus(double beta = 1, double threshold = 20) : Module
{
    /// <summary>Sharpness of the curve.</summary>
    public double Beta { get; } = beta;
    /// <summary>Above beta · x = threshold the layer is the identity.</summary>
    public double Threshold { get; } = threshold;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softplus(Beta, Threshold);
    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Softplus(beta={Beta}, threshold={Threshold})");
}

/// <summary>Hard tanh as a layer (PyTorch: <c>nn.Hardtanh</c>): clamp(x, min, max); see <see cref="Tensor.Hardtanh"/>.</summary>
public sealed class Hardtanh(double min = -1, double max = 1) : Module
{
    /// <summary>Lower bound.</summary>
    public double Min { get; } = min;
    /// <summary>Upper bound.</summary>
    public double Max { get; } = max;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Hardtanh(Min, Max);
    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Hardtanh(min_val={Min}, max_val={Max})");
}
