using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>a * b</c> with broadcasting; <c>∂/∂a = b</c>, <c>∂/∂b = a</c> (PyTorch: <c>torch.mul</c>).</summary>
    public static Tensor Mul(Tensor a, Tensor b) =>
        Binary<MulFunction>(a, b, nameof(Mul), static (y, a, b) =>
            Autograd.Record(y, "MulBackward", [a, b], g => [a.RequiresGrad ? g * b : null, b.RequiresGrad ? g * a : null]));

    /// <summary><c>this * other</c>.</summary>
    public Tensor Mul(Tensor other) => Mul(this, other);

    /// <summary>Elementwise product with broadcasting (use <see cref="MatMul"/> for the matrix product).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => IsFloat(a) ? MulScalar(a, b) : Mul(a, a.ScalarLike(b));
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => IsFloat(b) ? MulScalar(b, a) : Mul(b.ScalarLike(a), b);

    private static Tensor MulScalar(Tensor x, double s) =>
        Scalar<MulFunction>(x, s, false, static (y, x, s) => Autograd.Record(y, "MulBackward", [x], g => [g * s], attributes: new ScalarAttributes(s)));
}

/// <summary>x · y.</summary>
internal readonly struct MulFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => x * y;
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x * y;
}

internal static partial class GradChecks
{
    internal static readonly int Mul = Register(nameof(Mul), static c =>
    {
        foreach (var s in BinaryShapes) c.Add(x => x[0] * x[1], c.Normal(s[0]), c.Normal(s[1]));
        c.Add("scalar", x => 3.0 * x[0] * 0.5, c.Normal(3, 2));
        c.Add("square", x => x[0] * x[0], c.Normal(4));
    });
}
