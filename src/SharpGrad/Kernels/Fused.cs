using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// First-order backward rules that would otherwise take several ops (and as many temporaries), each as one pass into
/// one output. Every kernel performs the same floating-point operations in the same order as the composite rule it
/// replaces, so the two agree to the last bit; the composite rule is still used when the backward pass is recorded
/// (createGraph).
/// </summary>
internal static class Fused
{
    /// <summary><c>r = -(g a) / (b b)</c>: the gradient of a / b with respect to b.</summary>
    public static void DivGradB<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < r.Length; i++) r[i] = -(g[i] * a[i]) / (b[i] * b[i]);
    }

    /// <summary><c>r = -(g s) / (x x)</c>: the gradient of s / x with respect to x.</summary>
    public static void ScalarDivIntoGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T s, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < r.Length; i++) r[i] = -(g[i] * s) / (x[i] * x[i]);
    }

    /// <summary><c>r = g (p x^(p-1))</c>: the gradient of x^p (p - 1 is passed as rounded from double, as the composite rule has it).</summary>
    public static void PowGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T p, T pMinusOne, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vec.Pow(x, pMinusOne, r);
        Vec.Multiply(r, p, r);
        Vec.Multiply(g, r, r);
    }

    /// <summary><c>r = g / (y 2)</c>: the gradient of y = sqrt(x).</summary>
    public static void SqrtGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vec.Multiply(y, T.One + T.One, r);
        Vec.Divide(g, r, r);
    }

    /// <summary><c>r = g sign(x)</c>: the gradient of |x| (0 at 0).</summary>
    public static void AbsGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> r) where T : unmanaged, IFloatingPointIeee754<T>
    {
        SignOp.Invoke(x, r);
        Vec.Multiply(g, r, r);
    }
}
