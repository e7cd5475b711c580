using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The input gradient of a stride-1 float32 convolution as the adjoint of its Winograd forward. The forward makes the
/// output tile τ of every output channel o as <c>Y_τ[o] = Aᵀ [Σ_c U[o, c] ⊙ (Bᵀ X_τ[c] B)] A</c> from the n x n input
/// window X_τ; its adjoint in X is <c>dX_τ[c] = B [Σ_o U[o, c] ⊙ (A dY_τ[o] Aᵀ)] Bᵀ</c>, added into the window (the
/// windows of neighbouring tiles overlap; positions in the padding are dropped). So the same n² products as the
/// forward, <c>Z_ξ = U_ξᵀ · W_ξ</c> ([C x O] by [O x tiles]), on the same filter transform, with no zero border: a
/// layer without padding (the CNN's 12x12 → 8x8 one) does only its output's tiles, where the input gradient as a full
/// correlation would do the input's (with the border of zeros) - see <see cref="ImplicitConv.InputGradientSupported"/>.
/// <para>
/// Threads take whole images (the tiles of one image overlap, those of different images do not), and within an image
/// every tile's contribution is added in tile order, so the sums do not depend on the thread count.
/// </para>
/// </summary>
internal sealed unsafe class WinogradInputGradientJob<TK> : ParallelWork where TK : struct, IGemmKernel<float>
{
    [ThreadStatic] private static WinogradInputGradientJob<TK>? t_job;

    private readonly AlignedBuffer<float> _packedU = new();
    private AlignedBuffer<float>[] _v = [], _m = [], _stage = [];
    private float* _gy, _gx, _u;
    private ConvGeometry _g;
    private WinogradTransform _t = null!;
    private WinogradTransform.Term[][] _aRows = [], _bRows = [];
    private WinogradTransform? _rowsOf;
    private int _count, _outC, _kc, _mPadded, _tilesH, _tilesW;
    private (int N, int OutC, int Cin, int Kc) _layout;
    /// <summary>Whether this call moves whole tiles eight at a time (<see cref="WinogradTiles"/>).</summary>
    private bool _fastTiles;

    /// <summary>Floats between consecutive points' matrices beyond their size (see <see cref="WinogradJob{TK}"/>).</summary>
    private const int Skew = 16;

    /// <summary>Filters transformed at once.</summary>
    private const int FilterLanes = 32;

    /// <summary>Floats from one point's packed Uᵀ to the next.</summary>
    private int PerPoint => _mPadded * _outC + Skew;

    public static void Run(float* gy, int count, in ConvGeometry g, float* w, int outC, float* gx, int threads, WinogradTransform t)
    {
        var job = t_job ??= new WinogradInputGradientJob<TK>();
        int mr = TK.MR, nr = TK.NR, n = t.N, cin = g.Channels;
        job._gy = gy; job._gx = gx; job._g = g; job._t = t; job._count = count; job._outC = outC; job._fastTiles = WinogradTiles.Enabled;
        if (!ReferenceEquals(job._rowsOf, t))
        {
            job._aRows = Transposed(t.AT, t.M, n);
            job._bRows = Transposed(t.BT, n, n);
            job._rowsOf = t;
        }
        job._kc = GemmTuning.BlockDepth<float>(nr, outC);
        job._mPadded = (cin + mr - 1) / mr * mr;
        job._tilesH = (g.OutHeight + t.M - 1) / t.M;
        job._tilesW = (g.OutWidth + t.M - 1) / t.M;
        int perPoint = job.PerPoint;
        float* u = job._packedU.Get(n * n * perPoint);
        // Every call writes the same positions (the filters'); the padding rows past C stay zero from the first call
        // of a layout, so the buffer is cleared only when it or the layout changes.
        var layout = (n, outC, cin, job._kc);
        if (u != job._u || layout != job._layout) new Span<float>(u, n * n * perPoint).Clear();
        job._u = u; job._layout = layout;
        int tiles = count * job._tilesH * job._tilesW;
        int parts = Math.Max(1, Math.Min(threads, count));
        if ((long)n * n * outC * cin * tiles < (long)Gemm.ParallelThresholdFlops) parts = 1;
        int buffers = Math.Max(parts, WorkerPool.MaxParallelism);
        if (job._v.Length < buffers)
        {
            job._v = AlignedBuffer<float>.Grow(job._v, buffers); job._m = AlignedBuffer<float>.Grow(job._m, buffers);
            job._stage = AlignedBuffer<float>.Grow(job._stage, buffers);
        }
        job.TransformFilters(w);
        WorkerPool.Run(job, parts);
    }

