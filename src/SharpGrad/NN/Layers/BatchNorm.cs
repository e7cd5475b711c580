using System.Globalization;

namespace SharpGrad.NN;

/// <summary>
/// Batch normalisation over the channel dimension (PyTorch: <c>nn.BatchNorm1d</c>/<c>nn.BatchNorm2d</c>), with learnable
/// weight (γ, ones) and bias (β, zeros) and the buffers running_mean, running_var and num_batches_tracked.
/// </summary>
public abstract class BatchNormBase : Module
{
    private readonly int _expectedRank1, _expectedRank2;

    private protected BatchNormBase(int numFeatures, double eps, double momentum, bool affine, DType dtype, int rank1, int rank2)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numFeatures);
        (NumFeatures, Eps, Momentum, _expectedRank1, _expectedRank2) = (numFeatures, eps, momentum, rank1, rank2);
        Weight = affine ? RegisterParameter("weight", Tensor.Ones([numFeatures], dtype)) : null;
        Bias = affine ? RegisterParameter("bias", Tensor.Zeros([numFeatures], dtype)) : null;
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
    }

    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for stability.</summary>
    public double Eps { get; }
    /// <summary>Weight of the newest batch in the running statistics.</summary>
    public double Momentum { get; }
    /// <summary>γ, or null without affine parameters.</summary>
    public Tensor? Weight { get; }
    /// <summary>β, or null without affine parameters.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean per channel.</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running (unbiased) variance per channel.</summary>
    public Tensor RunningVar { get; }
    /// <summary>How many training batches have updated the running statistics.</summary>
    public Tensor NumBatchesTracked { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if ((input.Rank != _expectedRank1 && input.Rank != _expectedRank2) || input.ShapeRef[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}({NumFeatures}): unexpected input shape {Shapes.Format(input.ShapeRef)}.");
        DTypeRule.CheckInput(GetType().Name, input, Weight ?? RunningMean);
        if (Training)
        {
            // In place and recorded, so that a compiled training step counts its replayed batches too.
            if (NumBatchesTracked.Storage is long[] { Length: 1 } count)
            {
                count[0]++;
                Capture.Active?.Increment(count);
            }
            else NumBatchesTracked.Fill(NumBatchesTracked.Item() + 1);
        }
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, Training, Momentum, Eps);
    }

    /// <inheritdoc/>
    protected override string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{GetType().Name}({NumFeatures}, eps={Eps}, momentum={Momentum}, affine={(Weight is null ? "False" : "True")})");
}

/// <summary>Batch normalisation of [N, C] or [N, C, L] inputs (PyTorch: <c>nn.BatchNorm1d</c>).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, dtype, 2, 3);

/// <summary>Batch normalisation of [N, C, H, W] inputs (PyTorch: <c>nn.BatchNorm2d</c>).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, dtype, 4, 4);
