using System.Globalization;

namespace SharpGrad.NN;

/// <summary>1-D adaptive average pooling over [N, C, L] to a fixed output size (PyTorch: <c>nn.AdaptiveAvgPool1d</c>).</summary>
public sealed class AdaptiveAvgPool1d : Module
{
    /// <summary>The same output size in every spatial dimension.</summary>
    public AdaptiveAvgPool1d(int outputSize) : this([outputSize]) { }

    /// <summary>One output size, or one per spatial dimension.</summary>
    public AdaptiveAvgPool1d(int[] outputSize)
    {
        ArgumentNullException.ThrowIfNull(outputSize);
        OutputSize = PoolCore.Expand(nameof(AdaptiveAvgPool1d), nameof(outputSize), outputSize, 1, 1, 1);
    }

    /// <summary>Output size per spatial dimension.</summary>
    public IReadOnlyList<int> OutputSize { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool1d(input, [.. OutputSize]);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"AdaptiveAvgPool1d(output_size=({string.Join(", ", OutputSize)}))");
}
