using System.Globalization;

namespace SharpGrad.NN;

/// <summary>1-D max pooling over [N, C, L] (PyTorch: <c>nn.MaxPool1d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding on each side.</summary>
    public int Padding { get; } = padding;
    /// <summary>Spacing between window taps.</summary>
    public int Dilation { get; } = dilation;
    /// <summary>Whether the output size rounds up (see <see cref="Functional.MaxPool1d(Tensor, int, int?, int, int, bool)"/>).</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool1d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool1d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={CeilMode})");
}
