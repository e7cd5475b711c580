using System.Globalization;

namespace SharpGrad.NN;

/// <summary>2-D adaptive max pooling over [N, C, H, W] to a fixed output size (PyTorch: <c>nn.AdaptiveMaxPool2d</c>).</summary>
public sealed class AdaptiveMaxPool2d : Module
{
    /// <summary>The same output size in every spatial dimension.</summary>
    public AdaptiveMaxPool2d(int outputSize) : this([outputSize]) { }

    /// <summary>One output size, or one per spatial dimension.</summary>
    public AdaptiveMaxPool2d(int[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        OutputSize = PoolCore.Expand(nameof(AdaptiveMaxPool2d), nameof(outputSize), outputSize, 2, 1, 1);
    }

    /// <summary>Output size per spatial dimension.</summary>
    public IReadOnlyList<int> OutputSize { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool2d(input, [.. OutputSize]);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"AdaptiveMaxPool2d(output_size=({string.Join(", ", OutputSize)}))");
}
