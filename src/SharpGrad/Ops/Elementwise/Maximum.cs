using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise maximum of two tensors with broadcasting (PyTorch: <c>torch.maximum</c>); NaN wins. The gradient
    /// goes to the larger operand; ties send half the gradient to each.
    /// </summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary<MaximumFunction>(a, b, nameof(Maximum), RecordMaximum);

    private static Tensor RecordMaximum(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "MaximumBackward", [a, b], g =>
        {
            var gt = MapBinary<GreaterOp>(a, b, nameof(Maximum));
            var eq = MapBinary<EqualOp>(a, b, nameof(Maximum));
            var wa = gt + eq * 0.5;
            return [a.RequiresGrad ? g * wa : null, b.RequiresGrad ? g * (1.0 - wa) : null];
        });
}

/// <summary>
/// max(x, y) with the IEEE 754-2019 maximum of <c>T.Max</c> and the vector <c>Max</c>: NaN if either is NaN, and
/// +0 above −0.
/// </summary>
internal readonly struct MaximumFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => T.Max(x, y);
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Max(x, y);
}

internal static partial class GradChecks
{
    internal static readonly int Maximum = Register(nameof(Maximum), static c =>
    {
        foreach (var s in BinaryShapes) c.Add((Func<Tensor[], Tensor>)(x => Tensor.Maximum(x[0], x[1])), c.Normal(s[0]), c.Normal(s[1]));
    });
}
