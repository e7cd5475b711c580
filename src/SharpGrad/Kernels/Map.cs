using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// An elementwise function <c>y = f(x)</c> written once for float and double: a scalar body and one body per vector
/// width. <see cref="Map"/> runs it over spans with the widest vector the machine has (Vector512, 256 or 128, so ARM64
/// gets vector code too) and the scalar body for the tail. An op with no vector form sets <see cref="Vectorizable"/>
/// to false and its vector bodies are never called.
/// </summary>
internal interface IUnaryFunction
{
    /// <summary>Whether the vector bodies exist; false runs the scalar body over the whole span.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>An elementwise function of two operands, <c>d = f(x, y)</c>; see <see cref="IUnaryFunction"/>.</summary>
internal interface IBinaryFunction
{
    /// <summary>Whether the vector bodies exist.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector128<T> Apply<T>(Vector128<T> x, Vector128<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector256<T> Apply<T>(Vector256<T> x, Vector256<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector512<T> Apply<T>(Vector512<T> x, Vector512<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// An elementwise function of three operands, <c>d = f(a, b, c)</c>: most often a backward rule such as
/// <c>dx = g · f'(x)</c> computed in one pass from the upstream gradient, the input and the output.
/// </summary>
internal interface ITernaryFunction
{
    /// <summary>Whether the vector bodies exist.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T a, T b, T c) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector128<T> Apply<T>(Vector128<T> a, Vector128<T> b, Vector128<T> c) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector256<T> Apply<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector512<T> Apply<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The drivers of <see cref="IUnaryFunction"/>, <see cref="IBinaryFunction"/> and <see cref="ITernaryFunction"/>: one
/// per arity (and per scalar-operand form), each taking the widest accelerated vector width, then the scalar body for
/// the tail. The width checks are JIT-time constants, so each (function, type) pair compiles to one straight loop.
/// Destinations may alias a source (every element is read before it is written).
/// </summary>
internal static class Map
{
    /// <summary><c>y[i] = f(x[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unary<T, TOp>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
    {
        int n = y.Length, i = 0;
        if (x.Length != n) throw new ArgumentException("Map.Unary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (TOp.Vectorizable)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    TOp.Apply(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    TOp.Apply(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                    TOp.Apply(Vector128.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref rx, i));
    }

    /// <summary><c>d[i] = f(x[i], y[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length, i = 0;
        if (x.Length != n || y.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rd = ref MemoryMarshal.GetReference(d);
        if (TOp.Vectorizable)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    TOp.Apply(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    TOp.Apply(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                    TOp.Apply(Vector128.LoadUnsafe(ref rx, (nuint)i), Vector128.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i));
    }

    /// <summary><c>d[i] = f(x[i], y)</c>: the second operand one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length, i = 0;
        if (x.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T rd = ref MemoryMarshal.GetReference(d);
        if (TOp.Vectorizable)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            {
                var vy = Vector512.Create(y);
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    TOp.Apply(Vector512.LoadUnsafe(ref rx, (nuint)i), vy).StoreUnsafe(ref rd, (nuint)i);
            }
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                var vy = Vector256.Create(y);
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    TOp.Apply(Vector256.LoadUnsafe(ref rx, (nuint)i), vy).StoreUnsafe(ref rd, (nuint)i);
            }
            else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            {
                var vy = Vector128.Create(y);
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                    TOp.Apply(Vector128.LoadUnsafe(ref rx, (nuint)i), vy).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref rx, i), y);
    }

    /// <summary><c>d[i] = f(x, y[i])</c>: the first operand one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length, i = 0;
        if (y.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rd = ref MemoryMarshal.GetReference(d);
        if (TOp.Vectorizable)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            {
                var vx = Vector512.Create(x);
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    TOp.Apply(vx, Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                var vx = Vector256.Create(x);
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    TOp.Apply(vx, Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
            else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            {
                var vx = Vector128.Create(x);
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                    TOp.Apply(vx, Vector128.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(x, Unsafe.Add(ref ry, i));
    }

    /// <summary><c>d[i] = f(a[i], b[i], c[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Ternary<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryFunction
    {
        int n = d.Length, i = 0;
        if (a.Length != n || b.Length != n || c.Length != n) throw new ArgumentException("Map.Ternary: spans differ in length.");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T rc = ref MemoryMarshal.GetReference(c);
        ref T rd = ref MemoryMarshal.GetReference(d);
        if (TOp.Vectorizable)
        {
            if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                    TOp.Apply(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i), Vector512.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                    TOp.Apply(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i), Vector256.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                    TOp.Apply(Vector128.LoadUnsafe(ref ra, (nuint)i), Vector128.LoadUnsafe(ref rb, (nuint)i), Vector128.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i), Unsafe.Add(ref rc, i));
    }
}

/// <summary>
/// Adapts an <see cref="IBinaryFunction"/> to the span-level <see cref="IBinaryOperator"/> that the broadcasting driver
/// (<see cref="Elementwise.Binary{T, TOp}"/>) runs, so a new binary op gets broadcasting without a second kernel.
/// </summary>
internal readonly struct Broadcasting<TOp> : IBinaryOperator where TOp : IBinaryFunction
{
    public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Map.Binary<T, TOp>(x, y, d);
    public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Map.Binary<T, TOp>(x, y, d);
    public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => Map.Binary<T, TOp>(x, y, d);
}
