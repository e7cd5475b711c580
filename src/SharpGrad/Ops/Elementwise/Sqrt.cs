using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise square root; d/dx = 1 / (2 √x), taken from the output (PyTorch: <c>sqrt</c>).</summary>
    public Tensor Sqrt()
    {
        return Unary<SqrtFunction>(this, nameof(Sqrt), static (y, x) => Autograd.Record(y, "SqrtBackward", [x], g => [g / (y * 2.0)]));
    }
}

/// <summary>√x, exactly rounded.</summary>
internal readonly struct SqrtFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Sqrt(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Sqrt(x);
}

internal static partial class GradChecks
{
    internal static readonly int Sqrt = Register(nameof(Sqrt), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sqrt(), c.Positive(s));
    });
}
