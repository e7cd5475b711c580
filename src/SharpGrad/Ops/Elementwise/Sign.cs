using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise sign: -1, 0 or 1, NaN for NaN (PyTorch: <c>sign</c>). Its gradient is 0 wherever it exists; the
    /// backward records zeros, as PyTorch does, rather than no gradient.
    /// </summary>
    public Tensor Sign()
    {
        var y = Map1<SignFunction>(this, nameof(Sign));
        return Autograd.Record(y, "SignBackward", [this], g => [ZerosLike(this)]);
    }
}

/// <summary>Sign of x as -1, 0 or 1, keeping ±0 and NaN as they are; also |x|'s derivative (0 at 0, as PyTorch).</summary>
internal readonly struct SignFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? T.One : x < T.Zero ? -T.One : x;
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<T>.Zero), Vector128<T>.One,
            Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<T>.Zero), -Vector128<T>.One, x));
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), Vector256<T>.One,
            Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), -Vector256<T>.One, x));
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -Vector512<T>.One, x));
}

internal static partial class GradChecks
{
    internal static readonly int Sign = Register(nameof(Sign), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sign() * x[0], c.AwayFromZero(s));
    });
}
