using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpGrad.Kernels;

/// <summary>Activation applied by the GEMM epilogue after the bias: <c>C = act(alpha op(A) op(B) + beta C + bias)</c>.</summary>
internal enum GemmActivation
{
    /// <summary>No activation.</summary>
    None,

    /// <summary>ReLU: x where x &gt; 0 or x is NaN, else 0 (as <see cref="Tensor.Relu"/>).</summary>
    Relu,

    /// <summary>
    /// Exact GELU with its derivative kept: for the pre-activation <c>v = alpha op(A) op(B) + beta C + bias</c>,
    /// <c>C = GELU(v)</c> and the auxiliary matrix (C's layout) gets <c>GELU'(v)</c>, the same values as
    /// <see cref="Tensor.Gelu"/> of v and as its backward's factor. For a layer whose backward multiplies by GELU'(v):
    /// the two share the first part of their formula here, and the backward needs no GELU of its own.
    /// </summary>
    GeluKeepDerivative,

    /// <summary>Exact GELU alone, <c>C = GELU(v)</c> (the values of <see cref="GeluKeepDerivative"/>'s C), no auxiliary matrix: for a forward nothing differentiates.</summary>
    Gelu,

    /// <summary>
    /// The backward's use of <see cref="GeluKeepDerivative"/>'s matrix: <c>C = v · aux</c> with v the product (plus beta
    /// C and bias) and aux the auxiliary matrix (C's layout), which holds GELU'; the values GELU's backward pass gives v.
    /// </summary>
    ScaleByAux,
}

/// <summary>
/// The blocked GEMM (GotoBLAS/BLIS loop nest): for each NC-wide panel of columns and each KC-deep block of k, op(B) is
/// packed into NR-wide strips (KC x NR, sized to stay in L1 while the kernel sweeps down a block of A); for each MC-tall
/// block of rows op(A) is packed into MR-tall strips (kept in L2); the register-tiled micro-kernel then computes every
/// MR x NR tile. The work is cut into one slice of C per thread (rows, or columns when there are few rows), each slice
/// packing what it reads, and the slices are claimed by the pool's threads (<see cref="WorkerPool"/>). k is never split,
/// so every element of C is the same sequence of operations whatever the thread count: results are bit-identical.
/// </summary>
internal static unsafe class GemmPacked
{
    /// <summary>Entry: picks the micro-kernel for this machine (the JIT folds the tests) and runs the plan.</summary>
    /// <remarks>
    /// <paramref name="aux"/> is the auxiliary matrix (C's layout) of the GELU activations, else null; with
    /// <paramref name="rowShares"/> the threads split C's rows whenever each gets at least one strip (see <see cref="Gemm.Multiply{T}(bool, bool, int, int, int, T, ReadOnlySpan{T}, int, ReadOnlySpan{T}, int, T, Span{T}, int, ReadOnlySpan{T}, GemmActivation, bool)"/>).
    /// </remarks>
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, T* bias, GemmActivation activation, int threads, T* aux = null, bool rowShares = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The few-rows kernel writes bias and ReLU only (its transposed tiles have no GELU epilogue).
        if (activation is GemmActivation.None or GemmActivation.Relu && SmallRowsNT<T>.Applies(transA, transB, m, n, k, alpha, beta))
            SmallRowsNT<T>.Run(m, n, k, a, lda, b, ldb, c, ldc, bias, activation, threads);
        else if (Vector512.IsHardwareAccelerated)
            GemmJob<T, GemmKernel512<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation, threads, aux, rowShares);
        else if (Vector256.IsHardwareAccelerated)
            GemmJob<T, GemmKernel256<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation, threads, aux, rowShares);
        else
            GemmJob<T, GemmKernelScalar<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, activation, threads, aux, rowShares);
    }
}

/// <summary>A 64-byte-aligned scratch buffer on the pinned object heap that grows and is then reused.</summary>
internal sealed unsafe class AlignedBuffer<T> where T : unmanaged
{
    private T[] _array = [];
    private T* _ptr;

    /// <summary>The same buffers, plus new ones up to <paramref name="count"/> (one per part of a parallel job).</summary>
    public static AlignedBuffer<T>[] Grow(AlignedBuffer<T>[] old, int count)
    {
        if (old.Length >= count) return old;
        var grown = new AlignedBuffer<T>[count];
        for (int i = 0; i < count; i++) grown[i] = i < old.Length ? old[i] : new AlignedBuffer<T>();
        return grown;
    }

    public T* Get(int length)
    {
        int pad = 64 / sizeof(T);
        if (_array.Length < length + pad)
        {
            _array = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
            T* p = (T*)Unsafe.AsPointer(ref _array[0]);
            _ptr = (T*)(((nint)p + 63) & ~(nint)63);
        }
        return _ptr;
    }
}

