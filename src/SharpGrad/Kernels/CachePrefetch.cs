using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Software prefetch of arrays the caller will read soon (<see cref="CompiledStep.Prefetch"/>): asks the cache for their
/// lines without waiting for them, so the loads that follow find them there. Hints only: a prefetch never faults and
/// never changes a value (an array the GC moves meanwhile is simply not prefetched), and on a CPU without the
/// instruction nothing happens.
/// </summary>
internal static unsafe class CachePrefetch
{
    private const int Line = 64;

    /// <summary>
    /// Prefetches the first two cache lines of <paramref name="o"/> (its header and fields) from its address alone:
    /// nothing of the object is read, so this never waits for memory (the first stage of
    /// <see cref="CompiledStep.PrefetchAhead"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Object(object? o)
    {
        if (!Sse.IsSupported || o is null) return;
        byte* address = *(byte**)Unsafe.AsPointer(ref o);
        Sse.Prefetch0(address);
        Sse.Prefetch0(address + Line);
    }

    /// <summary>Prefetches the header line of <paramref name="array"/> (its length and type) from its address alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Header(Array? array) => Object(array);

    /// <summary>Prefetches the cache line of an element of an array (its address alone: nothing is read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Element<T>(ref T element)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref element));
    }

    /// <summary>Prefetches every cache line of <paramref name="array"/>'s elements (a primitive array), header included.</summary>
    public static void Lines(Array array) => Lines(array, toL1: true);

    /// <summary>
    /// <see cref="Lines(Array)"/> into L2 rather than L1 (PREFETCHT1): for data needed by the next call rather than this one, so
    /// that it does not take L1 lines from what the current call is working on.
    /// </summary>
    public static void LinesToL2(Array array) => Lines(array, toL1: false);

    private static void Lines(Array array, bool toL1)
    {
        if (!Sse.IsSupported) return;
        // The address is only a hint: no pinning needed (a stale address after a compaction prefetches nothing useful, harmlessly).
        byte* first = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        // From the header's line (length and type: the copy that follows reads them first) to the last element's.
        nint start = ((nint)first - 2 * sizeof(nint)) & ~(nint)(Line - 1), end = (nint)first + (nint)Buffer.ByteLength(array);
        if (toL1) for (nint a = start; a < end; a += Line) Sse.Prefetch0((void*)a);
        else for (nint a = start; a < end; a += Line) Sse.Prefetch1((void*)a);
    }
}
