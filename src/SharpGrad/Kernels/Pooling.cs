using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>Max pooling over each plane of an (N·C, H, W) block: the 2-d forward for windows without ceil-mode overhang, and the backward of every max pooling op.</summary>
internal static class Pooling
{
    /// <summary>Max pooling; records for every output the flat index (within its plane) of the input it took. Padding counts as -inf.</summary>
    public static void MaxForward<T>(ReadOnlySpan<T> x, int planes, in ConvGeometry g, Span<T> y, Span<int> argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutHeight, ow = g.OutWidth, hw = g.Height * g.Width;
        if (IsTwoByTwo(g))
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
                if (typeof(T) == typeof(float) && Avx512F.IsSupported)
                {
                    ox = MaxRow2x2Avx512(MemoryMarshal.Cast<T, float>(x), pl * hw + 2 * oy * w, 2 * oy * w, w, ow,
                        MemoryMarshal.Cast<T, float>(y), argmax, pl * o + oy * ow);
                }
                else if (typeof(T) == typeof(float) && Avx2.IsSupported)
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
    /// Sixteen 2x2 windows of one output row at a time (float, AVX-512): the output row whose top input row starts at
    /// <paramref name="top"/> of <paramref name="x"/> (the bottom row right after it) and at <paramref name="rowBase"/>
    /// of its plane, written at <paramref name="outAt"/> of <paramref name="y"/> and <paramref name="argmax"/>. Each
    /// row's pair is compared first (the right one taken only when strictly larger), then the bottom winner replaces the
    /// top one only when strictly larger: the first maximum in window order, as the scalar code takes it. A block is
    /// done only when its loads stay inside <paramref name="x"/> and it holds no NaN; its stores may run past the row
    /// into outputs that later rows of the same call overwrite, never past <paramref name="y"/>. Returns how many
    /// outputs it wrote; the caller does the rest.
    /// </summary>
    private static unsafe int MaxRow2x2Avx512(ReadOnlySpan<float> x, int top, int rowBase, int w, int ow, Span<float> y, Span<int> argmax, int outAt)
    {
        int ox = 0;
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            float* r0 = px + top, r1 = r0 + w;
            long readable = x.Length - (top + w); // floats from r1 to the end of x
            long writable = Math.Min(y.Length, argmax.Length) - outAt;
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odd = even + Vector512<int>.One;
            var one = Vector512<int>.One;
            var below = Vector512.Create(w);
            for (; ox < ow; ox += 16)
            {
                int ix = 2 * ox;
                if (ix + 32 > readable || ox + 16 > writable) break;
                var a0 = Vector512.Load(r0 + ix);
                var a1 = Vector512.Load(r0 + ix + 16);
                var b0 = Vector512.Load(r1 + ix);
                var b1 = Vector512.Load(r1 + ix + 16);
                if (!(Vector512.EqualsAll(a0, a0) && Vector512.EqualsAll(a1, a1) && Vector512.EqualsAll(b0, b0) && Vector512.EqualsAll(b1, b1)))
                    break; // a NaN: the scalar code applies its propagation rule to the rest of the row
                var topLeft = Avx512F.PermuteVar16x32x2(a0, even, a1);
                var topRight = Avx512F.PermuteVar16x32x2(a0, odd, a1);
                var bottomLeft = Avx512F.PermuteVar16x32x2(b0, even, b1);
                var bottomRight = Avx512F.PermuteVar16x32x2(b0, odd, b1);
                var right = Vector512.GreaterThan(topRight, topLeft);
                var upper = Vector512.ConditionalSelect(right, topRight, topLeft);
                var upperAt = right.AsInt32() & one;
                right = Vector512.GreaterThan(bottomRight, bottomLeft);
                var lower = Vector512.ConditionalSelect(right, bottomRight, bottomLeft);
                var lowerAt = (right.AsInt32() & one) + below;
                var down = Vector512.GreaterThan(lower, upper);
                var best = Vector512.ConditionalSelect(down, lower, upper);
                var at = Vector512.ConditionalSelect(down.AsInt32(), lowerAt, upperAt) + even + Vector512.Create(rowBase + ix);
                best.Store(py + outAt + ox);
                at.Store(pa + outAt + ox);
            }
        }
        return Math.Min(ox, ow);
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

    /// <summary>Whether a blocked geometry is the 2x2, stride-2 window without padding or dilation (non-overlapping windows).</summary>
    public static bool IsTwoByTwo(in ConvGeometry g) =>
        g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilationH: 1, DilationW: 1 };

    /// <summary>
    /// When set, <see cref="MaxBackward2x2{T}"/> stores a row's last partial block of 16 windows under masks in every
    /// case, as before its whole-vector tails (the same values either way). Process-wide: bench's
    /// <c>--old-pool-tail 1</c>, for in-binary A/B; set it before any work.
    /// </summary>
    internal static bool MaskedTailStores;

