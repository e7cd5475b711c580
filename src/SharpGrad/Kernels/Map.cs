using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpGrad.Kernels;

/// <summary>
/// An elementwise function <c>y = f(x)</c> written once for float and double and for every vector width: a scalar body
/// and one vector body generic over the width (<see cref="IVec{TSelf, T}"/>). <see cref="Map"/> runs it over spans with
/// the widest vector the machine has (Vector512, 256 or 128, so ARM64 gets vector code too) and the scalar body for the
/// tail. An op with no vector form sets <see cref="Vectorizable"/> to false and its vector body is never called.
/// </summary>
internal interface IUnaryFunction
{
    /// <summary>Whether the vector body exists; false runs the scalar body over the whole span.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>An elementwise function of two operands, <c>d = f(x, y)</c>; see <see cref="IUnaryFunction"/>.</summary>
internal interface IBinaryFunction
{
    /// <summary>Whether the vector body exists.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract TV Apply<TV, T>(TV x, TV y) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// An elementwise function of three operands, <c>d = f(a, b, c)</c>: most often a backward rule such as
/// <c>dx = g · f'(x)</c> computed in one pass from the upstream gradient, the input and the output.
/// </summary>
internal interface ITernaryFunction
{
    /// <summary>Whether the vector body exists.</summary>
    static virtual bool Vectorizable => true;

    static abstract T Apply<T>(T a, T b, T c) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract TV Apply<TV, T>(TV a, TV b, TV c) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// The drivers of <see cref="IUnaryFunction"/>, <see cref="IBinaryFunction"/> and <see cref="ITernaryFunction"/>: one
/// per arity (and per scalar-operand form). Each runs the function's vector body over whole vectors of the widest
/// accelerated width (the <c>*Vectors</c> loops, generic over the width), then the scalar body for the tail. The width
/// checks are JIT-time constants, so each (function, type) pair compiles to one straight loop. Destinations may alias
/// a source (every element is read before it is written).
/// </summary>
internal static class Map
{
    /// <summary><c>y[i] = f(x[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unary<T, TOp>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
    {
        int n = y.Length;
        if (x.Length != n) throw new ArgumentException("Map.Unary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        int i = !TOp.Vectorizable ? 0
            : Vec512<T>.IsAccelerated ? UnaryVectors<T, TOp, Vec512<T>>(ref rx, ref ry, n)
            : Vec256<T>.IsAccelerated ? UnaryVectors<T, TOp, Vec256<T>>(ref rx, ref ry, n)
            : Vec128<T>.IsAccelerated ? UnaryVectors<T, TOp, Vec128<T>>(ref rx, ref ry, n) : 0;
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref rx, i));
    }

    /// <summary><c>d[i] = f(x[i], y[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length;
        if (x.Length != n || y.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rd = ref MemoryMarshal.GetReference(d);
        int i = !TOp.Vectorizable ? 0
            : Vec512<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec512<T>>(ref rx, ref ry, ref rd, n)
            : Vec256<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec256<T>>(ref rx, ref ry, ref rd, n)
            : Vec128<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec128<T>>(ref rx, ref ry, ref rd, n) : 0;
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i));
    }

    /// <summary><c>d[i] = f(x[i], y)</c>: the second operand one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length;
        if (x.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T rd = ref MemoryMarshal.GetReference(d);
        int i = !TOp.Vectorizable ? 0
            : Vec512<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec512<T>>(ref rx, y, ref rd, n)
            : Vec256<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec256<T>>(ref rx, y, ref rd, n)
            : Vec128<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec128<T>>(ref rx, y, ref rd, n) : 0;
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref rx, i), y);
    }

    /// <summary><c>d[i] = f(x, y[i])</c>: the first operand one value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction
    {
        int n = d.Length;
        if (y.Length != n) throw new ArgumentException("Map.Binary: spans differ in length.");
        ref T ry = ref MemoryMarshal.GetReference(y);
        ref T rd = ref MemoryMarshal.GetReference(d);
        int i = !TOp.Vectorizable ? 0
            : Vec512<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec512<T>>(x, ref ry, ref rd, n)
            : Vec256<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec256<T>>(x, ref ry, ref rd, n)
            : Vec128<T>.IsAccelerated ? BinaryVectors<T, TOp, Vec128<T>>(x, ref ry, ref rd, n) : 0;
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(x, Unsafe.Add(ref ry, i));
    }

    /// <summary><c>d[i] = f(a[i], b[i], c[i])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Ternary<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryFunction
    {
        int n = d.Length;
        if (a.Length != n || b.Length != n || c.Length != n) throw new ArgumentException("Map.Ternary: spans differ in length.");
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T rc = ref MemoryMarshal.GetReference(c);
        ref T rd = ref MemoryMarshal.GetReference(d);
        int i = !TOp.Vectorizable ? 0
            : Vec512<T>.IsAccelerated ? TernaryVectors<T, TOp, Vec512<T>>(ref ra, ref rb, ref rc, ref rd, n)
            : Vec256<T>.IsAccelerated ? TernaryVectors<T, TOp, Vec256<T>>(ref ra, ref rb, ref rc, ref rd, n)
            : Vec128<T>.IsAccelerated ? TernaryVectors<T, TOp, Vec128<T>>(ref ra, ref rb, ref rc, ref rd, n) : 0;
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i), Unsafe.Add(ref rc, i));
    }

    // The vector loops, one per operand form and generic over the width: each runs the whole vectors of n elements and
    // returns where the scalar tail starts. Internal so that tests can run a function at a width the machine would not
    // pick (Vector128, as ARM64 runs it).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int UnaryVectors<T, TOp, TV>(ref T x, ref T y, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction where TV : struct, IVec<TV, T>
    {
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
            TOp.Apply<TV, T>(TV.Load(ref x, (nuint)i)).Store(ref y, (nuint)i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BinaryVectors<T, TOp, TV>(ref T x, ref T y, ref T d, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction where TV : struct, IVec<TV, T>
    {
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
            TOp.Apply<TV, T>(TV.Load(ref x, (nuint)i), TV.Load(ref y, (nuint)i)).Store(ref d, (nuint)i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BinaryVectors<T, TOp, TV>(ref T x, T y, ref T d, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction where TV : struct, IVec<TV, T>
    {
        int i = 0;
        var vy = TV.Create(y);
        for (; i <= n - TV.Count; i += TV.Count)
            TOp.Apply<TV, T>(TV.Load(ref x, (nuint)i), vy).Store(ref d, (nuint)i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BinaryVectors<T, TOp, TV>(T x, ref T y, ref T d, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryFunction where TV : struct, IVec<TV, T>
    {
        int i = 0;
        var vx = TV.Create(x);
        for (; i <= n - TV.Count; i += TV.Count)
            TOp.Apply<TV, T>(vx, TV.Load(ref y, (nuint)i)).Store(ref d, (nuint)i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int TernaryVectors<T, TOp, TV>(ref T a, ref T b, ref T c, ref T d, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryFunction where TV : struct, IVec<TV, T>
    {
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count)
            TOp.Apply<TV, T>(TV.Load(ref a, (nuint)i), TV.Load(ref b, (nuint)i), TV.Load(ref c, (nuint)i)).Store(ref d, (nuint)i);
        return i;
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
