using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise e^x; d/dx = e^x, taken from the output (PyTorch: <c>exp</c>).</summary>
    public Tensor Exp()
    {
        return Unary<ExpFunction>(this, nameof(Exp), static (y, x) => Autograd.Record(y, "ExpBackward", [x], g => [g * y]));
    }
}

/// <summary>e^x.</summary>
internal readonly struct ExpFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Exp(x);
    public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => VMath.Exp(x);
    public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => VMath.Exp(x);
    public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => VMath.Exp(x);
}

internal static partial class GradChecks
{
    internal static readonly int Exp = Register(nameof(Exp), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Exp(), c.Normal(s));
    });
}