    /// <summary>
    /// <see cref="MaxBackward{T}"/> for 2x2 windows at stride 2 (<see cref="IsTwoByTwo"/>) over planes of h x w: the
    /// windows do not overlap, so every input is written once, with its window's gradient when it won (as
    /// <c>0 + g</c>, the value the clear-then-add kernel leaves) and zero otherwise; the row and column no window covers
    /// (odd h or w) are zero. No separate clearing pass. <paramref name="gx"/> may hold anything.
    /// </summary>
    public static unsafe void MaxBackward2x2<T>(ReadOnlySpan<T> gy, ReadOnlySpan<int> argmax, int planes, int h, int w, Span<T> gx)
        where T : unmanaged, INumber<T>
    {
        int oh = h / 2, ow = w / 2, hw = h * w, o = oh * ow;
        fixed (T* pgy = gy, pgx = gx)
        fixed (int* pam = argmax)
        {
            long outLen = Math.Min(gy.Length, argmax.Length);
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            var high = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            var rightAt = Vector512<int>.One;
            var belowAt = Vector512.Create(w);
            var belowRightAt = Vector512.Create(w + 1);
            var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            for (int pl = 0; pl < planes; pl++)
            {
                T* gp = pgx + (nint)pl * hw;
                for (int oy = 0; oy < oh; oy++)
                {
                    int top = 2 * oy * w, outAt = pl * o + oy * ow;
                    T* t = gp + top, b = t + w;
                    T* g = pgy + outAt;
                    int* a = pam + outAt;
                    int ox = 0;
                    if (typeof(T) == typeof(float) && Avx512F.IsSupported)
                    {
                        // 16 windows at a time (their gradients and argmax read up to 16 ahead, within the spans); the
                        // 32 inputs of each row are stored whole when the block is, else under a mask.
                        for (; ox < ow && outAt + ox + 16 <= outLen; ox += 16)
                        {
                            var v = Vector512.Load((float*)g + ox) + Vector512<float>.Zero;
                            var at = Vector512.Load(a + ox) - (even + Vector512.Create(top + 2 * ox));
                            var tl = Vector512.ConditionalSelect(Vector512.Equals(at, Vector512<int>.Zero).AsSingle(), v, Vector512<float>.Zero);
                            var tr = Vector512.ConditionalSelect(Vector512.Equals(at, rightAt).AsSingle(), v, Vector512<float>.Zero);
                            var bl = Vector512.ConditionalSelect(Vector512.Equals(at, belowAt).AsSingle(), v, Vector512<float>.Zero);
                            var br = Vector512.ConditionalSelect(Vector512.Equals(at, belowRightAt).AsSingle(), v, Vector512<float>.Zero);
                            var topLow = Avx512F.PermuteVar16x32x2(tl, low, tr);
                            var topHigh = Avx512F.PermuteVar16x32x2(tl, high, tr);
                            var bottomLow = Avx512F.PermuteVar16x32x2(bl, low, br);
                            var bottomHigh = Avx512F.PermuteVar16x32x2(bl, high, br);
                            float* td = (float*)t + 2 * ox, bd = (float*)b + 2 * ox;
                            if (ox + 16 <= ow)
                            {
                                topLow.Store(td); topHigh.Store(td + 16);
                                bottomLow.Store(bd); bottomHigh.Store(bd + 16);
                            }
                            else if (!MaskedTailStores && (ow - ox) % 4 == 0)
                            {
                                // The block's last windows are past the row: its 2 (ow − ox) inputs a row (8, 16 or 24:
                                // the CNN's 12- and 4-wide maps) as whole vectors, no masked stores, which were most of
                                // this kernel's time on Zen 5 (stores to lines not in cache).
                                int inputs = 2 * (ow - ox);
                                if (inputs >= 16)
                                {
                                    topLow.Store(td); bottomLow.Store(bd);
                                    if (inputs == 24) { topHigh.GetLower().Store(td + 16); bottomHigh.GetLower().Store(bd + 16); }
                                }
                                else { topLow.GetLower().Store(td); bottomLow.GetLower().Store(bd); }
                            }
                            else
                            {
                                // The block's last windows are past the row: only its 2 (ow − ox) inputs a row are stored.
                                var n = Vector512.Create(2 * (ow - ox));
                                var first = Vector512.LessThan(lane, n).AsSingle();
                                var second = Vector512.LessThan(lane + Vector512.Create(16), n).AsSingle();
                                Avx512F.MaskStore(td, first, topLow); Avx512F.MaskStore(td + 16, second, topHigh);
                                Avx512F.MaskStore(bd, first, bottomLow); Avx512F.MaskStore(bd + 16, second, bottomHigh);
                            }
                        }
                        ox = Math.Min(ox, ow);
                    }
                    for (; ox < ow; ox++)
                    {
                        int at = a[ox] - (top + 2 * ox);
                        T v = T.Zero + g[ox];
                        t[2 * ox] = at == 0 ? v : T.Zero;
                        t[2 * ox + 1] = at == 1 ? v : T.Zero;
                        b[2 * ox] = at == w ? v : T.Zero;
                        b[2 * ox + 1] = at == w + 1 ? v : T.Zero;
                    }
                    if ((w & 1) != 0) { t[w - 1] = T.Zero; b[w - 1] = T.Zero; }
                }
                if ((h & 1) != 0) new Span<T>(gp + (h - 1) * w, w).Clear();
            }
        }
    }

    /// <summary>
    /// Routes each output gradient to the input that won its window (<paramref name="argmax"/>: an index within the
    /// plane, -1 for none). <paramref name="gx"/> may hold anything: each plane is cleared just before its gradients are added, by the
    /// thread that adds them, so the clearing is split over the cores with the rest and the plane is still in cache
    /// when the adds arrive.
    /// </summary>
    public static void MaxBackward<T>(ReadOnlySpan<T> gy, ReadOnlySpan<int> argmax, int planes, int inPlane, int outPlane, Span<T> gx)
        where T : unmanaged, INumber<T>
    {
        for (int pl = 0; pl < planes; pl++)
        {
            Span<T> gp = gx.Slice(pl * inPlane, inPlane);
            gp.Clear();
            ReadOnlySpan<T> g = gy.Slice(pl * outPlane, outPlane);
            ReadOnlySpan<int> a = argmax.Slice(pl * outPlane, outPlane);
            for (int i = 0; i < g.Length; i++)
                if (a[i] >= 0) gp[a[i]] += g[i];   // -1: a window wholly in the padding (dilation) took nothing
        }
    }
}
