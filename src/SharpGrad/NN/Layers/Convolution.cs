using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// What the convolution layers share: a kernel size, stride, padding and dilation per spatial dimension (one value given
/// for all, or one per dimension as PyTorch's tuples), and the weight and bias with PyTorch's names, layouts and default
/// initialisation (U(−1/√fanIn, 1/√fanIn), fanIn = weight dim 1 times the kernel volume), so PyTorch state dicts load.
/// </summary>
public abstract class ConvLayer : Module
{
    private protected ConvLayer(string name, int dims, bool transposed, int inChannels, int outChannels, int[] kernelSize, int[]? stride, int[]? padding,
        int[]? outputPadding, int[]? dilation, int groups, bool bias, Generator? generator, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: groups = {groups} must divide both inChannels ({inChannels}) and outChannels ({outChannels}).", nameof(groups));
        (_name, _dims) = (name, dims);
        _kernel = PoolCore.Expand(name, nameof(kernelSize), kernelSize, dims, 1, 1);
        _stride = PoolCore.Expand(name, nameof(stride), stride, dims, 1, 1);
        _padding = PoolCore.Expand(name, nameof(padding), padding, dims, 0, 0);
        _outputPadding = PoolCore.Expand(name, nameof(outputPadding), outputPadding, dims, 0, 0);
        _dilation = PoolCore.Expand(name, nameof(dilation), dilation, dims, 1, 1);
        (InChannels, OutChannels, Groups) = (inChannels, outChannels, groups);
        int[] shape = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
        Weight = RegisterParameter("weight", Tensor.Zeros([.. shape, .. _kernel], dtype));
        Bias = bias ? RegisterParameter("bias", Tensor.Zeros([outChannels], dtype)) : null;
        Init.DefaultLayer(Weight, Bias, generator);
    }

    private readonly string _name;
    private readonly int _dims;
    private protected readonly int[] _kernel, _stride, _padding, _outputPadding, _dilation;

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize => _kernel;
    /// <summary>Stride per spatial dimension.</summary>
    public IReadOnlyList<int> Stride => _stride;
    /// <summary>Zero padding on each side, per spatial dimension.</summary>
    public IReadOnlyList<int> Padding => _padding;
    /// <summary>Spacing between kernel taps per spatial dimension.</summary>
    public IReadOnlyList<int> Dilation => _dilation;
    /// <summary>Channel groups (1: dense; the input channel count: depthwise).</summary>
    public int Groups { get; }
    /// <summary>Extra size added on one side of a transposed convolution's output, per spatial dimension (0 for a convolution).</summary>
    public IReadOnlyList<int> OutputPadding => _outputPadding;
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
        string T(int[] v) => _dims == 1 ? string.Create(CultureInfo.InvariantCulture, $"({v[0]},)") : $"({string.Join(", ", v)})";
        return string.Create(CultureInfo.InvariantCulture,
            $"{_name}({InChannels}, {OutChannels}, kernel_size={T(_kernel)}, stride={T(_stride)}, padding={T(_padding)}{(Array.Exists(_outputPadding, v => v != 0) ? $", output_padding={T(_outputPadding)}" : "")}, dilation={T(_dilation)}{(Groups != 1 ? $", groups={Groups}" : "")}{(Bias is null ? ", bias=False" : "")})");
    }
}

/// <summary>
/// 2-D convolution layer — a cross-correlation, as in PyTorch (<c>nn.Conv2d</c>). Weight [out, in / groups, kh, kw],
/// bias [out].
/// </summary>
public sealed class Conv2d : ConvLayer
{
    /// <summary>A convolution with a square kernel and the same stride, padding and dilation along height and width.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        Generator? generator = null, DType dtype = DType.Float32)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, bias, generator, dtype) { }

    /// <summary>
    /// A convolution whose kernel size, stride, padding and dilation are one value or one per spatial dimension (H, W),
    /// as PyTorch's tuples (null: stride 1, padding 0, dilation 1).
    /// </summary>
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, int groups = 1,
        bool bias = true, Generator? generator = null, DType dtype = DType.Float32)
        : base(nameof(Conv2d), 2, false, inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias, generator, dtype) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(Checked(input), Weight, Bias, _stride, _padding, _dilation, Groups);
}

