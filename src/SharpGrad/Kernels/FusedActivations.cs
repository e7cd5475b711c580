using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// One-pass first-order backward kernels of the activations, used when no graph of the backward is being recorded.
/// Each performs the same IEEE operations per element as the composite rule it replaces, so the two agree exactly.
/// </summary>
internal static class ActivationKernels
{
    /// <summary>
    /// ReLU backward: <c>dx[i] = g[i] · (x[i] &gt; 0 ? 1 : 0)</c>, the product <c>g * (x &gt; 0)</c> of the composite rule
    /// in one pass (so NaN or ±∞ in g still give NaN where x ≤ 0, exactly as the product does).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> g, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dx.Length;
        if (x.Length < n || g.Length < n) throw new ArgumentException("ReluBackward: the input or gradient is shorter than the output.");
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rd = ref MemoryMarshal.GetReference(dx);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var one = Vector512<T>.One;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                nuint o = (nuint)i;
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rx, o), Vector512<T>.Zero) & one;
                (Vector512.LoadUnsafe(ref rg, o) * mask).StoreUnsafe(ref rd, o);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var one = Vector256<T>.One;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                nuint o = (nuint)i;
                var mask = Vector256.GreaterThan(Vector256.LoadUnsafe(ref rx, o), Vector256<T>.Zero) & one;
                (Vector256.LoadUnsafe(ref rg, o) * mask).StoreUnsafe(ref rd, o);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref rd, i) =
                Unsafe.Add(ref rg, i) * (Unsafe.Add(ref rx, i) > T.Zero ? T.One : T.Zero);
    }
}
