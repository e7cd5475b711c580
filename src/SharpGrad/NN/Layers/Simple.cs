using System.Globalization;

namespace SharpGrad.NN;

/// <summary>Flattens dimensions startDim..endDim (PyTorch: <c>nn.Flatten</c>, which starts at 1 to keep the batch).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Flatten(startDim, endDim);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Flatten(start_dim={startDim}, end_dim={endDim})");
}

/// <summary>Rectified linear unit max(x, 0) (PyTorch: <c>nn.ReLU</c>).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>Leaky ReLU (PyTorch: <c>nn.LeakyReLU</c>).</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(negativeSlope);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"LeakyReLU(negative_slope={negativeSlope})");
}

/// <summary>Logistic sigmoid (PyTorch: <c>nn.Sigmoid</c>).</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Hyperbolic tangent (PyTorch: <c>nn.Tanh</c>).</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>Softmax over a dimension (PyTorch: <c>nn.Softmax</c>).</summary>
public sealed class Softmax(int dim = -1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(dim);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Softmax(dim={dim})");
}

/// <summary>Log-softmax over a dimension (PyTorch: <c>nn.LogSoftmax</c>).</summary>
public sealed class LogSoftmax(int dim = -1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(dim);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"LogSoftmax(dim={dim})");
}

/// <summary>The identity (PyTorch: <c>nn.Identity</c>), e.g. for the "no activation" variant of an exercise.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>
/// Inverted dropout (PyTorch: <c>nn.Dropout</c>): active only in training mode. Its masks come from the generator given
/// here, so a seeded run is reproducible.
/// </summary>
public sealed class Dropout(double p = 0.5, Generator? generator = null) : Module
{
    /// <summary>Probability of zeroing an element.</summary>
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1].");

    /// <summary>The generator that draws the masks (exposed so checkpoints can save its state).</summary>
    public Generator Generator { get; } = generator ?? new Generator(0UL);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, Training, Generator);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Dropout(p={P})");
}
