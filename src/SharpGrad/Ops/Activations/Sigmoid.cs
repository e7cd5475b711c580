using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise logistic sigmoid S(x) = 1 / (1 + e^-x) (PyTorch: <c>sigmoid</c>). Saturates to exactly 0 or 1 for
    /// large |x| without NaN. The backward uses S'(x) = S(x) S(-x) rather than S(1 - S): the same value, but S(-x) keeps
    /// its precision where 1 - S(x) rounds to 0, so S'(100) is 3.7e-44 in float64 instead of 0.
    /// </summary>
    public Tensor Sigmoid()
    {
        return Unary<SigmoidFunction>(this, nameof(Sigmoid), static (y, x) => Autograd.Record(y, "SigmoidBackward", [x], g => [g * y * (-x).Sigmoid()]));
    }
}

/// <summary>
/// 1 / (1 + e^-x), which saturates to 0 or 1 without producing NaN: for x = -1e4, e^-x overflows to +∞ and 1/∞ is 0.
/// </summary>
internal readonly struct SigmoidFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.One / (TV.One + TV.Exp(-x));
}

internal static partial class GradChecks
{
    internal static readonly int Sigmoid = Register(nameof(Sigmoid), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sigmoid(), c.Normal(s));
    });
}
