using System.Globalization;

namespace SharpGrad.NN;

/// <summary>2-D max pooling (PyTorch: <c>nn.MaxPool2d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding on each side.</summary>
    public int Padding { get; } = padding;
    /// <summary>Spacing between window taps.</summary>
    public int Dilation { get; } = dilation;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation})");
}

/// <summary>2-D average pooling (PyTorch: <c>nn.AvgPool2d</c>, count_include_pad=True); the stride defaults to the kernel size.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit zero padding on each side.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, KernelSize, Stride, Padding);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"AvgPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding})");
}
