namespace SharpGrad.NN;

/// <summary>
/// Stateless forms of the layers (PyTorch: <c>torch.nn.functional</c>); the modules call these. The losses are in the
/// other half of this partial class.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// Inverted dropout (PyTorch: <c>F.dropout</c>): in training, zeroes each element with probability p and scales the rest
    /// by 1/(1 − p), so evaluation needs no rescaling; the identity when not training or p = 0.
    /// </summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1].");
        if (!training || p == 0) return input;
        if (p == 1) return input * 0.0;
        var g = generator ?? Generator.Default;
        var mask = Tensor.Uninitialized(input.ShapeRef, input.DType);
        double keep = 1 / (1 - p);
        // One draw per element, in order (the masks do not depend on the dtype), written straight into the storage.
        switch (mask.DType)
        {
            case DType.Float32:
            {
                Span<float> m = mask.Span<float>();
                float keepF = (float)keep;
                for (int i = 0; i < m.Length; i++) m[i] = g.NextDouble() >= p ? keepF : 0f;
                break;
            }
            case DType.Float64:
            {
                Span<double> m = mask.Span<double>();
                for (int i = 0; i < m.Length; i++) m[i] = g.NextDouble() >= p ? keep : 0.0;
                break;
            }
            default:
                throw new ArgumentException($"Dropout: expected a floating-point input, got {input.DType}.", nameof(input));
        }
        return input * mask;
    }

    /// <summary>
    /// Batch normalisation over dimension 1 (PyTorch: <c>F.batch_norm</c>): in training, normalises with the batch's mean
    /// and biased variance and updates the running statistics (with the unbiased variance) by
    /// running = (1 − momentum)·running + momentum·batch; in evaluation, uses the running statistics. One fused op: its
    /// backward is first-order only, so a <c>createGraph</c> pass through it throws <see cref="NotSupportedException"/>
    /// (as for convolution and pooling).
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = true, double momentum = 0.1, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2) throw new ArgumentException($"BatchNorm: expected input of shape [N, C, ...], got {Shapes.Format(input.ShapeRef)}.");
        return NormOps.BatchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps);
    }
}
