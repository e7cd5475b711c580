using System.Globalization;

namespace SharpGrad.NN;

/// <summary>2-D max pooling (PyTorch: <c>nn.MaxPool2d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding on each side.</summary>
    public int Padding { get; } = padding;
    /// <summary>Spacing between window taps.</summary>
    public int Dilation { get; } = dilation;
    /// <summary>Whether the output size rounds up (PyTorch's ceil_mode).</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}{(CeilMode ? ", ceil_mode=True" : "")})");
}

/// <summary>2-D average pooling (PyTorch: <c>nn.AvgPool2d</c>); the stride defaults to the kernel size.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit zero padding on each side.</summary>
    public int Padding { get; } = padding;
    /// <summary>Whether the output size rounds up (PyTorch's ceil_mode).</summary>
    public bool CeilMode { get; } = ceilMode;
    /// <summary>Whether padded positions count in the divisor (PyTorch's count_include_pad).</summary>
    public bool CountIncludePad { get; } = countIncludePad;
    /// <summary>A fixed divisor replacing the window count, or null.</summary>
    public int? DivisorOverride { get; } = divisorOverride;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"AvgPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}{(CeilMode ? ", ceil_mode=True" : "")}{(CountIncludePad ? "" : ", count_include_pad=False")}{(DivisorOverride is int d ? $", divisor_override={d}" : "")})");
}
