using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// When <see cref="LstmPair"/> may stand in for two stacked one-direction LSTM layers: 0 never, 1 when a step's
        /// product is worth two threads and two are allowed (the default), 2 whenever the results are the same (for tests).
        /// </summary>
        internal static int LstmPairMode = 1;

        /// <summary>
        /// Whether the LSTM time loops store a whole tile's results from the registers (the forward's gates, c, tanh(c) and
        /// h; the backward's transposed gate gradients) instead of through scratch tiles and copies. The same values either
        /// way; a switch for A/B measurements (the bench's --lstm-fused) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmFusedStores = true;

        /// <summary>
        /// Whether the backward wavefront of <see cref="LstmPair"/> splits each layer's dW_hh into one task per gate of each unit block,
        /// shared by the threads, from one packed panel of the stored states (see <see cref="LstmPairBackward{T, TK}"/>),
        /// and whether a layer's own backward forms dW_hh from one such panel; otherwise each layer's dW_hh in a pair is one
        /// task at the end of its chain, and each part packs the states per k block. The same values either way; a switch for A/B
        /// measurements (the bench's --lstm-split-dw) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmSplitWeightGrad = true;

        /// <summary>
        /// Whether the forward time loop skips the first step's recurrent products when h0 is zero and W_hh finite (every
        /// product is then exactly +0: the fused path clears its tiles instead). The same values either way; a switch for
        /// A/B measurements (the bench's --lstm-zero-start) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmZeroStart = true;

        /// <summary>Set when a time loop stored a tile's results the fused way (for tests: that the fused paths ran).</summary>
        internal static volatile bool LstmFusedStoresTaken;

        /// <summary>Set when a forward time loop cleared its first step's product tiles (for tests: that the skip ran).</summary>
        internal static volatile bool LstmZeroStartTaken;

        /// <summary>Set when a backward time loop packed a layer's dW_hh panel of the stored states (for tests: that the new path ran).</summary>
        internal static volatile bool LstmSplitWeightGradTaken;

        /// <summary>
        /// Whether <see cref="LstmPair"/> gives bit for bit what the layer-by-layer path gives for a second layer over
        /// <paramref name="seq"/> x <paramref name="batch"/> positions of <paramref name="hidden"/> units: that path
        /// projects the first layer's outputs with one GEMM, and the pair computes the same products a step at a time on
        /// the same packed micro-kernel, so the whole-sequence product must take that kernel too (not the small-product
        /// loops, not the few-rows form), and the time loops must run on it (AVX-512 or AVX2 with MR 8).
        /// </summary>
        internal static bool LstmPairApplies(int seq, int batch, int hidden, DType dtype)
        {
            if (LstmPairMode == 0 || !dtype.IsFloatingPoint() || seq < 2 || batch == 0 || hidden == 0) return false;
            if (LstmPairMode == 1 && (Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism) < 2 || 2.0 * batch * 4 * hidden * hidden < Gemm.ParallelThresholdFlops))
                return false;
            int rows = seq * batch, n = 4 * hidden;
            if ((long)rows * n > int.MaxValue / 2 || Gemm.IsSmall(false, true, rows, n, hidden)) return false;
            bool f32 = dtype == DType.Float32;
            bool fewRows = f32 ? SmallRowsNT<float>.Applies(false, true, rows, n, hidden, 1f, 0f) : SmallRowsNT<double>.Applies(false, true, rows, n, hidden, 1d, 0d);
            return !fewRows && (Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated);
        }

        /// <summary>
        /// Whether a batch-first LSTM stack run for its outputs alone (<see cref="LstmHiddenOutput"/>) whose last two layers
        /// are a pair has the second layer's time loop write its h sequence as [batch, seq, hidden], the stack's output,
        /// instead of [seq, batch, hidden] and a transposing copy (and the copy's gradient transposed back). The same values
        /// either way; a switch for A/B measurements (the bench's --lstm-batch-first-output) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmBatchFirstOutput = true;

        /// <summary>Set when a pair wrote its second layer's h sequence batch-major (for tests: that the new path ran).</summary>
        internal static volatile bool LstmBatchFirstOutputTaken;

        /// <summary>
        /// Whether <see cref="LstmPair"/> may write its second layer's h sequence batch-major (or
        /// <see cref="LstmHiddenSequence"/> a layer's): switched on, the time loops on a vector kernel, and the time
        /// loops' backward forms dW_hh itself from the stored states (<see cref="LstmRecurrence{T, TK}.PacksWeightGrad"/>,
        /// which reads them through a row map; a product over them after the loop would not).
        /// </summary>
        internal static bool LstmBatchFirstOutputApplies(int seq, int batch, int hidden, DType dtype) =>
            LstmBatchFirstOutput && Vector256.IsHardwareAccelerated && (dtype == DType.Float32
                ? Vector512.IsHardwareAccelerated ? LstmRecurrence<float, GemmKernel512<float>>.PacksWeightGrad(seq, batch, hidden)
                    : LstmRecurrence<float, GemmKernel256<float>>.PacksWeightGrad(seq, batch, hidden)
                : Vector512.IsHardwareAccelerated ? LstmRecurrence<double, GemmKernel512<double>>.PacksWeightGrad(seq, batch, hidden)
                    : LstmRecurrence<double, GemmKernel256<double>>.PacksWeightGrad(seq, batch, hidden));

        /// <summary>
        /// Two stacked one-direction LSTM layers over a whole sequence, as the layer-by-layer path computes them
        /// (<see cref="LstmSequence"/>, then <see cref="Linear"/> of its outputs with the second layer's W_ih and b_ih,
        /// then <see cref="LstmSequence"/> again), with the same values bit for bit and the same tape: each layer is
        /// recorded as its own LstmSequence and the projection as a Linear, so backward, the ONNX export and compiled
        /// replays see what the layer-by-layer path records. Returns the first layer's y [2, seq, batch, hidden], its
        /// outputs (the h half, [seq, batch, hidden], the second layer's input) and the second layer's y. With
        /// <paramref name="hiddenOnly"/> each layer is recorded as <see cref="LstmHiddenSequence"/>: both y are the h
        /// sequences [seq, batch, hidden] themselves (the first one is also its outputs), and with
        /// <paramref name="batchMajor2"/> the second one is written [batch, seq, hidden] (a batch-first stack's output,
        /// <see cref="LstmBatchFirstOutputApplies"/>).
        /// </summary>
        /// <remarks>
        /// The two time loops run as a wavefront (<see cref="LstmPairForward{T, TK}"/>): step t of the second layer needs
        /// only step t of the first, so while one thread computes the first layer's next step the other projects and
        /// computes the second layer's, each step whole on one thread with the one-thread micro-kernels, handed over
        /// through counters instead of a two-thread barrier per step and layer.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static (Tensor Y1, Tensor Output1, Tensor Y2) LstmPair(Tensor xProj1, Tensor h01, Tensor c01, Tensor wHh1, Tensor? bHh1,
            Tensor wIh2, Tensor? bIh2, Tensor h02, Tensor c02, Tensor wHh2, Tensor? bHh2, bool hiddenOnly = false, bool batchMajor2 = false)
        {
            int seq = xProj1.ShapeRef[0], batch = xProj1.ShapeRef[1], hidden = wHh1.ShapeRef[1];
            var dtype = xProj1.DType;
            if (wHh2.ShapeRef[1] != hidden || wIh2.ShapeRef[1] != hidden || wIh2.ShapeRef[0] != 4 * hidden)
                throw new ArgumentException($"LstmPair: the second layer must take the first layer's {hidden} features; got W_ih {Shapes.Format(wIh2.ShapeRef)}, W_hh {Shapes.Format(wHh2.ShapeRef)}.");
            int[] yShape = hiddenOnly ? [seq, batch, hidden] : [2, seq, batch, hidden];
            var y1 = Tensor.Uninitialized(yShape, dtype);
            var cs1 = hiddenOnly ? Tensor.Uninitialized([seq, batch, hidden], dtype) : null;
            var gates1 = Tensor.Uninitialized([seq, batch, 4 * hidden], dtype);
            var tanhC1 = Tensor.Uninitialized([seq, batch, hidden], dtype);
            var xProj2 = Tensor.Uninitialized([seq, batch, 4 * hidden], dtype);
            batchMajor2 &= hiddenOnly;
            var y2 = Tensor.Uninitialized(batchMajor2 ? [batch, seq, hidden] : yShape, dtype);
            var cs2 = hiddenOnly ? Tensor.Uninitialized([seq, batch, hidden], dtype) : null;
            var gates2 = Tensor.Uninitialized([seq, batch, 4 * hidden], dtype);
            var tanhC2 = Tensor.Uninitialized([seq, batch, hidden], dtype);
            DTypeDispatch.Float(dtype, new LstmPairKernel(xProj1, h01, c01, wHh1, bHh1, wIh2, bIh2, h02, c02, wHh2, bHh2,
                y1, cs1, gates1, tanhC1, xProj2, y2, cs2, gates2, tanhC2, batchMajor2), nameof(LstmPair));
            if (hiddenOnly) LstmHiddenOutputTaken = true;
            if (batchMajor2) LstmBatchFirstOutputTaken = true;
            // The three entries share what a backward pass as a wavefront needs (see LstmPairGrads).
            var pair = SharpGrad.Autograd.IsGradEnabled ? new LstmPairGrads(y1, cs1, gates1, tanhC1, xProj1, h01, c01, wHh1, bHh1, wIh2) : null;
            y1 = RecordLstmSequence(y1, cs1, gates1, tanhC1, xProj1, h01, c01, wHh1, bHh1, reverse: false, pair);
            var output1 = hiddenOnly ? y1 : y1.Narrow(0, 0, 1).Reshape(seq, batch, hidden);
            xProj2 = RecordLinear(xProj2, output1, wIh2, bIh2, pair);
            y2 = RecordLstmSequence(y2, cs2, gates2, tanhC2, xProj2, h02, c02, wHh2, bHh2, reverse: false, pair, pairSecond: true, batchMajor: batchMajor2);
            return (y1, output1, y2);
        }

        /// <summary>The tape entry <see cref="LinearFused"/> makes for y = x Wᵀ + b (the Linear a computed projection stands for).</summary>
        private static Tensor RecordLinear(Tensor y, Tensor x, Tensor w, Tensor? b, LstmPairGrads? pair)
        {
            if (!SharpGrad.Autograd.ShouldRecord(x, w) && (b is null || !SharpGrad.Autograd.ShouldRecord(b))) return y;
            int inF = w.ShapeRef[1], outF = w.ShapeRef[0], rows = x.Numel / Math.Max(1, inF);
            Tensor[] inputs = b is null ? [x, w] : [x, w, b];
            return SharpGrad.Autograd.Record(y, "LinearBackward", inputs, g => LinearGrads(g, x, w, b, rows, inF, outF, pair?.ProjectionInputGrad(g, x)));
        }

        private readonly struct LstmPairKernel(Tensor xProj1, Tensor h01, Tensor c01, Tensor wHh1, Tensor? bHh1, Tensor wIh2, Tensor? bIh2,
            Tensor h02, Tensor c02, Tensor wHh2, Tensor? bHh2, Tensor y1, Tensor? cs1, Tensor gates1, Tensor tanhC1, Tensor xProj2, Tensor y2, Tensor? cs2,
            Tensor gates2, Tensor tanhC2, bool batchMajor2) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture) => Capture.Buffers(capture, [xProj1, h01, c01, wHh1, bHh1, wIh2, bIh2, h02, c02, wHh2, bHh2],
                [y1, cs1, gates1, tanhC1, xProj2, y2, cs2, gates2, tanhC2]);

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                if (Vector512.IsHardwareAccelerated) Run<T, GemmKernel512<T>>();
                else Run<T, GemmKernel256<T>>();
            }

            private unsafe void Run<T, TK>() where T : unmanaged, IFloatingPointIeee754<T> where TK : struct, IGemmKernel<T>
            {
                int seq = xProj1.ShapeRef[0], batch = xProj1.ShapeRef[1], hidden = wHh1.ShapeRef[1];
                fixed (T* px1 = xProj1.Array<T>(), ph01 = h01.Array<T>(), pc01 = c01.Array<T>(), pw1 = wHh1.Array<T>(), pb1 = bHh1?.Array<T>(),
                    pwi2 = wIh2.Array<T>(), pbi2 = bIh2?.Array<T>(), ph02 = h02.Array<T>(), pc02 = c02.Array<T>(), pw2 = wHh2.Array<T>(),
                    pb2 = bHh2?.Array<T>(), py1 = y1.Array<T>(), pcs1 = cs1?.Array<T>(), pg1 = gates1.Array<T>(), ptc1 = tanhC1.Array<T>(),
                    px2 = xProj2.Array<T>(), py2 = y2.Array<T>(), pcs2 = cs2?.Array<T>(), pg2 = gates2.Array<T>(), ptc2 = tanhC2.Array<T>())
                {
                    // The c_t after the h_t in y, or in their own tensors.
                    nint n = (nint)seq * batch * hidden;
                    LstmPairForward<T, TK>.Run(seq, batch, hidden,
                        new(px1, ph01, pc01, pw1, bHh1 is null ? null : pb1, py1, cs1 is null ? py1 + n : pcs1, pg1, ptc1),
                        pwi2, bIh2 is null ? null : pbi2, px2,
                        new(px2, ph02, pc02, pw2, bHh2 is null ? null : pb2, py2, cs2 is null ? py2 + n : pcs2, pg2, ptc2, batchMajor2));
                }
            }
        }
    }
}

