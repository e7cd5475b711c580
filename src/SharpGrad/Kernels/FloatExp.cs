using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpGrad.Kernels;

/// <summary>
/// e^x in single precision on vectors, for kernels whose float32 path is bound by exponentials (GELU, attention's
/// probabilities). The BCL's float exp widens every lane to double and back, which costs about twice as much.
/// </summary>
internal static class FloatExp
{
    private const float Log2E = 1.44269504f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f,
        E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f, E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f,
        E5 = 5.0000001201e-1f;
    /// <summary>1.5·2²³ + 127: added to a float below 2²², it leaves the nearest whole number plus 127 in the low bits.</summary>
    private const float RoundBias = 12583039f;
    /// <summary>Below this e^x is under float32's smallest normal number.</summary>
    public const float Lowest = -87.3f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV K<TV, T>(float c) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
        TV.Create(T.CreateTruncating(c));

    /// <summary>
    /// e^x for T = float, the argument clamped to [−87.3, 88] (so e^x never goes subnormal: about 1.2e-38 for anything
    /// lower). Cody and Waite's reduction x = n·ln 2 + r, |r| ≤ ln(2)/2 (ln 2 in two parts so that n·ln2_hi is exact),
    /// e^r ≈ 1 + r + r²·P(r) with Cephes' expf coefficients, 2ⁿ from the exponent bits: within 2 ulp. NaN in, NaN out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
    public static TV Exp<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
        ExpInRange<TV, T>(TV.Min(TV.Max(x, K<TV, T>(Lowest)), K<TV, T>(88f)));

    /// <summary>
    /// <see cref="Exp{TV, T}"/> without its clamp, for a caller whose argument is known to lie in [−87.3, 88] (or is NaN):
    /// the same value there, two operations fewer. Outside that range the result is wrong, not merely inexact.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
    public static TV ExpInRange<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var biased = TV.FusedMultiplyAdd(x, K<TV, T>(Log2E), K<TV, T>(RoundBias)); // n + 127 in the low bits
        var n = biased - K<TV, T>(RoundBias);
        var r = TV.FusedMultiplyAdd(n, K<TV, T>(-Ln2Hi), x);
        r = TV.FusedMultiplyAdd(n, K<TV, T>(-Ln2Lo), r);
        var p = TV.FusedMultiplyAdd(K<TV, T>(E0), r, K<TV, T>(E1));
        p = TV.FusedMultiplyAdd(p, r, K<TV, T>(E2));
        p = TV.FusedMultiplyAdd(p, r, K<TV, T>(E3));
        p = TV.FusedMultiplyAdd(p, r, K<TV, T>(E4));
        p = TV.FusedMultiplyAdd(p, r, K<TV, T>(E5));
        var e = TV.FusedMultiplyAdd(p, r * r, r) + TV.One;
        return e * TV.ShiftLeftBits(biased, 23); // (n + 127) moved into the exponent field: 2ⁿ
    }

    /// <summary>
    /// <c>x[i] = e^(x[i] − shift)</c> in place, exactly 0 where the difference is −∞ or below <see cref="Lowest"/> (a
    /// softmax's masked entries). Float32 runs <see cref="Exp{TV, T}"/> at every width (the tail in a 128-bit vector, so
    /// an element's value does not depend on where it falls); float64 keeps TensorPrimitives' exp.
    /// </summary>
    public static void ExpShifted<T>(Span<T> x, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float))
        {
            TensorPrimitives.Subtract(x, shift, x);
            TensorPrimitives.Exp<T>(x, x);
            return;
        }
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        if (Vec512<T>.IsAccelerated) i = ExpShiftedVectors<T, Vec512<T>>(ref r, n, shift);
        else if (Vec256<T>.IsAccelerated) i = ExpShiftedVectors<T, Vec256<T>>(ref r, n, shift);
        else if (Vec128<T>.IsAccelerated) i = ExpShiftedVectors<T, Vec128<T>>(ref r, n, shift);
        if (i < n)
        {
            Span<T> lanes = stackalloc T[Vec128<T>.Count];
            ref T l = ref MemoryMarshal.GetReference(lanes);
            for (; i < n; i += lanes.Length)
            {
                int count = Math.Min(lanes.Length, n - i);
                lanes.Clear();
                x.Slice(i, count).CopyTo(lanes);
                ExpShiftedOne<Vec128<T>, T>(Vec128<T>.Load(ref l, 0), Vec128<T>.Create(shift)).Store(ref l, 0);
                lanes[..count].CopyTo(x.Slice(i, count));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ExpShiftedVectors<T, TV>(ref T x, int n, T shift) where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T>
    {
        var s = TV.Create(shift);
        int i = 0;
        for (; i <= n - TV.Count; i += TV.Count) ExpShiftedOne<TV, T>(TV.Load(ref x, (nuint)i), s).Store(ref x, (nuint)i);
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV ExpShiftedOne<TV, T>(TV x, TV shift) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        var d = x - shift;
        return TV.ConditionalSelect(TV.LessThan(d, K<TV, T>(Lowest)), TV.Zero, Exp<TV, T>(d));
    }
}
