namespace SharpGrad.Theory;

/// <summary>
/// A per-axis pair (height, width) for a kernel size, stride, padding or dilation; an int converts to the square pair,
/// as PyTorch accepts an int or a tuple for these arguments.
/// </summary>
/// <param name="H">The value along the height axis.</param>
/// <param name="W">The value along the width axis.</param>
public readonly record struct Size2D(int H, int W)
{
    /// <summary>The square pair (n, n).</summary>
    /// <param name="n">The value for both axes.</param>
    public static implicit operator Size2D(int n) => new(n, n);

    /// <summary>True when both axes have the same value.</summary>
    public bool IsSquare => H == W;

    /// <summary><c>3</c> for a square pair, <c>3x5</c> (height x width) otherwise: the form the layer-spec parser reads.</summary>
    public override string ToString() => IsSquare ? H.ToString(System.Globalization.CultureInfo.InvariantCulture) : FormattableString.Invariant($"{H}x{W}");
}
