using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// A SIMD vector of <typeparamref name="T"/> whose width is a type argument, so that an operator struct writes its
/// vector body once (<c>static TV Apply&lt;TV, T&gt;(TV x) where TV : struct, IVec&lt;TV, T&gt;</c>) and the drivers in
/// <see cref="Map"/> instantiate it with the widest width the machine accelerates. This is the internal counterpart of
/// .NET's <c>ISimdVector&lt;TSelf, T&gt;</c>, which is not public: <see cref="Vec128{T}"/>, <see cref="Vec256{T}"/> and
/// <see cref="Vec512{T}"/> wrap <see cref="Vector128{T}"/> etc. in one field each and forward every member to the
/// same-named BCL method, so an instantiation compiles to the code the direct calls would (the JIT keeps a one-field
/// struct in a vector register). <c>T</c> is float or double.
/// </summary>
/// <remarks>
/// Comparisons return a mask vector (all bits set where true), as the BCL's do; combine masks with <c>&amp;</c>,
/// <c>|</c>, <c>~</c> and use them with <see cref="ConditionalSelect"/> or <c>&amp;</c>.
/// </remarks>
internal interface IVec<TSelf, T> where TSelf : struct, IVec<TSelf, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Whether this width runs in hardware for <typeparamref name="T"/> (a JIT-time constant).</summary>
    static abstract bool IsAccelerated { get; }
    /// <summary>The number of elements.</summary>
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }
    static abstract TSelf AllBitsSet { get; }
    /// <summary>Every element <paramref name="value"/>.</summary>
    static abstract TSelf Create(T value);
    /// <summary>The <see cref="Count"/> elements from <c>source[index]</c> on (no bounds check).</summary>
    static abstract TSelf Load(ref T source, nuint index);
    /// <summary>Writes the elements to <c>destination[index]</c> on (no bounds check).</summary>
    void Store(ref T destination, nuint index);

    static abstract TSelf operator +(TSelf x, TSelf y);
    static abstract TSelf operator -(TSelf x, TSelf y);
    static abstract TSelf operator *(TSelf x, TSelf y);
    static abstract TSelf operator /(TSelf x, TSelf y);
    static abstract TSelf operator -(TSelf x);
    static abstract TSelf operator &(TSelf x, TSelf y);
    static abstract TSelf operator |(TSelf x, TSelf y);
    static abstract TSelf operator ^(TSelf x, TSelf y);
    static abstract TSelf operator ~(TSelf x);

    static abstract TSelf Abs(TSelf x);
    static abstract TSelf Min(TSelf x, TSelf y);
    static abstract TSelf Max(TSelf x, TSelf y);
    static abstract TSelf CopySign(TSelf value, TSelf sign);
    static abstract TSelf Sqrt(TSelf x);
    static abstract TSelf Floor(TSelf x);
    static abstract TSelf Ceiling(TSelf x);
    /// <summary>Round half to even.</summary>
    static abstract TSelf Round(TSelf x);
    static abstract TSelf Truncate(TSelf x);
    /// <summary>The bit patterns shifted left by <paramref name="count"/> as integers of the element's width (int for
    /// float, long for double): builds 2ⁿ from a whole n held in the low bits, for exponentials.</summary>
    static abstract TSelf ShiftLeftBits(TSelf x, int count);
    static abstract TSelf Exp(TSelf x);
    static abstract TSelf Log(TSelf x);
    static abstract TSelf Sin(TSelf x);
    static abstract TSelf Cos(TSelf x);
    /// <summary>The elements added up as the BCL's <c>Vector512.Sum</c> (etc.) adds them: TensorPrimitives' horizontal
    /// step, so a reduction that keeps its lanes the way TensorPrimitives does gets its bits.</summary>
    static abstract T Sum(TSelf x);
    /// <summary>The largest element (NaN if any is NaN): exact, whatever the order of the comparisons.</summary>
    static abstract T MaxElement(TSelf x);
    /// <summary><c>x · y + z</c> rounded once.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf x, TSelf y, TSelf z);
    /// <summary>Bitwise <c>(mask &amp; x) | (~mask &amp; y)</c>: x where the mask is set.</summary>
    static abstract TSelf ConditionalSelect(TSelf mask, TSelf x, TSelf y);
    static abstract TSelf Equals(TSelf x, TSelf y);
    static abstract TSelf GreaterThan(TSelf x, TSelf y);
    static abstract TSelf GreaterThanOrEqual(TSelf x, TSelf y);
    static abstract TSelf LessThan(TSelf x, TSelf y);
    static abstract TSelf LessThanOrEqual(TSelf x, TSelf y);
}

