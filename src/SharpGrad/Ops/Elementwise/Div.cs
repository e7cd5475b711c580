using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise <c>a / b</c> with broadcasting; <c>∂/∂a = 1/b</c>, <c>∂/∂b = −a/b² = −y/b</c> (PyTorch: <c>torch.div</c>).
    /// </summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary<DivFunction>(a, b, nameof(Div), static (y, a, b) => RecordDiv(y, a, b));

    // Both gradients from g / b: da = g / b and db = −(g / b) · y, with y = a / b the output (recorded, so the rule
    // differentiates again through it).
    private static Tensor RecordDiv(Tensor y, Tensor a, Tensor b) =>
        Autograd.Record(y, "DivBackward", [a, b], g =>
        {
            var gb = g / b;
            return [a.RequiresGrad ? gb : null, b.RequiresGrad ? -(gb * y) : null];
        });

    /// <summary><c>this / other</c>.</summary>
    public Tensor Div(Tensor other) => Div(this, other);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => IsFloat(a)
        ? Scalar<DivFunction>(a, b, false, static (y, x, s) => Autograd.Record(y, "DivBackward", [x], g => [g / s], attributes: new ScalarAttributes(s)))
        : Div(a, a.ScalarLike(b));
    /// <summary>Divides a scalar by every element; d/dx (s/x) = −s/x² = −y/x.</summary>
    public static Tensor operator /(double a, Tensor b) => IsFloat(b)
        ? Scalar<DivFunction>(b, a, true, static (y, x, s) => Autograd.Record(y, "DivBackward", [x], g => [-((g / x) * y)], attributes: new ScalarAttributes(s, ScalarFirst: true)))
        : Div(b.ScalarLike(a), b);
}

/// <summary>x / y.</summary>
internal readonly struct DivFunction : IBinaryFunction
{
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => x / y;
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => x / y;
}

internal static partial class GradChecks
{
    internal static readonly int Div = Register(nameof(Div), static c =>
    {
        foreach (var s in BinaryShapes) c.Add(x => x[0] / x[1], c.Normal(s[0]), c.Positive(s[1]));
        c.Add("scalar", x => x[0] / 2.0, c.Normal(3, 2));
        c.Add("scalar / x", x => 1.5 / x[0], c.Positive(4));
        c.Add("x / x", x => x[0] / x[0], c.Positive(2, 3));
    });
}
