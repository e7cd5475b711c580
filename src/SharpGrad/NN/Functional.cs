using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad.NN;

/// <summary>
/// Stateless forms of the layers (PyTorch: <c>torch.nn.functional</c>); the modules call these. The losses are in the
/// other half of this partial class.
/// </summary>
public static partial class Functional
{
    /// <summary>y = x Wᵀ + b with W of shape [out, in]; x is [..., in] (PyTorch: <c>F.linear</c>). Wᵀ is read in place.</summary>
    /// <remarks>
    /// When x, W and b share a floating-point dtype and b is [out] (or absent), the layer is one recorded op: the
    /// forward is one GEMM with the bias added in its epilogue, and the first-order backward computes dX = g W and
    /// dW = gᵀ x straight into their outputs (only for the operands that need a gradient) and db as a column sum.
    /// Under <c>createGraph</c> the backward is the same rule written with recorded ops, so it can be differentiated again.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ArgumentException($"Linear: the weight must be [out, in]; got {Shapes.Format(weight.ShapeRef)}.");
        if (input.Rank == 0 || input.ShapeRef[^1] != weight.ShapeRef[1])
            throw new ArgumentException($"Linear: the input's last dimension must be {weight.ShapeRef[1]} (weight {Shapes.Format(weight.ShapeRef)}); got input {Shapes.Format(input.ShapeRef)}.");
        if (input.DType == weight.DType && input.DType.IsFloatingPoint()
            && (bias is null || (bias.DType == input.DType && bias.Rank == 1 && bias.ShapeRef[0] == weight.ShapeRef[0])))
            return LinearFused(input, weight, bias);
        var (x, w) = Tensor.Promote(input, weight, nameof(Linear));
        Tensor y = x.Rank == 1 ? Tensor.MatMulCore(x.Unsqueeze(0), w, false, true).Squeeze(0) : Tensor.MatMulCore(x, w, false, true);
        return bias is null ? y : y + bias;
    }

    /// <summary>
    /// <c>Relu(Linear(input, weight, bias))</c> as one op where the operands allow it, the ReLU applied in the GEMM's
    /// epilogue while each tile of the output is still in cache: what <see cref="Sequential"/> runs for a Linear layer
    /// followed by a ReLU layer. Same values as the two ops (NaN included); the pre-activation is never materialised.
    /// </summary>
    internal static Tensor LinearRelu(Tensor input, Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank == 2 && input.Rank > 0 && input.ShapeRef[^1] == weight.ShapeRef[1]
            && input.DType == weight.DType && input.DType.IsFloatingPoint()
            && (bias is null || (bias.DType == input.DType && bias.Rank == 1 && bias.ShapeRef[0] == weight.ShapeRef[0])))
            return LinearFused(input, weight, bias, relu: true);
        return Linear(input, weight, bias).Relu();
    }

    /// <summary>The one-op Linear for same-dtype operands and a bias of shape [out] (or none), optionally with the ReLU after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tensor LinearFused(Tensor x, Tensor w, Tensor? b, bool relu = false)
    {
        int inF = w.ShapeRef[1], outF = w.ShapeRef[0];
        int rows = inF == 0 ? x.Numel == 0 ? 0 : Shapes.Numel(x.ShapeRef[..^1]) : x.Numel / inF;
        int[] outShape = [.. x.ShapeRef[..^1], outF];
        var y = Tensor.Uninitialized(outShape, x.DType);
        var act = relu ? GemmActivation.Relu : GemmActivation.None;
        if (x.DType == DType.Float32)
            LinearKernels.Forward<float>(x.Span<float>(), w.Span<float>(), b is null ? default : b.Span<float>(), y.Span<float>(), rows, inF, outF, act);
        else
            LinearKernels.Forward<double>(x.Span<double>(), w.Span<double>(), b is null ? default : b.Span<double>(), y.Span<double>(), rows, inF, outF, act);
        Tensor[] inputs = b is null ? [x, w] : [x, w, b];
        if (!relu) return Autograd.Record(y, "LinearBackward", inputs, g => LinearBackward(g, x, w, b, rows, inF, outF));
        // The ReLU's gradient mask comes from the output: y > 0 exactly where x Wᵀ + b > 0 (NaN in neither).
        return Autograd.Record(y, "LinearReluBackward", inputs, g => LinearBackward(Tensor.ReluGradient(y, g), x, w, b, rows, inF, outF));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tensor?[] LinearBackward(Tensor g, Tensor x, Tensor w, Tensor? b, int rows, int inF, int outF)
    {
        var grads = new Tensor?[b is null ? 2 : 3];
        if (Autograd.IsGradEnabled || g.DType != x.DType)
        {
            // createGraph: the same rule with recorded ops, differentiable again.
            var g2 = g.Reshape(rows, outF);
            if (x.RequiresGrad) grads[0] = Tensor.MatMulCore(g2, w, false, false).Reshape(x.ShapeRef);
            if (w.RequiresGrad) grads[1] = Tensor.MatMulCore(g2, x.Reshape(rows, inF), true, false);
            if (b is not null && b.RequiresGrad) grads[2] = g2.Sum(0);
            return grads;
        }
        if (x.RequiresGrad)
        {
            var dx = Tensor.Uninitialized(x.ShapeRef, x.DType);
            if (x.DType == DType.Float32) LinearKernels.BackwardInput<float>(g.Span<float>(), w.Span<float>(), dx.Span<float>(), rows, inF, outF);
            else LinearKernels.BackwardInput<double>(g.Span<double>(), w.Span<double>(), dx.Span<double>(), rows, inF, outF);
            grads[0] = dx;
        }
        if (w.RequiresGrad)
        {
            var dw = Tensor.Uninitialized(w.ShapeRef, w.DType);
            if (x.DType == DType.Float32) LinearKernels.BackwardWeight<float>(g.Span<float>(), x.Span<float>(), dw.Span<float>(), rows, inF, outF);
            else LinearKernels.BackwardWeight<double>(g.Span<double>(), x.Span<double>(), dw.Span<double>(), rows, inF, outF);
            grads[1] = dw;
        }
        if (b is not null && b.RequiresGrad)
        {
            var db = Tensor.Uninitialized(b.ShapeRef, b.DType);
            if (x.DType == DType.Float32) LinearKernels.BiasGrad<float>(g.Span<float>(), db.Span<float>(), rows, outF);
            else LinearKernels.BiasGrad<double>(g.Span<double>(), db.Span<double>(), rows, outF);
            grads[2] = db;
        }
        return grads;
    }

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