/// <summary>1-D convolution layer — a cross-correlation (PyTorch: <c>nn.Conv1d</c>). Weight [out, in / groups, k], bias [out].</summary>
public sealed class Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
    Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(Conv1d), 1, false, inChannels, outChannels, [kernelSize], [stride], [padding], null, [dilation], groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv1d(Checked(input), Weight, Bias, _stride[0], _padding[0], _dilation[0], Groups);
}

/// <summary>
/// 3-D convolution layer — a cross-correlation (PyTorch: <c>nn.Conv3d</c>). Weight [out, in / groups, kd, kh, kw], bias
/// [out].
/// </summary>
public sealed class Conv3d : ConvLayer
{
    /// <summary>A convolution with a cubic kernel and the same stride, padding and dilation along every spatial dimension.</summary>
    public Conv3d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        Generator? generator = null, DType dtype = DType.Float32)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, bias, generator, dtype) { }

    /// <summary>
    /// A convolution whose kernel size, stride, padding and dilation are one value or one per spatial dimension (D, H, W),
    /// as PyTorch's tuples (null: stride 1, padding 0, dilation 1).
    /// </summary>
    public Conv3d(int inChannels, int outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, int groups = 1,
        bool bias = true, Generator? generator = null, DType dtype = DType.Float32)
        : base(nameof(Conv3d), 3, false, inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias, generator, dtype) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv3d(Checked(input), Weight, Bias, _stride, _padding, _dilation, Groups);
}

/// <summary>
/// 1-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose1d</c>), the adjoint of <see cref="Conv1d"/>: weight
/// [in, out / groups, k], bias [out]; output length (L − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
    bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
    : ConvLayer(nameof(ConvTranspose1d), 1, true, inChannels, outChannels, [kernelSize], [stride], [padding], [outputPadding], [dilation], groups, bias, generator, dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose1d(Checked(input), Weight, Bias, _stride[0], _padding[0], _outputPadding[0], Groups, _dilation[0]);
}

/// <summary>
/// 2-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose2d</c>), the adjoint of <see cref="Conv2d"/>: weight
/// [in, out / groups, kh, kw], bias [out]; output size (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1
/// per spatial dimension.
/// </summary>
public sealed class ConvTranspose2d : ConvLayer
{
    /// <summary>A transposed convolution with a square kernel and the same geometry along height and width.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
        bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [outputPadding], groups, bias, [dilation], generator, dtype) { }

    /// <summary>
    /// A transposed convolution whose kernel size, stride, padding, output padding and dilation are one value or one per
    /// spatial dimension (H, W), as PyTorch's tuples (null: stride 1, padding 0, output padding 0, dilation 1).
    /// </summary>
    public ConvTranspose2d(int inChannels, int outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? outputPadding = null,
        int groups = 1, bool bias = true, int[]? dilation = null, Generator? generator = null, DType dtype = DType.Float32)
        : base(nameof(ConvTranspose2d), 2, true, inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias, generator, dtype) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose2d(Checked(input), Weight, Bias, _stride, _padding, _outputPadding, Groups, _dilation);
}

/// <summary>
/// 3-D transposed convolution layer (PyTorch: <c>nn.ConvTranspose3d</c>), the adjoint of <see cref="Conv3d"/>: weight
/// [in, out / groups, kd, kh, kw], bias [out]; output size (in − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding
/// + 1 per spatial dimension.
/// </summary>
public sealed class ConvTranspose3d : ConvLayer
{
    /// <summary>A transposed convolution with a cubic kernel and the same geometry along every spatial dimension.</summary>
    public ConvTranspose3d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0, int groups = 1,
        bool bias = true, int dilation = 1, Generator? generator = null, DType dtype = DType.Float32)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [outputPadding], groups, bias, [dilation], generator, dtype) { }

    /// <summary>
    /// A transposed convolution whose kernel size, stride, padding, output padding and dilation are one value or one per
    /// spatial dimension (D, H, W), as PyTorch's tuples (null: stride 1, padding 0, output padding 0, dilation 1).
    /// </summary>
    public ConvTranspose3d(int inChannels, int outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? outputPadding = null,
        int groups = 1, bool bias = true, int[]? dilation = null, Generator? generator = null, DType dtype = DType.Float32)
        : base(nameof(ConvTranspose3d), 3, true, inChannels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias, generator, dtype) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose3d(Checked(input), Weight, Bias, _stride, _padding, _outputPadding, Groups, _dilation);
}
