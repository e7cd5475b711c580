using System.Globalization;

namespace SharpGrad.NN;

/// <summary>2-D max pooling over [N, C, H, W] (PyTorch: <c>nn.MaxPool2d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module
{
    private readonly int[] _kernel, _stride, _padding, _dilation;

    /// <summary>Pooling with one kernel size, stride, padding and dilation for both spatial dimensions.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this([kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode) { }

    /// <summary>Pooling with one value or one per spatial dimension (H, W) for each argument, as PyTorch's tuples.</summary>
    public MaxPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        _kernel = PoolCore.Expand(nameof(MaxPool2d), nameof(kernelSize), kernelSize, 2, 1, 1);
        _stride = stride is null || stride.Length == 0 ? _kernel : PoolCore.Expand(nameof(MaxPool2d), nameof(stride), stride, 2, 1, 1);
        _padding = PoolCore.Expand(nameof(MaxPool2d), nameof(padding), padding, 2, 0, 0);
        _dilation = PoolCore.Expand(nameof(MaxPool2d), nameof(dilation), dilation, 2, 1, 1);
        CeilMode = ceilMode;
    }

    /// <summary>Window size per spatial dimension (H, W).</summary>
    public IReadOnlyList<int> KernelSize => _kernel;
    /// <summary>Step between windows per spatial dimension.</summary>
    public IReadOnlyList<int> Stride => _stride;
    /// <summary>Implicit −∞ padding on each side, per spatial dimension.</summary>
    public IReadOnlyList<int> Padding => _padding;
    /// <summary>Spacing between window taps per spatial dimension.</summary>
    public IReadOnlyList<int> Dilation => _dilation;
    /// <summary>Whether the output size rounds up (PyTorch's ceil_mode).</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, _kernel, _stride, _padding, _dilation, CeilMode);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool2d(kernel_size={PoolText.Of(_kernel)}, stride={PoolText.Of(_stride)}, padding={PoolText.Of(_padding)}, dilation={PoolText.Of(_dilation)}, ceil_mode={PoolText.Of(CeilMode)})");
}

/// <summary>2-D average pooling over [N, C, H, W] (PyTorch: <c>nn.AvgPool2d</c>); the stride defaults to the kernel size.</summary>
public sealed class AvgPool2d : Module
{
    private readonly int[] _kernel, _stride, _padding;

    /// <summary>Pooling with one kernel size, stride and padding for both spatial dimensions.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : this([kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride) { }

    /// <summary>Pooling with one value or one per spatial dimension (H, W) for each argument, as PyTorch's tuples.</summary>
    public AvgPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        _kernel = PoolCore.Expand(nameof(AvgPool2d), nameof(kernelSize), kernelSize, 2, 1, 1);
        _stride = stride is null || stride.Length == 0 ? _kernel : PoolCore.Expand(nameof(AvgPool2d), nameof(stride), stride, 2, 1, 1);
        _padding = PoolCore.Expand(nameof(AvgPool2d), nameof(padding), padding, 2, 0, 0);
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>Window size per spatial dimension (H, W).</summary>
    public IReadOnlyList<int> KernelSize => _kernel;
    /// <summary>Step between windows per spatial dimension.</summary>
    public IReadOnlyList<int> Stride => _stride;
    /// <summary>Implicit zero padding on each side, per spatial dimension.</summary>
    public IReadOnlyList<int> Padding => _padding;
    /// <summary>Whether the output size rounds up (PyTorch's ceil_mode).</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padded positions count in the divisor (PyTorch's count_include_pad).</summary>
    public bool CountIncludePad { get; }
    /// <summary>A fixed divisor replacing the window count, or null.</summary>
    public int? DivisorOverride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, _kernel, _stride, _padding, CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"AvgPool2d(kernel_size={PoolText.Of(_kernel)}, stride={PoolText.Of(_stride)}, padding={PoolText.Of(_padding)}{(CeilMode ? ", ceil_mode=True" : "")}{(CountIncludePad ? "" : ", count_include_pad=False")}{(DivisorOverride is int d ? $", divisor_override={d}" : "")})");
}

/// <summary>How pooling layers print their sizes: one number when every dimension has the same value, a tuple otherwise.</summary>
internal static class PoolText
{
    public static string Of(int[] v) =>
        Array.TrueForAll(v, x => x == v[0]) ? v[0].ToString(CultureInfo.InvariantCulture)
        : v.Length == 1 ? $"({v[0].ToString(CultureInfo.InvariantCulture)},)"
        : $"({string.Join(", ", v.Select(x => x.ToString(CultureInfo.InvariantCulture)))})";

    public static string Of(bool b) => b ? "True" : "False";
}