/// <summary>One GEMM call: the problem, the plan and the scratch buffers; cached per calling thread, reused.</summary>
internal sealed unsafe class GemmJob<T, TK> : ParallelWork
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : struct, IGemmKernel<T>
{
    [ThreadStatic] private static GemmJob<T, TK>? t_job;

    private T* _a, _b, _c, _bias, _aux;
    private nint _lda, _ldb, _ldc;
    private bool _transA, _transB;
    private int _m, _n, _k;
    private T _alpha, _beta;
    private GemmActivation _activation;

    // The plan: blocking depends on the shape only; the thread count only decides who computes which tiles.
    private int _kc, _mc, _nc;
    // The most rows of a part's last block of A (see GemmTuning.LastBlockRows): at least _mc.
    private int _mcLast;
    private bool _splitRows;
    // GemmTuning.AInPlace: the full MR-row strips of op(A) read where they are (see ReadsAInPlace).
    private bool _aInPlace;

    // The shared-panel plan (see PlanShared): all of op(B) packed once by every thread together, then row blocks.
    private bool _sharedB;
    private bool _packing;
    private int _blocks;
    // GemmTuning.SplitLastBlocks: each home share's last row block run as two parts of half the strips each.
    private bool _splitLast;
    private int _sharedThreads;
    private nint _nPad;
    private T* _bShared;
    private readonly AlignedBuffer<T> _sharedPanel = new();
    // On-demand packing of the shared panel (GemmTuning.PackSharedOnDemand): one claim word per (k block, strip), a cache
    // line apart; in call g a word holds 2g while its strip is being packed and 2g + 1 once it is packed (any other value:
    // not yet claimed in this call), so the words never need clearing.
    private int[] _stripStates = [];
    private int _stripStride, _packGeneration;
    private bool _packOnDemand;
    [ThreadStatic] private static AlignedBuffer<T>? t_blockA, t_blockTile;

    private AlignedBuffer<T>[] _privateA = [];
    private AlignedBuffer<T>[] _privateB = [];
    private AlignedBuffer<T>[] _tile = [];

    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, T* bias, GemmActivation activation, int threads, T* aux = null, bool rowShares = false)
    {
        var job = t_job ??= new GemmJob<T, TK>();
        job._a = a; job._b = b; job._c = c; job._bias = bias; job._aux = aux;
        job._lda = lda; job._ldb = ldb; job._ldc = ldc;
        job._transA = transA; job._transB = transB;
        job._m = m; job._n = n; job._k = k;
        job._alpha = alpha; job._beta = beta; job._activation = activation;
        job.Plan(threads, rowShares);
        if (job._sharedB)
        {
            job.RunShared(threads);
            return;
        }
        job.EnsureBuffers(threads);
        WorkerPool.Run(job, threads);
    }

    /// <summary>
    /// The shared-panel plan, for products with more rows than one block per thread: first every thread packs its
    /// share of the NR strips of op(B), for all k blocks, into one buffer (a pool run of its own, whose end is the only
    /// barrier: parts never wait for each other); then the rows of C are cut into blocks of at most MC rows (a multiple
    /// of the thread count, equal sizes), claimed one at a time by whichever thread is free, each packing its own
    /// block of A and reading the shared strips. op(B) is packed once instead of once per thread, and a thread that
    /// loses its core on a busy machine leaves its unclaimed blocks to the other. Every element of C is the same k
    /// blocks of the same micro-kernel in the same order as in the per-thread plan: the results are identical.
    /// </summary>
    private void RunShared(int threads)
    {
        int nr = TK.NR;
        _nPad = (_n + nr - 1) / nr * nr;
        _bShared = _sharedPanel.Get(checked((int)(_k * _nPad)));
        _packOnDemand = GemmTuning.PackSharedOnDemand;
        if (_packOnDemand)
        {
            // No packing run: each strip is packed by the first block that reaches it (see SharedStrip).
            _stripStride = (int)(_nPad / nr);
            int words = ((_k + _kc - 1) / _kc * _stripStride) * StateStride;
            if (_stripStates.Length < words) _stripStates = new int[words];
            _packGeneration++;
        }
        else
        {
            _packing = true;
            WorkerPool.Run(this, Math.Min(threads, (int)(_nPad / nr)), threads);
            _packing = false;
        }
        WorkerPool.Run(this, _splitLast ? _blocks + threads : _blocks, threads);
    }

    /// <summary>Ints between two strips' claim words: one cache line each.</summary>
    private const int StateStride = 16;

    /// <summary>
    /// On-demand packing of the shared panel: makes sure strip <paramref name="strip"/> of k block
    /// <paramref name="pc"/> is packed before its kernel calls. The first thread to reach it claims and packs it (the
    /// same values <see cref="PackSharedStrips"/> would write, to the same place); a thread that finds it claimed waits
    /// for the other's copy, which is running (a claim is only made by a thread about to pack, and packing waits for
    /// nothing), so parts run one after another on one thread never wait. The blocks of the two home shares walk the
    /// strips in opposite directions, so on their first round the threads pack different strips and meet in the middle.
    /// </summary>
    private void SharedStrip(int pc, int kc, int strip, T* dst)
    {
        ref int state = ref _stripStates[(pc / _kc * _stripStride + strip) * StateStride];
        int claimed = 2 * _packGeneration, packed = claimed + 1;
        int seen = Volatile.Read(ref state);
        if (seen == packed) return;
        if (seen != claimed && Interlocked.CompareExchange(ref state, claimed, seen) == seen)
        {
            int nr = TK.NR, j0 = strip * nr;
            GemmPacking.PackBStrip(dst, BAt(pc, j0), _ldb, _transB, kc, Math.Min(nr, _n - j0), nr);
            Volatile.Write(ref state, packed);
            return;
        }
        int spins = 0;
        while (Volatile.Read(ref state) != packed) WorkerPool.Pause(ref spins);
    }

    /// <summary>Whether to take the shared-panel plan (<see cref="RunShared"/>) and into how many row blocks.</summary>
    private void PlanShared(int threads)
    {
        int mr = TK.MR, nr = TK.NR;
        int rowStrips = (_m + mr - 1) / mr, blockStrips = _mc / mr;
        long packed = (long)_k * ((_n + nr - 1) / nr * nr) * sizeof(T);
        _sharedB = GemmTuning.SharedPanel && threads > 1 && _splitRows && _m > threads * _mc && packed <= GemmTuning.SharedPanelBytes
            && (long)_m * _n * _k >= GemmTuning.SharedPanelMinMultiplyAdds;
        if (!_sharedB) return;
        int blocks = (rowStrips + blockStrips - 1) / blockStrips;
        _blocks = (blocks + threads - 1) / threads * threads;
        _sharedThreads = threads;
        _splitLast = GemmTuning.SplitLastBlocks && (_n + nr - 1) / nr >= 2;
    }

    private void Plan(int threads, bool rowShares)
    {
        int mr = TK.MR, nr = TK.NR;
        _kc = GemmTuning.BlockDepth<T>(nr, _k);
        _mc = GemmTuning.Mc / mr * mr;
        _nc = GemmTuning.PanelWidth<T>(nr, _kc, _n);
        // Threads split the rows of C and share each packed panel of B, except when C has few rows (a training batch)
        // and enough column strips: then each thread packs and keeps its own strips of B (no barrier, no strip packed by
        // one core and read by the other) and packs the small A itself. Only who computes what moves, never how.
        int rowStrips = (_m + mr - 1) / mr, colStrips = (_n + nr - 1) / nr;
        _splitRows = (rowShares || !(rowStrips <= GemmTuning.SmallRowStrips && colStrips >= 2 * threads)) && rowStrips >= threads;
        PlanShared(threads);
        _mcLast = _sharedB ? _mc : GemmTuning.LastBlockRows<T>(mr, nr, _kc);
        _aInPlace = ReadsAInPlace();
        if (_aInPlace) GemmTuning.AInPlaceTaken = true;
    }

    private void EnsureBuffers(int threads)
    {
        threads = Math.Max(threads, WorkerPool.MaxParallelism);
        if (_privateA.Length < threads)
        {
            _privateA = AlignedBuffer<T>.Grow(_privateA, threads);
            _privateB = AlignedBuffer<T>.Grow(_privateB, threads);
            _tile = AlignedBuffer<T>.Grow(_tile, threads);
        }
    }

    /// <summary>No part waits for another; part t takes the t-th share of C's rows (or columns) on every call of a shape.</summary>
    public override bool HasHomes => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        if (_sharedB)
        {
            if (_packing) PackSharedStrips(index, count);
            else SharedBlock(index, count);
            return;
        }
        int mr = TK.MR, nr = TK.NR;
        int r0 = 0, r1 = _m, c0 = 0, c1 = _n;
        if (count > 1)
        {
            if (_splitRows)
            {
                int strips = (_m + mr - 1) / mr;
                r0 = Math.Min(_m, strips * index / count * mr);
                r1 = Math.Min(_m, strips * (index + 1) / count * mr);
            }
            else
            {
                int strips = (_n + nr - 1) / nr;
                c0 = Math.Min(_n, strips * index / count * nr);
                c1 = Math.Min(_n, strips * (index + 1) / count * nr);
            }
        }
        if (r0 >= r1 || c0 >= c1) return;
        int kc = _kc, nc = _nc;
        T* aBuf = _privateA[index].Get(_mcLast * kc);
        T* bPanel = _privateB[index].Get(nc * kc);
        T* tile = _tile[index].Get(mr * nr);
        // Each part packs the B panel it needs itself: parts never wait for each other (see WorkerPool), and a panel
        // packed on the core that reads it is already in that core's caches. With rows split, each part packs the
        // whole panel; that is k n copies per part against m n k / parts multiply-adds, under 2% from 256 rows up.
        for (int jc = c0; jc < c1; jc += nc)
        {
            int ncCur = Math.Min(nc, c1 - jc);
            for (int pc = 0; pc < _k; pc += kc)
            {
                int kcCur = Math.Min(kc, _k - pc);
                // One block of rows (a training batch): each strip of B is used once, so it is packed just before its
                // kernel calls and read back from L1; otherwise the panel is packed once for all the row blocks.
                bool perStrip = r1 - r0 <= _mcLast;
                if (!perStrip) GemmPacking.PackB(bPanel, BAt(pc, jc), _ldb, _transB, kcCur, ncCur, nr);
                Block(r0, r1, jc, ncCur, pc, kcCur, bPanel, perStrip, aBuf, tile);
            }
        }
    }

    /// <summary>Part <paramref name="index"/> of the shared packing: its share of the NR strips, every k block.</summary>
    private void PackSharedStrips(int index, int count)
    {
        int nr = TK.NR, strips = (int)(_nPad / nr);
        int s0 = strips * index / count, s1 = strips * (index + 1) / count;
        int j0 = s0 * nr, cols = Math.Min(_n, s1 * nr) - j0;
        if (cols <= 0) return;
        for (int pc = 0; pc < _k; pc += _kc)
        {
            int kcCur = Math.Min(_kc, _k - pc);
            GemmPacking.PackB(_bShared + pc * _nPad + j0 * kcCur, BAt(pc, j0), _ldb, _transB, kcCur, cols, nr);
        }
    }

    /// <summary>
    /// Part <paramref name="index"/> of <paramref name="count"/> of the shared plan's row blocks (at most MC rows) against
    /// the shared strips: row block <paramref name="index"/>, or with <see cref="GemmTuning.SplitLastBlocks"/> the parts
    /// of each thread's home share (see <see cref="ParallelWork.HasHomes"/>) are its row blocks with the last one cut into
    /// two halves of the strips, so that the thread that finishes first takes half a block of the other's, not a whole one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SharedBlock(int index, int count)
    {
        int mr = TK.MR, nr = TK.NR, strips = (_m + mr - 1) / mr;
        int block = index, c0 = 0, c1 = _n;
        if (_splitLast)
        {
            int per = _blocks / _sharedThreads + 1, share = index / per, j = index % per;
            block = share * (per - 1) + Math.Min(j, per - 2);
            if (j >= per - 2)
            {
                int mid = (_n + nr - 1) / nr / 2 * nr;
                (c0, c1) = j == per - 2 ? (0, mid) : (mid, _n);
            }
            count = _blocks;
        }
        int r0 = Math.Min(_m, strips * block / count * mr), r1 = Math.Min(_m, strips * (block + 1) / count * mr);
        if (r0 >= r1) return;
        T* aBuf = (t_blockA ??= new AlignedBuffer<T>()).Get(_mc * _kc);
        T* tile = (t_blockTile ??= new AlignedBuffer<T>()).Get(mr * nr);
        // The whole width at once: each k block of the row block's A is packed once, against every strip of B.
        bool descending = _packOnDemand && 2 * index >= count;
        for (int pc = 0; pc < _k; pc += _kc)
        {
            int kcCur = Math.Min(_kc, _k - pc);
            Block(r0, r1, c0, c1 - c0, pc, kcCur, _bShared + pc * _nPad + c0 * kcCur, false, aBuf, tile, descending);
        }
    }

    private T* BAt(int p, int j) => _transB ? _b + j * _ldb + p : _b + p * _ldb + j;

    /// <summary>
    /// Whether a full strip of B that is used once (one block of rows) is read in place rather than packed: when B is not
    /// transposed its rows already hold NR contiguous values, so packing would only copy them (a training batch's
    /// backward products: dX = g W, dW = gᵀ x). Not when the row stride is a multiple of 4 KB: every row of the strip
    /// would then map to the same sets of L1 (measured slower at 64 x 2048 x 512 on the Zen 4, while 1 KB strides, as in
    /// 64 x 256 x 128, gain).
    /// </summary>
    private bool ReadsBInPlace() => !_transB && GemmTuning.BInPlace != 0 && (GemmTuning.BInPlace == 2 || (_ldb * sizeof(T)) % 4096 != 0);

    private T* AAt(int i, int p) => _transA ? _a + p * _lda + i : _a + i * _lda + p;

    /// <summary>
    /// Whether the full MR-row strips of A are read in place by <see cref="GemmKernel512RowsOfA{T}"/> rather than packed
    /// (<see cref="GemmTuning.AInPlace"/>): when A is not transposed (its rows hold k-contiguous values, so the kernel can
    /// broadcast from eight row streams) and op(B) has at most <see cref="GemmTuning.AInPlaceMaxStrips"/> NR strips, so
    /// that each strip of A would be packed to be used once or twice: packing it is a copy of all of A (a classifier's
    /// input, 1024 x 256, for 54 columns) with little arithmetic in between. A partial last strip is still packed (its
    /// zero rows keep the kernel inside A). AVX-512 only (the kernel's tile is <see cref="GemmKernel512{T}"/>'s).
    /// </summary>
    private bool ReadsAInPlace() => GemmTuning.AInPlace && !_transA && typeof(TK) == typeof(GemmKernel512<T>)
        && (_n + TK.NR - 1) / TK.NR <= GemmTuning.AInPlaceMaxStrips;

    /// <summary>
    /// Rows [r0, r1) of C against one packed panel of B: columns [jc, jc + nc), k block [pc, pc + kc); the strips from
    /// the last to the first when <paramref name="descending"/> (each tile is computed the same way in either order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(int r0, int r1, int jc, int nc, int pc, int kc, T* bPanel, bool packPerStrip, T* aBuf, T* tile, bool descending = false)
    {
        int mr = TK.MR, nr = TK.NR;
        T betaCur = pc == 0 ? _beta : T.One;
        bool epilogue = pc + kc >= _k && (_bias != null || _activation != GemmActivation.None);
        for (int ic = r0, mc; ic < r1; ic += mc)
        {
            // Up to _mcLast rows when they are the last: no thin block after a full one.
            mc = r1 - ic <= _mcLast ? r1 - ic : _mc;
            // With A in place only a partial last strip is packed, at its place in the block's buffer.
            int packed0 = _aInPlace ? mc / mr * mr : 0;
            if (packed0 < mc) GemmPacking.PackA(aBuf + packed0 * kc, AAt(ic + packed0, pc), _lda, _transA, mc - packed0, kc, mr);
            int strips = (nc + nr - 1) / nr;
            for (int t = 0; t < strips; t++)
            {
                int strip = descending ? strips - 1 - t : t, jr = strip * nr;
                int w = Math.Min(nr, nc - jr);
                T* bp = bPanel + jr * kc;
                nint rsb = nr;
                if (_sharedB && _packOnDemand) SharedStrip(pc, kc, (jc + jr) / nr, bp);
                if (packPerStrip)
                {
                    if (w == nr && ReadsBInPlace())
                    {
                        // Rows of a full strip of B are already NR contiguous values: the kernel reads them where they are.
                        bp = BAt(pc, jc + jr);
                        rsb = _ldb;
                    }
                    else
                    {
                        bp = bPanel;
                        GemmPacking.PackBStrip(bp, BAt(pc, jc + jr), _ldb, _transB, kc, w, nr);
                    }
                }
                // The next packed strip of B (read after this one's kernel calls) is prefetched by the kernel calls on
                // this one, each continuing where the previous stopped (kc / 8 lines each), so that it arrives while this
                // strip is in use rather than stalling its first kernel call (a large panel comes from L3 or memory).
                int nextStrip = descending ? strip - 1 : strip + 1;
                byte* next = GemmTuning.PrefetchNextStrip && !packPerStrip && nextStrip >= 0 && nextStrip < strips ? (byte*)(bPanel + nextStrip * nr * kc) : null;
                nint perCall = (kc + 15) / 16 * 128, stripBytes = (nint)kc * nr * sizeof(T);
                for (int ir = 0; ir < mc; ir += mr)
                {
                    nint offset = ir / mr * perCall;
                    byte* prefetch = next != null && offset < stripBytes ? next + offset : null;
                    int h = Math.Min(mr, mc - ir);
                    T* ap = aBuf + ir * kc;
                    T* cp = _c + (ic + ir) * _ldc + jc + jr;
                    if (_aInPlace && h == mr)
                    {
                        // The strip's rows of A where they are: the same chains and stores as on the packed strip.
                        T* rows = AAt(ic + ir, pc);
                        if (w == nr) GemmKernel512RowsOfA<T>.Run(kc, rows, _lda, bp, rsb, cp, _ldc, _alpha, betaCur, prefetch);
                        else if (2 * w <= nr && GemmTuning.HalfEdge)
                        {
                            // At most half a strip of real columns: the half-width tile, as on a packed strip.
                            if (2 * w == nr) GemmKernel512HalfRowsOfA<T>.Run(kc, rows, _lda, bp, rsb, cp, _ldc, _alpha, betaCur);
                            else
                            {
                                GemmKernel512HalfRowsOfA<T>.Run(kc, rows, _lda, bp, rsb, tile, nr, T.One, T.Zero);
                                GemmPacking.MergeTile(tile, nr, cp, _ldc, h, w, _alpha, betaCur);
                            }
                        }
                        else
                        {
                            GemmKernel512RowsOfA<T>.Run(kc, rows, _lda, bp, rsb, tile, nr, T.One, T.Zero, prefetch);
                            GemmPacking.MergeTile(tile, nr, cp, _ldc, h, w, _alpha, betaCur);
                        }
                    }
                    else if (h == mr && w == nr)
                    {
                        TK.Run(kc, ap, bp, rsb, cp, _ldc, _alpha, betaCur, prefetch);
                    }
                    else if (typeof(TK) == typeof(GemmKernel512<T>) && 2 * w <= nr && GemmTuning.HalfEdge)
                    {
                        // At most half a strip of real columns: the half-width tile, the same chains (GemmKernel512Half).
                        if (h == mr && 2 * w == nr) GemmKernel512Half<T>.Run(kc, ap, bp, rsb, cp, _ldc, _alpha, betaCur);
                        else
                        {
                            GemmKernel512Half<T>.Run(kc, ap, bp, rsb, tile, nr, T.One, T.Zero);
                            GemmPacking.MergeTile(tile, nr, cp, _ldc, h, w, _alpha, betaCur);
                        }
                    }
                    else
                    {
                        TK.Run(kc, ap, bp, rsb, tile, nr, T.One, T.Zero, prefetch);
                        GemmPacking.MergeTile(tile, nr, cp, _ldc, h, w, _alpha, betaCur);
                    }
                    if (epilogue && _aux == null) GemmEpilogue.Apply(cp, _ldc, h, w, _bias == null ? null : _bias + jc + jr, _activation);
                }
            }
            // GELU is applied to the finished block (in L2) rather than per tile: on a tile's 8 rows of 32 values its
            // vector code set up its constants for two vectors a row, and the step measured slower than GELU as its own pass.
            if (epilogue && _aux != null)
                GemmEpilogue.Apply(_c + ic * _ldc + jc, _ldc, mc, nc, _bias == null ? null : _bias + jc, _activation, _aux + ic * _ldc + jc);
        }
    }
}

