using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>Which reduction <see cref="Reduce.Dim{T}"/> computes.</summary>
internal enum ReduceKind { Sum, Max, Min }

/// <summary>Reductions over one dimension of a contiguous (outer, size, inner) block.</summary>
internal static class Reduce
{
    /// <summary>All-element reduction.</summary>
    public static T All<T>(ReadOnlySpan<T> x, ReduceKind kind) where T : unmanaged, IFloatingPointIeee754<T> => kind switch
    {
        ReduceKind.Sum => Vec.Sum(x),
        ReduceKind.Max => Vec.Max(x),
        _ => Vec.Min(x),
    };

    /// <summary>
    /// <c>d[o, i] = reduce_j x[o, j, i]</c>. With inner == 1 each row reduces in one vectorised call; otherwise whole
    /// rows of length inner are combined, which keeps the loop vectorised along the inner dimension.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dim<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> d, ReduceKind kind)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (size == 0)
        {
            if (kind != ReduceKind.Sum) throw new ArgumentException("Cannot take the max or min over an empty dimension.");
            d.Clear();
            return;
        }
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<T> block = x.Slice(o * size * inner, size * inner);
            Span<T> dst = d.Slice(o * inner, inner);
            if (inner == 1) { dst[0] = All(block, kind); continue; }
            block.Slice(0, inner).CopyTo(dst);
            for (int j = 1; j < size; j++)
            {
                ReadOnlySpan<T> row = block.Slice(j * inner, inner);
                switch (kind)
                {
                    case ReduceKind.Sum: Vec.Add(dst, row, dst); break;
                    case ReduceKind.Max: Vec.Max(dst, row, dst); break;
                    default: Vec.Min(dst, row, dst); break;
                }
            }
        }
    }

    /// <summary>
    /// <c>d += g</c> summed down to <paramref name="shape"/>, where <paramref name="gShape"/> is <paramref name="shape"/>
    /// broadcast (extra leading dimensions, or sizes 1 grown): every element of g is added to the element of d it was
    /// broadcast from. d must be zeroed by the caller. Trailing dimensions that d keeps (or broadcasts) together are
    /// merged into one run, which is added as a vector (or summed to one value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumTo<T>(ReadOnlySpan<T> g, int[] gShape, Span<T> d, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.Length;
        if (n == 0) return;
        int rank = gShape.Length;
        if (d.Length == 1) { d[0] += Vec.Sum(g); return; }
        Span<int> ds = stackalloc int[rank];
        Elementwise.BroadcastStrides(shape, gShape, ds);
        int inner = gShape[rank - 1], di = ds[rank - 1], split = rank - 1;
        while (split > 0)
        {
            bool ok = di == 0 ? ds[split - 1] == 0 : ds[split - 1] == inner * di;
            if (!ok) break;
            inner *= gShape[split - 1];
            split--;
        }
        Span<int> index = stackalloc int[Math.Max(split, 1)];
        index.Clear();
        int outer = n / inner;
        for (int o = 0, gOff = 0; o < outer; o++, gOff += inner)
        {
            int dOff = 0;
            for (int k = 0; k < split; k++) dOff += index[k] * ds[k];
            ReadOnlySpan<T> run = g.Slice(gOff, inner);
            if (di != 0)
            {
                Span<T> dst = d.Slice(dOff, inner);
                if (inner < 8) for (int i = 0; i < inner; i++) dst[i] += run[i];
                else Vec.Add(dst, run, dst);
            }
            else d[dOff] += inner == 1 ? run[0] : Vec.Sum(run);
            for (int k = split - 1; k >= 0; k--)
            {
                if (++index[k] < gShape[k]) break;
                index[k] = 0;
            }
        }
    }

    /// <summary>Index of the first maximum along the middle dimension; NaN counts as the maximum, as in PyTorch.</summary>
    public static void ArgMax<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<long> d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (size == 0) throw new ArgumentException("ArgMax: the reduced dimension is empty.");
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<T> block = x.Slice(o * size * inner, size * inner);
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                T bestValue = block[i];
                if (!T.IsNaN(bestValue))
                {
                    for (int j = 1; j < size; j++)
                    {
                        T v = block[j * inner + i];
                        if (T.IsNaN(v)) { best = j; break; }
                        if (v > bestValue) { best = j; bestValue = v; }
                    }
                }
                d[o * inner + i] = best;
            }
        }
    }
}
