namespace SharpGrad.Theory;

/// <summary>
/// What <see cref="ConvSolver.Solve"/> may vary and what is fixed. Every property is optional; a fixed value replaces
/// the search range of its quantity (so a fixed padding is honoured even beyond the <see cref="PaddingRule"/>, but
/// never beyond PyTorch's own rule for pooling, p ≤ ⌊k / 2⌋).
/// </summary>
public sealed record ConvConstraints
{
    /// <summary>A fixed kernel size, or null to try 1 .. <see cref="MaxKernel"/>.</summary>
    public int? Kernel { get; init; }

    /// <summary>A fixed stride, or null to try 1 .. <see cref="MaxStride"/>.</summary>
    public int? Stride { get; init; }

    /// <summary>A fixed padding, or null to try 0 .. the bound of <see cref="PaddingRule"/>.</summary>
    public int? Padding { get; init; }

    /// <summary>
    /// A fixed dilation, or null to try 1 .. <see cref="MaxDilation"/>. A 1-wide kernel has no gaps to dilate, so for
    /// k = 1 every d gives the same layer and only d = 1 is listed unless the dilation is fixed.
    /// </summary>
    public int? Dilation { get; init; }

    /// <summary>
    /// Solve for a pooling layer (PyTorch's <c>MaxPool2d</c>): the channel count must not change, the padding is at most
    /// ⌊k / 2⌋. For <c>AvgPool2d</c>, which has no dilation, also fix <see cref="Dilation"/> = 1.
    /// </summary>
    public bool Pool { get; init; }

    /// <summary>Pooling only: use PyTorch's ceil-mode output size.</summary>
    public bool CeilMode { get; init; }

    /// <summary>Windows that tile the input without overlap or gaps: stride = effective kernel d·(k − 1) + 1 (k = s without dilation).</summary>
    public bool NonOverlapping { get; init; }

    /// <summary>Largest kernel tried; null means the larger input side.</summary>
    public int? MaxKernel { get; init; }

    /// <summary>Largest stride tried; null means the larger input side.</summary>
    public int? MaxStride { get; init; }

    /// <summary>Largest dilation tried; null means the larger input side.</summary>
    public int? MaxDilation { get; init; }

    /// <summary>How far the padding search goes; null means <see cref="Theory.PaddingRule.EffectiveKernel"/> for a convolution and <see cref="Theory.PaddingRule.HalfKernel"/> for pooling.</summary>
    public PaddingRule? PaddingRule { get; init; }
}
