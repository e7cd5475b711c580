using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// What the convolution layers share: a cubic kernel of <c>kernelSize</c> per spatial dimension, its geometry, and the
/// weight and bias with PyTorch's names, layouts and default initialisation (U(−1/√fanIn, 1/√fanIn), fanIn = weight dim 1
/// times the kernel volume), so PyTorch state dicts load.
/// </summary>
public abstract class ConvLayer : Module
{
    private protected ConvLayer(string name, int dims, bool transposed, int inChannels, int outChannels, int kernelSize, int stride, int padding,
        int outputPadding, int dilation, int groups, bool bias, Generator? generator, DType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: groups = {groups} must divide both inChannels ({inChannels}) and outChannels ({outChannels}).", nameof(groups));
        (_name, _dims) = (name, dims);
        (InChannels, OutChannels, KernelSize, Stride, Padding, OutputPadding, Dilation, Groups) =
            (inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups);
        int[] shape = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
        Weight = RegisterParameter("weight", Tensor.Zeros([.. shape, .. Enumerable.Repeat(kernelSize, dims)], dtype));
        Bias = bias ? RegisterParameter("bias", Tensor.Zeros([outChannels], dtype)) : null;
        Init.DefaultLayer(Weight, Bias, generator);
    }

    private readonly string _name;
    private readonly int _dims;

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size along every spatial dimension.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Spacing between kernel taps.</summary>
    public int Dilation { get; }
    /// <summary>Channel groups (1: dense; the input channel count: depthwise).</summary>
    public int Groups { get; }
    /// <summary>Extra size added on one side of a transposed convolution's output (0 for a convolution).</summary>
    public int OutputPadding { get; }
    /// <summary>The weight: [out, in / groups, *kernel] for a convolution, [in, out / groups, *kernel] for a transposed one.</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary><paramref name="input"/>, once it is known to have the weight's dtype (a layer never converts its input).</summary>
    private protected Tensor Checked(Tensor input)
    {
        DTypeRule.CheckInput(_name, input, Weight);
        return input;
    }

    /// <inheritdoc/>
    protected override string Describe()
    {
        string T(int v) => _dims == 1 ? $"({v},)" : $"({string.Join(", ", Enumerable.Repeat(v, _dims))})";
        return string.Create(CultureInfo.InvariantCulture,
            $"{_name}({InChannels}, {OutChannels}, kernel_size={T(KernelSize)}, stride={T(Stride)}, padding={T(Padding)}{(OutputPadding != 0 ? $", output_padding={T(OutputPadding)}" : "")}, dilation={T(Dilation)}{(Groups != 1 ? $", groups={Groups}" : "")}{(Bias is null ? ", bias=False" : "")})");
    }
}

/// <summary>
/// 2-D convolution layer — a cross-correlation, as in PyTorch (<c>nn.Conv2d</c>). Weight [out, in / groups, k, k],
/// bias [out].
/// </summary>
public sealed class Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
    Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(Conv2d), 2, false, inChannels, outChannels, kernelSize, stride, padding, 0, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(Checked(input), Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>1-D convolution layer — a cross-correlation (PyTorch: <c>nn.Conv1d</c>). Weight [out, in / groups, k], bias [out].</summary>
public sealed class Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
    Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(Conv1d), 1, false, inChannels, outChannels, kernelSize, stride, padding, 0, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv1d(Checked(input), Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>3-D convolution layer — a cross-correlation (PyTorch: <c>nn.Conv3d</c>). Weight [out, in / groups, k, k, k], bias [out].</summary>
public sealed class Conv3d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
    Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(Conv3d), 3, false, inChannels, outChannels, kernelSize, stride, padding, 0, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv3d(Checked(input), Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>
/// 1-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose1d</c>), the adjoint of <see cref="Conv1d"/>: weight
/// [in, out / groups, k], bias [out]; output length (L − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
    bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(ConvTranspose1d), 1, true, inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose1d(Checked(input), Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

/// <summary>
/// 2-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose2d</c>), the adjoint of <see cref="Conv2d"/>: weight
/// [in, out / groups, k, k], bias [out]; output size (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
    bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(ConvTranspose2d), 2, true, inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose2d(Checked(input), Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}

/// <summary>
/// 3-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose3d</c>), the adjoint of <see cref="Conv3d"/>: weight
/// [in, out / groups, k, k, k], bias [out]; output size (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose3d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
    bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(ConvTranspose3d), 3, true, inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose3d(Checked(input), Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}
