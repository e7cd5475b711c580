using System.Numerics;

namespace SharpGrad.Kernels;

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
