using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad.NN;

public static partial class Functional
{
    private static Tensor Reduce(Tensor perElement, Reduction reduction, string op) => reduction switch
    {
        Reduction.Mean => perElement.Mean(),
        Reduction.Sum => perElement.Sum(),
        Reduction.None => perElement,
        _ => throw new ArgumentException($"{op}: reduction {reduction} is not supported here (BatchMean is for KlDiv).", nameof(reduction)),
    };

    private static void SameShape(Tensor input, Tensor target, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!Shapes.Equal(input.ShapeRef, target.ShapeRef))
            throw new ArgumentException($"{op}: the target has shape {Shapes.Format(target.ShapeRef)} but the input has shape {Shapes.Format(input.ShapeRef)}; they must be equal.");
    }

    /// <summary>
    /// Checks class-index targets against [N, C] (or unbatched [C]) scores and returns the indices as [N, 1] for Gather,
    /// with the scores as [N, C].
    /// </summary>
    private static (Tensor Scores, Tensor Index) ClassTargets(Tensor input, Tensor target, string op)
    {
        CheckClassTargets(input, target, op);
        return (input.Rank == 1 ? input.Unsqueeze(0) : input, target.Reshape(-1, 1));
    }

    /// <summary>The checks of <see cref="ClassTargets"/> without building anything.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckClassTargets(Tensor input, Tensor target, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.EnsureFloatingPoint(op);
        if (target.DType != DType.Int64)
            throw new ArgumentException($"{op}: class-index targets must be Int64; got {target.DType.ToTorchName()} with shape {Shapes.Format(target.ShapeRef)}. For probability targets pass a floating-point tensor shaped like the input.");
        if (input.Rank == 1)
        {
            if (target.Numel != 1 || target.Rank > 1)
                throw new ArgumentException($"{op}: unbatched scores of shape {Shapes.Format(input.ShapeRef)} take one class index; got a target of shape {Shapes.Format(target.ShapeRef)}.");
        }
        else if (input.Rank != 2 || target.Rank != 1 || target.ShapeRef[0] != input.ShapeRef[0])
            throw new ArgumentException($"{op}: expected scores [N, C] with targets [N]; got scores {Shapes.Format(input.ShapeRef)} and targets {Shapes.Format(target.ShapeRef)}.");
        int c = input.ShapeRef[^1];
        var idx = target.Array<long>();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= c)
                throw new ArgumentException($"{op}: target class {idx[i]} at position {i} is outside [0, {c}) for scores of shape {Shapes.Format(input.ShapeRef)}.");
    }

    private static Tensor Unbatch(Tensor perSample, Tensor input, Reduction reduction) =>
        reduction == Reduction.None && input.Rank == 1 ? perSample.Reshape() : perSample;

    /// <summary>Mean squared error (PyTorch: <c>F.mse_loss</c>): (x − y)² reduced. Shapes must match exactly.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, nameof(MseLoss));
        if (reduction is Reduction.Mean or Reduction.Sum && input.DType == target.DType && input.DType.IsFloatingPoint())
            return FusedMse(input, target, reduction == Reduction.Mean);
        var d = input - target;
        return Reduce(d * d, reduction, nameof(MseLoss));
    }

    /// <summary>
    /// Σ(x − y)² (divided by n for the mean) as one recorded op: the forward in one pass, and a first-order backward
    /// that writes 2·g·(x − y)/n and its negative straight away; under createGraph the backward is the same formula in
    /// recorded ops, so it can be differentiated again.
    /// </summary>
    private static Tensor FusedMse(Tensor input, Tensor target, bool mean)
    {
        int n = input.Numel;
        double scale = mean ? 1.0 / n : 1.0;
        var loss = Tensor.Empty([], input.DType);
        if (input.DType == DType.Float32) loss.Span<float>()[0] = (float)(SumSquaredDifference<float>(input.Span<float>(), target.Span<float>()) * scale);
        else loss.Span<double>()[0] = SumSquaredDifference<double>(input.Span<double>(), target.Span<double>()) * scale;
        if (!SharpGrad.Autograd.ShouldRecord(input, target)) return loss;
        return SharpGrad.Autograd.Record(loss, "MseLossBackward", [input, target], g =>
        {
            if (SharpGrad.Autograd.IsGradEnabled || g.Numel != 1 || g.DType != input.DType)
            {
                var dx = (input - target) * g * (2 * scale);
                return [input.RequiresGrad ? dx : null, target.RequiresGrad ? -dx : null];
            }
            Tensor? gx = input.RequiresGrad ? Tensor.Uninitialized(input.ShapeRef, input.DType) : null;
            Tensor? gt = target.RequiresGrad ? Tensor.Uninitialized(input.ShapeRef, input.DType) : null;
            if (input.DType == DType.Float32)
                MseGradient<float>(input.Span<float>(), target.Span<float>(), (float)(2 * scale * g.Span<float>()[0]), gx, gt);
            else
                MseGradient<double>(input.Span<double>(), target.Span<double>(), 2 * scale * g.Span<double>()[0], gx, gt);
            return [gx, gt];
        });
    }

    /// <summary>Σ(x − y)², accumulated in double.</summary>
    private static double SumSquaredDifference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = double.CreateTruncating(x[i] - y[i]);
            s += d * d;
        }
        return s;
    }

    /// <summary>c·(x − y) into <paramref name="gx"/> and its negative, c·(y − x), into <paramref name="gt"/>, where given.</summary>
    private static void MseGradient<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T c, Tensor? gx, Tensor? gt) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (gx is not null)
        {
            Span<T> dx = gx.Span<T>();
            System.Numerics.Tensors.TensorPrimitives.Subtract(x, y, dx);
            System.Numerics.Tensors.TensorPrimitives.Multiply(dx, c, dx);
            if (gt is not null) System.Numerics.Tensors.TensorPrimitives.Negate(dx, gt.Span<T>());
        }
        else if (gt is not null)
        {
            Span<T> dt = gt.Span<T>();
            System.Numerics.Tensors.TensorPrimitives.Subtract(y, x, dt);
            System.Numerics.Tensors.TensorPrimitives.Multiply(dt, c, dt);
        }
    }

    /// <summary>
    /// Huber loss (PyTorch: <c>F.huber_loss</c>): ½d² where |d| &lt; δ, δ(|d| − ½δ) elsewhere, with d = x − y.
    /// </summary>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        SameShape(input, target, nameof(HuberLoss));
        if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "HuberLoss: delta must be positive.");
        var a = (input - target).Abs();
        var quadratic = a.Clamp(max: delta);
        var linear = a - quadratic;
        return Reduce(quadratic * quadratic * 0.5 + linear * delta, reduction, nameof(HuberLoss));
    }

    /// <summary>
    /// Negative log-likelihood of class indices given log-probabilities [N, C] (PyTorch: <c>F.nll_loss</c>):
    /// −logp[n, y_n], averaged over samples for Mean.
    /// </summary>
    public static Tensor NllLoss(Tensor logProbabilities, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckClassTargetDType(logProbabilities, target, nameof(NllLoss), allowProbabilities: false);
        var (scores, index) = ClassTargets(logProbabilities, target, nameof(NllLoss));
        var perSample = -scores.Gather(1, index).Reshape(-1);
        return Reduce(Unbatch(perSample, logProbabilities, reduction), reduction, nameof(NllLoss));
    }

    /// <summary>
    /// Cross-entropy of raw scores (logits) against class indices (Int64 [N], or a single index for unbatched [C] scores)
    /// or against class probabilities shaped like the input (PyTorch: <c>F.cross_entropy</c>):
    /// −Σ_c q_c log softmax(x)_c, where q is one-hot (or the given probabilities) mixed with the uniform distribution by
    /// <paramref name="labelSmoothing"/>: q = (1 − ε) q + ε / C. A target that does not fit the scores is an
    /// <see cref="ArgumentException"/> naming both shapes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double labelSmoothing = 0.0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        CheckClassTargetDType(input, target, nameof(CrossEntropy), allowProbabilities: true);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must be in [0, 1].");
        if (input.Rank == 0) throw new ArgumentException("CrossEntropy: the scores need a class dimension; got a 0-dimensional tensor.");
        int classDim = input.Rank == 1 ? 0 : 1;
        int classes = input.ShapeRef[classDim];
        Tensor perSample;
        if (target.DType.IsFloatingPoint())
        {
            SameShape(input, target, nameof(CrossEntropy));
            var logp = input.LogSoftmax(classDim);
            var q = labelSmoothing > 0 ? target * (1 - labelSmoothing) + labelSmoothing / classes : target;
            perSample = -(q * logp).Sum(classDim);
            return reduction == Reduction.Mean && input.Rank > 1 ? perSample.Mean() : Reduce(perSample, reduction, nameof(CrossEntropy));
        }
        if (reduction is Reduction.Mean or Reduction.Sum or Reduction.None)
        {
            CheckClassTargets(input, target, nameof(CrossEntropy));
            return CrossEntropyFused(input, target, reduction, labelSmoothing);
        }
        var (scores, index) = ClassTargets(input, target, nameof(CrossEntropy));
        var logProbs = scores.LogSoftmax(1);
        perSample = -logProbs.Gather(1, index).Reshape(-1);
        if (labelSmoothing > 0) perSample = perSample * (1 - labelSmoothing) - logProbs.Mean(1) * labelSmoothing;
        return Reduce(Unbatch(perSample, input, reduction), reduction, nameof(CrossEntropy));
    }

    /// <summary>
    /// Cross-entropy against class indices as one recorded op: a fused log-softmax / loss forward, and a backward that
    /// writes s (softmax − q) in one pass, q being the smoothed one-hot target and s the incoming gradient per sample
    /// (divided by N for the mean). Under <c>createGraph</c> the backward is the same formula with recorded ops
    /// (softmax of the saved scores), so it can be differentiated again. Targets are already checked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tensor CrossEntropyFused(Tensor input, Tensor target, Reduction reduction, double labelSmoothing)
    {
        int classes = input.ShapeRef[^1];
        int rows = input.Rank == 1 ? 1 : input.ShapeRef[0];
        var dtype = input.DType;
        var stats = Tensor.Uninitialized([rows, 2], dtype);
        long[] idx = target.Array<long>();
        Tensor y;
        if (reduction == Reduction.None)
        {
            y = Tensor.Uninitialized(input.Rank == 1 ? [] : [rows], dtype);
            if (dtype == DType.Float32) CrossEntropyKernels.Forward<float>(input.Span<float>(), idx, rows, classes, labelSmoothing, y.Span<float>(), stats.Span<float>());
            else CrossEntropyKernels.Forward<double>(input.Span<double>(), idx, rows, classes, labelSmoothing, y.Span<double>(), stats.Span<double>());
        }
        else
        {
            double total = 0;
            if (dtype == DType.Float32)
            {
                Span<float> perRow = rows <= 256 ? stackalloc float[rows] : new float[rows];
                CrossEntropyKernels.Forward<float>(input.Span<float>(), idx, rows, classes, labelSmoothing, perRow, stats.Span<float>());
                foreach (float v in perRow) total += v;
            }
            else
            {
                Span<double> perRow = rows <= 128 ? stackalloc double[rows] : new double[rows];
                CrossEntropyKernels.Forward<double>(input.Span<double>(), idx, rows, classes, labelSmoothing, perRow, stats.Span<double>());
                foreach (double v in perRow) total += v;
            }
            y = Tensor.Scalar(reduction == Reduction.Mean ? total / rows : total, dtype); // 0 / 0 = NaN for an empty batch, as PyTorch
        }
        return Autograd.Record(y, "CrossEntropyBackward", [input], g => CrossEntropyBackward(g, input, target, stats, reduction, labelSmoothing, rows, classes));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tensor?[] CrossEntropyBackward(Tensor g, Tensor input, Tensor target, Tensor stats, Reduction reduction, double labelSmoothing, int rows, int classes)
    {
        if (Autograd.IsGradEnabled || g.DType != input.DType)
        {
            // createGraph: (softmax(x) − q) · s with recorded ops.
            var scores = input.Rank == 1 ? input.Unsqueeze(0) : input;
            var q = OneHot(target.Reshape(-1), classes, input.DType);
            if (labelSmoothing > 0) q = q * (1 - labelSmoothing) + labelSmoothing / classes;
            var scale = reduction switch
            {
                Reduction.Mean => g * (1.0 / rows),
                Reduction.Sum => g,
                _ => g.Reshape(rows, 1),
            };
            var d = (scores.Softmax(1) - q) * scale;
            return [input.Rank == 1 ? d.Reshape(classes) : d];
        }
        var dx = Tensor.Uninitialized(input.ShapeRef, input.DType);
        long[] idx = target.Array<long>();
        if (input.DType == DType.Float32)
        {
            Span<float> s = stackalloc float[1];
            ReadOnlySpan<float> scale = s;
            if (reduction == Reduction.None) scale = g.Span<float>();
            else s[0] = reduction == Reduction.Mean ? (float)(g.Span<float>()[0] * (1.0 / rows)) : g.Span<float>()[0];
            CrossEntropyKernels.Backward<float>(input.Span<float>(), idx, stats.Span<float>(), scale, rows, classes, labelSmoothing, dx.Span<float>());
        }
        else
        {
            Span<double> s = stackalloc double[1];
            ReadOnlySpan<double> scale = s;
            if (reduction == Reduction.None) scale = g.Span<double>();
            else s[0] = reduction == Reduction.Mean ? g.Span<double>()[0] * (1.0 / rows) : g.Span<double>()[0];
            CrossEntropyKernels.Backward<double>(input.Span<double>(), idx, stats.Span<double>(), scale, rows, classes, labelSmoothing, dx.Span<double>());
        }
        return [dx];
    }

    /// <summary>
    /// Binary cross-entropy of probabilities p against targets y in [0, 1] (PyTorch: <c>F.binary_cross_entropy</c>):
    /// −(y log p + (1 − y) log(1 − p)), with each log clamped at −100 as PyTorch does so p = 0 or 1 stays finite.
    /// </summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, nameof(BinaryCrossEntropy));
        var loss = -(target * input.Log().Clamp(min: -100) + (1.0 - target) * (1.0 - input).Log().Clamp(min: -100));
        return Reduce(loss, reduction, nameof(BinaryCrossEntropy));
    }

    /// <summary>
    /// Binary cross-entropy of logits z (PyTorch: <c>F.binary_cross_entropy_with_logits</c>): softplus(z) − y z, which is
    /// −(y log σ(z) + (1 − y) log(1 − σ(z))) computed without ever forming σ(z), so any finite z is safe.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, nameof(BinaryCrossEntropyWithLogits));
        return Reduce(input.Softplus() - target * input, reduction, nameof(BinaryCrossEntropyWithLogits));
    }

    /// <summary>
    /// Multi-class margin (hinge) loss, PyTorch's <c>F.multi_margin_loss</c>: per sample
    /// Σ_{i≠y} max(0, margin − x_y + x_i)^p / C. Note the division by the number of classes C; the SVM loss of the
    /// seed sheets (and CS231n) is the same sum without it, see <see cref="MulticlassSvmLoss"/>.
    /// </summary>
    public static Tensor MultiMarginLoss(Tensor input, Tensor target, int p = 1, double margin = 1.0, Reduction reduction = Reduction.Mean)
    {
        var (scores, index) = ClassTargets(input, target, nameof(MultiMarginLoss));
        var perSample = HingeSum(scores, index, p, margin) / scores.ShapeRef[1];
        return Reduce(Unbatch(perSample, input, reduction), reduction, nameof(MultiMarginLoss));
    }

    /// <summary>
    /// The multiclass SVM (hinge) loss Σ_{j≠y} max(0, s_j − s_y + margin) per sample, as the seed sheets and CS231n define
    /// it: <see cref="MultiMarginLoss"/> times the number of classes.
    /// </summary>
    public static Tensor MulticlassSvmLoss(Tensor input, Tensor target, double margin = 1.0, Reduction reduction = Reduction.Mean)
    {
        var (scores, index) = ClassTargets(input, target, nameof(MulticlassSvmLoss));
        return Reduce(Unbatch(HingeSum(scores, index, 1, margin), input, reduction), reduction, nameof(MulticlassSvmLoss));
    }

    private static Tensor HingeSum(Tensor scores, Tensor index, int p, double margin)
    {
        if (p is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(p), p, "MultiMarginLoss: p must be 1 or 2.");
        var correct = scores.Gather(1, index);                         // [N, 1]
        var hinge = (scores - correct + margin).Relu();                // the j = y term is exactly max(0, margin)
        if (p == 2) hinge = hinge * hinge;
        var notTarget = 1.0 - OneHot(index.Reshape(-1), scores.ShapeRef[1], scores.DType);
        return (hinge * notTarget).Sum(1);
    }

    /// <summary>
    /// One-hot encoding (PyTorch: <c>torch.nn.functional.one_hot</c>): a tensor of shape <c>indices.Shape + [numClasses]</c>
    /// with 1 at <c>[…, indices[…]]</c> and 0 elsewhere, Int64 as PyTorch's unless <paramref name="dtype"/> asks for
    /// another (the losses take it in their floating type). <paramref name="indices"/> is Int64 with values in
    /// [0, numClasses); numClasses −1 means the largest index + 1. Not differentiable.
    /// </summary>
    public static Tensor OneHot(Tensor indices, int numClasses = -1, DType dtype = DType.Int64)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.DType != DType.Int64) throw new ArgumentException($"OneHot: indices must be Int64; got {indices.DType.ToTorchName()}.");
        var idx = indices.Array<long>();
        if (numClasses < -1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "OneHot: numClasses must be positive, or -1 to take the largest index + 1.");
        if (numClasses == -1)
        {
            if (idx.Length == 0) throw new ArgumentException("OneHot: cannot infer the number of classes (numClasses -1) from an empty tensor; give numClasses.", nameof(numClasses));
            long max = idx.Max();
            if (max >= int.MaxValue) throw new ArgumentException($"OneHot: the largest index {max} is too large to infer a number of classes from.", nameof(indices));
            numClasses = (int)Math.Max(max + 1, 0);
        }
        var y = Tensor.Zeros([.. indices.ShapeRef, numClasses], dtype);
        for (int i = 0; i < idx.Length; i++)
        {
            if (idx[i] < 0 || idx[i] >= numClasses)
                throw new ArgumentException($"OneHot: index {idx[i]} at position {i} is outside [0, {numClasses}) for {numClasses} classes.");
            y.SetDouble(i * numClasses + (int)idx[i], 1.0);
        }
        return y;
    }

    /// <summary>
    /// PyTorch's <c>F.kl_div</c>: the input holds log-probabilities log q, the target probabilities p (or log p when
    /// <paramref name="logTarget"/>); the pointwise loss is p (log p − log q), 0 where p = 0. <see cref="Reduction.BatchMean"/>
    /// divides the sum by the batch size, which is KL(p‖q) per sample; Mean averages over every element, as PyTorch does.
    /// </summary>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        SameShape(input, target, nameof(KlDiv));
        Tensor pointwise = logTarget
            ? target.Exp() * (target - input)
            : target * ((target + target.Eq(0)).Log() - input); // p log p → 0 as p → 0: log 1 where p = 0 (NumPy's xlogy)
        return reduction == Reduction.BatchMean
            ? pointwise.Sum() / (input.Rank == 0 ? 1 : input.ShapeRef[0])
            : Reduce(pointwise, reduction, nameof(KlDiv));
    }
}
