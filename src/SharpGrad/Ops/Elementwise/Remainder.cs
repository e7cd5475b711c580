using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise remainder of <c>this / other</c> with the sign of the divisor, as Python's <c>%</c>:
    /// <c>x − ⌊x / y⌋ · y</c>, so <c>remainder(−1, 3) = 2</c> and <c>remainder(1, −3) = −2</c> (PyTorch: <c>remainder</c>;
    /// <c>fmod</c> is the other convention). Broadcasts and promotes like the arithmetic operators. The gradient is
    /// <c>g</c> for x and <c>−g · ⌊x / y⌋</c> for y; x mod 0 is NaN.
    /// </summary>
    public Tensor Remainder(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var y = Map2<RemainderFunction>(this, other, nameof(Remainder));
        if (!Autograd.ShouldRecord(this, other)) return y;
        return Autograd.Record(y, "RemainderBackward", [this, other], g => [g, other.RequiresGrad ? -(g * (this / other).Floor()) : null]);
    }

    /// <summary><see cref="Remainder(Tensor)"/> by a constant divisor (PyTorch: <c>remainder(x, scalar)</c>).</summary>
    public Tensor Remainder(double other)
    {
        EnsureFloatingPoint(nameof(Remainder));
        return Remainder(ScalarLike(other));
    }
}

/// <summary>
/// The divisor-signed remainder from the exact truncated one: <c>m = fmod(x, y)</c> (C#'s <c>%</c>, exact in floating
/// point), then <c>m + y</c> where m is non-zero and its sign differs from y's. Scalar only: the runtime has no vector
/// fmod, and the vector form <c>x − ⌊x/y⌋·y</c> is not exact.
/// </summary>
internal readonly struct RemainderFunction : IBinaryFunction
{
    public static bool Vectorizable => false;

    public static T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = x % y;
        return m != T.Zero && (m < T.Zero) != (y < T.Zero) ? m + y : m;
    }

    public static TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
}

internal static partial class GradChecks
{
    internal static readonly int Remainder = Register(nameof(Remainder), static c =>
    {
        // Quotients x/y kept inside one integer interval (the result jumps where x/y crosses an integer).
        c.Add("positive", x => x[0].Remainder(x[1]), c.Uniform(2.2, 2.8, 2, 3), c.Uniform(1.5, 2, 2, 3));
        c.Add("negative dividend", x => x[0].Remainder(x[1]), c.Uniform(-3.8, -3.2, 4), c.Uniform(4, 5, 4));
        c.Add("negative divisor", x => x[0].Remainder(x[1]), c.Uniform(2.2, 2.8, 4), c.Uniform(-3.5, -3, 4));
        c.Add("broadcast", x => x[0].Remainder(x[1]), c.Uniform(5.1, 5.4, 2, 3), c.Uniform(2.1, 2.2, 3));
        c.Add("scalar divisor", x => x[0].Remainder(-1.5), c.Uniform(0.2, 1.2, 5));
    });
}
