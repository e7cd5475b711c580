using System.Globalization;

namespace SharpGrad.NN;

/// <summary>2-D adaptive average pooling over [N, C, H, W] to a fixed output size (PyTorch: <c>nn.AdaptiveAvgPool2d</c>).</summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>The same output size in every spatial dimension.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this([outputSize]) { }

    /// <summary>One output size, or one per spatial dimension.</summary>
    public AdaptiveAvgPool2d(int[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        OutputSize = PoolCore.Expand(nameof(AdaptiveAvgPool2d), nameof(outputSize), outputSize, 2, 1, 1);
    }

    /// <summary>Output size per spatial dimension.</summary>
    public IReadOnlyList<int> OutputSize { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, [.. OutputSize]);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"AdaptiveAvgPool2d(output_size=({string.Join(", ", OutputSize)}))");
}