/// <summary>
/// <c>C = act(A Bᵀ + bias)</c> for few rows of C (A m x k with m at most <see cref="MaxRows"/>, B n x k, both row-major:
/// a Linear layer's forward at a training batch size, B its weight), computed as its transpose <c>Cᵀ = B Aᵀ</c>: the
/// rows of B are read in place as the micro-kernel's broadcast operand (<see cref="GemmKernel512RowsOfA{T}"/>) and only
/// Aᵀ, the small operand, is packed. The packed kernels would instead transpose all of B into strips on every call, a
/// copy of the whole weight that reads it with little arithmetic in between (it comes from L3 after the optimizer
/// wrote it). Each 8 x 32 tile of Cᵀ is summed over the whole of k in registers and written transposed into C with the
/// bias and the activation. Threads split the rows of B in 8-row strips; each packs Aᵀ itself; every element of C is one
/// chain of fused multiply-adds in increasing k whatever the split, so results are bit-identical for any thread count.
/// </summary>
internal sealed unsafe class SmallRowsNT<T> : ParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The most rows of C (two strips of Aᵀ) this form takes.</summary>
    internal const int MaxRows = 64;

    private const int MR = 8;

    [ThreadStatic] private static SmallRowsNT<T>? t_job;

    private T* _a, _b, _c, _bias;
    private nint _lda, _ldb, _ldc;
    private int _m, _n, _k;
    private GemmActivation _activation;
    private AlignedBuffer<T>[] _packed = [], _edge = [], _tile = [];

    /// <summary>
    /// Whether <c>C = act(alpha op(A) op(B) + beta C + bias)</c> takes this form: A not transposed, B transposed, alpha 1,
    /// beta 0, float32 with AVX-512, 1 to <see cref="MaxRows"/> rows, at least one 8-row strip of B and 16 terms.
    /// Depends on the shape only, as the choice of path must.
    /// </summary>
    public static bool Applies(bool transA, bool transB, int m, int n, int k, T alpha, T beta) =>
        GemmTuning.SmallRowsNT && typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated && !transA && transB
        && m >= 1 && m <= MaxRows && n >= MR && k >= 16 && alpha == T.One && beta == T.Zero;

    public static void Run(int m, int n, int k, T* a, nint lda, T* b, nint ldb, T* c, nint ldc, T* bias, GemmActivation activation, int threads)
    {
        var job = t_job ??= new SmallRowsNT<T>();
        job._a = a; job._b = b; job._c = c; job._bias = bias;
        job._lda = lda; job._ldb = ldb; job._ldc = ldc;
        job._m = m; job._n = n; job._k = k; job._activation = activation;
        int strips = (n + MR - 1) / MR;
        int parts = strips >= 2 * threads ? threads : 1;
        int slots = Math.Max(parts, WorkerPool.MaxParallelism);
        if (job._packed.Length < slots)
        {
            job._packed = AlignedBuffer<T>.Grow(job._packed, slots);
            job._edge = AlignedBuffer<T>.Grow(job._edge, slots);
            job._tile = AlignedBuffer<T>.Grow(job._tile, slots);
        }
        WorkerPool.Run(job, parts);
    }

    /// <summary>Part t takes the t-th share of B's rows (a Linear's weight rows) on every call.</summary>
    public override bool HasHomes => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Execute(int index, int count)
    {
        int nr = 2 * Vector512<T>.Count;
        int strips = (_n + MR - 1) / MR;
        int s0 = (int)((long)strips * index / count), s1 = (int)((long)strips * (index + 1) / count);
        if (s0 >= s1) return;
        int k = _k, aStrips = (_m + nr - 1) / nr;
        // Aᵀ as the kernel's B operand: strip q holds Aᵀ[p, i] = A[q nr + i, p] at [q][p][i], zero past row m.
        T* packed = _packed[index].Get(aStrips * nr * k);
        GemmPacking.PackB(packed, _a, _lda, true, k, _m, nr);
        T* tile = _tile[index].Get(2 * MR * nr);
        for (int s = s0; s < s1; s++)
        {
            int j0 = s * MR, h = Math.Min(MR, _n - j0);
            T* rows = _b + j0 * _ldb;
            nint ldr = _ldb;
            if (h < MR)
            {
                // The last strip of B has fewer than 8 rows: a zero-padded copy, so the kernel reads no further.
                T* edge = _edge[index].Get(MR * k);
                for (int r = 0; r < MR; r++)
                {
                    if (r < h) new ReadOnlySpan<T>(rows + r * _ldb, k).CopyTo(new Span<T>(edge + r * k, k));
                    else new Span<T>(edge + r * k, k).Clear();
                }
                rows = edge;
                ldr = k;
            }
            for (int q = 0; q < aStrips; q++)
            {
                GemmKernel512RowsOfA<T>.Run(k, rows, ldr, packed + q * nr * k, tile);
                WriteTransposed(tile, nr, q * nr, Math.Min(nr, _m - q * nr), j0, h, tile + MR * nr);
            }
        }
    }

    /// <summary>
    /// <c>C[i0 + i, j0 + r] = act(t[r, i] + bias[j0 + r])</c> for i &lt; <paramref name="rows"/>, r &lt; <paramref name="h"/>:
    /// the tile of Cᵀ into C, with the epilogue's operations (<see cref="GemmEpilogue"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteTransposed(T* t, int nr, int i0, int rows, int j0, int h, T* scratch)
    {
        T* bias = _bias == null ? null : _bias + j0;
        bool relu = _activation == GemmActivation.Relu;
        if (h == MR && typeof(T) == typeof(float) && Avx.IsSupported)
        {
            var vb = bias == null ? Vector256<float>.Zero : Vector256.Load((float*)bias);
            for (int ib = 0; ib < rows; ib += 8)
            {
                // 8 columns of the tile (rows of C) become 8 rows of scratch, one vector each.
                GemmPacking.Transpose8x8((float*)t + ib, nr, (float*)scratch, 8);
                int count = Math.Min(8, rows - ib);
                for (int q = 0; q < count; q++)
                {
                    var v = Vector256.Load((float*)scratch + q * 8);
                    if (bias != null) v += vb;
                    if (relu) v &= Vector256.GreaterThan(v, Vector256<float>.Zero) | ~Vector256.Equals(v, v); // x > 0 or NaN
                    v.Store((float*)(_c + (i0 + ib + q) * _ldc + j0));
                }
            }
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            T* ci = _c + (i0 + i) * _ldc + j0;
            for (int r = 0; r < h; r++)
            {
                T v = t[r * nr + i];
                if (bias != null) v += bias[r];
                if (relu) v = v > T.Zero || T.IsNaN(v) ? v : T.Zero;
                ci[r] = v;
            }
        }
    }
}

