using System.Runtime.InteropServices;

namespace SharpGrad;

/// <summary>
/// A parameter whose current values a replayed data-parallel step keeps in memory the wrapper owns (its image in a
/// shared window) rather than in the parameter's array: the step updates this process's range there and the other
/// processes write theirs there, and the plan's matrix products read the parameter there
/// (<see cref="GemmInstruction{T}.RedirectInputB"/>) while <see cref="Current"/>. The array is brought up to date when
/// anything outside the plan asks for the tensor's storage (<see cref="Tensor.DeferData"/>), or before another plan runs
/// (<see cref="WritePendingExcept"/>); from then on the array is the parameter again (<see cref="Current"/> false) until
/// the wrapper's next step has written the whole image.
/// </summary>
internal sealed unsafe class ParameterImage(Tensor tensor, Array array, nint address)
{
    private static readonly List<ParameterImage> s_pending = [];
    private static readonly object s_lock = new();

    /// <summary>How many times an image was copied into its array so far (every image, this process).</summary>
    internal static long Writes;

    /// <summary>How many images hold values their arrays do not have yet (read without the lock as a hint).</summary>
    internal static int PendingCount;

    /// <summary>The parameter.</summary>
    public Tensor Tensor => tensor;

    /// <summary>The parameter's array (the tensor's storage).</summary>
    public Array Array => array;

    /// <summary>The address of the parameter's element 0 in the image; the array's length is valid from there.</summary>
    public nint Address => address;

    /// <summary>Whether the image holds the parameter's current values (the plan's products read it there).</summary>
    public bool Current { get; private set; }

    /// <summary>Whether the array lacks values the image has (<see cref="Write"/> copies them).</summary>
    public bool Pending { get; private set; }

    /// <summary>
    /// Called by the wrapper once its step has written the whole image: the image is the parameter, the array is behind
    /// until the tensor's storage is asked for.
    /// </summary>
    public void MarkCurrent()
    {
        Current = true;
        lock (s_lock)
        {
            if (Pending) return;
            Pending = true;
            s_pending.Add(this);
            Interlocked.Increment(ref PendingCount);
            tensor.DeferData(this);
        }
    }

    /// <summary>
    /// Copies the image into the array if it is behind; the array is the parameter from then on. Under the lock, so a
    /// second thread asking for the same parameter at once waits for the copy instead of reading the array half-written.
    /// </summary>
    public void Write()
    {
        Current = false;
        lock (s_lock)
        {
            if (!Pending) return;
            Pending = false;
            s_pending.Remove(this);
            Interlocked.Decrement(ref PendingCount);
            Interlocked.Increment(ref Writes);
            var bytes = array switch
            {
                float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
                double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
                _ => throw new InvalidOperationException("ParameterImage: only float32 and float64 parameters."),
            };
            new ReadOnlySpan<byte>((void*)address, bytes.Length).CopyTo(bytes);
        }
    }

    /// <summary>
    /// Before a plan replays: writes every pending image except those in <paramref name="handled"/> (the images the
    /// plan's own products read), since the plan reads those parameters' arrays. Allocates nothing.
    /// </summary>
    internal static void WritePendingExcept(ParameterImage[] handled)
    {
        if (Volatile.Read(ref PendingCount) == 0) return;
        lock (s_lock)
        {
            for (int i = s_pending.Count - 1; i >= 0; i--)
            {
                if (i >= s_pending.Count) continue;
                var image = s_pending[i];
                if (System.Array.IndexOf(handled, image) < 0) image.WriteIntoArray();
            }
        }
    }

    /// <summary>Writes the image into the array if it is behind, through the tensor (whose deferral is cleared too).</summary>
    public void WriteIntoArray() => tensor.WriteDeferredData();
}
