using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>
/// Convolution as a GEMM whose column (im2col) operand is never stored: the blocks of it that the micro-kernel needs
/// are gathered straight from the images into the packed layout, in L1, just before use. Compared with building the
/// column matrix in memory (a 5x5 convolution's is 25 times its input) this removes a write and a read of the whole
/// matrix per pass, which for the small channel counts of the models trained on one machine cost as much as the
/// arithmetic. Three products, each over a batch of images [C, H, W] stored back to back:
/// <list type="bullet">
/// <item><see cref="Forward{T}"/>: y_i = W · cols(x_i) (+ bias), written straight into the [N, O, OH, OW] output;</item>
/// <item><see cref="WeightGradient{T}"/>: gW = Σ_i gy_i · cols(x_i)ᵀ;</item>
/// <item><see cref="InputGradient{T}"/> (stride 1): gx_i = the convolution of gy_i with the flipped, transposed
/// weights, a forward pass of its own, so no column matrix is scattered back either.</item>
/// </list>
/// Every element of a result is one sequence of operations fixed by the shapes (threads split output pixels, or
/// columns or rows of the weight gradient, never a sum), so results do not depend on the thread count.
/// </summary>
internal static unsafe class ImplicitConv
{
    /// <summary>
    /// When set, the forward's whole tiles are stored by the micro-kernel and the bias is then added to them in a pass of
    /// its own, as before the bias went into the kernel's store (<see cref="IGemmKernel{T}.Run"/>'s row bias): the same
    /// two roundings, so the same bits. Process-wide (the pool's threads run the tiles): bench's <c>--old-conv-bias 1</c>,
    /// for in-binary A/B; set it before any work.
    /// </summary>
    internal static bool BiasAfterStore;

    /// <summary>
    /// Whether the forward asks for the next strip's output lines (every channel's run of it) before it computes a strip
    /// (bench's <c>--conv-out-prefetch 0|1</c>; on by default): a first layer's output is written once per step and is
    /// not in cache, and the kernel's own request for its tile comes only a few hundred cycles before the stores. A hint:
    /// the same bits either way. Process-wide; set it before any work.
    /// </summary>
    internal static bool PrefetchNextOutput = true;

