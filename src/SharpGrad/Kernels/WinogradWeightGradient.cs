using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpGrad.Kernels;

/// <summary>
/// The weight gradient of a stride-1 float32 convolution by Winograd's algorithm. Cut the output gradient of every
/// image into 4 x 4 tiles; tile τ at (4ty, 4tx) sees the n x n input window at (4ty − PadH, 4tx − PadW) (n = k + 3),
/// and <c>gw[o, c] = Σ_τ corr(x_τ[c], gy_τ[o])</c>, a k x k correlation of the window with the 4 x 4 tile: exactly
/// what F(k x k, 4 x 4) computes, <c>Aᵀ [(G gy_τ Gᵀ) ⊙ (Bᵀ x_τ B)] A</c>. Aᵀ is linear, so the sum over tiles moves
/// inside: <c>gw[o, c] = Aᵀ M[o, c] A</c> with <c>M_ξ = U_ξ · V_ξ</c>, U_ξ [O x tiles] the transformed output-gradient
/// tiles and V_ξ [tiles x C] the transformed input windows: n² products whose depth is the batch's tile count (long:
/// the micro-kernel's best case), in place of one product of depth OH·OW·batch on k² times as many columns.
/// <para>
/// Three passes, each split over threads by a partition fixed by the shapes (every result a fixed sequence of
/// operations, so it does not depend on the thread count): (1) the tiles are transformed straight into the
/// micro-kernel's packed layouts (U as A: lanes across MR output channels; V as B: lanes across NR input channels);
/// (2) each thread takes whole points ξ and accumulates M_ξ over the tiles; (3) the output transform, filter by
/// filter. Leaves whose packed tiles would exceed <see cref="ChunkFloats"/> go through passes 1 and 2 in chunks of
/// tiles (a fixed size), M accumulating.
/// </para>
/// <para>
/// The batch is reduced as a tree fixed by the image count (<see cref="BatchTree"/>): leaves of at most
/// <see cref="BatchTree.LeafImages"/> images run the three passes, and a larger set is its even-positioned images' gradient plus
/// its odd-positioned ones'. Besides keeping a leaf's packed tiles small, this makes a batch of 2B images give exactly
/// the sum of what its two interleaved halves of B give, as data-parallel training over two processes adds them.
/// </para>
/// </summary>
internal sealed unsafe class WinogradWeightJob<TK> : ParallelWork, IBatchLeaves<float> where TK : struct, IGemmKernel<float>
{
    [ThreadStatic] private static WinogradWeightJob<TK>? t_job;

    private readonly AlignedBuffer<float> _u = new(), _v = new(), _m = new();
    private AlignedBuffer<float>[] _stage = [], _partials = [];
    private float* _x, _gy, _gw, _pu, _pv, _pm;
    private ConvGeometry _g;
    private WinogradTransform _t = null!;
    private int _outC, _mPadded, _nPadded, _tilesH, _tilesW, _chunk, _k0, _kLen, _kc, _phase, _threads, _first, _stride;
    /// <summary>
    /// Whether this call moves whole input windows and output-gradient tiles into the stages eight channels at a time
    /// (<see cref="WinogradTiles"/>; read once per call on the calling thread; off under <see cref="Winograd.NarrowTransforms"/>).
    /// </summary>
    private bool _wideMoves;

    /// <summary>Floats of packed U and V per chunk of tiles (8 MB): a leaf of the CNN's second layer is one chunk.</summary>
    private const int ChunkFloats = 1 << 21;

    /// <summary>Floats between consecutive points' matrices beyond their size, so that they do not lie a power of two apart.</summary>
    private const int Skew = 16;

    /// <summary>Output channels transformed at once (four vectors of lanes).</summary>
    private const int Lanes = 32;

    /// <summary>
    /// Input channels at a time in the output transform: 16 (one 512-bit vector of lanes) where the transforms run
    /// 512-bit, else 8 (the former grouping, kept under <see cref="Winograd.NarrowTransforms"/>). Either divides NR,
    /// so a group never reads past M's padded columns; each lane's operations are the same either way.
    /// </summary>
    private static int OutLanes => Vector512.IsHardwareAccelerated && !Winograd.NarrowTransforms ? 16 : 8;

