namespace SharpGrad.Theory;

/// <summary>One square-window configuration found by <see cref="ConvSolver"/>: kernel k, stride s, padding p, dilation d.</summary>
/// <param name="Kernel">Kernel size k (the same along height and width).</param>
/// <param name="Stride">Stride s.</param>
/// <param name="Padding">Padding p on each side.</param>
/// <param name="Dilation">Dilation d; 1 means none.</param>
public sealed record ConvConfig(int Kernel, int Stride, int Padding, int Dilation)
{
    /// <summary>The extent of one dilated window, d·(k − 1) + 1.</summary>
    public int EffectiveKernel => Dilation * (Kernel - 1) + 1;

    /// <summary>This configuration as a convolution with <paramref name="outChannels"/> filters.</summary>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="bias">Whether the convolution has biases.</param>
    /// <returns>The layer spec.</returns>
    public LayerSpec ToConv(int outChannels, bool bias = true) => LayerSpec.Conv(outChannels, Kernel, Stride, Padding, Dilation, bias);

    /// <summary>This configuration as max pooling.</summary>
    /// <param name="ceilMode">Whether the pooling rounds up.</param>
    /// <returns>The layer spec.</returns>
    public LayerSpec ToMaxPool(bool ceilMode = false) => LayerSpec.MaxPool(Kernel, Stride, Padding, Dilation, ceilMode);

    /// <summary>The sheet's notation: <c>k=8, s=2, p=3, d=1</c>.</summary>
    public override string ToString() => FormattableString.Invariant($"k={Kernel}, s={Stride}, p={Padding}, d={Dilation}");
}