    /// <summary>
    /// <c>y[i, o] = bias[o] + Σ_r W[o, r] cols(x_i)[r, :]</c> for the <paramref name="count"/> images of
    /// <paramref name="x"/>; W is [O, C·kh·kw] row-major, bias may be null.
    /// </summary>
    public static void Forward<T>(T* x, int count, in ConvGeometry g, T* w, int outC, T* bias, T* y, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Winograd.Applies<T>(g, outC))
        {
            Winograd.Forward((float*)x, count, g, (float*)w, outC, (float*)bias, (float*)y, threads);
            return;
        }
        if (Vector512.IsHardwareAccelerated) ForwardJob<T, GemmKernel512<T>>.Run(x, count, g, w, outC, bias, y, threads);
        else if (Vector256.IsHardwareAccelerated) ForwardJob<T, GemmKernel256<T>>.Run(x, count, g, w, outC, bias, y, threads);
        else ForwardJob<T, GemmKernelScalar<T>>.Run(x, count, g, w, outC, bias, y, threads);
    }

    /// <summary><c>gW[o, r] = Σ_i Σ_p gy[i, o, p] cols(x_i)[r, p]</c>, overwriting <paramref name="gw"/> ([O, C·kh·kw]).</summary>
    public static void WeightGradient<T>(T* x, T* gy, int count, in ConvGeometry g, int outC, T* gw, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count == 0) { new Span<T>(gw, outC * g.ColumnRows).Clear(); return; }
        if (Winograd.WeightGradientApplies<T>(g, outC))
        {
            Winograd.WeightGradient((float*)x, (float*)gy, count, g, outC, (float*)gw, threads);
            return;
        }
        if (Vector512.IsHardwareAccelerated) WeightGradientJob<T, GemmKernel512<T>>.Run(x, gy, count, g, outC, gw, threads);
        else if (Vector256.IsHardwareAccelerated) WeightGradientJob<T, GemmKernel256<T>>.Run(x, gy, count, g, outC, gw, threads);
        else WeightGradientJob<T, GemmKernelScalar<T>>.Run(x, gy, count, g, outC, gw, threads);
    }

    /// <summary>
    /// Whether <see cref="InputGradient{T}"/> applies and pays: stride 1 (the input gradient is then itself a
    /// convolution, of the output gradient padded by dilation·(k − 1) − padding, which must not be negative), and an
    /// output about as large as the input. That convolution makes H·W·C·O·k² multiply-adds against OH·OW·C·O·k² for
    /// the explicit Wᵀ·gy + col2im, so for an unpadded 5x5 layer on a 12x12 map (8x8 out) it would do 2.25 times the
    /// work, most of it on the zero border; up to a quarter more it still wins by skipping col2im and the zeroing.
    /// (Where the forward it runs is a Winograd one, the border costs as much: for that unpadded layer the Winograd
    /// full correlation measured about twice the CPU time of the scatter path, so the same rule holds.)
    /// </summary>
    public static bool InputGradientSupported(in ConvGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.PadH <= g.DilationH * (g.KernelH - 1) && g.PadW <= g.DilationW * (g.KernelW - 1)
        && 4L * g.Height * g.Width <= 5L * g.OutHeight * g.OutWidth;

    /// <summary>The geometry of the stride-1 input gradient as a convolution of the output gradient (<see cref="InputGradient{T}"/>).</summary>
    private static ConvGeometry Adjoint(in ConvGeometry g, int outC) => new(outC, g.OutHeight, g.OutWidth, g.KernelH, g.KernelW, 1, 1,
        g.DilationH * (g.KernelH - 1) - g.PadH, g.DilationW * (g.KernelW - 1) - g.PadW, g.DilationH, g.DilationW);

    /// <summary>
    /// <c>gx = conv(gy, W')</c> with <c>W'[c, o, a, b] = W[o, c, kh − 1 − a, kw − 1 − b]</c>: the adjoint of a stride-1
    /// convolution, written (not added) into <paramref name="gx"/> ([N, C, H, W]).
    /// </summary>
    public static void InputGradient<T>(T* gy, int count, in ConvGeometry g, T* w, int outC, T* gx, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = g.Channels, kh = g.KernelH, kw = g.KernelW, taps = kh * kw;
        T[] flipped = ScratchPool<T>.Rent(c * outC * taps);
        try
        {
            for (int o = 0; o < outC; o++)
                for (int ci = 0; ci < c; ci++)
                {
                    T* src = w + (o * c + ci) * taps;
                    int dst = (ci * outC + o) * taps;
                    for (int t = 0; t < taps; t++) flipped[dst + t] = src[taps - 1 - t];
                }
            var adjoint = Adjoint(g, outC);
            fixed (T* pw = flipped) Forward(gy, count, adjoint, pw, c, null, gx, threads);
        }
        finally
        {
            ScratchPool<T>.Return(flipped);
        }
    }

    /// <summary>
    /// <c>gx = col2im(Wᵀ · gy)</c> for any geometry, written (not added) into <paramref name="gx"/> ([N, C, H, W]), with
    /// the column-gradient matrix never stored: each MR x NR tile of it is made by the micro-kernel and at once added
    /// into the (padded) images it belongs to (<see cref="ScatterAdd{T}"/>, the adjoint of <see cref="Gather{T}"/>).
    /// Where Winograd applies (float32, stride 1, 3x3/5x5, enough channels) the adjoint of its forward runs instead.
    /// </summary>
    public static void InputGradientScatter<T>(T* gy, int count, in ConvGeometry g, T* w, int outC, T* gx, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (count == 0) return;
        if (Winograd.Applies<T>(g, outC))
        {
            Winograd.InputGradient((float*)gy, count, g, (float*)w, outC, (float*)gx, threads);
            return;
        }
        if (Vector512.IsHardwareAccelerated) InputGradientJob<T, GemmKernel512<T>>.Run(gy, count, g, w, outC, gx, threads);
        else if (Vector256.IsHardwareAccelerated) InputGradientJob<T, GemmKernel256<T>>.Run(gy, count, g, w, outC, gx, threads);
        else InputGradientJob<T, GemmKernelScalar<T>>.Run(gy, count, g, w, outC, gx, threads);
    }

    /// <summary>
    /// Cuts positions [p0, p0 + positions) into runs along output rows, as <see cref="Gather{T}"/> does: run s starts at
    /// element <c>runs[2s]</c> of the padded images and covers <c>runs[2s + 1]</c> consecutive positions. Returns the count;
    /// <paramref name="runs"/> must hold 2 · (positions / OW + 2) values.
    /// </summary>
    internal static int Runs(int* runs, in ConvGeometry g, int p0, int positions)
    {
        int ow = g.OutWidth, wp = g.Width + 2 * g.PadW, perImage = g.ColumnCols, imageSize = PaddedSize(g);
        int nRuns = 0;
        for (int q = p0, end = p0 + positions; q < end; nRuns++)
        {
            int image = q / perImage, p = q - image * perImage;
            int oy = p / ow, ox = p - oy * ow, len = Math.Min(ow - ox, end - q);
            runs[2 * nRuns] = image * imageSize + oy * g.StrideH * wp + ox * g.StrideW;
            runs[2 * nRuns + 1] = len;
            q += len;
        }
        return nRuns;
    }

    /// <summary>
    /// The adjoint of <see cref="Gather{T}"/>: adds <c>src[r * ld + p]</c> into the padded images at
    /// <paramref name="padded"/> wherever Gather would have read the column matrix's row r at the p-th position of the
    /// runs (<see cref="Runs"/>). With stride 1 a run's taps are consecutive, so a row is a few vector adds per run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScatterAdd<T>(T* src, int ld, T* padded, int* rowOffset, int rows, int* runs, int nRuns, int strideW)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w256 = Vector256<T>.Count, w128 = Vector128<T>.Count;
        for (int k = 0, col = 0; k < nRuns; k++)
        {
            T* dst = padded + runs[2 * k];
            int len = runs[2 * k + 1];
            T* s = src + col;
            col += len;
            if (strideW != 1)
            {
                for (int r = 0; r < rows; r++, s += ld)
                {
                    T* d = dst + rowOffset[r];
                    for (int t = 0; t < len; t++) d[t * strideW] += s[t];
                }
            }
            else if (len == w256)
            {
                for (int r = 0; r < rows; r++, s += ld)
                {
                    T* d = dst + rowOffset[r];
                    Vector256.Store(Vector256.Load(d) + Vector256.Load(s), d);
                }
            }
            else
            {
                for (int r = 0; r < rows; r++, s += ld)
                {
                    T* d = dst + rowOffset[r];
                    int t = 0;
                    for (; t + w256 <= len; t += w256) Vector256.Store(Vector256.Load(d + t) + Vector256.Load(s + t), d + t);
                    for (; t + w128 <= len; t += w128) Vector128.Store(Vector128.Load(d + t) + Vector128.Load(s + t), d + t);
                    for (; t < len; t++) d[t] += s[t];
                }
            }
        }
    }

    /// <summary>
    /// Copies image <paramref name="img"/> ([C, H, W]) into <paramref name="dst"/> with a border of zeros
    /// (<see cref="ConvGeometry.PadH"/> rows, <see cref="ConvGeometry.PadW"/> columns): the gathers then read every
    /// tap without a bounds test.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Pad<T>(T* img, in ConvGeometry g, T* dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hp = g.Height + 2 * g.PadH, wp = g.Width + 2 * g.PadW;
        if (g.PadH == 0 && g.PadW == 0)
        {
            new ReadOnlySpan<T>(img, g.Channels * hp * wp).CopyTo(new Span<T>(dst, g.Channels * hp * wp));
            return;
        }
        for (int c = 0; c < g.Channels; c++)
        {
            T* plane = dst + c * hp * wp;
            new Span<T>(plane, g.PadH * wp).Clear();
            for (int y = 0; y < g.Height; y++)
            {
                T* row = plane + (y + g.PadH) * wp;
                Im2Col.Fill(ref *row, 0, g.PadW);
                Im2Col.Copy(ref img[(c * g.Height + y) * g.Width], ref row[g.PadW], g.Width);
                Im2Col.Fill(ref *row, g.PadW + g.Width, wp);
            }
            new Span<T>(plane + (g.PadH + g.Height) * wp, g.PadH * wp).Clear();
        }
    }

    /// <summary>Elements of an image padded by <see cref="Pad{T}"/>.</summary>
    internal static int PaddedSize(in ConvGeometry g) => g.Channels * (g.Height + 2 * g.PadH) * (g.Width + 2 * g.PadW);

    /// <summary>
    /// For each row r = (channel, ky, kx) of the column matrix, the offset of its tap in a padded image (see
    /// <see cref="Pad{T}"/>) relative to the top-left input of an output pixel's window.
    /// </summary>
    internal static int[] RowOffsets(in ConvGeometry g, int[] reuse)
    {
        int wp = g.Width + 2 * g.PadW, plane = (g.Height + 2 * g.PadH) * wp;
        int[] offsets = reuse.Length >= g.ColumnRows ? reuse : new int[g.ColumnRows];
        int r = 0;
        for (int c = 0; c < g.Channels; c++)
            for (int ky = 0; ky < g.KernelH; ky++)
                for (int kx = 0; kx < g.KernelW; kx++) offsets[r++] = c * plane + ky * g.DilationH * wp + kx * g.DilationW;
        return offsets;
    }

    /// <summary>
    /// Writes <c>cols[r, p0 + p]</c> for the <paramref name="rows"/> rows whose tap offsets (<see cref="RowOffsets"/>)
    /// start at <paramref name="rowOffset"/>, p in [0, positions), at <c>dst[r * ld + p]</c>. Positions are output
    /// pixels of the images at <paramref name="padded"/> (padded by <see cref="Pad{T}"/>, back to back; position q is
    /// pixel q mod P of image q / P). The positions are cut once into runs along output rows; a run reads consecutive
    /// inputs (stride 1) at the run's offset plus the row's, so it is copied to every row with the same vector moves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Gather<T>(T* dst, int ld, T* padded, int* rowOffset, int rows, in ConvGeometry g, int p0, int positions)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ow = g.OutWidth, wp = g.Width + 2 * g.PadW, sw = g.StrideW;
        int perImage = g.ColumnCols, imageSize = PaddedSize(g);
        int maxRuns = positions / Math.Max(1, ow) + 3;
        int[]? heap = maxRuns > 512 ? new int[2 * maxRuns] : null;
        int* runs = stackalloc int[heap is null ? 2 * maxRuns : 1];
        fixed (int* heapRuns = heap)
        {
            if (heap is not null) runs = heapRuns;
            int nRuns = 0;
            for (int q = p0, end = p0 + positions; q < end; nRuns++)
            {
                int image = q / perImage, p = q - image * perImage;
                int oy = p / ow, ox = p - oy * ow, len = Math.Min(ow - ox, end - q);
                runs[2 * nRuns] = image * imageSize + oy * g.StrideH * wp + ox * sw;
                runs[2 * nRuns + 1] = len;
                q += len;
            }
            int w256 = Vector256<T>.Count, w128 = Vector128<T>.Count;
            for (int s = 0, col = 0; s < nRuns; s++)
            {
                T* src = padded + runs[2 * s];
                int len = runs[2 * s + 1];
                T* d = dst + col;
                col += len;
                if (sw != 1)
                {
                    for (int r = 0; r < rows; r++, d += ld)
                    {
                        T* from = src + rowOffset[r];
                        for (int t = 0; t < len; t++) d[t] = from[t * sw];
                    }
                }
                else if (len == w256)
                {
                    // One vector per row (an 8-pixel row of float32: the CNN's second layer).
                    for (int r = 0; r < rows; r++, d += ld) Vector256.Store(Vector256.Load(src + rowOffset[r]), d);
                }
                else if (len >= w256 && len <= 2 * w256)
                {
                    // Two overlapping moves cover any length from one to two vectors (a 14-pixel row: 8 + 8).
                    for (int r = 0; r < rows; r++, d += ld)
                    {
                        T* from = src + rowOffset[r];
                        Vector256.Store(Vector256.Load(from), d);
                        Vector256.Store(Vector256.Load(from + len - w256), d + len - w256);
                    }
                }
                else if (len >= w128 && len < w256)
                {
                    for (int r = 0; r < rows; r++, d += ld)
                    {
                        T* from = src + rowOffset[r];
                        Vector128.Store(Vector128.Load(from), d);
                        Vector128.Store(Vector128.Load(from + len - w128), d + len - w128);
                    }
                }
                else
                {
                    for (int r = 0; r < rows; r++, d += ld) Im2Col.Copy(ref src[rowOffset[r]], ref *d, len);
                }
            }
        }
    }
}

