using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary><c>f(x)</c> elementwise for an operator struct, into a new tensor of x's shape and (floating-point) dtype.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Map1<TOp>(Tensor x, string op) where TOp : IUnaryFunction
    {
        x.EnsureFloatingPoint(op);
        var y = Uninitialized(x._shape, x.DType);
        if (x.DType == DType.Float32) Map.Unary<float, TOp>(x.Span<float>(), y.Span<float>());
        else Map.Unary<double, TOp>(x.Span<double>(), y.Span<double>());
        Capture.Active?.Unary<TOp>(x, y, op);
        return y;
    }

    /// <summary>Elements per chunk when <see cref="Map1Split"/> and <see cref="Map3Split"/> share a map among the cores (whole vectors of every width).</summary>
    private const int SplitChunk = 1 << 14;

    /// <summary>
    /// <see cref="Map1{TOp}"/> for a function costly enough per element (GELU's dozens of vector operations and an
    /// exponential) that a large tensor pays for waking the other cores: the span is cut into chunks of
    /// <see cref="SplitChunk"/> elements shared among them. Elementwise, so the values are those of one pass.
    /// </summary>
    internal static Tensor Map1Split<TOp>(Tensor x, string op) where TOp : IUnaryFunction
    {
        x.EnsureFloatingPoint(op);
        var y = Uninitialized(x._shape, x.DType);
        int n = x.Numel;
        if (x.DType == DType.Float32)
        {
            float[] xs = x.Array<float>(), ys = y.Array<float>();
            RangeWork.Run((n + SplitChunk - 1) / SplitChunk, n, (first, last) =>
            {
                int start = first * SplitChunk, end = Math.Min(n, last * SplitChunk);
                Map.Unary<float, TOp>(xs.AsSpan(start, end - start), ys.AsSpan(start, end - start));
            });
        }
        else
        {
            double[] xs = x.Array<double>(), ys = y.Array<double>();
            RangeWork.Run((n + SplitChunk - 1) / SplitChunk, n, (first, last) =>
            {
                int start = first * SplitChunk, end = Math.Min(n, last * SplitChunk);
                Map.Unary<double, TOp>(xs.AsSpan(start, end - start), ys.AsSpan(start, end - start));
            });
        }
        Capture.Active?.Unary<TOp>(x, y, op);
        return y;
    }

    /// <summary><see cref="Map3{TOp}"/> shared among the cores as <see cref="Map1Split{TOp}"/> is.</summary>
    internal static Tensor Map3Split<TOp>(Tensor a, Tensor b, Tensor c, string op) where TOp : ITernaryFunction
    {
        if (b.DType != a.DType || c.DType != a.DType || !Shapes.Equal(a._shape, b._shape) || !Shapes.Equal(a._shape, c._shape))
            throw new InvalidOperationException($"{op}: internal error, operands of shapes {Shapes.Format(a._shape)}, {Shapes.Format(b._shape)}, {Shapes.Format(c._shape)} and dtypes {a.DType}, {b.DType}, {c.DType}.");
        a.EnsureFloatingPoint(op);
        var d = Uninitialized(a._shape, a.DType);
        int n = a.Numel;
        if (a.DType == DType.Float32) Split(a.Array<float>(), b.Array<float>(), c.Array<float>(), d.Array<float>(), n);
        else Split(a.Array<double>(), b.Array<double>(), c.Array<double>(), d.Array<double>(), n);
        Capture.Active?.Ternary<TOp>(a, b, c, d, op);
        return d;

        static void Split<T>(T[] a, T[] b, T[] c, T[] d, int n) where T : unmanaged, IFloatingPointIeee754<T> =>
            RangeWork.Run((n + SplitChunk - 1) / SplitChunk, n, (first, last) =>
            {
                int start = first * SplitChunk, end = Math.Min(n, last * SplitChunk);
                Map.Ternary<T, TOp>(a.AsSpan(start, end - start), b.AsSpan(start, end - start), c.AsSpan(start, end - start), d.AsSpan(start, end - start));
            });
    }

    /// <summary><c>f(a, b)</c> elementwise with type promotion and NumPy broadcasting.</summary>
    internal static Tensor Map2<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryFunction
    {
        var (x, y) = Promote(a, b, op);
        return MapBinary<Broadcasting<TOp>>(x, y, op);
    }

    /// <summary>
    /// <c>f(a, b, c)</c> elementwise over three tensors of one shape and floating-point dtype (a backward rule's
    /// upstream gradient, input and output, say); anything else is a bug in the calling op.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Map3<TOp>(Tensor a, Tensor b, Tensor c, string op) where TOp : ITernaryFunction
    {
        if (b.DType != a.DType || c.DType != a.DType || !Shapes.Equal(a._shape, b._shape) || !Shapes.Equal(a._shape, c._shape))
            throw new InvalidOperationException($"{op}: internal error, operands of shapes {Shapes.Format(a._shape)}, {Shapes.Format(b._shape)}, {Shapes.Format(c._shape)} and dtypes {a.DType}, {b.DType}, {c.DType}.");
        a.EnsureFloatingPoint(op);
        var d = Uninitialized(a._shape, a.DType);
        if (a.DType == DType.Float32) Map.Ternary<float, TOp>(a.Span<float>(), b.Span<float>(), c.Span<float>(), d.Span<float>());
        else Map.Ternary<double, TOp>(a.Span<double>(), b.Span<double>(), c.Span<double>(), d.Span<double>());
        Capture.Active?.Ternary<TOp>(a, b, c, d, op);
        return d;
    }

    /// <summary>Runs a binary kernel with broadcasting; the operands must already share a floating-point dtype.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor MapBinary<TOp>(Tensor a, Tensor b, string op) where TOp : IBinaryOperator
    {
        int[] shape = BroadcastShape(a, b, op);
        var y = Uninitialized(shape, a.DType);
        if (a.DType == DType.Float32) BinaryArrays<float, TOp>(a.Array<float>(), a._shape, b.Array<float>(), b._shape, y.Array<float>(), y._shape);
        else BinaryArrays<double, TOp>(a.Array<double>(), a._shape, b.Array<double>(), b._shape, y.Array<double>(), y._shape);
        Capture.Active?.Binary<TOp>(a, b, y, op);
        return y;
    }

    /// <summary>
    /// The common cases (equal sizes, or one operand a single value) go straight to the operator; only a real
    /// broadcast takes the general driver, so most (operator, type) pairs never compile it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BinaryArrays<T, TOp>(T[] a, int[] aShape, T[] b, int[] bShape, T[] y, int[] yShape)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> where TOp : IBinaryOperator
    {
        ReadOnlySpan<T> x = a, z = b;
        Span<T> d = y;
        int n = d.Length;
        if (x.Length == n && z.Length == n) TOp.Invoke(x, z, d);
        else if (z.Length == 1 && x.Length == n) TOp.Invoke(x, z[0], d);
        else if (x.Length == 1 && z.Length == n) TOp.Invoke(x[0], z, d);
        else Elementwise.Binary<T, TOp>(x, aShape, z, bShape, d, yShape);
    }

    /// <summary>The broadcast shape of two operands, without allocating when it is one operand's own shape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int[] BroadcastShape(Tensor a, Tensor b, string op)
    {
        int[] sa = a._shape, sb = b._shape;
        if (ReferenceEquals(sa, sb)) return sa;
        if (sb.Length <= sa.Length && b.Storage.Length == 1) return sa;  // b is all ones: a's shape
        if (sa.Length <= sb.Length && a.Storage.Length == 1) return sb;
        if (sa.Length == sb.Length && sa.AsSpan().SequenceEqual(sb)) return sa;
        return Shapes.Broadcast(sa, sb, op);
    }

    /// <summary>
    /// Brings two operands to one floating-point dtype as PyTorch's type promotion does: Float32 with Float64 gives
    /// Float64 (recorded, so gradients flow back in the original dtype); Int64 takes the other operand's float type.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (Tensor A, Tensor B) Promote(Tensor a, Tensor b, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.DType == b.DType && a.DType.IsFloatingPoint()) return (a, b);
        return PromoteSlow(a, b, op);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (Tensor A, Tensor B) PromoteSlow(Tensor a, Tensor b, string op)
    {
        if (a.DType == b.DType)
            throw new NotSupportedException($"{op}: both operands are {a.DType.ToTorchName()} (shapes {Shapes.Format(a._shape)} and {Shapes.Format(b._shape)}); arithmetic needs floating point. Convert with To(DType.Float32).");
        DType target = a.DType == DType.Float64 || b.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        return (a.DType == target ? a : a.To(target), b.DType == target ? b : b.To(target));
    }

    /// <summary>A 0-dimensional constant of this tensor's (floating-point) dtype.</summary>
    internal Tensor ScalarLike(double value) => ScalarOf(value, DType.IsFloatingPoint() ? DType : DType.Float32);
}