    /// <summary>The output gradient's tile edge (the transform's "filter" size).</summary>
    private const int Step = 4;

    private int PointU => _mPadded * _chunk + Skew;
    private int PointV => _nPadded * _chunk + Skew;
    private int PointM => _mPadded * _nPadded + Skew;

    public static void Run(float* x, float* gy, int count, in ConvGeometry g, int outC, float* gw, int threads, WinogradTransform t)
    {
        var job = t_job ??= new WinogradWeightJob<TK>();
        int mr = TK.MR, nr = TK.NR, cin = g.Channels;
        job._x = x; job._gy = gy; job._g = g; job._t = t; job._outC = outC; job._threads = threads;
        job._wideMoves = WinogradTiles.Enabled && !Winograd.NarrowTransforms;
        job._mPadded = (outC + mr - 1) / mr * mr;
        job._nPadded = (cin + nr - 1) / nr * nr;
        job._tilesH = (g.OutHeight + Step - 1) / Step;
        job._tilesW = (g.OutWidth + Step - 1) / Step;
        int leaf = Winograd.t_weightLeafImages > 0 ? Winograd.t_weightLeafImages : BatchTree.LeafImages;
        BatchTree.Sum(job, 0, 1, count, leaf, gw, outC * cin * g.KernelH * g.KernelW, ref job._partials);
    }

    /// <summary>The gradients of two sets of images added (<see cref="BatchTree"/>).</summary>
    public void Combine(float* dst, float* odd, int size) => BatchTree.Add(dst, odd, size);

    /// <summary>The three passes over the tiles of images <c>first + i·stride</c> (i &lt; <paramref name="count"/>), gw into <paramref name="dst"/>.</summary>
    public void Leaf(int first, int stride, int count, float* dst)
    {
        int nn = _t.N * _t.N;
        _first = first; _stride = stride; _gw = dst;
        int tiles = count * _tilesH * _tilesW;
        _chunk = Math.Clamp((Winograd.t_weightChunkFloats > 0 ? Winograd.t_weightChunkFloats : ChunkFloats) / (nn * (_mPadded + _nPadded)), 1, tiles);
        _kc = GemmTuning.BlockDepth<float>(TK.NR, _chunk);
        _pu = _u.Get(nn * PointU);
        _pv = _v.Get(nn * PointV);
        _pm = _m.Get(nn * PointM);
        int parts = (long)nn * _outC * _g.Channels * tiles < (long)Gemm.ParallelThresholdFlops ? 1 : Math.Max(1, _threads);
        if (_stage.Length < Math.Max(parts, WorkerPool.MaxParallelism))
            _stage = AlignedBuffer<float>.Grow(_stage, Math.Max(parts, WorkerPool.MaxParallelism));
        for (int k0 = 0; k0 < tiles; k0 += _chunk)
        {
            _k0 = k0;
            _kLen = Math.Min(_chunk, tiles - k0);
            _phase = 0;
            WorkerPool.Run(this, Math.Min(parts, _kLen));
            _phase = 1;
            WorkerPool.Run(this, Math.Min(parts, nn));
        }
        _phase = 2;
        WorkerPool.Run(this, Math.Min(parts, _outC));
    }

    public override void Execute(int index, int count)
    {
        int items = _phase switch { 0 => _kLen, 1 => _t.N * _t.N, _ => _outC };
        int i0 = (int)((long)items * index / count), i1 = (int)((long)items * (index + 1) / count);
        if (i0 >= i1) return;
        int nn = _t.N * _t.N;
        float* stage = _stage[index].Get(Math.Max(2 * nn * TK.NR, 3 * nn * Lanes));
        if (_phase == 0) for (int k = i0; k < i1; k++) TransformTile(stage, k);
        else if (_phase == 1) for (int xi = i0; xi < i1; xi++) Multiply(xi);
        else for (int o = i0; o < i1; o++) TransformOutput(stage, o);
    }

