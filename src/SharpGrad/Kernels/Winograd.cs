using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The matrices of a Winograd minimal-filtering algorithm F(m x m, r x r) (Lavin and Gray's form, 2-d by nesting the
/// 1-d one): <c>Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A</c> makes an m x m output tile of a stride-1 correlation of an
/// n x n input tile d (n = m + r − 1) with an r x r kernel g in n² multiplies instead of m²r². Built here from the
/// interpolation points (n − 1 finite ones and infinity) by the Toom-Cook construction, in double precision:
/// with M(x) = Π (x − p_l), M_j(x) = M(x) / (x − p_j) and N_j = M_j(p_j), the rows of Bᵀ are the coefficients of the
/// M_j (and of M for the point at infinity), G[j, k] = p_j^k / N_j (the division is put on the filter side, which is
/// transformed once per call) and Aᵀ[i, j] = p_j^i.
/// </summary>
internal sealed class WinogradTransform
{
    /// <summary>One nonzero coefficient of a row: the transforms are applied as sparse row combinations.</summary>
    internal readonly record struct Term(int Index, float Coefficient);

    public int M { get; }
    public int R { get; }
    public int N { get; }

    /// <summary>Bᵀ (n x n), G (n x r) and Aᵀ (m x n), row-major, as doubles (for tests and error bounds).</summary>
    public double[] BT { get; }
    public double[] G { get; }
    public double[] AT { get; }

    internal Term[][] BTRows { get; }
    internal Term[][] GRows { get; }
    internal Term[][] ATRows { get; }

    public WinogradTransform(int m, int r, params double[] points)
    {
        int n = m + r - 1;
        if (points.Length != n - 1) throw new ArgumentException($"F({m}, {r}) needs {n - 1} finite points, got {points.Length}.", nameof(points));
        M = m; R = r; N = n;
        BT = new double[n * n];
        G = new double[n * r];
        AT = new double[m * n];
        for (int j = 0; j < n - 1; j++)
        {
            // M_j's coefficients, built by multiplying in one (x − p_l) at a time.
            var poly = new double[n];
            poly[0] = 1;
            int degree = 0;
            double norm = 1;
            for (int l = 0; l < n - 1; l++)
            {
                if (l == j) continue;
                norm *= points[j] - points[l];
                for (int t = degree + 1; t >= 1; t--) poly[t] = poly[t - 1] - points[l] * poly[t];
                poly[0] = -points[l] * poly[0];
                degree++;
            }
            for (int t = 0; t < n; t++) BT[j * n + t] = poly[t];
            double power = 1;
            for (int k = 0; k < r; k++, power *= points[j]) G[j * r + k] = power / norm;
            power = 1;
            for (int i = 0; i < m; i++, power *= points[j]) AT[i * n + j] = power;
        }
        // The point at infinity: M(x) itself, the kernel's last tap, the output's last position.
        var full = new double[n];
        full[0] = 1;
        for (int l = 0, degree = 0; l < n - 1; l++, degree++)
        {
            for (int t = degree + 1; t >= 1; t--) full[t] = full[t - 1] - points[l] * full[t];
            full[0] = -points[l] * full[0];
        }
        for (int t = 0; t < n; t++) BT[(n - 1) * n + t] = full[t];
        G[(n - 1) * r + r - 1] = 1;
        AT[(m - 1) * n + n - 1] = 1;
        BTRows = Sparse(BT, n, n);
        GRows = Sparse(G, n, r);
        ATRows = Sparse(AT, m, n);
    }

    private static Term[][] Sparse(double[] matrix, int rows, int cols)
    {
        var result = new Term[rows][];
        for (int i = 0; i < rows; i++)
        {
            var terms = new List<Term>();
            for (int j = 0; j < cols; j++)
                if (matrix[i * cols + j] != 0) terms.Add(new Term(j, (float)matrix[i * cols + j]));
            result[i] = [.. terms];
        }
        return result;
    }
}

/// <summary>
/// Winograd convolution for float32, stride 1, dilation 1, square 3x3 and 5x5 kernels: F(4x4, 5x5) (8 x 8 tiles,
/// points 0, ±1, ±2, ±1/2, ∞: 64 multiplies per 16 outputs and input channel instead of 400) and F(4x4, 3x3) (6 x 6
/// tiles, points 0, ±1, ±2, ∞: 36 instead of 144). The convolution becomes n² independent products
/// <c>M_ξ = U_ξ · V_ξ</c> ([O x C] by [C x tiles]) between the transformed filters U and the transformed input tiles V,
/// run on the GEMM micro-kernels; the output transform then makes the tiles. Used where it pays (enough channels that
/// the GEMMs dominate the transforms); small channel counts, other geometries and float64 keep the direct implicit GEMM.
/// It serves the forward, the input gradient wherever that is computed as a convolution of the output gradient
/// (<see cref="ImplicitConv.InputGradientSupported"/>: padded layers), and the other layers' input gradient as the
/// adjoint of the forward's transforms (<see cref="WinogradInputGradientJob{TK}"/>; a full correlation of an unpadded
/// layer's output gradient would be mostly zero border). The weight gradient (<see cref="WinogradWeightJob{TK}"/>)
/// runs wherever the forward does (<see cref="WeightGradientApplies{T}"/>).
/// Every output is a sequence of operations fixed by the shapes (threads take whole strips of tiles), so results do
/// not depend on the thread count, and a replayed step takes the same path as the eager one.
/// </summary>
internal static unsafe class Winograd
{
    /// <summary>Whether a convolution may use Winograd: decided on the calling thread (tests switch it per thread).</summary>
    internal enum Mode { Auto, Off, Force }

    /// <summary>The choice for convolutions started on this thread: Auto (by the channel counts), Off, or Force (whenever the geometry allows).</summary>
    [ThreadStatic] internal static Mode t_mode;

    /// <summary>When nonzero, the weight gradient's chunk of packed tiles in floats for calls on this thread (tests: several chunks).</summary>
    [ThreadStatic] internal static int t_weightChunkFloats;

    /// <summary>When nonzero, the weight gradient's leaf size in images for calls on this thread (tests, measurements).</summary>
    [ThreadStatic] internal static int t_weightLeafImages;

    /// <summary>
    /// When set, the transforms' row combinations (<see cref="WinogradJob{TK}.Combine"/>) stay in 256-bit vectors even
    /// where 512-bit ones are available, as before they had a 512-bit form (the same bits either way). Process-wide (the
    /// pool's threads run the transforms): bench's <c>--old-transforms 1</c>, for in-binary A/B; set it before any work.
    /// </summary>
    internal static bool NarrowTransforms;

    /// <summary>Input and output channels from which Auto takes Winograd.</summary>
    internal const int MinChannels = 8;

    /// <summary>F(4x4, 5x5) over 8 x 8 tiles.</summary>
    internal static readonly WinogradTransform F4x5 = new(4, 5, 0, 1, -1, 2, -2, 0.5, -0.5);

    /// <summary>F(4x4, 3x3) over 6 x 6 tiles.</summary>
    internal static readonly WinogradTransform F4x3 = new(4, 3, 0, 1, -1, 2, -2);

    /// <summary>The transform for a kernel size, or null when there is none.</summary>
    internal static WinogradTransform? For(int kernel) => kernel switch { 5 => F4x5, 3 => F4x3, _ => null };

    /// <summary>Whether <see cref="Forward"/> runs this convolution (of <paramref name="outC"/> output channels) for element type T.</summary>
    internal static bool Applies<T>(in ConvGeometry g, int outC) where T : unmanaged
    {
        Mode mode = t_mode;
        if (mode == Mode.Off || typeof(T) != typeof(float) || !Vector256.IsHardwareAccelerated) return false;
        if (g.StrideH != 1 || g.StrideW != 1 || g.DilationH != 1 || g.DilationW != 1 || g.KernelH != g.KernelW || For(g.KernelH) is null) return false;
        if (g.OutHeight < 1 || g.OutWidth < 1 || g.Channels < 1 || outC < 1) return false;
        return mode == Mode.Force || (g.Channels >= MinChannels && outC >= MinChannels);
    }

    /// <summary>
    /// The weight gradient's transforms: F(k x k, 4 x 4) (the 4 x 4 tile of the output gradient is the "filter", the
    /// k x k weight gradient the output) over the same n x n input tiles and interpolation points as the forward's
    /// F(4 x 4, k x k), so Bᵀ is the forward's and only G (n x 4) and Aᵀ (k x n) differ.
    /// </summary>
    internal static readonly WinogradTransform W5x4 = new(5, 4, 0, 1, -1, 2, -2, 0.5, -0.5);

    /// <summary>F(3 x 3, 4 x 4) over 6 x 6 tiles, for 3x3 weight gradients.</summary>
    internal static readonly WinogradTransform W3x4 = new(3, 4, 0, 1, -1, 2, -2);

    /// <summary>The weight-gradient transform for a kernel size, or null when there is none.</summary>
    internal static WinogradTransform? WeightFor(int kernel) => kernel switch { 5 => W5x4, 3 => W3x4, _ => null };

    /// <summary>When set, the weight gradient stays the direct implicit GEMM on this thread even where Winograd's applies (measurements, tests).</summary>
    [ThreadStatic] internal static bool t_directWeightGradient;

    /// <summary>
    /// Whether <see cref="WeightGradient"/> runs: where the forward would take Winograd (<see cref="Applies{T}"/>), unless
    /// <see cref="t_directWeightGradient"/>. Its batch reduction is a tree whose top split is into the even- and
    /// odd-positioned images (<see cref="BatchTree"/>), so one process at batch 2B computes bit for bit the sum two
    /// data-parallel processes at batch B average, as the direct weight gradient and the bias gradients do too.
    /// (While only this path was reduced that way, the data-parallel equivalence test's float32 CNN, 2 x 32 against
    /// 1 x 64 within 1e-6 after 100 steps, parted at step 76 through the other layers' differently rounded batch sums.)
    /// </summary>
    internal static bool WeightGradientApplies<T>(in ConvGeometry g, int outC) where T : unmanaged =>
        !t_directWeightGradient && Applies<T>(g, outC);

    /// <summary>
    /// <c>gw[o, c] = Σ_i Σ_p gy[i, o, p] x[i, c, p + ·]</c> (the weight gradient, [O, C, k, k], overwritten) for
    /// <paramref name="count"/> images; only where <see cref="WeightGradientApplies{T}"/> said so.
    /// </summary>
    public static void WeightGradient(float* x, float* gy, int count, in ConvGeometry g, int outC, float* gw, int threads)
    {
        var t = WeightFor(g.KernelH)!;
        if (count == 0) { new Span<float>(gw, outC * g.Channels * g.KernelH * g.KernelW).Clear(); return; }
        if (Vector512.IsHardwareAccelerated) WinogradWeightJob<GemmKernel512<float>>.Run(x, gy, count, g, outC, gw, threads, t);
        else WinogradWeightJob<GemmKernel256<float>>.Run(x, gy, count, g, outC, gw, threads, t);
    }

    /// <summary>
    /// <c>gx = convᵀ(gy, w)</c> (the input gradient, [count, C, H, W], overwritten) as the adjoint of the forward's
    /// transforms (<see cref="WinogradInputGradientJob{TK}"/>); only where <see cref="Applies{T}"/> said so.
    /// </summary>
    public static void InputGradient(float* gy, int count, in ConvGeometry g, float* w, int outC, float* gx, int threads)
    {
        if (count == 0) return;
        var t = For(g.KernelH)!;
        if (Vector512.IsHardwareAccelerated) WinogradInputGradientJob<GemmKernel512<float>>.Run(gy, count, g, w, outC, gx, threads, t);
        else WinogradInputGradientJob<GemmKernel256<float>>.Run(gy, count, g, w, outC, gx, threads, t);
    }

    /// <summary>
    /// <c>y[i, o] = bias[o] + Σ_c w[o, c] ⋆ x[i, c]</c> for <paramref name="count"/> images [C, H, W] (zero padding), w
    /// [O, C, k, k], y [count, O, OH, OW] overwritten; only where <see cref="Applies{T}"/> said so.
    /// </summary>
    public static void Forward(float* x, int count, in ConvGeometry g, float* w, int outC, float* bias, float* y, int threads)
    {
        if (count == 0 || outC == 0) return;
        var t = For(g.KernelH)!;
        if (Vector512.IsHardwareAccelerated) WinogradJob<GemmKernel512<float>>.Run(x, count, g, w, outC, bias, y, threads, t);
        else WinogradJob<GemmKernel256<float>>.Run(x, count, g, w, outC, bias, y, threads, t);
    }
}

/// <summary>
/// One Winograd convolution: the filters are transformed once per call into the micro-kernel's packed A layout (one
/// [O x C] matrix per point ξ); the batch's output tiles, image after image, are cut into NR-wide strips split over
/// the parts. Per strip, the input tiles of every channel are transformed straight into n² packed B strips
/// ([C x NR] each, V, kept in L2), then for each MR-row block of output channels the n² products are made into a small
/// buffer and at once transformed back into output tiles (bias added) and stored. The transforms work on vectors
/// across the strip's tiles (one lane per tile), so they are plain vector multiply-adds with the matrices' nonzero
/// coefficients broadcast.
/// </summary>
internal sealed unsafe class WinogradJob<TK> : ParallelWork where TK : struct, IGemmKernel<float>
{
    [ThreadStatic] private static WinogradJob<TK>? t_job;

    private readonly AlignedBuffer<float> _packedU = new();
    private AlignedBuffer<float>[] _v = [], _m = [], _stage = [];
    private float* _x, _y, _bias, _u;
    private ConvGeometry _g;
    private WinogradTransform _t = null!;
    private int _count, _outC, _kc, _mPadded, _tilesH, _tilesW, _tiles;
    private (int N, int OutC, int Cin, int Kc) _layout;
    /// <summary>Whether this call moves whole tiles eight at a time (<see cref="WinogradTiles"/>).</summary>
    private bool _fastTiles;

    /// <summary>
    /// Floats between the n² per-point matrices of U and V beyond their size: without it the points lie a power of two
    /// apart (4 KB for 32 channels of a 32-tile strip) and a transform's n² stores to one tile all fall in one L1 set.
    /// </summary>
    private const int Skew = 16;

    /// <summary>Floats from one point's packed U to the next.</summary>
    private int PerPoint => _mPadded * _g.Channels + Skew;

    public static void Run(float* x, int count, in ConvGeometry g, float* w, int outC, float* bias, float* y, int threads, WinogradTransform t)
    {
        var job = t_job ??= new WinogradJob<TK>();
        int mr = TK.MR, nr = TK.NR, n = t.N, cin = g.Channels;
        job._x = x; job._y = y; job._bias = bias; job._g = g; job._t = t; job._count = count; job._outC = outC; job._fastTiles = WinogradTiles.Enabled;
        job._kc = GemmTuning.BlockDepth<float>(nr, cin);
        job._mPadded = (outC + mr - 1) / mr * mr;
        job._tilesH = (g.OutHeight + t.M - 1) / t.M;
        job._tilesW = (g.OutWidth + t.M - 1) / t.M;
        job._tiles = count * job._tilesH * job._tilesW;
        int perPoint = job.PerPoint;
        float* u = job._packedU.Get(n * n * perPoint);
        // Every call writes the same positions (the filters'); the padding rows past O stay zero from the first call
        // of a layout, so the buffer is cleared only when it or the layout changes.
        var layout = (n, outC, cin, job._kc);
        if (u != job._u || layout != job._layout) new Span<float>(u, n * n * perPoint).Clear();
        job._u = u; job._layout = layout;
        int strips = (job._tiles + nr - 1) / nr;
        int parts = Math.Max(1, Math.Min(threads, strips));
        if ((long)n * n * outC * cin * strips * nr < (long)Gemm.ParallelThresholdFlops) parts = 1;
        job.EnsureBuffers(Math.Max(parts, WorkerPool.MaxParallelism));
        job.TransformFilters(w);
        WorkerPool.Run(job, parts);
    }

    private void EnsureBuffers(int parts)
    {
        if (_v.Length >= parts) return;
        _v = AlignedBuffer<float>.Grow(_v, parts); _m = AlignedBuffer<float>.Grow(_m, parts); _stage = AlignedBuffer<float>.Grow(_stage, parts);
    }

    /// <summary>
    /// U_ξ[o, c] = (G w[o, c] Gᵀ)_ξ for every filter, <see cref="FilterLanes"/> filters at a time (one per lane),
    /// written into the packed A layout of point ξ: k block pc at mPadded·pc, its MR-row strip s at s·MR·kc, element
    /// (row, k) at k·MR + row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformFilters(float* w)
    {
        int r = _t.R, n = _t.N, cin = _g.Channels, filters = _outC * cin, taps = r * r, mr = TK.MR, kc = _kc;
        int perPoint = PerPoint;
        const int Lanes = FilterLanes;
        float* stage = _stage[0].Get((taps + 2 * n * n) * Lanes);
        float* half = stage + taps * Lanes, result = half + n * n * Lanes;
        var gRows = _t.GRows;
        if (mr == 8 && !Winograd.NarrowTransforms)
        {
            TransformFiltersByRowGroups(w, stage, half, result);
            return;
        }
        for (int f0 = 0; f0 < filters; f0 += Lanes)
        {
            int lanes = Math.Min(Lanes, filters - f0);
            for (int l = 0; l < Lanes; l++)
            {
                float* from = w + (nint)(f0 + l) * taps;
                for (int k = 0; k < taps; k++) stage[k * Lanes + l] = l < lanes ? from[k] : 0f;
            }
            // G g, stored transposed (half[b, i]), then G (G g)ᵀ = (G g Gᵀ)ᵀ read the same way: result[i, j].
            for (int i = 0; i < n; i++) Combine(gRows[i], stage, r * Lanes, Lanes, r, Lanes, half + i * Lanes, n * Lanes);
            for (int j = 0; j < n; j++) Combine(gRows[j], half, n * Lanes, Lanes, n, Lanes, result + j * Lanes, n * Lanes);
            for (int l = 0; l < lanes; l++)
            {
                int f = f0 + l, o = f / cin, c = f - o * cin;
                int pc = c / kc * kc, kcCur = Math.Min(kc, cin - pc);
                nint at = _mPadded * pc + o / mr * mr * kcCur + (c - pc) * mr + o % mr;
                for (int xi = 0; xi < n * n; xi++) _u[xi * perPoint + at] = result[xi * Lanes + l];
            }
        }
    }

    /// <summary>
    /// <see cref="TransformFilters"/> for 8-row strips: lane l holds filter (o0 + l mod 8, c0 + l / 8), so each group of
    /// eight lanes is one channel's eight consecutive rows of a strip, stored with one vector per point where the
    /// filter-by-filter order stored single floats MR apart. Every lane gets the same operations as before (the same
    /// values); the rows past O, inside the padded strip, are written with the zero filter's transform, +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformFiltersByRowGroups(float* w, float* stage, float* half, float* result)
    {
        int r = _t.R, n = _t.N, nn = n * n, cin = _g.Channels, taps = r * r, kc = _kc, perPoint = PerPoint;
        const int Lanes = FilterLanes, Rows = 8, Channels = Lanes / Rows;
        var gRows = _t.GRows;
        for (int o0 = 0; o0 < _mPadded; o0 += Rows)
        {
            for (int c0 = 0; c0 < cin; c0 += Channels)
            {
                int channels = Math.Min(Channels, cin - c0);
                for (int l = 0; l < Lanes; l++)
                {
                    int o = o0 + l % Rows, c = c0 + l / Rows;
                    if (o < _outC && c < cin)
                    {
                        float* from = w + ((nint)o * cin + c) * taps;
                        for (int k = 0; k < taps; k++) stage[k * Lanes + l] = from[k];
                    }
                    else for (int k = 0; k < taps; k++) stage[k * Lanes + l] = 0f;
                }
                for (int i = 0; i < n; i++) Combine(gRows[i], stage, r * Lanes, Lanes, r, Lanes, half + i * Lanes, n * Lanes);
                for (int j = 0; j < n; j++) Combine(gRows[j], half, n * Lanes, Lanes, n, Lanes, result + j * Lanes, n * Lanes);
                for (int q = 0; q < channels; q++)
                {
                    int c = c0 + q, pc = c / kc * kc, kcCur = Math.Min(kc, cin - pc);
                    float* to = _u + _mPadded * pc + o0 * kcCur + (c - pc) * Rows, from = result + q * Rows;
                    for (int xi = 0; xi < nn; xi++) Vector256.Store(Vector256.Load(from + xi * Lanes), to + (nint)xi * perPoint);
                }
            }
        }
    }

    /// <summary>Filters transformed at once (vectors of the stage per row: 4 of 8 floats).</summary>
    private const int FilterLanes = 32;

    /// <summary>
    /// <c>dst[k·dstBlock + l] = Σ_t c_t · src[i_t·srcRow + k·srcBlock + l]</c> for blocks k &lt; <paramref name="blocks"/>
    /// and lanes l &lt; <paramref name="width"/> (a multiple of 8): one row of a transform (its nonzero terms (i_t, c_t)),
    /// applied to vectors across tiles; the destination's vectors within a block lie <paramref name="dstVector"/> floats
    /// apart (8: contiguous). Eight (or four) vectors are accumulated at once so that the multiply-adds of
    /// a row are independent chains, not one chain waiting on each addition. Where 512-bit vectors are available and the
    /// width is a multiple of 16, in 512-bit vectors (<see cref="CombineVectors{TV}"/>; the same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Combine(WinogradTransform.Term[] terms, float* src, nint srcRow, nint srcBlock, int blocks, int width, float* dst, nint dstBlock, nint dstVector = 8)
    {
        if (Vector512.IsHardwareAccelerated && !Winograd.NarrowTransforms && (width & 15) == 0)
        {
            if (dstVector == 8) CombineVectors<Vec512<float>>(terms, src, srcRow, srcBlock, blocks, width, dst, dstBlock, 16);
            else Combine512Split(terms, src, srcRow, srcBlock, blocks, width, dst, dstBlock, dstVector);
            return;
        }
        CombineVectors<Vec256<float>>(terms, src, srcRow, srcBlock, blocks, width, dst, dstBlock, dstVector);
    }

    /// <summary>
    /// <see cref="Combine"/> in vectors of <typeparamref name="TV"/> (256 bits, or 512 where the width is a multiple of
    /// 16 and the destination's vectors are contiguous): the source's vectors lie <c>TV.Count</c> floats apart within a
    /// block, the destination's <paramref name="dstVector"/>. Every lane gets the same multiply-adds in the same order
    /// whatever the width, so the 512-bit form gives the 256-bit form's bits in half the instructions (which matter where
    /// two 512-bit FMAs issue per cycle and the transforms compete with the products).
    /// </summary>
    private static void CombineVectors<TV>(WinogradTransform.Term[] terms, float* src, nint srcRow, nint srcBlock, int blocks, int width, float* dst, nint dstBlock, nint dstVector)
        where TV : struct, IVec<TV, float>
    {
        int lanes = TV.Count, perBlock = width / lanes, vectors = blocks * perBlock;
        ulong reciprocal = Reciprocal(perBlock);
        int v = 0;
        if (srcBlock == width)
        {
            // A contiguous source row: the eight loads are at fixed steps from one pointer.
            for (; v + 8 <= vectors; v += 8)
            {
                TV a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                foreach (var term in terms)
                {
                    var c = TV.Create(term.Coefficient);
                    ref float p = ref *(src + term.Index * srcRow + v * lanes);
                    a0 = TV.FusedMultiplyAdd(c, TV.Load(ref p, 0), a0);
                    a1 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)lanes), a1);
                    a2 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(2 * lanes)), a2);
                    a3 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(3 * lanes)), a3);
                    a4 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(4 * lanes)), a4);
                    a5 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(5 * lanes)), a5);
                    a6 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(6 * lanes)), a6);
                    a7 = TV.FusedMultiplyAdd(c, TV.Load(ref p, (nuint)(7 * lanes)), a7);
                }
                StoreAt(a0, dst, v, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a1, dst, v + 1, perBlock, reciprocal, dstBlock, dstVector);
                StoreAt(a2, dst, v + 2, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a3, dst, v + 3, perBlock, reciprocal, dstBlock, dstVector);
                StoreAt(a4, dst, v + 4, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a5, dst, v + 5, perBlock, reciprocal, dstBlock, dstVector);
                StoreAt(a6, dst, v + 6, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a7, dst, v + 7, perBlock, reciprocal, dstBlock, dstVector);
            }
        }
        for (; v + 8 <= vectors; v += 8)
        {
            nint s0 = Offset(v, perBlock, reciprocal, srcBlock, lanes), s1 = Offset(v + 1, perBlock, reciprocal, srcBlock, lanes), s2 = Offset(v + 2, perBlock, reciprocal, srcBlock, lanes), s3 = Offset(v + 3, perBlock, reciprocal, srcBlock, lanes);
            nint s4 = Offset(v + 4, perBlock, reciprocal, srcBlock, lanes), s5 = Offset(v + 5, perBlock, reciprocal, srcBlock, lanes), s6 = Offset(v + 6, perBlock, reciprocal, srcBlock, lanes), s7 = Offset(v + 7, perBlock, reciprocal, srcBlock, lanes);
            TV a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            foreach (var term in terms)
            {
                var c = TV.Create(term.Coefficient);
                ref float row = ref *(src + term.Index * srcRow);
                a0 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s0), a0);
                a1 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s1), a1);
                a2 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s2), a2);
                a3 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s3), a3);
                a4 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s4), a4);
                a5 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s5), a5);
                a6 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s6), a6);
                a7 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s7), a7);
            }
            StoreAt(a0, dst, v, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a1, dst, v + 1, perBlock, reciprocal, dstBlock, dstVector);
            StoreAt(a2, dst, v + 2, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a3, dst, v + 3, perBlock, reciprocal, dstBlock, dstVector);
            StoreAt(a4, dst, v + 4, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a5, dst, v + 5, perBlock, reciprocal, dstBlock, dstVector);
            StoreAt(a6, dst, v + 6, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a7, dst, v + 7, perBlock, reciprocal, dstBlock, dstVector);
        }
        for (; v + 4 <= vectors; v += 4)
        {
            nint s0 = Offset(v, perBlock, reciprocal, srcBlock, lanes), s1 = Offset(v + 1, perBlock, reciprocal, srcBlock, lanes), s2 = Offset(v + 2, perBlock, reciprocal, srcBlock, lanes), s3 = Offset(v + 3, perBlock, reciprocal, srcBlock, lanes);
            TV a0 = default, a1 = default, a2 = default, a3 = default;
            foreach (var term in terms)
            {
                var c = TV.Create(term.Coefficient);
                ref float row = ref *(src + term.Index * srcRow);
                a0 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s0), a0);
                a1 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s1), a1);
                a2 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s2), a2);
                a3 = TV.FusedMultiplyAdd(c, TV.Load(ref row, (nuint)s3), a3);
            }
            StoreAt(a0, dst, v, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a1, dst, v + 1, perBlock, reciprocal, dstBlock, dstVector);
            StoreAt(a2, dst, v + 2, perBlock, reciprocal, dstBlock, dstVector); StoreAt(a3, dst, v + 3, perBlock, reciprocal, dstBlock, dstVector);
        }
        for (; v < vectors; v++)
        {
            nint s0 = Offset(v, perBlock, reciprocal, srcBlock, lanes);
            TV a0 = default;
            foreach (var term in terms) a0 = TV.FusedMultiplyAdd(TV.Create(term.Coefficient), TV.Load(ref *(src + term.Index * srcRow), (nuint)s0), a0);
            StoreAt(a0, dst, v, perBlock, reciprocal, dstBlock, dstVector);
        }
    }

    /// <summary>Stores <paramref name="a"/> as the destination's vector <paramref name="v"/> (see <see cref="Offset"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAt<TV>(TV a, float* dst, int v, int perBlock, ulong reciprocal, nint dstBlock, nint dstVector) where TV : struct, IVec<TV, float> =>
        a.Store(ref *(dst + Offset(v, perBlock, reciprocal, dstBlock, dstVector)), 0);

    /// <summary>
    /// <see cref="Combine"/> in 512-bit vectors for destinations whose 8-float vectors lie <paramref name="dstVector"/> floats apart (the
    /// packed A layout's MR-row strips): four results at a time, each stored as two 256-bit halves.
    /// </summary>
    private static void Combine512Split(WinogradTransform.Term[] terms, float* src, nint srcRow, nint srcBlock, int blocks, int width, float* dst, nint dstBlock, nint dstVector)
    {
        int perBlock = width / 16, vectors = blocks * perBlock, halves = width / 8;
        ulong reciprocal = Reciprocal(perBlock), halfReciprocal = Reciprocal(halves);
        int v = 0;
        for (; v + 4 <= vectors; v += 4)
        {
            nint s0 = Offset(v, perBlock, reciprocal, srcBlock, 16), s1 = Offset(v + 1, perBlock, reciprocal, srcBlock, 16), s2 = Offset(v + 2, perBlock, reciprocal, srcBlock, 16), s3 = Offset(v + 3, perBlock, reciprocal, srcBlock, 16);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            foreach (var term in terms)
            {
                var c = Vector512.Create(term.Coefficient);
                float* row = src + term.Index * srcRow;
                a0 = Vector512.FusedMultiplyAdd(c, Vector512.Load(row + s0), a0);
                a1 = Vector512.FusedMultiplyAdd(c, Vector512.Load(row + s1), a1);
                a2 = Vector512.FusedMultiplyAdd(c, Vector512.Load(row + s2), a2);
                a3 = Vector512.FusedMultiplyAdd(c, Vector512.Load(row + s3), a3);
            }
            StoreHalves(a0, dst, 2 * v, halves, halfReciprocal, dstBlock, dstVector); StoreHalves(a1, dst, 2 * v + 2, halves, halfReciprocal, dstBlock, dstVector);
            StoreHalves(a2, dst, 2 * v + 4, halves, halfReciprocal, dstBlock, dstVector); StoreHalves(a3, dst, 2 * v + 6, halves, halfReciprocal, dstBlock, dstVector);
        }
        for (; v < vectors; v++)
        {
            nint s0 = Offset(v, perBlock, reciprocal, srcBlock, 16);
            Vector512<float> a0 = default;
            foreach (var term in terms) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(term.Coefficient), Vector512.Load(src + term.Index * srcRow + s0), a0);
            StoreHalves(a0, dst, 2 * v, halves, halfReciprocal, dstBlock, dstVector);
        }
    }

    /// <summary>Stores <paramref name="a"/> as the destination's 8-float vectors <paramref name="h"/> and h + 1 (see <see cref="Offset"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalves(Vector512<float> a, float* dst, int h, int halves, ulong reciprocal, nint dstBlock, nint dstVector)
    {
        Vector256.Store(a.GetLower(), dst + Offset(h, halves, reciprocal, dstBlock, dstVector));
        Vector256.Store(a.GetUpper(), dst + Offset(h + 1, halves, reciprocal, dstBlock, dstVector));
    }

    /// <summary>
    /// ⌈2³² / d⌉: <c>(v · it) >> 32</c> is v / d for 0 ≤ v &lt; 2¹⁶ and 1 ≤ d ≤ 2¹⁶ (Granlund and Montgomery, with N = 16
    /// and shift 32: m·d − 2³² &lt; d ≤ 2¹⁶). <see cref="Combine"/>'s vector counts are far below 2¹⁶, and a multiply
    /// and a shift per vector cost a fraction of an integer division, which was a large part of a transform's time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Reciprocal(int d) => ((1UL << 32) + (ulong)d - 1) / (ulong)d;

    /// <summary>
    /// Where vector <paramref name="v"/> of a row lies: block v / perBlock (by <paramref name="reciprocal"/>, see
    /// <see cref="Reciprocal"/>), then <paramref name="vector"/> floats per vector within it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nint Offset(int v, int perBlock, ulong reciprocal, nint block, nint vector = 8)
    {
        int k = (int)(((ulong)(uint)v * reciprocal) >> 32);
        return k * block + (v - k * perBlock) * vector;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        int nr = TK.NR, mr = TK.MR, n = _t.N, nn = n * n, cin = _g.Channels, outC = _outC, kc = _kc;
        int strips = (_tiles + nr - 1) / nr;
        int s0 = (int)((long)strips * index / count), s1 = (int)((long)strips * (index + 1) / count);
        if (s0 >= s1) return;
        int vPoint = cin * nr + Skew;
        float* v = _v[index].Get(nn * vPoint);
        int mPoint = mr * nr + Skew;
        float* m = _m[index].Get(nn * mPoint);
        float* stage = _stage[index].Get(2 * nn * nr);
        int* image = stackalloc int[nr];
        int* top = stackalloc int[nr];
        int* left = stackalloc int[nr];
        int perPoint = PerPoint;
        for (int s = s0; s < s1; s++)
        {
            int q0 = s * nr, lanes = Math.Min(nr, _tiles - q0);
            for (int l = 0; l < lanes; l++)
            {
                int q = q0 + l, perImage = _tilesH * _tilesW, img = q / perImage, rest = q - img * perImage, ty = rest / _tilesW;
                image[l] = img; top[l] = ty * _t.M; left[l] = (rest - ty * _tilesW) * _t.M;
            }
            for (int c = 0; c < cin; c++) TransformInput(stage, v + c * nr, vPoint, c, image, top, left, lanes);
            for (int ir = 0; ir < outC; ir += mr)
            {
                int h = Math.Min(mr, outC - ir);
                for (int xi = 0; xi < nn; xi++)
                {
                    float* uPoint = _u + xi * perPoint, vXi = v + xi * vPoint;
                    for (int pc = 0; pc < cin; pc += kc)
                    {
                        int kcCur = Math.Min(kc, cin - pc);
                        TK.Run(kcCur, uPoint + _mPadded * pc + ir * kcCur, vXi + pc * nr, nr, m + xi * mPoint, nr, 1f, pc > 0 ? 1f : 0f);
                    }
                }
                for (int row = 0; row < h; row++) TransformOutput(stage, m + row * nr, mPoint, ir + row, image, top, left, lanes);
            }
        }
    }

    /// <summary>
    /// V_ξ[c, lane] = (Bᵀ d B)_ξ for channel c of the strip's tiles, stored at <c>dst + ξ·pointStride + lane</c>. The
    /// n x n input windows (top-left at (top − PadH, left − PadW), zeros outside the image) are first copied into the
    /// stage lane by lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformInput(float* stage, float* dst, int pointStride, int c, int* image, int* top, int* left, int lanes)
    {
        int nr = TK.NR, n = _t.N, nn = n * n, h = _g.Height, wd = _g.Width, planes = _g.Channels;
        float* d = stage, e = stage + nn * nr;
        int l = 0;
        if (n == 8 && _fastTiles)
        {
            // Eight tiles whose windows lie inside the image at once (bit-identical moves, WinogradTiles).
            float** windows = stackalloc float*[8];
            for (; l + 8 <= lanes && WinogradTiles.Locate8(_x, planes, c, h, wd, _g.PadH, _g.PadW, 8, image, top, left, l, windows); l += 8)
                WinogradTiles.GatherWindows8(windows, wd, d, nr, l);
        }
        for (; l < lanes; l++)
        {
            float* plane = _x + ((nint)image[l] * planes + c) * h * wd;
            int y0 = top[l] - _g.PadH, x0 = left[l] - _g.PadW;
            // The window's rows and columns inside the image; the rest of the window is zero padding.
            int a0 = Math.Max(0, -y0), a1 = Math.Min(n, h - y0), b0 = Math.Max(0, -x0), b1 = Math.Min(n, wd - x0);
            for (int a = 0; a < n; a++)
            {
                float* to = d + a * n * nr + l;
                if (a < a0 || a >= a1)
                {
                    for (int z = 0; z < n; z++) to[z * nr] = 0f;
                    continue;
                }
                float* src = plane + (nint)(y0 + a) * wd + x0;
                int b = 0;
                for (; b < b0; b++) to[b * nr] = 0f;
                for (; b < b1; b++) to[b * nr] = src[b];
                for (; b < n; b++) to[b * nr] = 0f;
            }
        }
        for (l = lanes; l < nr; l++)
            for (int k = 0; k < nn; k++) d[k * nr + l] = 0f;
        var rows = _t.BTRows;
        // Bᵀ d stored transposed (e[b, i]); then row j of Bᵀ over e's rows gives (Bᵀ d B)[i, j] for every i: point i·n + j.
        for (int i = 0; i < n; i++) Combine(rows[i], d, n * nr, nr, n, nr, e + i * nr, n * nr);
        for (int j = 0; j < n; j++) Combine(rows[j], e, n * nr, nr, n, nr, dst + (nint)j * pointStride, (nint)n * pointStride);
    }

    /// <summary>
    /// Output channel <paramref name="o"/> of the strip's tiles: Y = Aᵀ M A (+ bias) from the products M_ξ at
    /// <c>src + ξ·pointStride + lane</c>, stored into y where the tile lies inside the output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput(float* stage, float* src, int pointStride, int o, int* image, int* top, int* left, int lanes)
    {
        int nr = TK.NR, n = _t.N, m = _t.M, oh = _g.OutHeight, ow = _g.OutWidth;
        float* f = stage, yt = stage + m * n * nr;
        var rows = _t.ATRows;
        // Aᵀ M stored transposed (f[b, i]), then Y[i, j] = Σ_b Aᵀ[j, b] f[b, i].
        for (int i = 0; i < m; i++) Combine(rows[i], src, (nint)n * pointStride, pointStride, n, nr, f + i * nr, m * nr);
        for (int j = 0; j < m; j++) Combine(rows[j], f, m * nr, nr, m, nr, yt + j * nr, m * nr);
        float bias = _bias is null ? 0f : _bias[o];
        int l = 0;
        if (m == 4 && _fastTiles)
        {
            float** tiles = stackalloc float*[8];
            for (; l + 8 <= lanes && WinogradTiles.Locate8(_y, _outC, o, oh, ow, 0, 0, 4, image, top, left, l, tiles); l += 8)
                WinogradTiles.ScatterTiles4(yt, nr, l, tiles, ow, bias);
        }
        for (; l < lanes; l++)
        {
            float* plane = _y + ((nint)image[l] * _outC + o) * oh * ow;
            int rowsLeft = Math.Min(m, oh - top[l]), colsLeft = Math.Min(m, ow - left[l]);
            for (int i = 0; i < rowsLeft; i++)
            {
                float* to = plane + (nint)(top[l] + i) * ow + left[l];
                for (int j = 0; j < colsLeft; j++) to[j] = yt[(i * m + j) * nr + l] + bias;
            }
        }
    }
}