/// <summary>
/// The GEMM epilogue <c>c = act(c + bias[j])</c> over an h x w block of C, shared by the packed kernels (per tile, while
/// it is in L1), the direct small-product loops and the degenerate k = 0 product.
/// </summary>
internal static unsafe class GemmEpilogue
{
    /// <summary>
    /// Applies the bias (null: none) and the activation; ReLU keeps NaN, as <see cref="Tensor.Relu"/> does. The GELU
    /// activations use <paramref name="aux"/>, the block of the auxiliary matrix at the same place, with C's stride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T>(T* c, nint ldc, int h, int w, T* bias, GemmActivation activation, T* aux = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (activation is GemmActivation.GeluKeepDerivative or GemmActivation.Gelu or GemmActivation.ScaleByAux)
        {
            bool backward = activation == GemmActivation.ScaleByAux;
            T* keep = activation == GemmActivation.Gelu ? null : aux;
            if (GeluVector.OneExponential) ApplyGelu<T, GeluOneExp>(c, ldc, h, w, bias, backward, keep);
            else ApplyGelu<T, GeluTwoExp>(c, ldc, h, w, bias, backward, keep);
            return;
        }
        for (int r = 0; r < h; r++, c += ldc)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + Vector512<T>.Count <= w; j += Vector512<T>.Count)
                {
                    var v = Vector512.Load(c + j);
                    if (bias != null) v += Vector512.Load(bias + j);
                    if (activation == GemmActivation.Relu) v &= Vector512.GreaterThan(v, Vector512<T>.Zero) | ~Vector512.Equals(v, v); // x > 0 or NaN
                    v.Store(c + j);
                }
            }
            for (; j < w; j++)
            {
                T v = c[j];
                if (bias != null) v += bias[j];
                if (activation == GemmActivation.Relu) v = v > T.Zero || T.IsNaN(v) ? v : T.Zero;
                c[j] = v;
            }
        }
    }

    /// <summary>
    /// GELU forward (GELU' kept in aux) or its backward's product (C times aux) over a block: the vector bodies of
    /// <see cref="GeluFunction{TForm}"/>/<see cref="GeluDerivative{TForm}"/> and of <see cref="GeluGradFunction{TForm}"/>'s final product,
    /// whose values do not depend on the vector width or a value's place in a span, so the block gets exactly what the
    /// elementwise ops would give.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ApplyGelu<T, TForm>(T* c, nint ldc, int h, int w, T* bias, bool backward, T* aux)
        where T : unmanaged, IFloatingPointIeee754<T> where TForm : IGeluForm
    {
        if (aux == null && backward) throw new ArgumentNullException(nameof(aux), "GemmEpilogue: the GELU gradient needs the auxiliary matrix.");
        for (int r = 0; r < h; r++, c += ldc, aux = aux == null ? null : aux + ldc)
        {
            int j = 0;
            if (backward)
            {
                if (Vector512.IsHardwareAccelerated)
                {
                    for (; j + Vector512<T>.Count <= w; j += Vector512<T>.Count)
                    {
                        var v = Vector512.Load(c + j);
                        if (bias != null) v += Vector512.Load(bias + j);
                        (v * Vector512.Load(aux + j)).Store(c + j);
                    }
                }
                for (; j < w; j++)
                {
                    T v = c[j];
                    if (bias != null) v += bias[j];
                    c[j] = v * aux[j];
                }
                continue;
            }
            if (Vec512<T>.IsAccelerated) j = GeluVectors<T, Vec512<T>, TForm>(c, aux, bias, j, w);
            if (Vec256<T>.IsAccelerated) j = GeluVectors<T, Vec256<T>, TForm>(c, aux, bias, j, w);
            for (; j < w; j++)
            {
                T v = c[j];
                if (bias != null) v += bias[j];
                if (aux != null) aux[j] = GeluDerivative<TForm>.Apply(v);
                c[j] = GeluFunction<TForm>.Apply(v);
            }
        }
    }

    // The vector loop is a method of its own: GELU's vector helpers must be inlined into it (as calls they pass every
    // vector through memory, 2-3x slower), and one method holding every width's body runs out of the inlining budget.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int GeluVectors<T, TV, TForm>(T* c, T* aux, T* bias, int j, int w)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVec<TV, T> where TForm : IGeluForm
    {
        if (typeof(T) == typeof(float) && aux != null && GemmTuning.GeluPairs)
        {
            // Two vectors an iteration, their statements interleaved: each value is one long chain of dependent
            // operations (a division, polynomials, exponentials), and two chains side by side keep the FMA
            // units busy while each waits on its own latency. The same operations per lane: the same values.
            for (; j + 2 * TV.Count <= w; j += 2 * TV.Count)
            {
                var v0 = TV.Load(ref c[j], 0);
                var v1 = TV.Load(ref c[j + TV.Count], 0);
                if (bias != null)
                {
                    v0 += TV.Load(ref bias[j], 0);
                    v1 += TV.Load(ref bias[j + TV.Count], 0);
                }
                var (y0, y1) = TForm.ValueAndDerivative2<TV, T>(v0, v1, out var d0, out var d1);
                d0.Store(ref aux[j], 0);
                d1.Store(ref aux[j + TV.Count], 0);
                y0.Store(ref c[j], 0);
                y1.Store(ref c[j + TV.Count], 0);
            }
        }
        for (; j + TV.Count <= w; j += TV.Count)
        {
            var v = TV.Load(ref c[j], 0);
            if (bias != null) v += TV.Load(ref bias[j], 0);
            TV y, d;
            if (aux == null)
            {
                GeluFunction<TForm>.Apply<TV, T>(v).Store(ref c[j], 0); // GELU alone (GemmActivation.Gelu)
                continue;
            }
            if (typeof(T) == typeof(float)) y = TForm.ValueAndDerivative<TV, T>(v, out d);
            else (y, d) = (GeluFunction<TForm>.Apply<TV, T>(v), GeluDerivative<TForm>.Apply<TV, T>(v));
            d.Store(ref aux[j], 0);
            y.Store(ref c[j], 0);
        }
        return j;
    }
}

