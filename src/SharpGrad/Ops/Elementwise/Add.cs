using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>a + b</c> with NumPy broadcasting; <c>∂/∂a = ∂/∂b = 1</c> (PyTorch: <c>torch.add</c>).</summary>
    public static Tensor Add(Tensor a, Tensor b) =>
        Binary<AddFunction>(a, b, nameof(Add), static (y, a, b) => Autograd.Record(y, "AddBackward", [a, b], g => [g, g]));

    /// <summary><c>this + other</c>.</summary>
    public Tensor Add(Tensor other) => Add(this, other);

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(Tensor a, double b) => IsFloat(a) ? AddScalar(a, b) : Add(a, a.ScalarLike(b));
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(double a, Tensor b) => IsFloat(b) ? AddScalar(b, a) : Add(b.ScalarLike(a), b);

    private static Tensor AddScalar(Tensor x, double s) =>
        Scalar<AddFunction>(x, s, false, static (y, x, s) => Autograd.Record(y, "AddBackward", [x], g => [g], attributes: new ScalarAttributes(s)));
}

/// <summary>x + y.</summary>
internal readonly struct AddFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => x + y;
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x + y;
}

internal static partial class GradChecks
{
    internal static readonly int Add = Register(nameof(Add), static c =>
    {
        foreach (var s in BinaryShapes) c.Add(x => x[0] + x[1], c.Normal(s[0]), c.Normal(s[1]));
        c.Add("scalar", x => 2.5 + x[0] + 1.0, c.Normal(3, 2));
    });
}