    /// <summary>The sparse rows of the transpose of a rows x cols matrix (A from Aᵀ, B from Bᵀ).</summary>
    private static WinogradTransform.Term[][] Transposed(double[] matrix, int rows, int cols)
    {
        var result = new WinogradTransform.Term[cols][];
        for (int j = 0; j < cols; j++)
        {
            var terms = new List<WinogradTransform.Term>();
            for (int i = 0; i < rows; i++)
                if (matrix[i * cols + j] != 0) terms.Add(new WinogradTransform.Term(i, (float)matrix[i * cols + j]));
            result[j] = [.. terms];
        }
        return result;
    }

    /// <summary>
    /// U_ξ[o, c] = (G w[o, c] Gᵀ)_ξ as the forward makes it, written transposed into the packed A layout of point ξ
    /// (rows c, depth o): k block pc at mPadded·pc, its MR-row strip s at s·MR·kc, element (c, o) at (o − pc)·MR + c mod MR.
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
        // With 8-row strips and whole groups of eight channels, a filter row's channels go out eight at a time.
        bool wideStores = mr == 8 && cin % 8 == 0 && !Winograd.NarrowTransforms;
        for (int f0 = 0; f0 < filters; f0 += Lanes)
        {
            int lanes = Math.Min(Lanes, filters - f0);
            for (int z = 0; z < Lanes; z++)
            {
                float* from = w + (nint)(f0 + z) * taps;
                for (int k = 0; k < taps; k++) stage[k * Lanes + z] = z < lanes ? from[k] : 0f;
            }
            for (int i = 0; i < n; i++) WinogradJob<TK>.Combine(gRows[i], stage, r * Lanes, Lanes, r, Lanes, half + i * Lanes, n * Lanes);
            for (int j = 0; j < n; j++) WinogradJob<TK>.Combine(gRows[j], half, n * Lanes, Lanes, n, Lanes, result + j * Lanes, n * Lanes);
            int l = 0;
            if (wideStores)
            {
                // Eight lanes are channels c .. c + 7 of one filter row o (c a multiple of 8): one MR strip's eight
                // consecutive floats, so each point takes one vector store per group (the same values).
                for (; l + 8 <= lanes; l += 8)
                {
                    int f = f0 + l, o = f / cin, c = f - o * cin;
                    int pc = o / kc * kc, kcCur = Math.Min(kc, _outC - pc);
                    float* to = _u + _mPadded * pc + c * kcCur + (o - pc) * 8, from = result + l;
                    for (int xi = 0; xi < n * n; xi++) Vector256.Store(Vector256.Load(from + xi * Lanes), to + (nint)xi * perPoint);
                }
            }
            for (; l < lanes; l++)
            {
                int f = f0 + l, o = f / cin, c = f - o * cin;
                int pc = o / kc * kc, kcCur = Math.Min(kc, _outC - pc);
                nint at = _mPadded * pc + c / mr * mr * kcCur + (o - pc) * mr + c % mr;
                for (int xi = 0; xi < n * n; xi++) _u[xi * perPoint + at] = result[xi * Lanes + l];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        int nr = TK.NR, mr = TK.MR, n = _t.N, nn = n * n, cin = _g.Channels, outC = _outC, kc = _kc;
        int i0 = (int)((long)_count * index / count), i1 = (int)((long)_count * (index + 1) / count);
        if (i0 >= i1) return;
        int plane = _g.Height * _g.Width;
        new Span<float>(_gx + (nint)i0 * cin * plane, (i1 - i0) * cin * plane).Clear();
        int perImage = _tilesH * _tilesW, q0 = i0 * perImage, q1 = i1 * perImage;
        int vPoint = outC * nr + Skew;
        float* v = _v[index].Get(nn * vPoint);
        int mPoint = mr * nr + Skew;
        float* m = _m[index].Get(nn * mPoint);
        float* stage = _stage[index].Get(3 * nn * nr);
        int* image = stackalloc int[nr];
        int* top = stackalloc int[nr];
        int* left = stackalloc int[nr];
        int perPoint = PerPoint;
        for (int s = q0; s < q1; s += nr)
        {
            int lanes = Math.Min(nr, q1 - s);
            for (int l = 0; l < lanes; l++)
            {
                int q = s + l, img = q / perImage, rest = q - img * perImage, ty = rest / _tilesW;
                image[l] = img; top[l] = ty * _t.M; left[l] = (rest - ty * _tilesW) * _t.M;
            }
            for (int o = 0; o < outC; o++) TransformGradient(stage, v + o * nr, vPoint, o, image, top, left, lanes);
            for (int ir = 0; ir < cin; ir += mr)
            {
                int h = Math.Min(mr, cin - ir);
                for (int xi = 0; xi < nn; xi++)
                {
                    float* uPoint = _u + xi * perPoint, vXi = v + xi * vPoint;
                    for (int pc = 0; pc < outC; pc += kc)
                    {
                        int kcCur = Math.Min(kc, outC - pc);
                        TK.Run(kcCur, uPoint + _mPadded * pc + ir * kcCur, vXi + pc * nr, nr, m + xi * mPoint, nr, 1f, pc > 0 ? 1f : 0f);
                    }
                }
                for (int row = 0; row < h; row++) AddInputTiles(stage, m + row * nr, mPoint, ir + row, image, top, left, lanes);
            }
        }
    }

    /// <summary>
    /// W_ξ[o, lane] = (A dY Aᵀ)_ξ for output channel o of the strip's tiles (the m x m output-gradient tile, zeros past
    /// the output's edge), stored at <c>dst + ξ·pointStride + lane</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformGradient(float* stage, float* dst, int pointStride, int o, int* image, int* top, int* left, int lanes)
    {
        int nr = TK.NR, n = _t.N, m = _t.M, oh = _g.OutHeight, ow = _g.OutWidth;
        float* d = stage, half = stage + m * m * nr;
        int l = 0;
        if (m == 4 && _fastTiles)
        {
            // Eight whole tiles at once (bit-identical moves, WinogradTiles).
            float** tiles = stackalloc float*[8];
            for (; l + 8 <= lanes && WinogradTiles.Locate8(_gy, _outC, o, oh, ow, 0, 0, 4, image, top, left, l, tiles); l += 8)
                WinogradTiles.GatherTiles4(tiles, ow, d, nr, l);
        }
        for (; l < lanes; l++)
        {
            float* plane = _gy + ((nint)image[l] * _outC + o) * oh * ow;
            int rows = Math.Min(m, oh - top[l]), cols = Math.Min(m, ow - left[l]);
            for (int a = 0; a < m; a++)
            {
                float* to = d + a * m * nr + l;
                if (a >= rows)
                {
                    for (int b = 0; b < m; b++) to[b * nr] = 0f;
                    continue;
                }
                float* src = plane + (nint)(top[l] + a) * ow + left[l];
                int b2 = 0;
                for (; b2 < cols; b2++) to[b2 * nr] = src[b2];
                for (; b2 < m; b2++) to[b2 * nr] = 0f;
            }
        }
        for (l = lanes; l < nr; l++)
            for (int k = 0; k < m * m; k++) d[k * nr + l] = 0f;
        var rows2 = _aRows;
        // A dY stored transposed (half[b, i], b < m), then A over half's rows: point i·n + j of (A dY Aᵀ).
        for (int i = 0; i < n; i++) WinogradJob<TK>.Combine(rows2[i], d, m * nr, nr, m, nr, half + i * nr, n * nr);
        for (int j = 0; j < n; j++) WinogradJob<TK>.Combine(rows2[j], half, n * nr, nr, n, nr, dst + (nint)j * pointStride, (nint)n * pointStride);
    }

    /// <summary>
    /// Input channel <paramref name="c"/> of the strip's tiles: dX_τ = B Z Bᵀ from the products Z_ξ at
    /// <c>src + ξ·pointStride + lane</c>, added into the tiles' input windows where they lie inside the image, lane by lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddInputTiles(float* stage, float* src, int pointStride, int c, int* image, int* top, int* left, int lanes)
    {
        int nr = TK.NR, n = _t.N, nn = n * n, h = _g.Height, wd = _g.Width;
        float* f = stage, xt = stage + nn * nr;
        var rows = _bRows;
        // B Z stored transposed (f[b, i]), then dX[i, j] = Σ_b B[j, b] f[b, i].
        for (int i = 0; i < n; i++) WinogradJob<TK>.Combine(rows[i], src, (nint)n * pointStride, pointStride, n, nr, f + i * nr, n * nr);
        for (int j = 0; j < n; j++) WinogradJob<TK>.Combine(rows[j], f, n * nr, nr, n, nr, xt + j * nr, n * nr);
        int l = 0;
        if (n == 8 && _fastTiles)
        {
            float** windows = stackalloc float*[8];
            for (; l + 8 <= lanes && WinogradTiles.Locate8(_gx, _g.Channels, c, h, wd, _g.PadH, _g.PadW, 8, image, top, left, l, windows); l += 8)
                WinogradTiles.AddWindows8(xt, nr, l, windows, wd, stage + 2 * nn * nr);
        }
        for (; l < lanes; l++)
        {
            float* plane = _gx + ((nint)image[l] * _g.Channels + c) * h * wd;
            int y0 = top[l] - _g.PadH, x0 = left[l] - _g.PadW;
            int a0 = Math.Max(0, -y0), a1 = Math.Min(n, h - y0), b0 = Math.Max(0, -x0), b1 = Math.Min(n, wd - x0);
            for (int a = a0; a < a1; a++)
            {
                float* to = plane + (nint)(y0 + a) * wd + x0;
                float* from = xt + a * n * nr + l;
                for (int b = b0; b < b1; b++) to[b] += from[b * nr];
            }
        }
    }
}