/// <summary>
/// Cache-blocking parameters, in one place so that the benchmark can sweep them (bench runner: <c>--workload gemm
/// --kc-bytes --mc --nc-bytes</c>; the figures behind the values are in BENCHMARKS.md and the commit history). KC changes
/// where the k sum is cut into blocks, so it changes the last bits of results: it is fixed, the same on every machine
/// and thread count. MC follows the L2 size read at start-up (<see cref="CacheSizes"/>), but MC and NC only cut the rows
/// and columns of C into blocks, never k, so results do not depend on the machine or the thread count either.
/// </summary>
internal static class GemmTuning
{
    /// <summary>
    /// Bytes of one KC x NR strip of packed B, which the kernel reads again for every strip of packed A in a block
    /// (64 KB: KC = 512 for float32 with NR = 32; from L2 on a 32 KB L1, in L1 on a 48 KB one for its most part). C is
    /// read and written once per k block, so a deeper block saves a pass over C, which outweighed the strip leaving a
    /// 32 KB L1 on the 1 MB-L2 machines measured.
    /// </summary>
    public static int KcBytes = 64 * 1024;

    /// <summary>
    /// KC, the depth of a k block (<see cref="KcBytes"/> of B strip, 64 to 512 deep). The k range is cut into equal
    /// blocks (784 = 2 x 392, not 512 + 272).
    /// </summary>
    public static unsafe int BlockDepth<T>(int nr, int k) where T : unmanaged
    {
        int kcMax = FullDepth<T>(nr);
        int blocks = Math.Max(1, (k + kcMax - 1) / kcMax);
        return (k + blocks - 1) / blocks;
    }

