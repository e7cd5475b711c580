using System.Globalization;

namespace SharpGrad.NN;

/// <summary>3-D max pooling over [N, C, D, H, W] (PyTorch: <c>nn.MaxPool3d</c>); the stride defaults to the kernel size.</summary>
public sealed class MaxPool3d : Module
{
    /// <summary>Pooling with one kernel size, stride, padding and dilation for all three spatial dimensions.</summary>
    public MaxPool3d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this([kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode) { }

    /// <summary>Pooling with one value or one per spatial dimension (D, H, W) for each argument.</summary>
    public MaxPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = PoolCore.Expand(nameof(MaxPool3d), nameof(kernelSize), kernelSize, 3, 1, 1);
        Stride = stride is null || stride.Length == 0 ? KernelSize : PoolCore.Expand(nameof(MaxPool3d), nameof(stride), stride, 3, 1, 1);
        Padding = PoolCore.Expand(nameof(MaxPool3d), nameof(padding), padding, 3, 0, 0);
        Dilation = PoolCore.Expand(nameof(MaxPool3d), nameof(dilation), dilation, 3, 1, 1);
        CeilMode = ceilMode;
    }

    /// <summary>Window size per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize { get; }
    /// <summary>Step between windows per spatial dimension.</summary>
    public IReadOnlyList<int> Stride { get; }
    /// <summary>Implicit −∞ padding on each side, per spatial dimension.</summary>
    public IReadOnlyList<int> Padding { get; }
    /// <summary>Spacing between window taps per spatial dimension.</summary>
    public IReadOnlyList<int> Dilation { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.MaxPool3d(input, [.. KernelSize], [.. Stride], [.. Padding], [.. Dilation], CeilMode);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"MaxPool3d(kernel_size=({string.Join(", ", KernelSize)}), stride=({string.Join(", ", Stride)}), padding=({string.Join(", ", Padding)}), dilation=({string.Join(", ", Dilation)}), ceil_mode={CeilMode})");
}
