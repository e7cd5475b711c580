using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpGrad.Kernels;

/// <summary>Geometry of a 2-D convolution or pooling window over one image plane.</summary>
internal readonly record struct ConvGeometry(int Channels, int Height, int Width, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW)
{
    public int OutHeight => (Height + 2 * PadH - DilationH * (KernelH - 1) - 1) / StrideH + 1;
    public int OutWidth => (Width + 2 * PadW - DilationW * (KernelW - 1) - 1) / StrideW + 1;
    /// <summary>Rows of the column matrix: one per (channel, kernel row, kernel column).</summary>
    public int ColumnRows => Channels * KernelH * KernelW;
    /// <summary>Columns of the column matrix: one per output position.</summary>
    public int ColumnCols => OutHeight * OutWidth;
}

/// <summary>
/// im2col and col2im: convolution as a matrix product. The column matrix has one row per (channel, ky, kx) and one
/// column per output position, so out[O, P] = W[O, C·kh·kw] · cols[C·kh·kw, P]; col2im is its adjoint and accumulates.
/// A batch shares one matrix: image i owns columns [i·P, (i+1)·P), so the whole batch is one GEMM.
/// </summary>
internal static class Im2Col
{
    /// <summary>
    /// The output columns [x0, x1) whose input column x·stride + dx lies inside [0, width); the others read padding.
    /// </summary>
    private static (int X0, int X1) InsideColumns(int dx, int width, int ow, int strideW)
    {
        int x0 = dx >= 0 ? 0 : Math.Min(ow, (-dx + strideW - 1) / strideW);
        int x1 = dx > width - 1 ? x0 : Math.Max(x0, Math.Min(ow, (width - 1 - dx) / strideW + 1));
        return (x0, x1);
    }

    internal static void Fill<T>(ref T row, int from, int to) where T : unmanaged, INumber<T>
    {
        for (int i = from; i < to; i++) Unsafe.Add(ref row, i) = T.Zero;
    }

    /// <summary>Copies a short row (a convolution's output width) with whole vectors where it can.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy<T>(ref T src, ref T dst, int length) where T : unmanaged
    {
        int width = Vector<T>.Count;
        if (length < width)
        {
            for (int j = 0; j < length; j++) Unsafe.Add(ref dst, j) = Unsafe.Add(ref src, j);
            return;
        }
        // Whole vectors, the last one ending exactly at the row's end (it may overlap the one before: a copy can).
        int i = 0;
        for (; i < length - width; i += width)
            Vector.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
        Vector.LoadUnsafe(ref src, (nuint)(length - width)).StoreUnsafe(ref dst, (nuint)(length - width));
    }

    /// <summary>Adds the columns of images [first, last) back into them (col2im, the adjoint of im2col).</summary>
    public static void Backward<T>(ReadOnlySpan<T> cols, in ConvGeometry g, Span<T> images, int ld, int first, int last) where T : unmanaged, INumber<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, p = oh * ow, width = g.Width, height = g.Height, strideW = g.StrideW;
        int imageSize = g.Channels * height * width;
        if (images.Length < (long)last * imageSize || cols.Length < (long)(g.ColumnRows - 1) * ld + (long)last * p)
            throw new ArgumentException("Im2Col: the images or the column matrix are too small for the geometry.");
        ref T img = ref MemoryMarshal.GetReference(images);
        ref T col = ref MemoryMarshal.GetReference(cols);
        int row = 0;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++, row++)
                {
                    int dy = ky * g.DilationH - g.PadH, dx = kx * g.DilationW - g.PadW;
                    var (x0, x1) = InsideColumns(dx, width, ow, strideW);
                    for (int i = first; i < last; i++)
                    {
                        int planeStart = i * imageSize + c * height * width;
                        ref T src = ref Unsafe.Add(ref col, row * ld + i * p);
                        for (int y = 0; y < oh; y++)
                        {
                            int iy = y * g.StrideH + dy;
                            if ((uint)iy >= (uint)height) continue;
                            ref T srow = ref Unsafe.Add(ref src, y * ow);
                            int dstStart = planeStart + iy * width + x0 * strideW + dx;
                            if (strideW == 1) AddInto(ref Unsafe.Add(ref srow, x0), ref Unsafe.Add(ref img, dstStart), x1 - x0);
                            else for (int xo = x0, ix = dstStart; xo < x1; xo++, ix += strideW) Unsafe.Add(ref img, ix) += Unsafe.Add(ref srow, xo);
                        }
                    }
                }
    }

    /// <summary><c>dst += src</c> for the short rows of a convolution (a TensorPrimitives call costs more than the work).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInto<T>(ref T src, ref T dst, int length) where T : unmanaged, INumber<T>
    {
        int i = 0;
        for (; i <= length - Vector<T>.Count; i += Vector<T>.Count)
            (Vector.LoadUnsafe(ref dst, (nuint)i) + Vector.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        for (; i < length; i++) Unsafe.Add(ref dst, i) += Unsafe.Add(ref src, i);
    }
}