    /// <summary>The deepest k block (<see cref="KcBytes"/> of B strip, clamped to 64..512).</summary>
    public static unsafe int FullDepth<T>(int nr) where T : unmanaged => Math.Clamp(KcBytes / (nr * sizeof(T)), 64, 512);

    /// <summary>
    /// Rows of A packed at once (MC), from the L2 size read at start-up (<see cref="McFor"/>); the bench runner's
    /// <c>--mc</c> sets it. Only where the rows are cut into blocks depends on it, never the k blocks: the same results.
    /// </summary>
    public static int Mc = McFor(CacheSizes.L2);

    /// <summary>MC where the L2 size is unknown: 240 rows (480 KB of float32 at KC = 512), the value sized on 1 MB L2s.</summary>
    public const int FallbackMc = 240;

    /// <summary>
    /// MC for a core with <paramref name="l2Bytes"/> of L2 (0: unknown, <see cref="FallbackMc"/>). The block of packed A
    /// (MC x KC float32 at the full depth, KC = 512: 2 KB a row) is read again from L2 for every strip of B, while the
    /// strips of B pass through L2: the one in use (KC x NR, 64 KB), the next one, prefetched, and the tiles of C each
    /// kernel call reads and writes. The rule: A takes half of what the strip in use leaves, the other half holding the
    /// next strip, C's lines and the slack a cache that is not fully associative needs; rounded down to whole 16-row
    /// steps (two 8-row tiles), 64 to <see cref="FallbackMc"/> rows. 1 MB of L2 (Zen 4, Zen 5) gives 240 rows (480 KB),
    /// the value measured best before; 512 KB gives 112 (not measured); a larger L2 (2 MB on the Xeons seen) keeps 240,
    /// since taller blocks were never measured there and the 240 rows were. On the Zen 5 (1 MB L2; loaded machine, CPU time per
    /// call): 128 to 256 rows alike at 1024³ and 2048³ on one and two threads (128, 176 and 240 within 1% over 35
    /// paired rounds), 64 to 112 rows 4-12% more at 2048³ (the packed B, read from L3 once per block of rows, is read
    /// more often), the whole L2 (512 rows) slower (idle, wall time). The lower end of the flat range is not taken:
    /// 128 rows split a 256-row part of a training batch's weight gradient (256 x 784 x 64, one thread) into two
    /// blocks, whose B is then packed into a panel instead of used strip by strip (6.9% more CPU, 35 paired rounds).
    /// </summary>
    public static int McFor(long l2Bytes)
    {
        if (l2Bytes <= 0) return FallbackMc;
        int kc = FullDepth<float>(32);
        long rows = (l2Bytes - (long)kc * 32 * sizeof(float)) / 2 / (kc * sizeof(float));
        return (int)Math.Clamp(rows / 16 * 16, 64, FallbackMc);
    }

