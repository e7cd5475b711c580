using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// A unary elementwise kernel <c>y[i] = f(x[i])</c>, written once for every floating-point type; the JIT
/// specialises each (operator, T) pair, so the drivers carry no virtual call in their loops.
/// </summary>
internal interface IUnaryOperator
{
    static abstract void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// A binary elementwise kernel <c>d[i] = f(x[i], y[i])</c> with the scalar-broadcast forms the broadcast driver uses
/// for its innermost runs.
/// </summary>
internal interface IBinaryOperator
{
    static abstract void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Spans shorter than this are handled by plain loops in the exactly rounded operators (+, −, ×, ÷, max, min, negation,
/// |x|): the same results as TensorPrimitives, without its dispatch, and without compiling its vector paths for a
/// program whose tensors are all tiny.
/// </summary>
internal static class SmallSpan
{
    public const int Length = 16;
}

internal readonly struct AddOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] + y[i]; return; }
        Vec.Add(x, y, d);
    }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] + y; return; }
        Vec.Add(x, y, d);
    }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = y[i] + x; return; }
        Vec.Add(y, x, d);
    }
}

internal readonly struct SubtractOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] - y[i]; return; }
        Vec.Subtract(x, y, d);
    }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] - y; return; }
        Vec.Subtract(x, y, d);
    }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x - y[i]; return; }
        Vec.Subtract(x, y, d);
    }
}

internal readonly struct MultiplyOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] * y[i]; return; }
        Vec.Multiply(x, y, d);
    }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] * y; return; }
        Vec.Multiply(x, y, d);
    }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = y[i] * x; return; }
        Vec.Multiply(y, x, d);
    }
}

internal readonly struct DivideOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] / y[i]; return; }
        Vec.Divide(x, y, d);
    }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x[i] / y; return; }
        Vec.Divide(x, y, d);
    }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (d.Length < SmallSpan.Length) { for (int i = 0; i < d.Length; i++) d[i] = x / y[i]; return; }
        Vec.Divide(x, y, d);
    }
}

internal readonly struct PowOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Pow(x, y, d);
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Pow(x, y, d);
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Pow(x, y, d);
}

internal readonly struct MaximumOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Max(x, y, d);
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Max(x, y, d);
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Max(y, x, d);
}

internal readonly struct MinimumOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Min(x, y, d);
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Min(x, y, d);
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Min(y, x, d);
}

/// <summary>Comparison <c>d = x &gt; y ? 1 : 0</c> (and friends): masks for backward rules and metrics.</summary>
internal readonly struct GreaterOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] > y[i] ? T.One : T.Zero; }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] > y ? T.One : T.Zero; }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x > y[i] ? T.One : T.Zero; }
}

internal readonly struct GreaterEqualOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] >= y[i] ? T.One : T.Zero; }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] >= y ? T.One : T.Zero; }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x >= y[i] ? T.One : T.Zero; }
}

internal readonly struct EqualOp : IBinaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] == y[i] ? T.One : T.Zero; }
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x[i] == y ? T.One : T.Zero; }
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    { for (int i = 0; i < d.Length; i++) d[i] = x == y[i] ? T.One : T.Zero; }
}

internal readonly struct NegateOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length < SmallSpan.Length) { for (int i = 0; i < y.Length; i++) y[i] = -x[i]; return; }
        Vec.Negate(x, y);
    }
}

internal readonly struct ExpOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Exp(x, y);
}

internal readonly struct LogOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Log(x, y);
}

internal readonly struct SqrtOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Sqrt(x, y);
}

internal readonly struct AbsOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Abs(x, y);
}

internal readonly struct ReluOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length < SmallSpan.Length) { for (int i = 0; i < y.Length; i++) y[i] = T.Max(x[i], T.Zero); return; }
        Vec.Max(x, T.Zero, y);
    }
}

/// <summary>
/// Logistic sigmoid 1 / (1 + e^-x). TensorPrimitives evaluates exactly that form, which saturates to 0 or 1 without
/// producing NaN: for x = -1e4, e^-x overflows to +inf and 1/inf is 0.
/// </summary>
internal readonly struct SigmoidOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length != 0) Vec.Sigmoid(x, y); // Vec.Sigmoid rejects empty spans
    }
}

internal readonly struct TanhOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Vec.Tanh(x, y);
}

/// <summary>Sign of x as -1, 0 or 1 (0 for 0 and NaN for NaN); the derivative of |x| with 0 at 0, as PyTorch.</summary>
internal readonly struct SignOp : IUnaryOperator
{
    public static void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < y.Length; i++)
        {
            T v = x[i];
            y[i] = v > T.Zero ? T.One : v < T.Zero ? -T.One : v; // keeps 0 and NaN as they are
        }
    }
}
