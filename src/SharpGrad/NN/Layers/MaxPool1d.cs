using System.Globalization;

namespace SharpGrad.NN;

/// <summary>1-D max pooling over [N, C, L] (PyTorch: <c>nn.MaxPool1d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool1d : Module
{
    private readonly int[] _kernel, _stride, _padding, _dilation;

    /// <summary>Pooling with the given kernel size, stride, padding and dilation.</summary>
    public MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this([kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode) { }

    /// <summary>Pooling with each argument given as a one-element array (PyTorch's 1-tuples).</summary>
    public MaxPool1d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        _kernel = PoolCore.Expand(nameof(MaxPool1d), nameof(kernelSize), kernelSize, 1, 1, 1);
        _stride = stride is null || stride.Length == 0 ? _kernel : PoolCore.Expand(nameof(MaxPool1d), nameof(stride), stride, 1, 1, 1);
        _padding = PoolCore.Expand(nameof(MaxPool1d), nameof(padding), padding, 1, 0, 0);
        _dilation = PoolCore.Expand(nameof(MaxPool1d), nameof(dilation), dilation, 1, 1, 1);
        CeilMode = ceilMode;
    }

    /// <summary>Window size.</summary>
    public int KernelSize => _kernel[0];
    /// <summary>Step between windows.</summary>
    public int Stride => _stride[0];
    /// <summary>Implicit −∞ padding on each side.</summary>
    public int Padding => _padding[0];
    /// <summary>Spacing between window taps.</summary>
    public int Dilation => _dilation[0];
    /// <summary>Whether the output size rounds up (see <see cref="Functional.MaxPool1d(Tensor, int, int?, int, int, bool)"/>).</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool1d(input, _kernel, _stride, _padding, _dilation, CeilMode);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool1d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={PoolText.Of(CeilMode)})");
}