namespace SharpGrad.Kernels
{
    /// <summary>
    /// The operands of one layer's forward time loop (pointers into pinned arrays; Y the h_t, Cs the c_t, [seq, batch, hidden]
    /// each, Y [batch, seq, hidden] with <paramref name="batchMajor"/>).
    /// </summary>
    internal readonly unsafe struct LstmLayerOperands<T>(T* xProj, T* h0, T* c0, T* wHh, T* bHh, T* y, T* cs, T* gates, T* tanhC, bool batchMajor = false)
        where T : unmanaged
    {
        public readonly T* XProj = xProj, H0 = h0, C0 = c0, WHh = wHh, BHh = bHh, Y = y, Cs = cs, Gates = gates, TanhC = tanhC;
        public readonly bool BatchMajor = batchMajor;
    }

    /// <summary>
    /// What the forward and backward wavefronts of a pair (<see cref="LstmPairForward{T, TK}"/>,
    /// <see cref="LstmPairBackward{T, TK}"/>) share: the two layers' time-loop jobs, the projection's packed weight, per-part
    /// scratch, the finished-projection flags and the counters of the two chains.
    /// </summary>
    internal abstract unsafe class LstmPairWavefront<T, TK> : ParallelWork
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        protected readonly AlignedBuffer<T> _packedWih = new();
        protected AlignedBuffer<T>[] _aBufs = [], _tiles = [];
        protected int[] _pDone = [];
        protected LstmRecurrence<T, TK> _l1 = null!, _l2 = null!;
        protected int _seq, _batch, _hidden, _nPad, _kc, _generation;
        protected T* _packedW;
        // Tasks claimed (next) and finished (done) of the two chains; projections claimed in order, finished in any.
        protected int _l1Next, _l1Done, _pNext, _l2Next, _l2Done;
        // LstmParallelSetup 1: the parts run setup pieces (a pool job of its own before the wavefront). 2: the wavefront's
        // parts claim the _pieces setup pieces first (0 otherwise), and tasks wait for the pieces of the weight they read:
        // per weight or buffer, its finished pieces.
        protected bool _setup;
        protected int _pieces, _pieceNext;
        protected readonly int[] _piecesDone = new int[4];
        // Profile builds: OpProfile.Clock ticks of each kind of task of the call, summed over the parts (see Charge, ReportProfile).
        private readonly long[] _kindTicks = new long[8];

