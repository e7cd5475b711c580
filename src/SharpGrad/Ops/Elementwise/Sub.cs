using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>a - b</c> with broadcasting; <c>∂/∂a = 1</c>, <c>∂/∂b = −1</c> (PyTorch: <c>torch.sub</c>).</summary>
    public static Tensor Sub(Tensor a, Tensor b) =>
        Binary<SubFunction>(a, b, nameof(Sub), static (y, a, b) => Autograd.Record(y, "SubBackward", [a, b], g => [g, b.RequiresGrad ? -g : null]));

    /// <summary><c>this - other</c>.</summary>
    public Tensor Sub(Tensor other) => Sub(this, other);

    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, double b) => IsFloat(a)
        ? Scalar<SubFunction>(a, b, false, static (y, x, s) => Autograd.Record(y, "SubBackward", [x], g => [g], attributes: new ScalarAttributes(s)))
        : Sub(a, a.ScalarLike(b));
    /// <summary>Subtracts every element from a scalar.</summary>
    public static Tensor operator -(double a, Tensor b) => IsFloat(b)
        ? Scalar<SubFunction>(b, a, true, static (y, x, s) => Autograd.Record(y, "SubBackward", [x], g => [-g], attributes: new ScalarAttributes(s, ScalarFirst: true)))
        : Sub(b.ScalarLike(a), b);
}

/// <summary>x − y.</summary>
internal readonly struct SubFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => x - y;
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x - y;
}

internal static partial class GradChecks
{
    internal static readonly int Sub = Register(nameof(Sub), static c =>
    {
        foreach (var s in BinaryShapes) c.Add(x => x[0] - x[1], c.Normal(s[0]), c.Normal(s[1]));
        c.Add("scalar", x => 2.5 - x[0] - 1.0, c.Normal(3, 2));
    });
}
