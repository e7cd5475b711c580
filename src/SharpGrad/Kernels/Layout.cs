namespace SharpGrad.Kernels;

/// <summary>Data movement for shape ops: permutation, slicing, concatenation, gathers and scatters.</summary>
internal static class Layout
{
    /// <summary>Copies x (contiguous, shape <paramref name="shape"/>) into y with its dimensions permuted: y.shape[i] = shape[perm[i]].</summary>
    public static void Permute<T>(ReadOnlySpan<T> x, int[] shape, int[] perm, Span<T> y) where T : unmanaged
    {
        int rank = shape.Length;
        if (y.Length == 0) return;
        if (rank == 0) { y[0] = x[0]; return; }
        int[] inStrides = Shapes.ContiguousStrides(shape);
        Span<int> outShape = stackalloc int[rank];
        Span<int> strides = stackalloc int[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[perm[i]]; strides[i] = inStrides[perm[i]]; }
        Span<int> index = stackalloc int[rank];
        index.Clear();
        int innerSize = outShape[rank - 1], innerStride = strides[rank - 1];
        int outer = y.Length / innerSize;
        for (int o = 0, dOff = 0; o < outer; o++, dOff += innerSize)
        {
            int src = 0;
            for (int k = 0; k < rank - 1; k++) src += index[k] * strides[k];
            if (innerStride == 1) x.Slice(src, innerSize).CopyTo(y.Slice(dOff, innerSize));
            else for (int j = 0; j < innerSize; j++) y[dOff + j] = x[src + j * innerStride];
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < outShape[k]) break;
                index[k] = 0;
            }
        }
    }

    /// <summary>
    /// Copies the (outer, size, inner) block x into rows [start, start + size) of the (outer, total, inner) block y,
    /// (the forward of concat and the backward of narrow).
    /// </summary>
    public static void Place<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> y, int total, int start) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice(o * run, run).CopyTo(y.Slice((o * total + start) * inner, run));
    }

    /// <summary>Copies rows [start, start + size) of the (outer, total, inner) block x into y.</summary>
    public static void Slice<T>(ReadOnlySpan<T> x, int outer, int total, int inner, int start, int size, Span<T> y) where T : unmanaged
    {
        int run = size * inner;
        for (int o = 0; o < outer; o++)
            x.Slice((o * total + start) * inner, run).CopyTo(y.Slice(o * run, run));
    }
}
