namespace SharpGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// The class-target rule of <see cref="CrossEntropy"/> and <see cref="NllLoss"/>, checked before anything else: a
    /// target with one value per example (the input's shape without its class dimension) is class indices, which must be
    /// Int64. Labels read from a CSV as Float64 are the usual way to get this wrong, and without this check they would
    /// be taken for probabilities and rejected with a shape complaint. <paramref name="allowProbabilities"/>: a
    /// floating-point target shaped like the input is class probabilities (CrossEntropy), left to the loss.
    /// </summary>
    internal static void CheckClassTargetDType(Tensor input, Tensor target, string op, bool allowProbabilities)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (target.DType == DType.Int64) return;
        if (allowProbabilities && target.DType.IsFloatingPoint() && Shapes.Equal(input.ShapeRef, target.ShapeRef)) return;
        throw new ArgumentException(
            $"{op}: class targets must be Int64; got {target.DType} with shape {Shapes.Format(target.ShapeRef)} for an input of shape {Shapes.Format(input.ShapeRef)}. Convert them with .To(DType.Int64)" +
            (allowProbabilities ? $", or pass class probabilities shaped like the input ({Shapes.Format(input.ShapeRef)})." : "."), nameof(target));
    }
}
