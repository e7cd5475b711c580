using System.Runtime.CompilerServices;

namespace SharpGrad.NN;

// Argument checks and reductions shared by the losses (one loss per file in this folder).
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
    private static (Tensor Scores, Tensor Index) ClassTargets(Tensor input, Tensor target, string op, long ignoreIndex = long.MinValue)
    {
        CheckClassTargets(input, target, op, ignoreIndex);
        return (input.Rank == 1 ? input.Unsqueeze(0) : input, target.Reshape(-1, 1));
    }

    /// <summary>
    /// The checks of <see cref="ClassTargets"/> without building anything: Int64 targets, one per row, each in [0, C)
    /// or equal to <paramref name="ignoreIndex"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckClassTargets(Tensor input, Tensor target, string op, long ignoreIndex = long.MinValue)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        input.EnsureFloatingPoint(op);
        if (target.DType != DType.Int64)
            throw new ArgumentException($"{op}: class targets must be Int64; got {target.DType} with shape {Shapes.Format(target.ShapeRef)} for scores of shape {Shapes.Format(input.ShapeRef)}. Convert them with target.To(DType.Int64); probability targets are floating point and shaped like the scores.");
        if (input.Rank == 0) throw new ArgumentException($"{op}: the scores need a class dimension; got a 0-dimensional tensor.");
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
            if ((idx[i] < 0 || idx[i] >= c) && idx[i] != ignoreIndex)
                throw new ArgumentException($"{op}: target class {idx[i]} at position {i} is outside [0, {c}) for scores of shape {Shapes.Format(input.ShapeRef)}.");
    }

    /// <summary>Checks a per-class weight: a floating-point [C] tensor of the scores' dtype, not requiring a gradient.</summary>
    private static void CheckClassWeight(Tensor? weight, Tensor input, string op)
    {
        if (weight is null) return;
        int c = input.Rank == 0 ? 0 : input.ShapeRef[input.Rank == 1 ? 0 : 1];
        if (weight.Rank != 1 || weight.ShapeRef[0] != c)
            throw new ArgumentException($"{op}: the class weight has shape {Shapes.Format(weight.ShapeRef)}; expected [{c}], one weight per class of scores {Shapes.Format(input.ShapeRef)}.", nameof(weight));
        if (weight.DType != input.DType)
            throw new ArgumentException($"{op}: the class weight is {weight.DType.ToTorchName()} but the scores are {input.DType.ToTorchName()}; convert it with weight.To(DType.{input.DType}).", nameof(weight));
        if (weight.RequiresGrad)
            throw new ArgumentException($"{op}: the class weight requires a gradient, which is not supported (as in PyTorch); pass weight.Detach().", nameof(weight));
    }

    private static Tensor Unbatch(Tensor perSample, Tensor input, Reduction reduction) =>
        reduction == Reduction.None && input.Rank == 1 ? perSample.Reshape() : perSample;
}
