using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Layer normalisation over the last dimensions (PyTorch: <c>nn.LayerNorm</c>; Ba et al., 2016), with a learnt
/// elementwise <c>weight</c> (ones) and <c>bias</c> (zeros) of <c>normalizedShape</c>. Calls <see cref="Functional.LayerNorm"/>.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates the layer.</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape must be non-empty and positive; got [{string.Join(", ", normalizedShape)}].", nameof(normalizedShape));
        NormalizedShape = normalizedShape.ToArray();
        Eps = eps;
        Weight = elementwiseAffine ? RegisterParameter("weight", Tensor.Ones(NormalizedShape, dtype)) : null;
        Bias = elementwiseAffine && bias ? RegisterParameter("bias", Tensor.Zeros(NormalizedShape, dtype)) : null;
    }

    /// <summary>Normalises the last dimension of size <paramref name="normalizedShape"/>.</summary>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.Float32)
        : this([normalizedShape], eps, elementwiseAffine, bias, dtype) { }

    /// <summary>The trailing shape normalised over.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>Added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Scale, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>Shift, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        DTypeRule.CheckInput("LayerNorm", input, Weight);
        return Functional.LayerNorm(input, NormalizedShape, Weight, Bias, Eps);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"LayerNorm(({string.Join(", ", NormalizedShape)},), eps={Eps}, elementwise_affine={(Weight is null ? "False" : "True")})");
}

/// <summary>Group normalisation (PyTorch: <c>nn.GroupNorm</c>; Wu and He, 2018): channels in <c>numGroups</c> groups, per-channel affine.</summary>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer.</summary>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: numGroups ({numGroups}) must be positive and divide numChannels ({numChannels}).");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        Weight = affine ? RegisterParameter("weight", Tensor.Ones([numChannels], dtype)) : null;
        Bias = affine ? RegisterParameter("bias", Tensor.Zeros([numChannels], dtype)) : null;
    }

    /// <summary>Groups.</summary>
    public int NumGroups { get; }
    /// <summary>Channels.</summary>
    public int NumChannels { get; }
    /// <summary>Added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Per-channel scale, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>Per-channel shift, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        DTypeRule.CheckInput("GroupNorm", input, Weight);
        return Functional.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"GroupNorm({NumGroups}, {NumChannels}, eps={Eps}, affine={(Weight is null ? "False" : "True")})");
}

/// <summary>
/// Root-mean-square normalisation (PyTorch 2.4: <c>nn.RMSNorm</c>; Zhang and Sennrich, 2019): <c>x / √(mean(x²) + eps) · weight</c>
/// over the last dimensions; eps defaults to the dtype's machine epsilon, as in PyTorch.
/// </summary>
public sealed class RMSNorm : Module
{
    /// <summary>Creates the layer.</summary>
    public RMSNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"RMSNorm: normalizedShape must be non-empty and positive; got [{string.Join(", ", normalizedShape)}].", nameof(normalizedShape));
        NormalizedShape = normalizedShape.ToArray();
        Eps = eps;
        Weight = elementwiseAffine ? RegisterParameter("weight", Tensor.Ones(NormalizedShape, dtype)) : null;
    }

    /// <summary>Normalises the last dimension of size <paramref name="normalizedShape"/>.</summary>
    public RMSNorm(int normalizedShape, double? eps = null, bool elementwiseAffine = true, DType dtype = DType.Float32)
        : this([normalizedShape], eps, elementwiseAffine, dtype) { }

    /// <summary>The trailing shape normalised over.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>Added to the mean square (null: machine epsilon of the dtype).</summary>
    public double? Eps { get; }
    /// <summary>Scale, or null.</summary>
    public Tensor? Weight { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        DTypeRule.CheckInput("RMSNorm", input, Weight);
        return Functional.RmsNorm(input, NormalizedShape, Weight, Eps);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"RMSNorm(({string.Join(", ", NormalizedShape)},), eps={Eps?.ToString(CultureInfo.InvariantCulture) ?? "None"})");
}

/// <summary>
/// Instance normalisation of [N, C, L] (<see cref="InstanceNorm1d"/>) or [N, C, H, W] (<see cref="InstanceNorm2d"/>)
/// inputs (PyTorch: <c>nn.InstanceNorm1d/2d</c>): affine off and no running statistics by default, as in PyTorch.
/// </summary>
public abstract class InstanceNormBase : Module
{
    private readonly int _spatialDims;

    private protected InstanceNormBase(int spatialDims, int numFeatures, double eps, double momentum, bool affine, bool trackRunningStats, DType dtype)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "InstanceNorm: numFeatures must be positive.");
        _spatialDims = spatialDims;
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Weight = affine ? RegisterParameter("weight", Tensor.Ones([numFeatures], dtype)) : null;
        Bias = affine ? RegisterParameter("bias", Tensor.Zeros([numFeatures], dtype)) : null;
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
            RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
        }
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Running-statistics momentum.</summary>
    public double Momentum { get; }
    /// <summary>Per-channel scale, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>Per-channel shift, or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean (with trackRunningStats), or null.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Running variance (with trackRunningStats), or null.</summary>
    public Tensor? RunningVar { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != _spatialDims + 2 || input.Size(1) != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: input must be [N, {NumFeatures}{string.Concat(Enumerable.Repeat(", *", _spatialDims))}]; got {Shapes.Format(input.ShapeRef)}.", nameof(input));
        DTypeRule.CheckInput(GetType().Name, input, Weight ?? RunningMean);
        return Functional.InstanceNorm(input, RunningMean, RunningVar, Weight, Bias, useInputStats: Training || RunningMean is null, Momentum, Eps);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{GetType().Name}({NumFeatures}, eps={Eps}, momentum={Momentum}, affine={(Weight is null ? "False" : "True")}, track_running_stats={(RunningMean is null ? "False" : "True")})");
}

/// <summary>Instance normalisation of [N, C, L] inputs (PyTorch: <c>nn.InstanceNorm1d</c>).</summary>
public sealed class InstanceNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false, DType dtype = DType.Float32)
    : InstanceNormBase(1, numFeatures, eps, momentum, affine, trackRunningStats, dtype);

/// <summary>Instance normalisation of [N, C, H, W] inputs (PyTorch: <c>nn.InstanceNorm2d</c>).</summary>
public sealed class InstanceNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false, DType dtype = DType.Float32)
    : InstanceNormBase(2, numFeatures, eps, momentum, affine, trackRunningStats, dtype);