    /// <summary>
    /// Tile k of the chunk: its input windows (every channel, NR at a time) into V, its output-gradient tiles (every
    /// output channel, <see cref="Lanes"/> at a time) into U, at row k of the packed layouts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformTile(float* stage, int k)
    {
        int nr = TK.NR, mr = TK.MR, n = _t.N, r = _t.R, nn = n * n, cin = _g.Channels, h = _g.Height, wd = _g.Width;
        int oh = _g.OutHeight, ow = _g.OutWidth, outC = _outC;
        int q = _k0 + k, perImage = _tilesH * _tilesW, index = q / perImage, rest = q - index * perImage, ty = rest / _tilesW, img = _first + index * _stride;
        int oy = ty * Step, ox = (rest - ty * _tilesW) * Step;
        int pc = k / _kc * _kc, kcCur = Math.Min(_kc, _kLen - pc), kk = k - pc;
        int pointV = PointV, pointU = PointU;

        // V: the window's rows and columns inside the image (the rest is zero padding), lane = input channel.
        int y0 = oy - _g.PadH, x0 = ox - _g.PadW;
        int a0 = Math.Max(0, -y0), a1 = Math.Min(n, h - y0), b0 = Math.Max(0, -x0), b1 = Math.Min(n, wd - x0);
        float* d = stage, e = stage + nn * nr;
        float** windows = stackalloc float*[8];  // eight channels' windows or tiles for the moves through registers
        var bt = _t.BTRows;
        for (int c0 = 0; c0 < cin; c0 += nr)
        {
            int lanes = Math.Min(nr, cin - c0);
            if (lanes < nr || a0 > 0 || a1 < n || b0 > 0 || b1 < n) new Span<float>(d, nn * nr).Clear();
            int l = 0;
            if (_wideMoves && n == 8 && a0 == 0 && a1 == n && b0 == 0 && b1 == n)
            {
                // A whole window: eight channels at a time through a register transpose (WinogradTiles; the same moves).
                for (; l + 8 <= lanes; l += 8)
                {
                    float* first = _x + ((nint)img * cin + c0 + l) * h * wd + (nint)y0 * wd + x0;
                    for (int z = 0; z < 8; z++) windows[z] = first + (nint)z * h * wd;
                    WinogradTiles.GatherWindows8(windows, wd, d, nr, l);
                }
            }
            for (; l < lanes; l++)
            {
                float* plane = _x + ((nint)img * cin + c0 + l) * h * wd;
                for (int a = a0; a < a1; a++)
                {
                    float* src = plane + (nint)(y0 + a) * wd + x0;
                    float* to = d + a * n * nr + l;
                    for (int b = b0; b < b1; b++) to[b * nr] = src[b];
                }
            }
            // Bᵀ d stored transposed (e[b, i]), then Bᵀ over e's rows: point i·n + j of (Bᵀ d B).
            for (int i = 0; i < n; i++) WinogradJob<TK>.Combine(bt[i], d, n * nr, nr, n, nr, e + i * nr, n * nr);
            float* dst = _pv + (nint)_nPadded * pc + (nint)c0 * kcCur + kk * nr;
            for (int j = 0; j < n; j++) WinogradJob<TK>.Combine(bt[j], e, n * nr, nr, n, nr, dst + (nint)j * pointV, (nint)n * pointV);
        }

        // U: the 4 x 4 output-gradient tile (zeros past the output's edge), lane = output channel, Lanes at a time;
        // with 8-row register tiles a group's consecutive MR strips are written by one pass (vectors 8·kc apart).
        int rows = Math.Min(r, oh - oy), cols = Math.Min(r, ow - ox);
        float* gyTile = stage, half = stage + r * r * Lanes, result = half + n * r * Lanes;
        var gRows = _t.GRows;
        for (int o0 = 0; o0 < _mPadded; o0 += Lanes)
        {
            int lanes = Math.Min(Lanes, outC - o0), width = Math.Min(Lanes, _mPadded - o0);
            if (lanes < Lanes || rows < r || cols < r) new Span<float>(gyTile, r * r * Lanes).Clear();
            int l = 0;
            if (_wideMoves && r == 4 && rows == r && cols == r)
            {
                // A whole 4 x 4 tile: eight output channels at a time (WinogradTiles; the same moves).
                for (; l + 8 <= lanes; l += 8)
                {
                    float* first = _gy + ((nint)img * outC + o0 + l) * oh * ow + (nint)oy * ow + ox;
                    for (int z = 0; z < 8; z++) windows[z] = first + (nint)z * oh * ow;
                    WinogradTiles.GatherTiles4(windows, ow, gyTile, Lanes, l);
                }
            }
            for (; l < lanes; l++)
            {
                float* plane = _gy + ((nint)img * outC + o0 + l) * oh * ow + (nint)oy * ow + ox;
                for (int a = 0; a < rows; a++)
                    for (int b = 0; b < cols; b++) gyTile[(a * r + b) * Lanes + l] = plane[a * ow + b];
            }
            // G gy stored transposed (half[b, i]), then G over half's rows: point i·n + j of (G gy Gᵀ).
            for (int i = 0; i < n; i++) WinogradJob<TK>.Combine(gRows[i], gyTile, r * Lanes, Lanes, r, Lanes, half + i * Lanes, n * Lanes);
            if (mr == 8)
            {
                float* dst = _pu + (nint)_mPadded * pc + (nint)o0 * kcCur + kk * mr;
                for (int j = 0; j < n; j++)
                    WinogradJob<TK>.Combine(gRows[j], half, n * Lanes, Lanes, n, width, dst + (nint)j * pointU, (nint)n * pointU, 8 * kcCur);
            }
            else
            {
                // MR is not one vector (the 256-bit kernel's 6 rows): transform into the stage, then place each lane.
                for (int j = 0; j < n; j++) WinogradJob<TK>.Combine(gRows[j], half, n * Lanes, Lanes, n, Lanes, result + j * Lanes, n * Lanes);
                for (l = 0; l < width; l++)
                {
                    int o = o0 + l;
                    float* dst = _pu + (nint)_mPadded * pc + (nint)(o / mr * mr) * kcCur + kk * mr + o % mr;
                    for (int xi = 0; xi < nn; xi++) dst[(nint)xi * pointU] = result[xi * Lanes + l];
                }
            }
        }
    }

