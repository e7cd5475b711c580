using System.Numerics;
using System.Runtime.CompilerServices;

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
/// Row helpers of the implicit im2col kernels (<see cref="ImplicitConv"/>): the column matrix has one row per
/// (channel, ky, kx) and one column per output position, and is never stored whole.
/// </summary>
internal static class Im2Col
{
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
}
