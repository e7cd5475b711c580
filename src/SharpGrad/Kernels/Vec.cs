using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>
/// The TensorPrimitives calls of the elementwise and reduction kernels, each behind a call the JIT does not inline.
/// TensorPrimitives marks its vector paths for aggressive inlining, so a caller compiled with full optimisation (the
/// library's hot paths are) would otherwise carry all of them inline: a large, slow compile for code that tiny tensors
/// never run. Here they compile once per (operation, type), on first use, through the normal tiers.
/// </summary>
internal static class Vec
{
    private const MethodImplOptions Cold = MethodImplOptions.NoInlining;

    [MethodImpl(Cold)] public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Add(x, y, d);
    [MethodImpl(Cold)] public static void Add<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Add(x, y, d);
    [MethodImpl(Cold)] public static void Subtract<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, d);
    [MethodImpl(Cold)] public static void Subtract<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, d);
    [MethodImpl(Cold)] public static void Subtract<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, d);
    [MethodImpl(Cold)] public static void Multiply<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, y, d);
    [MethodImpl(Cold)] public static void Multiply<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, y, d);
    [MethodImpl(Cold)] public static void Divide<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, d);
    [MethodImpl(Cold)] public static void Divide<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, d);
    [MethodImpl(Cold)] public static void Divide<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, d);
    [MethodImpl(Cold)] public static void Pow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Pow(x, y, d);
    [MethodImpl(Cold)] public static void Pow<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Pow(x, y, d);
    [MethodImpl(Cold)] public static void Pow<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Pow(x, y, d);
    [MethodImpl(Cold)] public static void Max<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Max(x, y, d);
    [MethodImpl(Cold)] public static void Max<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Max(x, y, d);
    [MethodImpl(Cold)] public static void Min<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Min(x, y, d);
    [MethodImpl(Cold)] public static void Min<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Min(x, y, d);
    [MethodImpl(Cold)] public static void Negate<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, d);
    [MethodImpl(Cold)] public static void Abs<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, d);
    [MethodImpl(Cold)] public static void Exp<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, d);
    [MethodImpl(Cold)] public static void Log<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Log(x, d);
    [MethodImpl(Cold)] public static void Sqrt<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, d);
    [MethodImpl(Cold)] public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Sigmoid(x, d);
    [MethodImpl(Cold)] public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> d) where T : IFloatingPointIeee754<T> => TensorPrimitives.Tanh(x, d);
    [MethodImpl(Cold)] public static T Sum<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T> => TensorPrimitives.Sum(x);
    [MethodImpl(Cold)] public static T Max<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T> => TensorPrimitives.Max(x);
    [MethodImpl(Cold)] public static T Min<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T> => TensorPrimitives.Min(x);
}
