using System.Numerics;
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
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Exp(x);
}

internal static partial class GradChecks
{
    internal static readonly int Exp = Register(nameof(Exp), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Exp(), c.Normal(s));
    });
}
