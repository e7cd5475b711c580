using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

/// <summary>Max and average pooling over each plane of an (N·C, H, W) block.</summary>
internal static class Pooling
{
    /// <summary>Max pooling; records for every output the flat index (within its plane) of the input it took. Padding counts as -inf.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> x, int planes, in ConvGeometry g, Span<T> y, Span<int> argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, hw = g.Height * g.Width;
        if (g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilationH: 1, DilationW: 1 })
        {
            MaxForward2x2(x, planes, g.Height, g.Width, oh, ow, y, argmax);
            return;
        }
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

    /// <summary>The common 2x2 window at stride 2 without padding or dilation: no bounds tests, four candidates.</summary>
    private static void MaxForward2x2<T>(ReadOnlySpan<T> x, int planes, int h, int w, int oh, int ow, Span<T> y, Span<int> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hw = h * w, o = oh * ow;
        for (int pl = 0; pl < planes; pl++)
        {
            ReadOnlySpan<T> plane = x.Slice(pl * hw, hw);
            Span<T> yp = y.Slice(pl * o, o);
            Span<int> ap = argmax.Slice(pl * o, o);
            for (int oy = 0; oy < oh; oy++)
            {
                ReadOnlySpan<T> r0 = plane.Slice(2 * oy * w, w), r1 = plane.Slice((2 * oy + 1) * w, w);
                int ox = 0;
                if (typeof(T) == typeof(float) && Avx2.IsSupported)
                    ox = MaxRow2x2Avx2(MemoryMarshal.Cast<T, float>(r0), MemoryMarshal.Cast<T, float>(r1), ow, w, 2 * oy * w,
                        MemoryMarshal.Cast<T, float>(yp.Slice(oy * ow, ow)), ap.Slice(oy * ow, ow),
                        x.Length - (pl * hw + (2 * oy + 1) * w));
                for (; ox < ow; ox++)
                {
                    int ix = 2 * ox, top = 2 * oy * w + ix;
                    T best = r0[ix];
                    int bi = top;
                    Take(ref best, ref bi, r0[ix + 1], top + 1);
                    Take(ref best, ref bi, r1[ix], top + w);
                    Take(ref best, ref bi, r1[ix + 1], top + w + 1);
                    yp[oy * ow + ox] = best;
                    ap[oy * ow + ox] = bi;
                }
            }
        }
    }

    /// <summary>
    /// Eight 2x2 windows of one output row at a time (float, AVX2); returns how many outputs it wrote, the rest (a tail,
    /// or a block holding a NaN, whose propagation rule the scalar code keeps) is left to the caller. Candidates are
    /// taken in window order with a strict comparison, so ties go to the first, exactly as the scalar code.
    /// </summary>
    private static int MaxRow2x2Avx2(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, int ow, int w, int top, Span<float> y, Span<int> argmax,
        int readable)
    {
        ref float p0 = ref MemoryMarshal.GetReference(r0);
        ref float p1 = ref MemoryMarshal.GetReference(r1);
        var lanes = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var one = Vector256.Create(1);
        var below = Vector256.Create(w);
        int ox = 0;
        Span<float> bestTail = stackalloc float[8];
        Span<int> indexTail = stackalloc int[8];
        // Whole blocks of 8 windows, then a last partial block when its 16-float loads stay inside the input (they may
        // read into the next row: those lanes are computed and dropped).
        for (; ox < ow && (ox + 8 <= ow || 2 * ox + 16 <= readable); ox += 8)
        {
            int ix = 2 * ox;
            var a0 = Vector256.LoadUnsafe(ref p0, (nuint)ix);
            var a1 = Vector256.LoadUnsafe(ref p0, (nuint)(ix + 8));
            var b0 = Vector256.LoadUnsafe(ref p1, (nuint)ix);
            var b1 = Vector256.LoadUnsafe(ref p1, (nuint)(ix + 8));
            var ordered = Avx.CompareOrdered(a0, a1) & Avx.CompareOrdered(b0, b1);
            if (Avx.MoveMask(ordered) != 0xFF) break; // a NaN: the scalar code handles the rest of the row
            // Even and odd columns of each row; lanes come out as windows 0,1,4,5,2,3,6,7 (fixed below).
            var topLeft = Avx.Shuffle(a0, a1, 0x88);
            var topRight = Avx.Shuffle(a0, a1, 0xDD);
            var bottomLeft = Avx.Shuffle(b0, b1, 0x88);
            var bottomRight = Avx.Shuffle(b0, b1, 0xDD);
            var best = topLeft;
            var which = Vector256<int>.Zero; // 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right
            var m = Avx.CompareGreaterThan(topRight, best);
            best = Avx.BlendVariable(best, topRight, m);
            which = Avx2.BlendVariable(which, one, m.AsInt32());
            m = Avx.CompareGreaterThan(bottomLeft, best);
            best = Avx.BlendVariable(best, bottomLeft, m);
            which = Avx2.BlendVariable(which, Vector256.Create(2), m.AsInt32());
            m = Avx.CompareGreaterThan(bottomRight, best);
            best = Avx.BlendVariable(best, bottomRight, m);
            which = Avx2.BlendVariable(which, Vector256.Create(3), m.AsInt32());
            // Back to window order: 64-bit lanes (0, 2, 1, 3).
            best = Avx2.Permute4x64(best.AsDouble(), 0b11_01_10_00).AsSingle();
            which = Avx2.Permute4x64(which.AsInt64(), 0b11_01_10_00).AsInt32();
            var index = Vector256.Create(top + ix) + lanes + (which & one) + Avx2.ShiftRightLogical(which, 1) * below;
            if (ox + 8 <= ow)
            {
                best.StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)ox);
                index.StoreUnsafe(ref MemoryMarshal.GetReference(argmax), (nuint)ox);
            }
            else
            {
                best.StoreUnsafe(ref MemoryMarshal.GetReference(bestTail));
                index.StoreUnsafe(ref MemoryMarshal.GetReference(indexTail));
                bestTail[..(ow - ox)].CopyTo(y[ox..]);
                indexTail[..(ow - ox)].CopyTo(argmax[ox..]);
            }
        }
        return Math.Min(ox, ow);
    }

    /// <summary>Takes v if it is larger, or NaN, unless a NaN was already taken (the first NaN wins, as in PyTorch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take<T>(ref T best, ref int bestIndex, T v, int index) where T : IFloatingPointIeee754<T>
    {
        if (!(v <= best) && !T.IsNaN(best)) { best = v; bestIndex = index; }
    }

    /// <summary>
    /// Routes each output gradient to the input that won its window. <paramref name="gx"/> may hold anything: each plane
    /// is cleared just before its gradients are added, by the thread that adds them, so the clearing is split over the
    /// cores with the rest and the plane is still in cache when the adds arrive.
    /// </summary>
    public static void MaxBackward<T>(ReadOnlySpan<T> gy, ReadOnlySpan<int> argmax, int planes, in ConvGeometry g, Span<T> gx) where T : unmanaged, INumber<T>
    {
        int o = g.OutHeight * g.OutWidth, hw = g.Height * g.Width;
        for (int pl = 0; pl < planes; pl++)
        {
            gx.Slice(pl * hw, hw).Clear();
            for (int i = 0; i < o; i++)
            {
                int idx = argmax[pl * o + i];
                if (idx >= 0) gx[pl * hw + idx] += gy[pl * o + i];
            }
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
