namespace SharpGrad.Theory;

/// <summary>
/// The shape of one feature map, (channels, height, width) in PyTorch's order, without the batch dimension.
/// A (C, H, W) tuple converts to it: <c>ConvArithmetic.Trace((3, 256, 256), layers)</c>.
/// </summary>
/// <param name="Channels">Number of channels C.</param>
/// <param name="Height">Height H.</param>
/// <param name="Width">Width W.</param>
public readonly record struct FeatureShape(int Channels, int Height, int Width)
{
    /// <summary>The shape (C, H, W) from a tuple.</summary>
    /// <param name="chw">Channels, height, width.</param>
    public static implicit operator FeatureShape((int C, int H, int W) chw) => new(chw.C, chw.H, chw.W);

    /// <summary>Number of scalars in the map, C·H·W (the "dimensionality" of a layer's output), in checked 64-bit arithmetic.</summary>
    /// <exception cref="OverflowException">C·H·W exceeds <see cref="long.MaxValue"/> (possible from three ints, each up to 2³¹ − 1);
    /// <see cref="ConvArithmetic.Trace(FeatureShape, IEnumerable{LayerSpec})"/> refuses such shapes with a message instead.</exception>
    public long Numel => checked((long)Channels * Height * Width);

    /// <summary>C·H·W, or null when it exceeds <see cref="long.MaxValue"/>.</summary>
    internal long? TryNumel()
    {
        try { return Numel; }
        catch (OverflowException) { return null; }
    }

    /// <summary>PyTorch's order: <c>(128, 24, 24)</c>.</summary>
    public override string ToString() => FormattableString.Invariant($"({Channels}, {Height}, {Width})");

    /// <summary>The height x width x channels form many course sheets use: <c>24x24x128</c>.</summary>
    public string ToHwcString() => FormattableString.Invariant($"{Height}x{Width}x{Channels}");

    internal void Validate(string paramName)
    {
        if (Channels < 1 || Height < 1 || Width < 1)
            throw new ArgumentException($"The feature shape {this} must have at least one channel, row and column.", paramName);
    }
}
