using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The few vector loops the fused layer kernels need (add, ReLU), written out with
/// <see cref="Vector512{T}"/> / <see cref="Vector256{T}"/> and compiled fully optimised on first call
/// (<see cref="MethodImplOptions.AggressiveOptimization"/>). A training run spends its first few hundred steps before
/// tiered compilation has promoted generic library code out of its unoptimised tier, and a 200-batch epoch is over by
/// then; these loops are fast from the first step.
/// </summary>
internal static class FusedSimd
{
    /// <summary><c>d[i] += x[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddInPlace<T>(Span<T> d, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = d.Length;
        if (x.Length < n) throw new ArgumentException("AddInPlace: the source is shorter than the destination.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T rd = ref MemoryMarshal.GetReference(d);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                (Vector512.LoadUnsafe(ref rd, (nuint)i) + Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref rd, (nuint)i) + Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) += Unsafe.Add(ref rx, i);
    }

    /// <summary>
    /// <c>y[i] = max(x[i], 0)</c> with the IEEE 754-2019 maximum that TensorPrimitives.Max uses: NaN stays NaN and
    /// −0 becomes +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (x.Length < n) throw new ArgumentException("Relu: the input is shorter than the output.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref rx, (nuint)i);
                var keep = Vector512.GreaterThan(v, Vector512<T>.Zero) | ~Vector512.Equals(v, v); // x > 0 or NaN
                (v & keep).StoreUnsafe(ref ry, (nuint)i);
            }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref rx, (nuint)i);
                var keep = Vector256.GreaterThan(v, Vector256<T>.Zero) | ~Vector256.Equals(v, v);
                (v & keep).StoreUnsafe(ref ry, (nuint)i);
            }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref rx, i);
            Unsafe.Add(ref ry, i) = v > T.Zero || T.IsNaN(v) ? v : T.Zero;
        }
    }
}
