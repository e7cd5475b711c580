using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise <c>x^p</c> for a scalar exponent; d/dx = p x^(p−1) (PyTorch: <c>pow</c>).</summary>
    public Tensor Pow(double exponent)
    {
        EnsureFloatingPoint(nameof(Pow));
        return Scalar<PowFunction>(this, exponent, false, RecordPow);
    }

    private static Tensor RecordPow(Tensor y, Tensor x, double p) => Autograd.Record(y, "PowBackward", [x], g => [p switch
    {
        0 => ZerosLike(x),
        1 => g,
        2 => g * (x * 2.0),
        _ => g * (x.Pow(p - 1) * p),
    }], attributes: new ScalarAttributes(p));

    /// <summary>
    /// Elementwise <c>x^e</c> with a tensor exponent, broadcast; <c>∂/∂x = e x^(e−1)</c>, <c>∂/∂e = x^e ln x</c>
    /// (PyTorch: <c>pow</c>).
    /// </summary>
    public Tensor Pow(Tensor exponent) => Binary<PowFunction>(this, exponent, nameof(Pow), RecordPowTensor);

    private static Tensor RecordPowTensor(Tensor y, Tensor x, Tensor e) =>
        Autograd.Record(y, "PowBackward", [x, e], g => [x.RequiresGrad ? g * e * x.Pow(e - 1.0) : null, e.RequiresGrad ? g * y * x.Log() : null]);
}

/// <summary>x^y, as <c>T.Pow</c> (IEEE pow: pow(x, 0) = 1, negative x with a non-integer y is NaN). No vector form.</summary>
internal readonly struct PowFunction : IBinaryFunction
{
    public static bool Vectorizable => false;
    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T> => T.Pow(x, y);
    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}

internal static partial class GradChecks
{
    internal static readonly int Pow = Register(nameof(Pow), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes)
        {
            c.Add("2.5", x => x[0].Pow(2.5), c.Positive(s));
            c.Add("3", x => x[0].Pow(3), c.Normal(s));
        }
        c.Add("2", x => x[0].Pow(2), c.Normal(3, 2));
        c.Add("1", x => x[0].Pow(1), c.Normal(3, 2));
        c.Add("0", x => x[0].Pow(0) + x[0], c.Normal(3, 2));
        c.Add("-0.5", x => x[0].Pow(-0.5), c.Positive(5));
        foreach (var s in BinaryShapes) c.Add("tensor", x => x[0].Pow(x[1]), c.Positive(s[0]), c.Normal(s[1]));
    });
}