/// <summary><see cref="IVec{TSelf, T}"/> over <see cref="Vector128{T}"/>.</summary>
internal readonly struct Vec128<T> : IVec<Vec128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const MethodImplOptions Inline = MethodImplOptions.AggressiveInlining;
    private readonly Vector128<T> v;
    [MethodImpl(Inline)] public Vec128(Vector128<T> value) => v = value;
    /// <summary>The wrapped vector.</summary>
    public Vector128<T> Value { [MethodImpl(Inline)] get => v; }

    public static bool IsAccelerated { [MethodImpl(Inline)] get => Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported; }
    public static int Count { [MethodImpl(Inline)] get => Vector128<T>.Count; }
    public static Vec128<T> Zero { [MethodImpl(Inline)] get => new(Vector128<T>.Zero); }
    public static Vec128<T> One { [MethodImpl(Inline)] get => new(Vector128<T>.One); }
    public static Vec128<T> AllBitsSet { [MethodImpl(Inline)] get => new(Vector128<T>.AllBitsSet); }
    [MethodImpl(Inline)] public static Vec128<T> Create(T value) => new(Vector128.Create(value));
    [MethodImpl(Inline)] public static Vec128<T> Load(ref T source, nuint index) => new(Vector128.LoadUnsafe(ref source, index));
    [MethodImpl(Inline)] public void Store(ref T destination, nuint index) => v.StoreUnsafe(ref destination, index);

    [MethodImpl(Inline)] public static Vec128<T> operator +(Vec128<T> x, Vec128<T> y) => new(x.v + y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator -(Vec128<T> x, Vec128<T> y) => new(x.v - y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator *(Vec128<T> x, Vec128<T> y) => new(x.v * y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator /(Vec128<T> x, Vec128<T> y) => new(x.v / y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator -(Vec128<T> x) => new(-x.v);
    [MethodImpl(Inline)] public static Vec128<T> operator &(Vec128<T> x, Vec128<T> y) => new(x.v & y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator |(Vec128<T> x, Vec128<T> y) => new(x.v | y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator ^(Vec128<T> x, Vec128<T> y) => new(x.v ^ y.v);
    [MethodImpl(Inline)] public static Vec128<T> operator ~(Vec128<T> x) => new(~x.v);

    [MethodImpl(Inline)] public static Vec128<T> Abs(Vec128<T> x) => new(Vector128.Abs(x.v));
    [MethodImpl(Inline)] public static Vec128<T> Min(Vec128<T> x, Vec128<T> y) => new(Vector128.Min(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> Max(Vec128<T> x, Vec128<T> y) => new(Vector128.Max(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> CopySign(Vec128<T> value, Vec128<T> sign) => new(Vector128.CopySign(value.v, sign.v));
    [MethodImpl(Inline)] public static Vec128<T> Sqrt(Vec128<T> x) => new(Vector128.Sqrt(x.v));
    [MethodImpl(Inline)] public static Vec128<T> ConditionalSelect(Vec128<T> mask, Vec128<T> x, Vec128<T> y) => new(Vector128.ConditionalSelect(mask.v, x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> Equals(Vec128<T> x, Vec128<T> y) => new(Vector128.Equals(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> GreaterThan(Vec128<T> x, Vec128<T> y) => new(Vector128.GreaterThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> GreaterThanOrEqual(Vec128<T> x, Vec128<T> y) => new(Vector128.GreaterThanOrEqual(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> LessThan(Vec128<T> x, Vec128<T> y) => new(Vector128.LessThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec128<T> LessThanOrEqual(Vec128<T> x, Vec128<T> y) => new(Vector128.LessThanOrEqual(x.v, y.v));

    // The BCL has these per element type only; the type test is a JIT-time constant.
    [MethodImpl(Inline)] public static Vec128<T> Floor(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Floor(x.v.AsSingle()).As<float, T>() : Vector128.Floor(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Ceiling(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Ceiling(x.v.AsSingle()).As<float, T>() : Vector128.Ceiling(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Round(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Round(x.v.AsSingle()).As<float, T>() : Vector128.Round(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Truncate(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Truncate(x.v.AsSingle()).As<float, T>() : Vector128.Truncate(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> ShiftLeftBits(Vec128<T> x, int count) => new(typeof(T) == typeof(float) ? Vector128.ShiftLeft(x.v.AsInt32(), count).As<int, T>() : Vector128.ShiftLeft(x.v.AsInt64(), count).As<long, T>());
    [MethodImpl(Inline)] public static Vec128<T> Exp(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Exp(x.v.AsSingle()).As<float, T>() : Vector128.Exp(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Log(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Log(x.v.AsSingle()).As<float, T>() : Vector128.Log(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Sin(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Sin(x.v.AsSingle()).As<float, T>() : Vector128.Sin(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> FusedMultiplyAdd(Vec128<T> x, Vec128<T> y, Vec128<T> z) => new(typeof(T) == typeof(float) ? Vector128.FusedMultiplyAdd(x.v.AsSingle(), y.v.AsSingle(), z.v.AsSingle()).As<float, T>() : Vector128.FusedMultiplyAdd(x.v.AsDouble(), y.v.AsDouble(), z.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec128<T> Cos(Vec128<T> x) => new(typeof(T) == typeof(float) ? Vector128.Cos(x.v.AsSingle()).As<float, T>() : Vector128.Cos(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static T Sum(Vec128<T> x) => Vector128.Sum(x.v);
    [MethodImpl(Inline)]
    public static T MaxElement(Vec128<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            var f = x.v.AsSingle();
            f = Vector128.Max(f, Vector128.Shuffle(f, Vector128.Create(2, 3, 0, 1)));
            f = Vector128.Max(f, Vector128.Shuffle(f, Vector128.Create(1, 0, 3, 2)));
            return f.As<float, T>().ToScalar();
        }
        var d = x.v.AsDouble();
        return Vector128.Max(d, Vector128.Shuffle(d, Vector128.Create(1L, 0L))).As<double, T>().ToScalar();
    }
}

/// <summary><see cref="IVec{TSelf, T}"/> over <see cref="Vector256{T}"/>.</summary>
internal readonly struct Vec256<T> : IVec<Vec256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const MethodImplOptions Inline = MethodImplOptions.AggressiveInlining;
    private readonly Vector256<T> v;
    [MethodImpl(Inline)] public Vec256(Vector256<T> value) => v = value;
    /// <summary>The wrapped vector.</summary>
    public Vector256<T> Value { [MethodImpl(Inline)] get => v; }

    public static bool IsAccelerated { [MethodImpl(Inline)] get => Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported; }
    public static int Count { [MethodImpl(Inline)] get => Vector256<T>.Count; }
    public static Vec256<T> Zero { [MethodImpl(Inline)] get => new(Vector256<T>.Zero); }
    public static Vec256<T> One { [MethodImpl(Inline)] get => new(Vector256<T>.One); }
    public static Vec256<T> AllBitsSet { [MethodImpl(Inline)] get => new(Vector256<T>.AllBitsSet); }
    [MethodImpl(Inline)] public static Vec256<T> Create(T value) => new(Vector256.Create(value));
    [MethodImpl(Inline)] public static Vec256<T> Load(ref T source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));
    [MethodImpl(Inline)] public void Store(ref T destination, nuint index) => v.StoreUnsafe(ref destination, index);

    [MethodImpl(Inline)] public static Vec256<T> operator +(Vec256<T> x, Vec256<T> y) => new(x.v + y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator -(Vec256<T> x, Vec256<T> y) => new(x.v - y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator *(Vec256<T> x, Vec256<T> y) => new(x.v * y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator /(Vec256<T> x, Vec256<T> y) => new(x.v / y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator -(Vec256<T> x) => new(-x.v);
    [MethodImpl(Inline)] public static Vec256<T> operator &(Vec256<T> x, Vec256<T> y) => new(x.v & y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator |(Vec256<T> x, Vec256<T> y) => new(x.v | y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator ^(Vec256<T> x, Vec256<T> y) => new(x.v ^ y.v);
    [MethodImpl(Inline)] public static Vec256<T> operator ~(Vec256<T> x) => new(~x.v);

    [MethodImpl(Inline)] public static Vec256<T> Abs(Vec256<T> x) => new(Vector256.Abs(x.v));
    [MethodImpl(Inline)] public static Vec256<T> Min(Vec256<T> x, Vec256<T> y) => new(Vector256.Min(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> Max(Vec256<T> x, Vec256<T> y) => new(Vector256.Max(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> CopySign(Vec256<T> value, Vec256<T> sign) => new(Vector256.CopySign(value.v, sign.v));
    [MethodImpl(Inline)] public static Vec256<T> Sqrt(Vec256<T> x) => new(Vector256.Sqrt(x.v));
    [MethodImpl(Inline)] public static Vec256<T> ConditionalSelect(Vec256<T> mask, Vec256<T> x, Vec256<T> y) => new(Vector256.ConditionalSelect(mask.v, x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> Equals(Vec256<T> x, Vec256<T> y) => new(Vector256.Equals(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> GreaterThan(Vec256<T> x, Vec256<T> y) => new(Vector256.GreaterThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> GreaterThanOrEqual(Vec256<T> x, Vec256<T> y) => new(Vector256.GreaterThanOrEqual(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> LessThan(Vec256<T> x, Vec256<T> y) => new(Vector256.LessThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec256<T> LessThanOrEqual(Vec256<T> x, Vec256<T> y) => new(Vector256.LessThanOrEqual(x.v, y.v));

    // The BCL has these per element type only; the type test is a JIT-time constant.
    [MethodImpl(Inline)] public static Vec256<T> Floor(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Floor(x.v.AsSingle()).As<float, T>() : Vector256.Floor(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Ceiling(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Ceiling(x.v.AsSingle()).As<float, T>() : Vector256.Ceiling(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Round(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Round(x.v.AsSingle()).As<float, T>() : Vector256.Round(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Truncate(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Truncate(x.v.AsSingle()).As<float, T>() : Vector256.Truncate(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> ShiftLeftBits(Vec256<T> x, int count) => new(typeof(T) == typeof(float) ? Vector256.ShiftLeft(x.v.AsInt32(), count).As<int, T>() : Vector256.ShiftLeft(x.v.AsInt64(), count).As<long, T>());
    [MethodImpl(Inline)] public static Vec256<T> Exp(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Exp(x.v.AsSingle()).As<float, T>() : Vector256.Exp(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Log(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Log(x.v.AsSingle()).As<float, T>() : Vector256.Log(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Sin(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Sin(x.v.AsSingle()).As<float, T>() : Vector256.Sin(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> FusedMultiplyAdd(Vec256<T> x, Vec256<T> y, Vec256<T> z) => new(typeof(T) == typeof(float) ? Vector256.FusedMultiplyAdd(x.v.AsSingle(), y.v.AsSingle(), z.v.AsSingle()).As<float, T>() : Vector256.FusedMultiplyAdd(x.v.AsDouble(), y.v.AsDouble(), z.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec256<T> Cos(Vec256<T> x) => new(typeof(T) == typeof(float) ? Vector256.Cos(x.v.AsSingle()).As<float, T>() : Vector256.Cos(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static T Sum(Vec256<T> x) => Vector256.Sum(x.v);
    [MethodImpl(Inline)] public static T MaxElement(Vec256<T> x) => Vec128<T>.MaxElement(new(Vector128.Max(x.v.GetLower(), x.v.GetUpper())));
}

/// <summary><see cref="IVec{TSelf, T}"/> over <see cref="Vector512{T}"/>.</summary>
internal readonly struct Vec512<T> : IVec<Vec512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const MethodImplOptions Inline = MethodImplOptions.AggressiveInlining;
    private readonly Vector512<T> v;
    [MethodImpl(Inline)] public Vec512(Vector512<T> value) => v = value;
    /// <summary>The wrapped vector.</summary>
    public Vector512<T> Value { [MethodImpl(Inline)] get => v; }

    public static bool IsAccelerated { [MethodImpl(Inline)] get => Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported; }
    public static int Count { [MethodImpl(Inline)] get => Vector512<T>.Count; }
    public static Vec512<T> Zero { [MethodImpl(Inline)] get => new(Vector512<T>.Zero); }
    public static Vec512<T> One { [MethodImpl(Inline)] get => new(Vector512<T>.One); }
    public static Vec512<T> AllBitsSet { [MethodImpl(Inline)] get => new(Vector512<T>.AllBitsSet); }
    [MethodImpl(Inline)] public static Vec512<T> Create(T value) => new(Vector512.Create(value));
    [MethodImpl(Inline)] public static Vec512<T> Load(ref T source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));
    [MethodImpl(Inline)] public void Store(ref T destination, nuint index) => v.StoreUnsafe(ref destination, index);

    [MethodImpl(Inline)] public static Vec512<T> operator +(Vec512<T> x, Vec512<T> y) => new(x.v + y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator -(Vec512<T> x, Vec512<T> y) => new(x.v - y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator *(Vec512<T> x, Vec512<T> y) => new(x.v * y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator /(Vec512<T> x, Vec512<T> y) => new(x.v / y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator -(Vec512<T> x) => new(-x.v);
    [MethodImpl(Inline)] public static Vec512<T> operator &(Vec512<T> x, Vec512<T> y) => new(x.v & y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator |(Vec512<T> x, Vec512<T> y) => new(x.v | y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator ^(Vec512<T> x, Vec512<T> y) => new(x.v ^ y.v);
    [MethodImpl(Inline)] public static Vec512<T> operator ~(Vec512<T> x) => new(~x.v);

    [MethodImpl(Inline)] public static Vec512<T> Abs(Vec512<T> x) => new(Vector512.Abs(x.v));
    [MethodImpl(Inline)] public static Vec512<T> Min(Vec512<T> x, Vec512<T> y) => new(Vector512.Min(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> Max(Vec512<T> x, Vec512<T> y) => new(Vector512.Max(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> CopySign(Vec512<T> value, Vec512<T> sign) => new(Vector512.CopySign(value.v, sign.v));
    [MethodImpl(Inline)] public static Vec512<T> Sqrt(Vec512<T> x) => new(Vector512.Sqrt(x.v));
    [MethodImpl(Inline)] public static Vec512<T> ConditionalSelect(Vec512<T> mask, Vec512<T> x, Vec512<T> y) => new(Vector512.ConditionalSelect(mask.v, x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> Equals(Vec512<T> x, Vec512<T> y) => new(Vector512.Equals(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> GreaterThan(Vec512<T> x, Vec512<T> y) => new(Vector512.GreaterThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> GreaterThanOrEqual(Vec512<T> x, Vec512<T> y) => new(Vector512.GreaterThanOrEqual(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> LessThan(Vec512<T> x, Vec512<T> y) => new(Vector512.LessThan(x.v, y.v));
    [MethodImpl(Inline)] public static Vec512<T> LessThanOrEqual(Vec512<T> x, Vec512<T> y) => new(Vector512.LessThanOrEqual(x.v, y.v));

    // The BCL has these per element type only; the type test is a JIT-time constant.
    [MethodImpl(Inline)] public static Vec512<T> Floor(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Floor(x.v.AsSingle()).As<float, T>() : Vector512.Floor(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Ceiling(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Ceiling(x.v.AsSingle()).As<float, T>() : Vector512.Ceiling(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Round(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Round(x.v.AsSingle()).As<float, T>() : Vector512.Round(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Truncate(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Truncate(x.v.AsSingle()).As<float, T>() : Vector512.Truncate(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> ShiftLeftBits(Vec512<T> x, int count) => new(typeof(T) == typeof(float) ? Vector512.ShiftLeft(x.v.AsInt32(), count).As<int, T>() : Vector512.ShiftLeft(x.v.AsInt64(), count).As<long, T>());
    [MethodImpl(Inline)] public static Vec512<T> Exp(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Exp(x.v.AsSingle()).As<float, T>() : Vector512.Exp(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Log(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Log(x.v.AsSingle()).As<float, T>() : Vector512.Log(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Sin(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Sin(x.v.AsSingle()).As<float, T>() : Vector512.Sin(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> FusedMultiplyAdd(Vec512<T> x, Vec512<T> y, Vec512<T> z) => new(typeof(T) == typeof(float) ? Vector512.FusedMultiplyAdd(x.v.AsSingle(), y.v.AsSingle(), z.v.AsSingle()).As<float, T>() : Vector512.FusedMultiplyAdd(x.v.AsDouble(), y.v.AsDouble(), z.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static Vec512<T> Cos(Vec512<T> x) => new(typeof(T) == typeof(float) ? Vector512.Cos(x.v.AsSingle()).As<float, T>() : Vector512.Cos(x.v.AsDouble()).As<double, T>());
    [MethodImpl(Inline)] public static T Sum(Vec512<T> x) => Vector512.Sum(x.v);
    [MethodImpl(Inline)] public static T MaxElement(Vec512<T> x) => Vec256<T>.MaxElement(new(Vector256.Max(x.v.GetLower(), x.v.GetUpper())));
}
