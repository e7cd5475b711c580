using System.Numerics;

namespace SharpGrad.Kernels;

/// <summary>
/// A cache of large scratch arrays for the kernels (a convolution's column matrices, max-pool winners), kept from one
/// training step to the next. Not <see cref="System.Buffers.ArrayPool{T}.Shared"/>: that pool trims itself after gen-2
/// collections (a training step on multi-megabyte activations causes about one per step), so whether a 16 MB column
/// matrix is reused depends on its trimming policy; this pool keeps what it holds. Arrays come in power-of-two sizes
/// and are not cleared; at most
/// <see cref="MaxPerSize"/> per size and <see cref="CapBytes"/> in all are kept, anything beyond goes to the GC.
/// </summary>
internal static class ScratchPool
{
    /// <summary>Arrays kept per element type and size.</summary>
    public const int MaxPerSize = 4;

    /// <summary>Upper bound on the bytes the pool holds on to, over all element types.</summary>
    public const long CapBytes = 256L << 20;

    private static long s_cachedBytes;

    internal static long CachedBytes => Interlocked.Read(ref s_cachedBytes);

    internal static bool TryReserve(long bytes)
    {
        while (true)
        {
            long current = Interlocked.Read(ref s_cachedBytes);
            if (current + bytes > CapBytes) return false;
            if (Interlocked.CompareExchange(ref s_cachedBytes, current + bytes, current) == current) return true;
        }
    }

    internal static void Release(long bytes) => Interlocked.Add(ref s_cachedBytes, -bytes);
}

/// <summary>The pool of <see cref="ScratchPool"/> for one element type.</summary>
internal static class ScratchPool<T> where T : unmanaged
{
    private static readonly Stack<T[]>[] s_bySize = CreateStacks();

    private static Stack<T[]>[] CreateStacks()
    {
        var stacks = new Stack<T[]>[31];
        for (int i = 0; i < stacks.Length; i++) stacks[i] = new Stack<T[]>(ScratchPool.MaxPerSize);
        return stacks;
    }

    /// <summary>An array of at least <paramref name="minimumLength"/> elements whose contents are garbage.</summary>
    public static T[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        int size = SizeClass(minimumLength);
        var stack = s_bySize[size];
        lock (stack)
        {
            if (stack.TryPop(out var array))
            {
                ScratchPool.Release((long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
                return array;
            }
        }
        return GC.AllocateUninitializedArray<T>(1 << size);
    }

    /// <summary>Gives an array from <see cref="Rent"/> back; the caller must not touch it afterwards.</summary>
    public static void Return(T[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0 || !BitOperations.IsPow2(array.Length)) return;
        var stack = s_bySize[BitOperations.Log2((uint)array.Length)];
        long bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (stack)
        {
            if (stack.Count >= ScratchPool.MaxPerSize || !ScratchPool.TryReserve(bytes)) return;
            stack.Push(array);
        }
    }

    private static int SizeClass(int length)
    {
        int size = length <= 16 ? 4 : BitOperations.Log2((uint)length - 1) + 1;
        if (size > 30) throw new ArgumentOutOfRangeException(nameof(length), length, "ScratchPool: arrays are limited to 2^30 elements.");
        return size;
    }
}