/// <summary>
/// The forward product: the batch's output pixels in NR-wide strips split over the parts; per strip and k block, the
/// strip of the column matrix is gathered into L1 and swept by every MR-row strip of the pre-packed weights.
/// </summary>
internal sealed unsafe class ForwardJob<T, TK> : ParallelWork
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : struct, IGemmKernel<T>
{
    [ThreadStatic] private static ForwardJob<T, TK>? t_job;

    private readonly AlignedBuffer<T> _packedW = new();
    private AlignedBuffer<T>[] _strip = [], _tile = [], _padded = [];
    private T* _x, _y, _bias, _w;
    private ConvGeometry _g;
    private int _count, _outC, _kc, _mPadded;
    private int[] _rowOffsets = [];

    public static void Run(T* x, int count, in ConvGeometry g, T* w, int outC, T* bias, T* y, int threads)
    {
        if (count == 0 || outC == 0) return;
        var job = t_job ??= new ForwardJob<T, TK>();
        int k = g.ColumnRows, mr = TK.MR;
        job._x = x; job._y = y; job._bias = bias; job._g = g; job._count = count; job._outC = outC;
        job._kc = GemmTuning.BlockDepth<T>(TK.NR, k);
        job._rowOffsets = ImplicitConv.RowOffsets(g, job._rowOffsets);
        job._mPadded = (outC + mr - 1) / mr * mr;
        // The weights, packed once per call for every k block: block pc starts at mPadded * pc.
        job._w = job._packedW.Get(job._mPadded * k);
        for (int pc = 0; pc < k; pc += job._kc)
            GemmPacking.PackA(job._w + job._mPadded * pc, w + pc, k, false, outC, Math.Min(job._kc, k - pc), mr);
        int parts = Math.Max(1, Math.Min(threads, (int)(((long)count * g.ColumnCols + TK.NR - 1) / TK.NR)));
        if ((long)count * outC * k * g.ColumnCols < (long)Gemm.ParallelThresholdFlops) parts = 1;
        job.EnsureBuffers(Math.Max(parts, WorkerPool.MaxParallelism));
        WorkerPool.Run(job, parts);
    }

    private void EnsureBuffers(int parts)
    {
        if (_strip.Length >= parts) return;
        _strip = AlignedBuffer<T>.Grow(_strip, parts); _tile = AlignedBuffer<T>.Grow(_tile, parts); _padded = AlignedBuffer<T>.Grow(_padded, parts);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        // The output pixels of the whole batch, image after image, cut into NR-wide strips split over the parts: a strip
        // may span images (so a 14 x 14 map does not leave a 4-wide strip per image), its tile then scattered.
        int mr = TK.MR, nr = TK.NR, k = _g.ColumnRows, p = _g.ColumnCols, outC = _outC, kc = _kc;
        long total = (long)_count * p;
        int strips = (int)((total + nr - 1) / nr);
        int s0 = (int)((long)strips * index / count), s1 = (int)((long)strips * (index + 1) / count);
        if (s0 >= s1) return;
        int q0 = s0 * nr, q1 = (int)Math.Min(total, (long)s1 * nr);
        int firstImage = q0 / p, lastImage = (q1 - 1) / p;
        int imageSize = _g.Channels * _g.Height * _g.Width, paddedSize = ImplicitConv.PaddedSize(_g);
        T* strip = _strip[index].Get(kc * nr);
        T* tile = _tile[index].Get(mr * nr);
        // Padded copies of a window of consecutive images (at least the most one strip can touch, and 16 so that few
        // images are padded twice), slid forward as the strips advance: memory does not grow with the batch.
        int window = Math.Min(lastImage - firstImage + 1, Math.Max(16, (nr + p - 1) / p + 1));
        T* padded = _padded[index].Get(window * paddedSize);
        int windowStart = -1, windowEnd = -1; // images [windowStart, windowEnd) are padded
        for (int q = q0; q < q1; q += nr)
        {
            int w = Math.Min(nr, q1 - q);
            int image = q / p, pix = q - image * p;
            if ((q + w - 1) / p >= windowEnd)
            {
                windowStart = image;
                windowEnd = Math.Min(lastImage + 1, image + window);
                for (int i = windowStart; i < windowEnd; i++) ImplicitConv.Pad(_x + (nint)i * imageSize, _g, padded + (i - windowStart) * paddedSize);
            }
            bool inside = pix + w <= p;
            T* yq = _y + (nint)image * outC * p + pix;
            if (ImplicitConv.PrefetchNextOutput && q + nr < q1) PrefetchOutput(q + nr, Math.Min(nr, q1 - q - nr));
            for (int pc = 0; pc < k; pc += kc)
            {
                int kcCur = Math.Min(kc, k - pc);
                fixed (int* offsets = &_rowOffsets[pc]) ImplicitConv.Gather(strip, nr, padded, offsets, kcCur, _g, q - windowStart * p, w);
                if (w < nr)
                    for (int r = 0; r < kcCur; r++) Im2Col.Fill(ref strip[r * nr], w, nr);
                bool add = pc > 0;
                // After the last k block the bias is added to each tile (the same sum, then the same addition, as a
                // pass over the whole output afterwards): a whole tile's by the kernel to its finished sums before the
                // store (added to the stored tile, its loads waited on stores to an output not in cache), a partial
                // tile's to its merged values.
                T* bias = pc + kcCur >= k ? _bias : null;
                T* aBlock = _w + _mPadded * pc;
                for (int ir = 0; ir < outC; ir += mr)
                {
                    int h = Math.Min(mr, outC - ir);
                    T* cp = yq + ir * p;
                    if (h == mr && w == nr && inside)
                    {
                        T* rowBias = bias == null || ImplicitConv.BiasAfterStore ? null : bias + ir;
                        TK.Run(kcCur, aBlock + ir * kcCur, strip, nr, cp, p, T.One, add ? T.One : T.Zero, null, rowBias);
                        if (bias != null && rowBias == null) AddRowBias(cp, p, h, w, bias + ir);
                    }
                    else
                    {
                        TK.Run(kcCur, aBlock + ir * kcCur, strip, nr, tile, nr, T.One, T.Zero);
                        // The tile's columns, image by image (a map smaller than a strip puts several images in one).
                        for (int done = 0, img = image, px = pix; done < w; img++, px = 0)
                        {
                            int seg = Math.Min(w - done, p - px);
                            T* dst = _y + ((nint)img * outC + ir) * p + px;
                            GemmPacking.MergeTile(tile + done, nr, dst, p, h, seg, T.One, add ? T.One : T.Zero);
                            if (bias != null) AddRowBias(dst, p, h, seg, bias + ir);
                            done += seg;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Asks for the cache lines of output positions [q, q + w) of the batch (within the image of position q) in every
    /// channel: the strip the next iteration writes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchOutput(int q, int w)
    {
        if (!Sse.IsSupported) return;
        int p = _g.ColumnCols, image = q / p, pix = q - image * p;
        nint bytes = (nint)Math.Min(w, p - pix) * sizeof(T);
        byte* row = (byte*)(_y + ((nint)image * _outC * p + pix));
        for (int o = 0; o < _outC; o++, row += (nint)p * sizeof(T))
        {
            // The lines from the one holding the run's first byte to the one holding its last.
            for (nint at = 0; at < bytes + ((nint)row & 63); at += 64) Sse.Prefetch0(row + at);
        }
    }

    /// <summary><c>c[r, j] += bias[r]</c> over an h x w block of C (one output channel per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRowBias(T* c, nint ldc, int h, int w, T* bias)
    {
        for (int r = 0; r < h; r++, c += ldc)
        {
            T b = bias[r];
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vb = Vector256.Create(b);
                for (; j + Vector256<T>.Count <= w; j += Vector256<T>.Count) Vector256.Store(Vector256.Load(c + j) + vb, c + j);
            }
            for (; j < w; j++) c[j] += b;
        }
    }
}

/// <summary>
/// The weight gradient: gW (O x C·kh·kw) accumulates gy_i · cols(x_i)ᵀ image by image. The parts split the columns of
/// gW (strips of NR (channel, ky, kx) rows of the column matrix), or its rows when there are too few column strips;
/// per image and k block (a run of output pixels), gy's block is packed once and each column strip is gathered into
/// L1 row-major, then transposed into the packed layout. When gW has a single column strip (a first layer on grey
/// images: 1·5·5 = 25 rows), splitting its rows would make every part pad and gather every image again, so the batch
/// is cut into a fixed number of image groups instead, each summed into its own partial gW, and the partials are added
/// in group order: the groups depend on the batch only, so the result is the same for any number of threads. A batch
/// of more than <see cref="BatchTree.LeafImages"/> images is reduced as <see cref="BatchTree"/>'s interleaved tree of
/// such sums (leaves of at most that many images), so that it gives bit for bit the sum of what its even- and
/// odd-positioned halves give alone, as two data-parallel processes add them.
/// </summary>
internal sealed unsafe class WeightGradientJob<T, TK> : ParallelWork, IBatchLeaves<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : struct, IGemmKernel<T>
{
    [ThreadStatic] private static WeightGradientJob<T, TK>? t_job;

    /// <summary>Image groups of the single-strip case (at most; fewer when the batch is smaller).</summary>
    internal const int ImageGroups = 4;

    private AlignedBuffer<T>[] _a = [], _rows = [], _strip = [], _tile = [], _padded = [], _partials = [], _tree = [];
    private T* _x, _gy, _gw;
    private ConvGeometry _g;
    private int _count, _outC, _kc, _groups, _first, _stride, _threads;
    private int[] _rowOffsets = [];
    private bool _splitColumns;

    public static void Run(T* x, T* gy, int count, in ConvGeometry g, int outC, T* gw, int threads)
    {
        var job = t_job ??= new WeightGradientJob<T, TK>();
        int p = g.ColumnCols;
        job._x = x; job._gy = gy; job._g = g; job._outC = outC; job._threads = threads;
        job._kc = GemmTuning.BlockDepth<T>(TK.NR, p);
        job._rowOffsets = ImplicitConv.RowOffsets(g, job._rowOffsets);
        BatchTree.Sum(job, 0, 1, count, BatchTree.LeafImages, gw, outC * g.ColumnRows, ref job._tree);
    }

    /// <summary>The gradients of two sets of images added (<see cref="BatchTree"/>).</summary>
    public void Combine(T* dst, T* odd, int size) => BatchTree.Add(dst, odd, size);

    /// <summary>gW of images <c>first + i·stride</c> (i &lt; <paramref name="count"/>) into <paramref name="dst"/>: one leaf of the batch's tree.</summary>
    public void Leaf(int first, int stride, int count, T* dst)
    {
        var g = _g;
        int p = g.ColumnCols, outC = _outC;
        _first = first; _stride = stride; _count = count; _gw = dst;
        int colStrips = (g.ColumnRows + TK.NR - 1) / TK.NR, rowStrips = (outC + TK.MR - 1) / TK.MR;
        int parts = Math.Max(1, _threads);
        if ((long)count * outC * g.ColumnRows * p < (long)Gemm.ParallelThresholdFlops) parts = 1;
        // Chosen from the shapes alone, never from the thread count, so that 1 and 2 threads sum in the same order.
        _groups = colStrips == 1 && count >= 2 ? Math.Min(ImageGroups, count) : 0;
        if (_groups > 0)
        {
            parts = Math.Min(parts, _groups);
            EnsureBuffers(Math.Max(parts, WorkerPool.MaxParallelism));
            if (_partials.Length < _groups) _partials = AlignedBuffer<T>.Grow(_partials, _groups);
            WorkerPool.Run(this, parts);
            int size = outC * g.ColumnRows;
            var total = new Span<T>(dst, size);
            new ReadOnlySpan<T>(_partials[0].Get(size), size).CopyTo(total);
            for (int gi = 1; gi < _groups; gi++)
                System.Numerics.Tensors.TensorPrimitives.Add(total, new ReadOnlySpan<T>(_partials[gi].Get(size), size), total);
            return;
        }
        _splitColumns = colStrips >= parts || colStrips >= rowStrips;
        parts = Math.Min(parts, _splitColumns ? colStrips : rowStrips);
        EnsureBuffers(Math.Max(parts, WorkerPool.MaxParallelism));
        WorkerPool.Run(this, parts);
    }

    private void EnsureBuffers(int parts)
    {
        if (_a.Length >= parts) return;
        _a = AlignedBuffer<T>.Grow(_a, parts); _rows = AlignedBuffer<T>.Grow(_rows, parts); _strip = AlignedBuffer<T>.Grow(_strip, parts);
        _tile = AlignedBuffer<T>.Grow(_tile, parts); _padded = AlignedBuffer<T>.Grow(_padded, parts);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        int mr = TK.MR, nr = TK.NR, n = _g.ColumnRows, outC = _outC;
        int colStrips = (n + nr - 1) / nr, rowStrips = (outC + mr - 1) / mr;
        if (_groups > 0)
        {
            // Image groups [g0, g1) of this part, each into its own partial gW (all rows, the one strip).
            for (int gi = _groups * index / count; gi < _groups * (index + 1) / count; gi++)
                Accumulate(index, _partials[gi].Get(outC * n), _count * gi / _groups, _count * (gi + 1) / _groups, 0, colStrips, 0, outC);
            return;
        }
        int s0 = 0, s1 = colStrips, m0 = 0, m1 = outC;
        if (_splitColumns) { s0 = colStrips * index / count; s1 = colStrips * (index + 1) / count; }
        else { m0 = Math.Min(outC, rowStrips * index / count * mr); m1 = Math.Min(outC, rowStrips * (index + 1) / count * mr); }
        if (s0 >= s1 || m0 >= m1) return;
        Accumulate(index, _gw, 0, _count, s0, s1, m0, m1);
    }

    /// <summary>
    /// The strip of colsᵀ for positions [p0, p0 + positions) of the padded image <paramref name="img"/> when all
    /// C·kh·kw rows fit one strip and a kernel row fits a 256-bit vector (stride and dilation 1 along the width): row
    /// p of the strip is the window of position p, each kernel row of it copied with one vector move in ascending order,
    /// so a move's spill past its kw values is overwritten by the next. Values past C·kh·kw in a row are left as they are:
    /// they only reach columns of the product that are never stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PackPatches(T* strip, T* img, int p0, int positions)
    {
        int nr = TK.NR, kh = _g.KernelH, kw = _g.KernelW, ow = _g.OutWidth, wp = _g.Width + 2 * _g.PadW;
        int plane = (_g.Height + 2 * _g.PadH) * wp, rowStep = _g.DilationH * wp, channels = _g.Channels, sh = _g.StrideH;
        int oy = p0 / ow, ox = p0 - oy * ow;
        for (int p = 0; p < positions; p++)
        {
            T* window = img + oy * sh * wp + ox;
            T* dst = strip + p * nr;
            for (int c = 0; c < channels; c++)
                for (int ky = 0; ky < kh; ky++, dst += kw)
                    Vector256.Store(Vector256.Load(window + c * plane + ky * rowStep), dst);
            if (++ox == ow) { ox = 0; oy++; }
        }
    }

    /// <summary>
    /// gw[m0 .. m1, strips s0 .. s1] = Σ over images [i0, i1) of gy_i · cols(x_i)ᵀ, with part <paramref name="index"/>'s
    /// scratch; <paramref name="gw"/> is O x C·kh·kw row-major and is overwritten (not added to).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate(int index, T* gw, int i0, int i1, int s0, int s1, int m0, int m1)
    {
        int mr = TK.MR, nr = TK.NR, n = _g.ColumnRows, p = _g.ColumnCols, outC = _outC, kc = _kc;
        int imageSize = _g.Channels * _g.Height * _g.Width;
        T* aBuf = _a[index].Get((m1 - m0 + mr) * kc);
        T* rows = _rows[index].Get(nr * kc);
        // A single strip of short kernel rows (a first layer: 1·5·5 = 25 rows) is packed straight from the image, one
        // vector per kernel row and position; its stores and loads run up to a vector past the end (the slack below).
        bool patches = n <= nr && s0 == 0 && _g.StrideW == 1 && _g.DilationW == 1 && _g.KernelW <= Vector256<T>.Count;
        int slack = Vector256<T>.Count;
        T* strip = _strip[index].Get(kc * nr + slack);
        T* tile = _tile[index].Get(mr * nr);
        T* img = _padded[index].Get(ImplicitConv.PaddedSize(_g) + slack);
        for (int i = i0; i < i1; i++)
        {
            nint image = _first + (nint)i * _stride;
            ImplicitConv.Pad(_x + image * imageSize, _g, img);
            T* gyi = _gy + image * outC * p;
            for (int pc = 0; pc < p; pc += kc)
            {
                int kcCur = Math.Min(kc, p - pc);
                bool add = i > i0 || pc > 0;
                GemmPacking.PackA(aBuf, gyi + m0 * p + pc, p, false, m1 - m0, kcCur, mr);
                for (int s = s0; s < s1; s++)
                {
                    int r0 = s * nr, w = Math.Min(nr, n - r0);
                    // cols(x_i)[r0 .. r0 + w, pc .. pc + kc) row-major, then transposed into the kernel's strip layout
                    if (patches) PackPatches(strip, img, pc, kcCur);
                    else
                    {
                        fixed (int* offsets = &_rowOffsets[r0]) ImplicitConv.Gather(rows, kcCur, img, offsets, w, _g, pc, kcCur);
                        GemmPacking.PackBStrip(strip, rows, kcCur, true, kcCur, w, nr);
                    }
                    for (int ir = m0; ir < m1; ir += mr)
                    {
                        int h = Math.Min(mr, m1 - ir);
                        T* cp = gw + ir * n + r0;
                        T* ap = aBuf + (ir - m0) * kcCur;
                        if (h == mr && w == nr) TK.Run(kcCur, ap, strip, nr, cp, n, T.One, add ? T.One : T.Zero);
                        else
                        {
                            TK.Run(kcCur, ap, strip, nr, tile, nr, T.One, T.Zero);
                            GemmPacking.MergeTile(tile, nr, cp, n, h, w, T.One, add ? T.One : T.Zero);
                        }
                    }
                }
            }
        }
    }
}

/// <summary>
/// The input gradient as an implicit GEMM: dcols = Wᵀ · gy, strip by strip of NR output positions, each MR-row tile
/// scattered into its images as soon as the micro-kernel has made it (the tile is still in L1), so neither gy's copy
/// nor the column-gradient matrix is stored. The batch is cut into chunks of whole images fixed by the geometry alone;
/// a part takes whole chunks and adds into a chunk's images in one order, so the result does not depend on the threads.
/// </summary>
internal sealed unsafe class InputGradientJob<T, TK> : ParallelWork
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : struct, IGemmKernel<T>
{
    [ThreadStatic] private static InputGradientJob<T, TK>? t_job;

    /// <summary>Elements of a chunk's padded images (64 KB of float32: they stay in L2 while every tile is added).</summary>
    internal const int ChunkElements = 1 << 14;

    private readonly AlignedBuffer<T> _packedW = new(), _permutedW = new();
    private AlignedBuffer<T>[] _strip = [], _tile = [], _padded = [];
    private int[] _natural = [];
    private T* _gy, _gx, _w;
    private ConvGeometry _g;
    private int _count, _outC, _kc, _mPadded, _chunk;
    private int[] _rowOffsets = [];

    public static void Run(T* gy, int count, in ConvGeometry g, T* w, int outC, T* gx, int threads)
    {
        var job = t_job ??= new InputGradientJob<T, TK>();
        int rows = g.ColumnRows, mr = TK.MR;
        job._gy = gy; job._gx = gx; job._g = g; job._count = count; job._outC = outC;
        job._kc = GemmTuning.BlockDepth<T>(TK.NR, outC);
        job._mPadded = (rows + mr - 1) / mr * mr;
        // The rows of Wᵀ taken in (kx, channel, ky) order: the taps of one tile then land in different rows of the image,
        // so the tile's adds never partly overlap the one just stored (a store-forwarding stall per add in (c, ky, kx) order).
        int[] natural = ImplicitConv.RowOffsets(g, job._natural);
        job._natural = natural;
        if (job._rowOffsets.Length < rows) job._rowOffsets = new int[rows];
        T* permuted = job._permutedW.Get(Math.Max(1, outC * rows));
        int kw = g.KernelW, perChannel = g.KernelH * kw;
        for (int kx = 0, j = 0; kx < kw; kx++)
            for (int c = 0; c < g.Channels; c++)
                for (int ky = 0; ky < g.KernelH; ky++, j++)
                {
                    int r = c * perChannel + ky * kw + kx;
                    job._rowOffsets[j] = natural[r];
                    for (int o = 0; o < outC; o++) permuted[(nint)o * rows + j] = w[(nint)o * rows + r];
                }
        // Wᵀ ([C·kh·kw, O], read from the permuted W [O, C·kh·kw]) packed once per call for every k block: block pc at mPadded * pc.
        job._w = job._packedW.Get(job._mPadded * Math.Max(1, outC));
        for (int pc = 0; pc < outC; pc += job._kc)
            GemmPacking.PackA(job._w + job._mPadded * pc, permuted + (nint)pc * rows, rows, true, rows, Math.Min(job._kc, outC - pc), mr);
        job._chunk = Math.Max(1, Math.Min(count, InputGradientJob<T, TK>.ChunkElements / Math.Max(1, ImplicitConv.PaddedSize(g))));
        int chunks = (count + job._chunk - 1) / job._chunk;
        int parts = Math.Max(1, Math.Min(threads, chunks));
        if ((long)count * outC * rows * g.ColumnCols < (long)Gemm.ParallelThresholdFlops) parts = 1;
        job.EnsureBuffers(Math.Max(parts, WorkerPool.MaxParallelism));
        WorkerPool.Run(job, parts);
    }

    private void EnsureBuffers(int parts)
    {
        if (_strip.Length >= parts) return;
        _strip = AlignedBuffer<T>.Grow(_strip, parts); _tile = AlignedBuffer<T>.Grow(_tile, parts); _padded = AlignedBuffer<T>.Grow(_padded, parts);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        int chunks = (_count + _chunk - 1) / _chunk;
        int c0 = (int)((long)chunks * index / count), c1 = (int)((long)chunks * (index + 1) / count);
        if (c0 >= c1) return;
        int mr = TK.MR, nr = TK.NR, rows = _g.ColumnRows, p = _g.ColumnCols, outC = _outC, kc = _kc;
        int imageSize = _g.Channels * _g.Height * _g.Width, paddedSize = ImplicitConv.PaddedSize(_g);
        bool unpadded = _g.PadH == 0 && _g.PadW == 0;
        T* strip = _strip[index].Get(Math.Max(1, outC) * nr);
        T* tile = _tile[index].Get(mr * nr);
        T* paddedBuf = unpadded ? null : _padded[index].Get(_chunk * paddedSize);
        int* runs = stackalloc int[2 * (nr / Math.Max(1, _g.OutWidth) + 3)];
        for (int ci = c0; ci < c1; ci++)
        {
            int i0 = ci * _chunk, n = Math.Min(_chunk, _count - i0);
            // Without padding the padded images are the output itself.
            T* target = unpadded ? _gx + (nint)i0 * imageSize : paddedBuf;
            new Span<T>(target, n * paddedSize).Clear();
            if (outC > 0)
            {
                for (int q = 0, total = n * p; q < total; q += nr)
                {
                    int w = Math.Min(nr, total - q);
                    // gy's columns q .. q + w of the chunk (image by image) as the NR-wide strip, O rows.
                    for (int done = 0, img = q / p, px = q - q / p * p; done < w; img++, px = 0)
                    {
                        int seg = Math.Min(w - done, p - px);
                        T* from = _gy + ((nint)(i0 + img) * outC) * p + px;
                        for (int o = 0; o < outC; o++) Im2Col.Copy(ref from[(nint)o * p], ref strip[o * nr + done], seg);
                        done += seg;
                    }
                    if (w < nr)
                        for (int o = 0; o < outC; o++) Im2Col.Fill(ref strip[o * nr], w, nr);
                    int nRuns = ImplicitConv.Runs(runs, _g, q, w);
                    for (int ir = 0; ir < rows; ir += mr)
                    {
                        int h = Math.Min(mr, rows - ir);
                        for (int pc = 0; pc < outC; pc += kc)
                        {
                            int kcCur = Math.Min(kc, outC - pc);
                            TK.Run(kcCur, _w + _mPadded * pc + ir * kcCur, strip + pc * nr, nr, tile, nr, T.One, pc > 0 ? T.One : T.Zero);
                        }
                        fixed (int* offsets = &_rowOffsets[ir]) ImplicitConv.ScatterAdd(tile, nr, target, offsets, h, runs, nRuns, _g.StrideW);
                    }
                }
            }
            if (unpadded) continue;
            int hp = _g.Height + 2 * _g.PadH, wp = _g.Width + 2 * _g.PadW;
            for (int i = 0; i < n; i++)
                for (int c = 0; c < _g.Channels; c++)
                    for (int y = 0; y < _g.Height; y++)
                        Im2Col.Copy(ref paddedBuf[i * paddedSize + (c * hp + y + _g.PadH) * wp + _g.PadW],
                            ref _gx[((nint)(i0 + i) * _g.Channels + c) * _g.Height * _g.Width + y * _g.Width], _g.Width);
        }
    }
}
