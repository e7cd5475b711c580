using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    private Tensor SoftmaxForward(int dim, SoftmaxKernels.Mode mode, string op)
    {
        EnsureFloatingPoint(op);
        dim = Shapes.WrapDim(dim, Rank, op);
        var (outer, size, inner) = Shapes.Split(_shape, dim);
        var y = Empty(_shape, DType);
        if (DType == DType.Float32) SoftmaxKernels.Forward<float>(Span<float>(), outer, size, inner, y.Span<float>(), mode);
        else SoftmaxKernels.Forward<double>(Span<double>(), outer, size, inner, y.Span<double>(), mode);
        return y;
    }

    /// <summary>
    /// Softmax along <paramref name="dim"/>: S_i = exp(z_i / c) / Σ_j exp(z_j / c) with temperature c
    /// (PyTorch: <c>softmax(dim)</c> for c = 1). The maximum is subtracted first, so any finite input is safe, and for any
    /// positive finite c: c → 0 tends to one-hot at the maximum (shared equally by ties; reached exactly once
    /// (z_max − z_i) / c overflows) and c → ∞ to uniform. The backward is the O(n) vector-Jacobian product
    /// S ⊙ (g − ⟨g, S⟩), never the n × n Jacobian diag(S) − S Sᵀ.
    /// </summary>
    public Tensor Softmax(int dim, double temperature = 1.0)
    {
        if (!(temperature > 0) || double.IsPositiveInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Softmax: the temperature must be positive and finite.");
        if (temperature != 1.0)
        {
            // (z − max z) / c rather than z · (1/c): 1/c overflows for a tiny c (1e-320 gives z · ∞ and then NaN), and
            // z / c can overflow for a large z. After the shift every entry is ≤ 0, so the worst is −∞, whose exp is 0.
            // The shift is a constant (detached): softmax does not change under it, nor does its gradient.
            Tensor shifted = this - Max(dim, keepDim: true).Detach();
            return (shifted / temperature).Softmax(dim);
        }
        var y = SoftmaxForward(dim, SoftmaxKernels.Mode.Softmax, nameof(Softmax));
        int d = Shapes.WrapDim(dim, Rank, nameof(Softmax));
        return Autograd.Record(y, "SoftmaxBackward", [this], g => [y * (g - (g * y).Sum(d, keepDim: true))], attributes: new DimAttributes(d));
    }

    /// <summary>
    /// log(softmax(z)) along <paramref name="dim"/>, computed as (z − m) − log Σ exp(z − m) so it never takes the log
    /// of an underflowed 0 (PyTorch: <c>log_softmax</c>). Backward: g − softmax(z) Σ g, in O(n).
    /// </summary>
    public Tensor LogSoftmax(int dim)
    {
        var y = SoftmaxForward(dim, SoftmaxKernels.Mode.LogSoftmax, nameof(LogSoftmax));
        int d = Shapes.WrapDim(dim, Rank, nameof(LogSoftmax));
        return Autograd.Record(y, "LogSoftmaxBackward", [this], g => [g - y.Exp() * g.Sum(d, keepDim: true)], attributes: new DimAttributes(d));
    }

    /// <summary>log Σ exp(z) along <paramref name="dim"/>, as m + log Σ exp(z − m) (PyTorch: <c>logsumexp</c>); gradient softmax(z).</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(LogSumExp));
        int d = Shapes.WrapDim(dim, Rank, nameof(LogSumExp));
        var (outer, size, inner) = Shapes.Split(_shape, d);
        int[] shape = keepDim ? Shapes.WithDim(_shape, d, 1) : Shapes.RemoveDim(_shape, d);
        var y = Empty(shape, DType);
        if (DType == DType.Float32) SoftmaxKernels.LogSumExp<float>(Span<float>(), outer, size, inner, y.Span<float>());
        else SoftmaxKernels.LogSumExp<double>(Span<double>(), outer, size, inner, y.Span<double>());
        return Autograd.Record(y, "LogSumExpBackward", [this], g =>
        {
            var gk = keepDim ? g : g.Unsqueeze(d);
            return [gk * Softmax(d)];
        });
    }
}