    /// <summary>M_ξ (+)= U_ξ · V_ξ over the chunk's tiles: [O x tiles] by [tiles x C], into M_ξ ([mPadded x nPadded]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Multiply(int xi)
    {
        int mr = TK.MR, nr = TK.NR, kc = _kc, ldm = _nPadded;
        float* u = _pu + (nint)xi * PointU, v = _pv + (nint)xi * PointV, m = _pm + (nint)xi * PointM;
        for (int pc = 0; pc < _kLen; pc += kc)
        {
            int kcCur = Math.Min(kc, _kLen - pc);
            float beta = _k0 == 0 && pc == 0 ? 0f : 1f;
            for (int jr = 0; jr < _nPadded; jr += nr)
            {
                float* b = v + (nint)_nPadded * pc + (nint)jr * kcCur;
                for (int ir = 0; ir < _mPadded; ir += mr)
                    TK.Run(kcCur, u + (nint)_mPadded * pc + (nint)ir * kcCur, b, nr, m + (nint)ir * ldm + jr, ldm, 1f, beta);
            }
        }
    }

    /// <summary>gw[o, c] = Aᵀ M[o, c] A for every input channel c, <see cref="OutLanes"/> channels at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput(float* stage, int o)
    {
        int n = _t.N, k = _t.M, cin = _g.Channels, taps = k * k, pointM = PointM, outLanes = OutLanes;
        float* f = stage, yt = stage + n * k * outLanes;
        var at = _t.ATRows;
        for (int c0 = 0; c0 < cin; c0 += outLanes)
        {
            float* src = _pm + (nint)o * _nPadded + c0;
            // Aᵀ M stored transposed (f[b, i]), then gw[i, j] = Σ_b Aᵀ[j, b] f[b, i].
            for (int i = 0; i < k; i++) WinogradJob<TK>.Combine(at[i], src, (nint)n * pointM, pointM, n, outLanes, f + i * outLanes, k * outLanes);
            for (int j = 0; j < k; j++) WinogradJob<TK>.Combine(at[j], f, k * outLanes, outLanes, k, outLanes, yt + j * outLanes, k * outLanes);
            int lanes = Math.Min(outLanes, cin - c0);
            for (int l = 0; l < lanes; l++)
            {
                float* to = _gw + ((nint)o * cin + c0 + l) * taps;
                for (int z = 0; z < taps; z++) to[z] = yt[z * outLanes + l];
            }
        }
    }
}
