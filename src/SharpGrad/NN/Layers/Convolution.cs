using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// 2-D convolution layer — a cross-correlation, as in PyTorch (<c>nn.Conv2d</c>). Weight [out, in, k, k], bias [out],
/// initialised from U(−1/√(in·k²), 1/√(in·k²)).
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with a square kernel.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, bool bias = true,
        Generator? generator = null, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation) = (inChannels, outChannels, kernelSize, stride, padding, dilation);
        Weight = RegisterParameter("weight", Tensor.Zeros([outChannels, inChannels, kernelSize, kernelSize], dtype));
        Bias = bias ? RegisterParameter("bias", Tensor.Zeros([outChannels], dtype)) : null;
        Init.DefaultLayer(Weight, Bias, generator);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel height and width.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Spacing between kernel taps.</summary>
    public int Dilation { get; }
    /// <summary>The weight, shape [out, in, k, k].</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"Conv2d({InChannels}, {OutChannels}, kernel_size=({KernelSize}, {KernelSize}), stride=({Stride}, {Stride}), padding=({Padding}, {Padding}), dilation=({Dilation}, {Dilation}){(Bias is null ? ", bias=False" : "")})");
}

/// <summary>1-D convolution layer — a cross-correlation (PyTorch: <c>nn.Conv1d</c>). Weight [out, in, k], bias [out].</summary>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer.</summary>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, bool bias = true,
        Generator? generator = null, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation) = (inChannels, outChannels, kernelSize, stride, padding, dilation);
        Weight = RegisterParameter("weight", Tensor.Zeros([outChannels, inChannels, kernelSize], dtype));
        Bias = bias ? RegisterParameter("bias", Tensor.Zeros([outChannels], dtype)) : null;
        Init.DefaultLayer(Weight, Bias, generator);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Spacing between kernel taps.</summary>
    public int Dilation { get; }
    /// <summary>The weight, shape [out, in, k].</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv1d(input, Weight, Bias, Stride, Padding, Dilation);

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"Conv1d({InChannels}, {OutChannels}, kernel_size=({KernelSize},), stride=({Stride},), padding=({Padding},), dilation=({Dilation},))");
}