    /// <summary>
    /// The most rows of the last block of packed A in a part of the per-thread plan: <see cref="Mc"/> and a quarter more,
    /// so that a thin block does not follow a full one (a part of 256 rows is one block, not 240 + 16: then each strip
    /// of B is used once and read in place, where the whole of B was packed into a panel first; the MLP's weight
    /// gradient 256 x 784 x 64), as long as the block holds no more values than Mc rows at the full depth (so never at
    /// the full depth). Only where the rows are cut changes, never the k blocks: the same results.
    /// <see cref="MergeLastBlock"/> switches it.
    /// </summary>
    public static int LastBlockRows<T>(int mr, int nr, int kc) where T : unmanaged
    {
        int mc = Mc / mr * mr;
        if (!MergeLastBlock) return mc;
        long fit = (long)mc * FullDepth<T>(nr) / Math.Max(1, kc);
        return Math.Max(mc, (int)Math.Min(fit, mc + mc / 4) / mr * mr);
    }

    /// <summary>Whether a part's last block of A may take up to a quarter more rows (<see cref="LastBlockRows"/>); the bench runner's <c>--merge-last-block 0|1</c>.</summary>
    public static bool MergeLastBlock = true;

    /// <summary>
    /// Bytes of each thread's KC x NC panel of packed B in the per-thread plan: 2 MB (512 x 1024 floats: 1024 columns,
    /// since wider panels spill out of L3's share per core and were slower at n = 2048). Not derived from the L3 size:
    /// the training rows' B (compare.sh's shapes: at most 400 KB a k block) is one panel either way, the shared-panel
    /// plan (two threads, from 1024³) does not cut columns, and at 2048³ on one thread of the Zen 5 (32 MB L3) 1, 2 and
    /// 4 MB measured within 3% (loaded, CPU time per call).
    /// </summary>
    public static int NcBytes = 2 * 1024 * 1024;

