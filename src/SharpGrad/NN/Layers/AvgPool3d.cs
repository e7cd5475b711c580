using System.Globalization;

namespace SharpGrad.NN;

/// <summary>3-D average pooling over [N, C, D, H, W] (PyTorch: <c>nn.AvgPool3d</c>); the stride defaults to the kernel size.</summary>
public sealed class AvgPool3d : Module
{
    /// <summary>Pooling with one kernel size, stride and padding for all three spatial dimensions.</summary>
    public AvgPool3d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : this([kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride) { }

    /// <summary>Pooling with one value or one per spatial dimension (D, H, W) for each argument.</summary>
    public AvgPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = PoolCore.Expand(nameof(AvgPool3d), nameof(kernelSize), kernelSize, 3, 1, 1);
        Stride = stride is null || stride.Length == 0 ? KernelSize : PoolCore.Expand(nameof(AvgPool3d), nameof(stride), stride, 3, 1, 1);
        Padding = PoolCore.Expand(nameof(AvgPool3d), nameof(padding), padding, 3, 0, 0);
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>Window size per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize { get; }
    /// <summary>Step between windows per spatial dimension.</summary>
    public IReadOnlyList<int> Stride { get; }
    /// <summary>Implicit zero padding on each side, per spatial dimension.</summary>
    public IReadOnlyList<int> Padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; }
    /// <summary>A fixed divisor replacing the window count, or null.</summary>
    public int? DivisorOverride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.AvgPool3d(input, [.. KernelSize], [.. Stride], [.. Padding], CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"AvgPool3d(kernel_size=({string.Join(", ", KernelSize)}), stride=({string.Join(", ", Stride)}), padding=({string.Join(", ", Padding)}), ceil_mode={CeilMode}, count_include_pad={CountIncludePad}, divisor_override={(DivisorOverride is int d ? d.ToString(CultureInfo.InvariantCulture) : "None")})");
}
