using System.Numerics;

namespace SharpGrad.Kernels;

/// <summary>
/// A batch sum computed leaf by leaf (<see cref="BatchTree.Sum{T, TJob}"/>): the sum over the items
/// <c>first + i·stride</c> (i &lt; count) written into <c>dst</c>, and how two sums combine.
/// </summary>
internal unsafe interface IBatchLeaves<T> where T : unmanaged
{
    /// <summary>The sum over items <c>first + i·stride</c> (i &lt; <paramref name="count"/>), written (not added) into <paramref name="dst"/>.</summary>
    void Leaf(int first, int stride, int count, T* dst);

    /// <summary><c>dst = dst ⊕ odd</c> element by element over <paramref name="size"/> values (one operation each).</summary>
    void Combine(T* dst, T* odd, int size);
}

/// <summary>
/// The interleaved reduction of a batch: a set of more than <c>leaf</c> items is the sum of its even-positioned items
/// plus that of its odd-positioned ones (one operation per element, even ⊕ odd), recursively; a set of at most
/// <c>leaf</c> items is one leaf, computed by the caller as it likes. The tree is fixed by the item count alone. Its
/// point: a batch of n &gt; leaf items gives bit for bit what its two interleaved halves give computed alone, then
/// added, which is the split <c>DistributedSampler</c> makes between two processes and the sum data-parallel training
/// takes (the loss scalings 1/n and 1/(n/2) are powers of two when n is even, so they do not change the bits). With
/// n ≤ leaf the batch is one leaf and the property is the leaf's own (none, for a running sum). Odd counts stay
/// exact sums in a fixed order: the even-positioned set has one item more.
/// </summary>
internal static unsafe class BatchTree
{
    /// <summary>Items per leaf of the weight gradients' reductions (images of a convolution).</summary>
    internal const int LeafImages = 16;

    /// <summary>
    /// The sum over items <c>first + i·stride</c> (i &lt; <paramref name="count"/>) into <paramref name="dst"/>
    /// (<paramref name="size"/> values), leaves of at most <paramref name="leaf"/> items; the odd halves' sums go to
    /// <paramref name="partials"/>[depth] (grown as needed, kept by the caller for the next call).
    /// </summary>
    public static void Sum<T, TJob>(TJob job, int first, int stride, int count, int leaf, T* dst, int size, ref AlignedBuffer<T>[] partials, int depth = 0)
        where T : unmanaged where TJob : IBatchLeaves<T>
    {
        if (count <= leaf)
        {
            job.Leaf(first, stride, count, dst);
            return;
        }
        int even = (count + 1) / 2;
        Sum(job, first, 2 * stride, even, leaf, dst, size, ref partials, depth + 1);
        if (partials.Length <= depth) partials = AlignedBuffer<T>.Grow(partials, depth + 1);
        T* odd = partials[depth].Get(size);
        Sum(job, first + stride, 2 * stride, count - even, leaf, odd, size, ref partials, depth + 1);
        job.Combine(dst, odd, size);
    }

    /// <summary><c>dst += odd</c> (the combination of sums).</summary>
    public static void Add<T>(T* dst, T* odd, int size) where T : unmanaged, INumberBase<T>
    {
        var total = new Span<T>(dst, size);
        System.Numerics.Tensors.TensorPrimitives.Add(total, new ReadOnlySpan<T>(odd, size), total);
    }
}