        /// <summary>Profile builds: reads <see cref="OpProfile.Clock"/> into <paramref name="t"/> (the call is removed otherwise).</summary>
        [Conditional("SHARPGRAD_PROFILE")]
        protected static void Stamp(ref long t) => t = OpProfile.Clock.Now();

        /// <summary>
        /// Profile builds: charges the time since <paramref name="start"/> to task kind <paramref name="kind"/> (the clock
        /// of the thread that ran the task: with a thread-CPU clock, the task's CPU time).
        /// </summary>
        [Conditional("SHARPGRAD_PROFILE")]
        protected void Charge(int kind, long start) => Interlocked.Add(ref _kindTicks[kind], OpProfile.Clock.Now() - start);

        /// <summary>
        /// Profile builds: each kind's time as an <see cref="OpProfile.Within"/> entry (<paramref name="prefix"/> + its
        /// label), and, with the wall clock, the parts' idle time: <paramref name="parts"/> x the call's
        /// <paramref name="wallTicks"/> less the tasks'.
        /// </summary>
        [Conditional("SHARPGRAD_PROFILE")]
        protected void ReportProfile(string prefix, string[] kinds, long wallTicks, int parts)
        {
            long busy = 0;
            for (int k = 0; k < kinds.Length; k++)
            {
                OpProfile.Within(prefix + kinds[k], _kindTicks[k]);
                busy += _kindTicks[k];
                _kindTicks[k] = 0;
            }
            if (OpProfile.WallClock) OpProfile.Within(prefix + "idle (parts x wall - tasks)", parts * wallTicks - busy);
        }

