using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// Generic forms of the vector math functions that .NET provides per element type only (<c>Vector512.Exp(Vector512&lt;float&gt;)</c>
/// and <c>...&lt;double&gt;</c>), so that an operator struct written for any floating-point <c>T</c> can call them. The
/// type test is a JIT-time constant: each instantiation compiles to the one call. <c>T</c> is float or double (the
/// operator drivers are only instantiated for those).
/// </summary>
internal static class VMath
{
    private const MethodImplOptions Inline = MethodImplOptions.AggressiveInlining;

    // Vector128
    [MethodImpl(Inline)] public static Vector128<T> Exp<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Exp(x.AsSingle()).As<float, T>() : Vector128.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Log<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Log(x.AsSingle()).As<float, T>() : Vector128.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Sin<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Sin(x.AsSingle()).As<float, T>() : Vector128.Sin(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Cos<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Cos(x.AsSingle()).As<float, T>() : Vector128.Cos(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Floor<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Floor(x.AsSingle()).As<float, T>() : Vector128.Floor(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Ceiling<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Ceiling(x.AsSingle()).As<float, T>() : Vector128.Ceiling(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Round<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Round(x.AsSingle()).As<float, T>() : Vector128.Round(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector128<T> Truncate<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector128.Truncate(x.AsSingle()).As<float, T>() : Vector128.Truncate(x.AsDouble()).As<double, T>();

    // Vector256
    [MethodImpl(Inline)] public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Exp(x.AsSingle()).As<float, T>() : Vector256.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Log<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Log(x.AsSingle()).As<float, T>() : Vector256.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Sin<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Sin(x.AsSingle()).As<float, T>() : Vector256.Sin(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Cos<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Cos(x.AsSingle()).As<float, T>() : Vector256.Cos(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Floor<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Floor(x.AsSingle()).As<float, T>() : Vector256.Floor(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Ceiling<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Ceiling(x.AsSingle()).As<float, T>() : Vector256.Ceiling(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Round<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Round(x.AsSingle()).As<float, T>() : Vector256.Round(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector256<T> Truncate<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector256.Truncate(x.AsSingle()).As<float, T>() : Vector256.Truncate(x.AsDouble()).As<double, T>();

    // Vector512
    [MethodImpl(Inline)] public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Exp(x.AsSingle()).As<float, T>() : Vector512.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Log<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Log(x.AsSingle()).As<float, T>() : Vector512.Log(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Sin<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Sin(x.AsSingle()).As<float, T>() : Vector512.Sin(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Cos<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Cos(x.AsSingle()).As<float, T>() : Vector512.Cos(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Floor<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Floor(x.AsSingle()).As<float, T>() : Vector512.Floor(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Ceiling<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Ceiling(x.AsSingle()).As<float, T>() : Vector512.Ceiling(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Round<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Round(x.AsSingle()).As<float, T>() : Vector512.Round(x.AsDouble()).As<double, T>();
    [MethodImpl(Inline)] public static Vector512<T> Truncate<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Vector512.Truncate(x.AsSingle()).As<float, T>() : Vector512.Truncate(x.AsDouble()).As<double, T>();
}
