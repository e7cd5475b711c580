using System.Numerics;

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
/// </summary>
internal static class Im2Col
{
    /// <param name="image">One image [C, H, W].</param>
    /// <param name="g">The geometry.</param>
    /// <param name="cols">The column matrix; row r of this image starts at <c>r * ld + offset</c>, so a whole batch can share one matrix.</param>
    /// <param name="ld">Row stride of <paramref name="cols"/> (at least the number of output positions).</param>
    /// <param name="offset">Column where this image's output positions start.</param>
    public static void Forward<T>(ReadOnlySpan<T> image, in ConvGeometry g, Span<T> cols, int ld, int offset) where T : unmanaged, INumber<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;
        int row = 0;
        for (int c = 0; c < g.Channels; c++)
        {
            ReadOnlySpan<T> plane = image.Slice(c * g.Height * g.Width, g.Height * g.Width);
            for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++, row++)
                {
                    Span<T> dst = cols.Slice(row * ld + offset, p);
                    int dy = ky * g.DilationH - g.PadH, dx = kx * g.DilationW - g.PadW;
                    for (int y = 0; y < oh; y++)
                    {
                        int iy = y * g.StrideH + dy;
                        Span<T> drow = dst.Slice(y * ow, ow);
                        if ((uint)iy >= (uint)g.Height) { drow.Clear(); continue; }
                        ReadOnlySpan<T> srow = plane.Slice(iy * g.Width, g.Width);
                        if (g.StrideW == 1 && dx >= 0 && dx + ow <= g.Width) { srow.Slice(dx, ow).CopyTo(drow); continue; }
                        for (int x = 0; x < ow; x++)
                        {
                            int ix = x * g.StrideW + dx;
                            drow[x] = (uint)ix < (uint)g.Width ? srow[ix] : T.Zero;
                        }
                    }
                }
        }
    }

    /// <summary>Adds the column matrix back into the image (the adjoint of <see cref="Forward{T}"/>).</summary>
    public static void Backward<T>(ReadOnlySpan<T> cols, in ConvGeometry g, Span<T> image, int ld, int offset) where T : unmanaged, INumber<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;
        int row = 0;
        for (int c = 0; c < g.Channels; c++)
        {
            Span<T> plane = image.Slice(c * g.Height * g.Width, g.Height * g.Width);
            for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++, row++)
                {
                    ReadOnlySpan<T> src = cols.Slice(row * ld + offset, p);
                    int dy = ky * g.DilationH - g.PadH, dx = kx * g.DilationW - g.PadW;
                    for (int y = 0; y < oh; y++)
                    {
                        int iy = y * g.StrideH + dy;
                        if ((uint)iy >= (uint)g.Height) continue;
                        Span<T> drow = plane.Slice(iy * g.Width, g.Width);
                        ReadOnlySpan<T> srow = src.Slice(y * ow, ow);
                        for (int x = 0; x < ow; x++)
                        {
                            int ix = x * g.StrideW + dx;
                            if ((uint)ix < (uint)g.Width) drow[ix] += srow[x];
                        }
                    }
                }
        }
    }
}

/// <summary>Max and average pooling over each plane of an (N·C, H, W) block.</summary>
internal static class Pooling
{
    /// <summary>Max pooling; records for every output the flat index (within its plane) of the input it took. Padding counts as -inf.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> x, int planes, in ConvGeometry g, Span<T> y, Span<int> argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, hw = g.Height * g.Width;
        for (int pl = 0; pl < planes; pl++)
        {
            ReadOnlySpan<T> plane = x.Slice(pl * hw, hw);
            int outBase = pl * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    T best = T.NegativeInfinity;
                    int bestIndex = -1;
                    for (int ky = 0; ky < g.KernelH; ky++)
                    {
                        int iy = oy * g.StrideH - g.PadH + ky * g.DilationH;
                        if ((uint)iy >= (uint)g.Height) continue;
                        for (int kx = 0; kx < g.KernelW; kx++)
                        {
                            int ix = ox * g.StrideW - g.PadW + kx * g.DilationW;
                            if ((uint)ix >= (uint)g.Width) continue;
                            T v = plane[iy * g.Width + ix];
                            if (v > best || bestIndex < 0 || T.IsNaN(v)) { best = v; bestIndex = iy * g.Width + ix; if (T.IsNaN(v)) goto done; }
                        }
                    }
                done:
                    y[outBase + oy * ow + ox] = best;
                    argmax[outBase + oy * ow + ox] = bestIndex;
                }
        }
    }

    public static void MaxBackward<T>(ReadOnlySpan<T> gy, ReadOnlySpan<int> argmax, int planes, in ConvGeometry g, Span<T> gx) where T : unmanaged, INumber<T>
    {
        int o = g.OutHeight * g.OutWidth, hw = g.Height * g.Width;
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < o; i++)
            {
                int idx = argmax[pl * o + i];
                if (idx >= 0) gx[pl * hw + idx] += gy[pl * o + i];
            }
    }

    /// <summary>
    /// Average pooling; the divisor is kh·kw including padded positions (PyTorch's default count_include_pad=True),
    /// so <paramref name="backward"/> spreads each output gradient equally over the window's real inputs.
    /// </summary>
    public static void Average<T>(ReadOnlySpan<T> src, int planes, in ConvGeometry g, Span<T> dst, bool backward) where T : unmanaged, INumber<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, hw = g.Height * g.Width;
        T scale = T.One / T.CreateChecked(g.KernelH * g.KernelW);
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int o = pl * oh * ow + oy * ow + ox;
                    T acc = T.Zero;
                    T share = backward ? src[o] * scale : T.Zero;
                    for (int ky = 0; ky < g.KernelH; ky++)
                    {
                        int iy = oy * g.StrideH - g.PadH + ky * g.DilationH;
                        if ((uint)iy >= (uint)g.Height) continue;
                        for (int kx = 0; kx < g.KernelW; kx++)
                        {
                            int ix = ox * g.StrideW - g.PadW + kx * g.DilationW;
                            if ((uint)ix >= (uint)g.Width) continue;
                            int i = pl * hw + iy * g.Width + ix;
                            if (backward) dst[i] += share;
                            else acc += src[i];
                        }
                    }
                    if (!backward) dst[o] = acc * scale;
                }
    }
}
