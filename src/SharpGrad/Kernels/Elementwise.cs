using System.Runtime.CompilerServices;
using System.Numerics;

namespace SharpGrad.Kernels;

/// <summary>The broadcasting driver of binary operators (NumPy rules); <see cref="Broadcasting{TOp}"/> adapts an <see cref="IBinaryFunction"/> to it.</summary>
internal static class Elementwise
{
    /// <summary>
    /// <c>d = op(x, y)</c> where x and y are broadcast to <paramref name="outShape"/>. The innermost dimension runs
    /// as one span call (span-span, span-scalar or scalar-span), so the per-element work stays vectorised.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Binary<T, TOp>(ReadOnlySpan<T> x, int[] xShape, ReadOnlySpan<T> y, int[] yShape, Span<T> d, int[] outShape)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOperator
    {
        int n = d.Length;
        if (n == 0) return;
        if (x.Length == n && y.Length == n) { TOp.Invoke(x, y, d); return; }
        if (y.Length == 1 && x.Length == n) { TOp.Invoke(x, y[0], d); return; }
        if (x.Length == 1 && y.Length == n) { TOp.Invoke(x[0], y, d); return; }

        int rank = outShape.Length;
        Span<int> xs = stackalloc int[rank];
        Span<int> ys = stackalloc int[rank];
        BroadcastStrides(xShape, outShape, xs);
        BroadcastStrides(yShape, outShape, ys);

        // Merge the trailing dimensions in which both operands are either contiguous with the output or both
        // broadcast, so that e.g. [N, C, H, W] + [1, C, 1, 1] runs inner loops of length H*W.
        int inner = outShape[rank - 1];
        int xi = xs[rank - 1], yi = ys[rank - 1];
        int split = rank - 1;
        while (split > 0)
        {
            int dsz = outShape[split - 1];
            bool xOk = xi == 0 ? xs[split - 1] == 0 : xs[split - 1] == inner * xi;
            bool yOk = yi == 0 ? ys[split - 1] == 0 : ys[split - 1] == inner * yi;
            if (!xOk || !yOk) break;
            inner *= dsz;
            split--;
        }

        Span<int> index = stackalloc int[Math.Max(split, 1)];
        index.Clear();
        int outer = n / inner;
        for (int o = 0, dOff = 0; o < outer; o++, dOff += inner)
        {
            int xOff = 0, yOff = 0;
            for (int k = 0; k < split; k++) { xOff += index[k] * xs[k]; yOff += index[k] * ys[k]; }
            Span<T> dd = d.Slice(dOff, inner);
            if (xi != 0 && yi != 0) TOp.Invoke(x.Slice(xOff, inner), y.Slice(yOff, inner), dd);
            else if (xi != 0) TOp.Invoke(x.Slice(xOff, inner), y[yOff], dd);
            else if (yi != 0) TOp.Invoke(x[xOff], y.Slice(yOff, inner), dd);
            else TOp.Invoke(x.Slice(xOff, 1), y[yOff], dd.Slice(0, 1)); // both broadcast: compute once, fill
            if (xi == 0 && yi == 0) dd.Fill(dd[0]);
            for (int k = split - 1; k >= 0; k--)
            {
                if (++index[k] < outShape[k]) break;
                index[k] = 0;
            }
        }
    }

    /// <summary>Element strides of <paramref name="shape"/> viewed as <paramref name="outShape"/> (0 where broadcast).</summary>
    public static void BroadcastStrides(int[] shape, int[] outShape, Span<int> strides)
    {
        int rank = outShape.Length, offset = rank - shape.Length, s = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int dim = i - offset >= 0 ? shape[i - offset] : 1;
            strides[i] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
}
