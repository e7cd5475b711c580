using System.Globalization;

namespace SharpGrad.NN;

/// <summary>1-D average pooling over [N, C, L] (PyTorch: <c>nn.AvgPool1d</c>); the stride defaults to the kernel size.</summary>
public sealed class AvgPool1d : Module
{
    private readonly int[] _kernel, _stride, _padding;

    /// <summary>Pooling with the given kernel size, stride and padding.</summary>
    public AvgPool1d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
        : this([kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad) { }

    /// <summary>Pooling with each argument given as a one-element array (PyTorch's 1-tuples).</summary>
    public AvgPool1d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        _kernel = PoolCore.Expand(nameof(AvgPool1d), nameof(kernelSize), kernelSize, 1, 1, 1);
        _stride = stride is null || stride.Length == 0 ? _kernel : PoolCore.Expand(nameof(AvgPool1d), nameof(stride), stride, 1, 1, 1);
        _padding = PoolCore.Expand(nameof(AvgPool1d), nameof(padding), padding, 1, 0, 0);
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window size.</summary>
    public int KernelSize => _kernel[0];
    /// <summary>Step between windows.</summary>
    public int Stride => _stride[0];
    /// <summary>Implicit zero padding on each side.</summary>
    public int Padding => _padding[0];
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool1d(input, _kernel, _stride, _padding, CeilMode, CountIncludePad);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"AvgPool1d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, ceil_mode={PoolText.Of(CeilMode)}, count_include_pad={PoolText.Of(CountIncludePad)})");
}
