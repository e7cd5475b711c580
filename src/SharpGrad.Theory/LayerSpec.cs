using System.Text;

namespace SharpGrad.Theory;

/// <summary>
/// One convolution or pooling layer as far as shapes and parameter counts are concerned: kind, output channels,
/// kernel, stride, padding, dilation, bias, ceil mode. Build one with <see cref="Conv"/>, <see cref="MaxPool"/>,
/// <see cref="AvgPool"/> or <see cref="Parse"/>; <see cref="ToString"/> gives the canonical spec string back.
/// </summary>
/// <remarks>
/// The arguments are validated as PyTorch validates them: kernel, stride and dilation at least 1, padding at least 0,
/// and for pooling a padding of at most half the kernel (PyTorch: "pad should be at most half of kernel size").
/// </remarks>
public sealed partial record LayerSpec
{
    private LayerSpec(LayerKind kind, int outChannels, Size2D kernel, Size2D stride, Size2D padding, Size2D dilation, bool bias, bool ceilMode)
    {
        Kind = kind;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Bias = bias;
        CeilMode = ceilMode;
    }

    /// <summary>Convolution, max pooling or average pooling.</summary>
    public LayerKind Kind { get; }

    /// <summary>Output channels of a convolution; 0 for pooling, which keeps its input's channel count.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel (window) size.</summary>
    public Size2D Kernel { get; }

    /// <summary>Step between windows.</summary>
    public Size2D Stride { get; }

    /// <summary>Implicit padding added on both sides of each axis (zeros for convolution and average pooling, −∞ for max pooling).</summary>
    public Size2D Padding { get; }

    /// <summary>Spacing between kernel taps; 1 means no dilation.</summary>
    public Size2D Dilation { get; }

    /// <summary>Whether a convolution has a bias per output channel; false for pooling.</summary>
    public bool Bias { get; }

    /// <summary>Pooling only: round the output size up instead of down (PyTorch: <c>ceil_mode</c>).</summary>
    public bool CeilMode { get; }

    /// <summary>The effective kernel extent d·(k − 1) + 1 per axis: the span one dilated window covers.</summary>
    public Size2D EffectiveKernel => new(Dilation.H * (Kernel.H - 1) + 1, Dilation.W * (Kernel.W - 1) + 1);

    /// <summary>A 2-D convolution (PyTorch: <c>nn.Conv2d(in, outChannels, kernel, stride, padding, dilation, bias=bias)</c>).</summary>
    /// <param name="outChannels">Number of output channels (filters), at least 1.</param>
    /// <param name="kernel">Kernel size, at least 1.</param>
    /// <param name="stride">Stride, at least 1.</param>
    /// <param name="padding">Zero padding on each side, at least 0.</param>
    /// <param name="dilation">Dilation, at least 1.</param>
    /// <param name="bias">Whether each output channel has a bias.</param>
    /// <returns>The layer.</returns>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public static LayerSpec Conv(int outChannels, Size2D kernel, Size2D? stride = null, Size2D? padding = null, Size2D? dilation = null, bool bias = true)
    {
        if (outChannels < 1) throw new ArgumentException($"Conv: outChannels must be at least 1; got {outChannels}.", nameof(outChannels));
        var spec = new LayerSpec(LayerKind.Conv, outChannels, kernel, stride ?? 1, padding ?? 0, dilation ?? 1, bias, ceilMode: false);
        spec.ValidateCommon();
        return spec;
    }