        /// <summary>Setup piece <paramref name="i"/> (see the wavefront's Run).</summary>
        protected abstract void SetupPiece(int i);

        /// <summary>The weight (or buffer) setup piece <paramref name="i"/> writes: an index into <see cref="_piecesDone"/>.</summary>
        protected abstract int PieceTarget(int i);

        /// <summary>Sets up <paramref name="mode"/> of <see cref="NN.Functional.LstmParallelSetup"/> for a call with <paramref name="pieces"/> setup pieces; 0: none.</summary>
        protected void BeginPieces(int mode, int pieces)
        {
            _pieces = mode == 2 ? pieces : 0;
            _pieceNext = 0;
            Array.Clear(_piecesDone);
        }

        /// <summary>Whether weight or buffer <paramref name="target"/>'s <paramref name="of"/> setup pieces are finished (always, with no pieces in the wavefront).</summary>
        protected bool Ready(int target, int of) => _pieces == 0 || Volatile.Read(ref _piecesDone[target]) == of;

        /// <summary>Claims and runs the next setup piece of the wavefront, if any is left.</summary>
        protected bool TryPiece()
        {
            int i = Volatile.Read(ref _pieceNext);
            if (i >= _pieces || Interlocked.CompareExchange(ref _pieceNext, i + 1, i) != i) return false;
            SetupPiece(i);
            Interlocked.Increment(ref _piecesDone[PieceTarget(i)]);
            return true;
        }

