using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Copies into memory that another core reads next (a shared-memory window another process sums or gathers from) with
/// non-temporal stores: the lines go to memory without being read for ownership first, so a line the other core still
/// holds from the last time it read it costs no coherence round trip per store (an ordinary store to such a line waits for
/// the other core's copy to be invalidated). The bits copied are the source's; <see cref="Fence"/> makes them visible
/// before whatever the caller publishes next (a counter written with an interlocked exchange).
/// </summary>
internal static unsafe class StreamingCopy
{
    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> (native memory, which the GC does not move).</summary>
    public static void Copy<T>(ReadOnlySpan<T> source, T* destination) where T : unmanaged
    {
        nint bytes = (nint)source.Length * sizeof(T);
        fixed (T* from = source)
        {
            byte* s = (byte*)from, d = (byte*)destination;
            if (!Avx512F.IsSupported && !Avx.IsSupported)
            {
                Buffer.MemoryCopy(s, d, bytes, bytes);
                return;
            }
            int width = Avx512F.IsSupported ? 64 : 32;
            // Up to the first aligned line of the destination, then whole vectors, then the rest, ordinarily.
            nint head = Math.Min(bytes, (-(nint)d) & (width - 1)), at = head;
            Buffer.MemoryCopy(s, d, head, head);
            if (Avx512F.IsSupported)
                for (; at + 64 <= bytes; at += 64) Avx512F.StoreAlignedNonTemporal(d + at, Vector512.Load(s + at));
            else
                for (; at + 32 <= bytes; at += 32) Avx.StoreAlignedNonTemporal(d + at, Vector256.Load(s + at));
            Buffer.MemoryCopy(s + at, d + at, bytes - at, bytes - at);
        }
    }

    /// <summary>Orders the non-temporal stores before every later store (SFENCE): call before publishing what was copied.</summary>
    public static void Fence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }
}