    /// <summary>
    /// NC for a KC-deep panel over <paramref name="n"/> columns: at most <see cref="NcBytes"/> of packed B, the columns
    /// cut into equal panels (whole NR strips), so that no thin last panel repacks all of A for a few columns.
    /// </summary>
    public static unsafe int PanelWidth<T>(int nr, int kc, int n) where T : unmanaged
    {
        int ncMax = Math.Max(nr, NcBytes / (Math.Max(1, kc) * sizeof(T)) / nr * nr);
        int panels = Math.Max(1, (n + ncMax - 1) / ncMax);
        int nc = (n + panels - 1) / panels;
        return Math.Max(nr, (nc + nr - 1) / nr * nr);
    }

    /// <summary>
    /// Whether a replayed product that writes a parameter's gradient updated in element ranges on several threads splits
    /// C's rows between the threads even when they are few (<c>GemmInstruction.RowShares</c>: the MLP's 128 x 256 weight
    /// gradient), so that each thread computes the rows it updates; the bench runner's <c>--gradient-row-shares 0|1</c>.
    /// Same results either way.
    /// </summary>
    public static bool GradientRowShares = true;

    /// <summary>At most this many MR-row strips of C count as "few rows": threads then split the columns instead.</summary>
    public static int SmallRowStrips = 16;

    /// <summary>
    /// Whether full strips of a non-transposed B that are used for one block of rows are read in place (see
    /// <c>GemmJob.ReadsBInPlace</c>); the bench runner's <c>--b-in-place 0|1|2</c> sets it, for comparison. Same results
    /// either way: the kernel reads the same values. 0: never; 1: unless the row stride is a multiple of 4 KB; 2: always.
    /// </summary>
    public static int BInPlace = 1;

    /// <summary>
    /// Whether products <c>A Bᵀ</c> with few rows take <see cref="SmallRowsNT{T}"/> (B read in place) rather than the
    /// packed kernels; the bench runner's <c>--small-rows-nt 0|1</c> sets it, for comparison.
    /// </summary>
    public static bool SmallRowsNT = true;

    /// <summary>
    /// Whether the packed plan reads the full strips of a non-transposed A in place when op(B) has at most
    /// <see cref="AInPlaceMaxStrips"/> strips (<c>GemmJob.ReadsAInPlace</c>: a classifier's forward, 1024 x 54 x 256,
    /// whose 1 MB input would be packed for two strips of B); the bench runner's <c>--a-in-place 0|1</c>. Same results
    /// either way: the kernel reads the same values in the same order.
    /// </summary>
    public static bool AInPlace = true;

    /// <summary>The most NR strips of op(B) for which <see cref="AInPlace"/> reads A in place; the bench runner's <c>--a-in-place-strips</c>.</summary>
    public static int AInPlaceMaxStrips = 2;

    /// <summary>Set when a product read A in place (<see cref="AInPlace"/>), for tests to check the path ran; never cleared here.</summary>
    internal static bool AInPlaceTaken;

    /// <summary>
    /// Whether products with more rows than one MC block per thread pack op(B) once, shared by the threads, and split
    /// the rows into blocks claimed one at a time (<c>GemmJob.RunShared</c>) rather than each thread packing its own
    /// panels for a fixed half of the rows; the bench runner's <c>--shared-panel 0|1</c> sets it, for comparison. Same
    /// results either way.
    /// </summary>
    public static bool SharedPanel = true;

    /// <summary>
    /// The largest packed op(B) (k x n, in bytes) the shared plan takes (32 MB: a 2048 x 2048 float64 B, or 4096 x 2048
    /// float32); beyond it, the per-thread panels. The buffer is kept for the calling thread's next product.
    /// </summary>
    public static long SharedPanelBytes = 32L * 1024 * 1024;

    /// <summary>
    /// The fewest multiply-adds (m n k) for the shared plan: 1024³. Below it the second pool run (the shared packing's
    /// barrier) costs more than the packing it saves, as on the Linear layers' shapes; tests lower it.
    /// </summary>
    public static long SharedPanelMinMultiplyAdds = 1L << 30;

    /// <summary>
    /// Whether the float32 GELU epilogue that keeps GELU' computes two vectors at a time with their operations
    /// interleaved (<c>IGeluForm.ValueAndDerivative2</c>) rather than one; the bench runner's <c>--gelu-pairs 0|1</c>
    /// sets it, for comparison. Same values either way.
    /// </summary>
    public static bool GeluPairs = true;

    /// <summary>
    /// Whether the packed AVX-512 path computes a last strip with at most half its columns real (n = 784: 24 strips of 32
    /// and one of 16; n = 10) with the half-width tile (<c>GemmKernel512Half</c>) rather than the full one; the bench
    /// runner's <c>--half-edge 0|1</c> sets it, for comparison. Same results either way (the same chains).
    /// </summary>
    public static bool HalfEdge = true;

    /// <summary>
    /// Whether the blocked kernels prefetch the next packed strip of B while the current one is in use (see
    /// <c>GemmVector.PrefetchAlong</c>); the bench runner's <c>--prefetch-next-b 0|1</c> sets it, for comparison. Same
    /// results either way: only when data arrives changes.
    /// </summary>
    public static bool PrefetchNextStrip = true;

    /// <summary>
    /// Whether the shared-panel plan packs each strip of op(B) when a row block first needs it, claimed by whichever thread
    /// gets there first (<c>GemmJob.SharedStrip</c>), rather than all of op(B) in a packing run of its own before the
    /// row blocks (a second pool run and a barrier per call, and a panel that has left the caches by the time it is
    /// read); the bench runner's <c>--pack-on-demand 0|1</c>. Same values packed, same kernel calls per tile: the same
    /// results either way.
    /// </summary>
    public static bool PackSharedOnDemand = true;

    /// <summary>
    /// Whether the shared-panel plan runs each thread's last row block as two parts, half of the strips each
    /// (<c>GemmJob.SharedBlock</c>; its block of A is then packed twice), so that at the end a thread waits for at most
    /// half a block of the other's instead of a whole one; the bench runner's <c>--split-last 0|1</c>. Only who computes
    /// which tiles changes: the same results either way.
    /// </summary>
    public static bool SplitLastBlocks = true;
}