        /// <summary>Half <paramref name="half"/> (0 or 1) of [0, <paramref name="n"/>).</summary>
        protected static void Halve(int n, int half, out int start, out int end)
        {
            start = half == 0 ? 0 : n / 2;
            end = half == 0 ? n / 2 : n;
        }

        /// <summary>Sets up a call over <paramref name="seq"/> steps: the layers' jobs, scratch, flags and counters; returns the parts to run.</summary>
        protected int Begin(int seq, int batch, int hidden, bool backward)
        {
            _l1 = LstmRecurrence<T, TK>.PairJob(0, batch, hidden, backward);
            _l2 = LstmRecurrence<T, TK>.PairJob(1, batch, hidden, backward);
            _seq = seq;
            _batch = batch;
            _hidden = hidden;
            int slots = Math.Max(2, WorkerPool.MaxParallelism);
            if (_aBufs.Length < slots)
            {
                _aBufs = AlignedBuffer<T>.Grow(_aBufs, slots);
                _tiles = AlignedBuffer<T>.Grow(_tiles, slots);
            }
            if (_pDone.Length < seq) _pDone = new int[Math.Max(seq, 2 * _pDone.Length)];
            // Finished projections are marked with this call's number, so the flags of earlier calls need no clearing.
            if (++_generation == int.MaxValue) { Array.Clear(_pDone); _generation = 1; }
            _l1Next = _l1Done = _pNext = _l2Next = _l2Done = 0;
            return Math.Min(2, Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism));
        }
    }

    /// <summary>
    /// The forward of two stacked LSTM layers as a wavefront of three kinds of task, each one whole step on one thread:
    /// L1(t), the first layer's step t (after L1(t−1)); P(t), the second layer's input projection of step t,
    /// <c>h1_t W_ihᵀ + b_ih</c> (after L1(t)); L2(t), the second layer's step t (after L2(t−1) and P(t)). Each part
    /// claims the next ready task (L2 first, then P, then L1) until every one is taken, waiting only while a task it needs
    /// is running on another thread; alone, a part runs them all in an order that respects the dependencies, so the
    /// call never waits for a thread that is not there. A task computes the same values whichever thread runs it (the
    /// time loops' steps split no sum; the projection is the whole-sequence GEMM's tiles: W_ihᵀ packed once as it packs
    /// it, the same k blocks, the bias in the epilogue, edge tiles through scratch), so the results are those of the
    /// layer-by-layer path for any thread count.
    /// </summary>
    internal sealed unsafe class LstmPairForward<T, TK> : LstmPairWavefront<T, TK>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        [ThreadStatic] private static LstmPairForward<T, TK>? t_job;

        private static readonly string[] s_kinds = ["L1 steps", "projection steps", "L2 steps"];

        private int _n;
        private T* _h1, _xProj2, _bIh;

        public static void Run(int seq, int batch, int hidden, LstmLayerOperands<T> first, T* wIh2, T* bIh2, T* xProj2, LstmLayerOperands<T> second)
        {
            var job = t_job ??= new LstmPairForward<T, TK>();
            int parts = job.Begin(seq, batch, hidden, backward: false);
            int setupMode = NN.Functional.LstmParallelSetup;
            bool parallelSetup = setupMode != 0;
            job.BeginPieces(setupMode, SetupPieces);
            job._n = 4 * hidden;
            job._packedW = PackedRows<T, TK>.Layout(job._packedWih, hidden, job._n, out job._kc, out job._nPad);
            if (!parallelSetup) job.PackProjectionWeight(wIh2);
            job._bIh = bIh2;
            job._h1 = first.Y;
            job._xProj2 = xProj2;
            job._l1.BeginForward(seq, first.H0, first.WHh, first.BHh, first.XProj, first.C0, first.Y, first.Cs, first.Gates, first.TanhC, reverse: false,
                packWeight: !parallelSetup);
            job._l2.BeginForward(seq, second.H0, second.WHh, second.BHh, second.XProj, second.C0, second.Y, second.Cs, second.Gates, second.TanhC, reverse: false,
                packWeight: !parallelSetup, batchMajor: second.BatchMajor);
            job._wIh2 = wIh2;
            job._wHh1 = first.WHh;
            job._wHh2 = second.WHh;
            if (setupMode == 1)
            {
                job._setup = true;
                try { WorkerPool.Run(job, SetupPieces, parts); }
                finally { job._setup = false; }
            }
            if (parallelSetup) NN.Functional.LstmParallelSetupForwardTaken = true;
            long start = 0;
            Stamp(ref start);
            try { WorkerPool.Run(job, parts); }
            finally
            {
                job._l1.Forget();
                job._l2.Forget();
                job._h1 = job._xProj2 = job._bIh = null;
                job._wIh2 = job._wHh1 = job._wHh2 = null;
            }
            job.ReportProfile("LstmPair forward: ", s_kinds, OpProfile.Clock.Now() - start, parts);
        }

        /// <summary>W_ihᵀ as the whole-sequence GEMM packs it: per k block (its KC), every column in NR-wide strips (into the buffer Run set).</summary>
        private void PackProjectionWeight(T* wIh) => PackedRows<T, TK>.PackBlocks(_packedW, wIh, _hidden, true, _hidden, _n, _kc, _nPad, 0, (_hidden + _kc - 1) / _kc);

        /// <summary>The pieces of the setup job (see <see cref="SetupPiece"/>).</summary>
        private const int SetupPieces = 5;

        // The weights to pack (LstmParallelSetup 1 and 2).
        private T* _wIh2, _wHh1, _wHh2;

        /// <summary>
        /// Piece <paramref name="i"/> of the setup before the wavefront: the projection's W_ihᵀ (first: the largest), then
        /// a half of the first layer's W_hhᵀ, then of the second's. Each piece writes its own part of a buffer, as the serial setup writes it.
        /// </summary>
        protected override void SetupPiece(int i)
        {
            if (i == 0) { PackProjectionWeight(_wIh2); return; }
            var layer = i <= 2 ? _l1 : _l2;
            Halve(layer.Blocks, (i - 1) & 1, out int b0, out int b1);
            layer.PackForwardWeight(i <= 2 ? _wHh1 : _wHh2, b0, b1);
        }

        /// <summary>0: W_ihᵀ (one piece), 1: the first layer's W_hhᵀ, 2: the second's (two pieces each).</summary>
        protected override int PieceTarget(int i) => (i + 1) >> 1;

        public override void Execute(int index, int count)
        {
            if (_setup)
            {
                SetupPiece(index);
                return;
            }
            int seq = _seq, generation = _generation, spins = 0;
            while (true)
            {
                int l2 = Volatile.Read(ref _l2Next);
                if (l2 >= seq) return; // every task is taken (the last ones may still run elsewhere: their part finishes them)
                if (TryPiece())
                {
                    spins = 0;
                    continue;
                }
                if (l2 == Volatile.Read(ref _l2Done) && Volatile.Read(ref _pDone[l2]) == generation && Ready(2, 2)
                    && Interlocked.CompareExchange(ref _l2Next, l2 + 1, l2) == l2)
                {
                    long t0 = 0;
                    Stamp(ref t0);
                    _l2.ForwardStep(l2);
                    _l2.ForwardStepAlone(index);
                    Charge(2, t0);
                    Volatile.Write(ref _l2Done, l2 + 1);
                    spins = 0;
                    continue;
                }
                int p = Volatile.Read(ref _pNext);
                if (p < Volatile.Read(ref _l1Done) && Ready(0, 1) && Interlocked.CompareExchange(ref _pNext, p + 1, p) == p)
                {
                    long t0 = 0;
                    Stamp(ref t0);
                    Project(p, index);
                    Charge(1, t0);
                    Volatile.Write(ref _pDone[p], generation);
                    spins = 0;
                    continue;
                }
                int l1 = Volatile.Read(ref _l1Next);
                if (l1 < seq && l1 == Volatile.Read(ref _l1Done) && Ready(1, 2) && Interlocked.CompareExchange(ref _l1Next, l1 + 1, l1) == l1)
                {
                    long t0 = 0;
                    Stamp(ref t0);
                    _l1.ForwardStep(l1);
                    _l1.ForwardStepAlone(index);
                    Charge(0, t0);
                    Volatile.Write(ref _l1Done, l1 + 1);
                    spins = 0;
                    continue;
                }
                WorkerPool.Pause(ref spins); // a task this part could take next is running on the other thread
            }
        }

        /// <summary>P(t): rows t·batch … of the whole-sequence product <c>h1 W_ihᵀ + b_ih</c>, as the packed GEMM computes them.</summary>
        private void Project(int t, int part)
        {
            int batch = _batch, k = _hidden, n = _n;
            int strips = (batch + TK.MR - 1) / TK.MR;
            PackedRows<T, TK>.Multiply(_h1 + (nint)t * batch * k, k, batch, _packedW, _nPad, n, k, _kc, _xProj2 + (nint)t * batch * n, n, _bIh,
                _aBufs[part].Get(strips * TK.MR * _kc), _tiles[part].Get(TK.MR * TK.NR));
        }
    }

    /// <summary>
    /// Rows of a product <c>C = A op(B) (+ bias)</c> computed a block of rows at a time (a time step of a wavefront) with
    /// the values the whole product gets from <see cref="GemmJob{T, TK}"/>: op(B) packed once as it packs it (per k block
    /// of its KC, every column in NR-wide strips), and per k block in order a full tile accumulated in place (beta 0 for
    /// the first block, 1 after), an edge tile through scratch and merged, the bias added after the last block. The
    /// caller checks that the whole product takes the packed kernels (not the small-product loops or the few-rows form).
    /// </summary>
    internal static unsafe class PackedRows<T, TK>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        /// <summary>Packs op(B) (k x n; stored n x k with leading dimension ldb when transposed) into <paramref name="buffer"/>.</summary>
        public static T* PackB(AlignedBuffer<T> buffer, T* b, int ldb, bool transB, int k, int n, out int kc, out int nPad)
        {
            T* packed = Layout(buffer, k, n, out kc, out nPad);
            PackBlocks(packed, b, ldb, transB, k, n, kc, nPad, 0, (k + kc - 1) / kc);
            return packed;
        }

        /// <summary>
        /// The k block depth and padded width <see cref="PackB"/> uses for a k x n op(B), and its buffer, not yet filled
        /// (<see cref="PackBlocks"/> fills it, a range of k blocks at a time).
        /// </summary>
        public static T* Layout(AlignedBuffer<T> buffer, int k, int n, out int kc, out int nPad)
        {
            int nr = TK.NR;
            kc = GemmTuning.BlockDepth<T>(nr, k);
            nPad = (n + nr - 1) / nr * nr;
            return buffer.Get(nPad * k);
        }

        /// <summary>Packs k blocks [<paramref name="block0"/>, <paramref name="block1"/>) of op(B) into <paramref name="packed"/> (see <see cref="Layout"/>).</summary>
        public static void PackBlocks(T* packed, T* b, int ldb, bool transB, int k, int n, int kc, int nPad, int block0, int block1)
        {
            for (int pc = block0 * kc; pc < Math.Min(k, (long)block1 * kc); pc += kc)
                GemmPacking.PackB(packed + (nint)nPad * pc, transB ? b + pc : b + (nint)pc * ldb, ldb, transB, Math.Min(kc, k - pc), n, TK.NR);
        }

        /// <summary>
        /// Rows [0, m) of C (leading dimension ldc) from A (m x k, leading dimension lda) and op(B) packed by
        /// <see cref="PackB"/>; <paramref name="aBuf"/> holds the packed A of one k block, <paramref name="tile"/> MR x NR.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Multiply(T* a, int lda, int m, T* packedB, int nPad, int n, int k, int kcMax, T* c, int ldc, T* bias, T* aBuf, T* tile)
        {
            int mr = TK.MR, nr = TK.NR;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                GemmPacking.PackA(aBuf, a + pc, lda, false, m, kc, mr);
                T beta = pc == 0 ? T.Zero : T.One;
                bool epilogue = pc + kc >= k && bias != null;
                T* bBlock = packedB + (nint)nPad * pc;
                for (int jr = 0; jr < n; jr += nr)
                {
                    int w = Math.Min(nr, n - jr);
                    T* bp = bBlock + (nint)jr * kc;
                    for (int ir = 0; ir < m; ir += mr)
                    {
                        int h = Math.Min(mr, m - ir);
                        T* ap = aBuf + (nint)ir * kc;
                        T* cp = c + (nint)ir * ldc + jr;
                        if (h == mr && w == nr) TK.Run(kc, ap, bp, nr, cp, ldc, T.One, beta);
                        else
                        {
                            TK.Run(kc, ap, bp, nr, tile, nr, T.One, T.Zero);
                            GemmPacking.MergeTile(tile, nr, cp, ldc, h, w, T.One, beta);
                        }
                        if (epilogue) GemmEpilogue.Apply(cp, ldc, h, w, bias + jr, GemmActivation.None);
                    }
                }
            }
        }
    }
}
