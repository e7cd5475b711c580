using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Resamples the spatial dimensions to a size or by a scale (PyTorch: <c>nn.Upsample</c>); see
/// <see cref="Functional.Interpolate"/> for the modes and the alignCorners rule.
/// </summary>
public sealed class Upsample : Module
{
    /// <summary>Resamples to <paramref name="size"/> (one value or one per spatial dimension), or by <paramref name="scaleFactor"/>; give exactly one.</summary>
    public Upsample(int[]? size = null, double[]? scaleFactor = null, InterpolateMode mode = InterpolateMode.Nearest, bool? alignCorners = null)
    {
        if ((size is null) == (scaleFactor is null))
            throw new ArgumentException("Upsample: give exactly one of size and scaleFactor.", size is null ? nameof(size) : nameof(scaleFactor));
        if (mode == InterpolateMode.Nearest && alignCorners is not null)
            throw new ArgumentException("Upsample: alignCorners only applies to Linear and Bilinear modes, not Nearest (as in PyTorch).", nameof(alignCorners));
        Size = size is null ? null : (int[])size.Clone();
        ScaleFactor = scaleFactor is null ? null : (double[])scaleFactor.Clone();
        Mode = mode;
        AlignCorners = alignCorners;
    }

    /// <summary>The output spatial size, or null when a scale is used.</summary>
    public IReadOnlyList<int>? Size { get; }
    /// <summary>The scale per spatial dimension (or one for all), or null when a size is used.</summary>
    public IReadOnlyList<double>? ScaleFactor { get; }
    /// <summary>How new samples are computed.</summary>
    public InterpolateMode Mode { get; }
    /// <summary>Whether the corner samples of input and output are aligned (interpolating modes only).</summary>
    public bool? AlignCorners { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.Interpolate(input, Size is null ? null : [.. Size], ScaleFactor is null ? null : [.. ScaleFactor], Mode, AlignCorners);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"Upsample({(Size is null ? $"scale_factor=({string.Join(", ", ScaleFactor!)})" : $"size=({string.Join(", ", Size)})")}, mode={Mode}{(AlignCorners is bool a ? $", align_corners={a}" : "")})");
}