    /// <summary>2-D max pooling (PyTorch: <c>nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceilMode)</c>).</summary>
    /// <param name="kernel">Window size, at least 1.</param>
    /// <param name="stride">Stride; defaults to the kernel size (non-overlapping windows), as in PyTorch.</param>
    /// <param name="padding">Padding on each side, at most half the kernel size.</param>
    /// <param name="dilation">Dilation, at least 1.</param>
    /// <param name="ceilMode">Round the output size up (PyTorch's rule: a window may not start in the right padding).</param>
    /// <returns>The layer.</returns>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public static LayerSpec MaxPool(Size2D kernel, Size2D? stride = null, Size2D? padding = null, Size2D? dilation = null, bool ceilMode = false)
    {
        var spec = new LayerSpec(LayerKind.MaxPool, 0, kernel, stride ?? kernel, padding ?? 0, dilation ?? 1, bias: false, ceilMode);
        spec.ValidateCommon();
        return spec;
    }

    /// <summary>2-D average pooling (PyTorch: <c>nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceilMode)</c>; it has no dilation).</summary>
    /// <param name="kernel">Window size, at least 1.</param>
    /// <param name="stride">Stride; defaults to the kernel size, as in PyTorch.</param>
    /// <param name="padding">Zero padding on each side, at most half the kernel size.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    /// <returns>The layer.</returns>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public static LayerSpec AvgPool(Size2D kernel, Size2D? stride = null, Size2D? padding = null, bool ceilMode = false)
    {
        var spec = new LayerSpec(LayerKind.AvgPool, 0, kernel, stride ?? kernel, padding ?? 0, 1, bias: false, ceilMode);
        spec.ValidateCommon();
        return spec;
    }

    /// <summary>Weights of this layer on an input with <paramref name="inChannels"/> channels: out·in·kh·kw for a convolution, 0 for pooling.</summary>
    /// <param name="inChannels">Channels of the layer's input.</param>
    /// <returns>The number of weights (biases not included).</returns>
    /// <exception cref="OverflowException">out·in·kh·kw exceeds <see cref="long.MaxValue"/> (checked 64-bit arithmetic).</exception>
    public long WeightCount(int inChannels) =>
        Kind == LayerKind.Conv ? checked((long)OutChannels * inChannels * Kernel.H * Kernel.W) : 0;

    /// <summary>Biases of this layer: out for a convolution with bias, 0 otherwise.</summary>
    public long BiasCount => Kind == LayerKind.Conv && Bias ? OutChannels : 0;

    /// <summary>The canonical spec string, e.g. <c>conv:128:k4:p1</c> or <c>maxpool:k5</c>; <see cref="Parse"/> reads it back to an equal spec.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        switch (Kind)
        {
            case LayerKind.Conv: sb.Append("conv:").Append(OutChannels); break;
            case LayerKind.MaxPool: sb.Append("maxpool"); break;
            default: sb.Append("avgpool"); break;
        }
        sb.Append(":k").Append(Kernel);
        Size2D defaultStride = Kind == LayerKind.Conv ? 1 : Kernel;
        if (Stride != defaultStride) sb.Append(":s").Append(Stride);
        if (Padding != 0) sb.Append(":p").Append(Padding);
        if (Dilation != 1) sb.Append(":d").Append(Dilation);
        if (Kind == LayerKind.Conv && !Bias) sb.Append(":nobias");
        if (CeilMode) sb.Append(":ceil");
        return sb.ToString();
    }

    private void ValidateCommon()
    {
        RequireAtLeast(Kernel, 1, "kernel");
        RequireAtLeast(Stride, 1, "stride");
        RequireAtLeast(Padding, 0, "padding");
        RequireAtLeast(Dilation, 1, "dilation");
        // PyTorch's pooling rejects padding beyond half the (undilated) kernel: such windows could lie entirely in
        // the padding and a max over padding alone is meaningless.
        if (Kind != LayerKind.Conv && (Padding.H > Kernel.H / 2 || Padding.W > Kernel.W / 2))
            throw new ArgumentException($"{Kind}: padding {Padding} must be at most half the kernel size {Kernel} (PyTorch's rule for pooling).");
    }

    private void RequireAtLeast(Size2D value, int min, string what)
    {
        if (value.H < min || value.W < min)
            throw new ArgumentException($"{Kind}: {what} must be at least {min}; got {value}.");
    }
}
