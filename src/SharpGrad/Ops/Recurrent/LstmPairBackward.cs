using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>How many first-layer gradients of a backward wavefront were kept (the gradient was the one assumed), for tests.</summary>
        internal static long LstmPairWavefrontsKept;

        /// <summary>
        /// Whether an LSTM backward time loop that forms dW_hh skips the products of h0's block when h0 is all zeros (a
        /// strip of 8 gate units whose gradients there are all finite gets + 0 instead: see
        /// <see cref="LstmRecurrence{T, TK}"/>'s StripProducts). The same values either way; a switch for A/B measurements
        /// (the bench's --lstm-zero-h0-dw) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmZeroH0WeightGrad = true;

        /// <summary>
        /// Whether the wavefronts of <see cref="LstmPair"/> pack their weights (both layers' W_hh and the projection's
        /// W_ih; the backward also clears the c half of the first layer's assumed gradient) as one pool job of pieces
        /// before the wavefront, and the first layer's backward rule compares its gradient with the assumed one in two halves on the pool,
        /// rather than all of it on the calling thread. The same values either way; a switch for A/B measurements (the
        /// bench's --lstm-parallel-setup) and for the tests that compare the two: 0 the serial setup, 1 the pool jobs, 2
        /// (the default) the same pieces claimed as the wavefront's first tasks (each step waiting only for the weight it
        /// reads) and the check in halves. Idle A/B (Zen 5, lstm-step, 20 paired rounds over two sets): 2 against 0 -2.1%
        /// and -1.6% (0 faster in 4 of 20); 1 against 0 -0.8%, no consistent direction.
        /// </summary>
        internal static int LstmParallelSetup = 2;

        /// <summary>Set when a backward wavefront packed its weights as a pool job (for tests: that the new path ran).</summary>
        internal static volatile bool LstmParallelSetupTaken;

        /// <summary>Set when a forward wavefront packed its weights as a pool job (for tests: that the new path ran).</summary>
        internal static volatile bool LstmParallelSetupForwardTaken;

        /// <summary>Set when a backward time loop skipped h0's block of dW_hh (for tests: that the skip ran).</summary>
        internal static volatile bool LstmZeroH0WeightGradTaken;

        /// <summary>
        /// What the three tape entries of one <see cref="LstmPair"/> (the first layer, the projection, the second layer)
        /// share for a backward pass as a wavefront: the first layer's saved tensors and the projection's weight, and,
        /// once the second layer's rule has run <see cref="LstmPairBackward{T, TK}"/>, the gradients it computed ahead for
        /// the projection's input and for the first layer, assuming that the first layer's outputs get no gradient but
        /// the projection's. The projection's rule takes its input gradient from here when it is handed the very tensor
        /// the second layer's rule returned; the first layer's rule compares the gradient it is handed with the one
        /// assumed, bit for bit, inside its kernel (so a compiled replay checks it again) and recomputes its results
        /// layer by layer when they differ.
        /// </summary>
        private sealed class LstmPairGrads(Tensor y1, Tensor? cs1, Tensor gates1, Tensor tanhC1, Tensor xProj1, Tensor h01, Tensor c01, Tensor wHh1, Tensor? bHh1,
            Tensor wIh2)
        {
            /// <summary>The gradient of the second layer's input projection the wavefront returned (null: no wavefront pending).</summary>
            public Tensor? DXProj2;

            /// <summary>
            /// The first layer's output gradient assumed, [2, seq, batch, hidden]: the projection's input gradient, then
            /// zeros; or, when the layers are recorded with their h sequences as their outputs, [seq, batch, hidden]: that
            /// gradient alone.
            /// </summary>
            public Tensor? G1;

            /// <summary>The first layer's gradients, computed from <see cref="G1"/>.</summary>
            private LstmGradTensors? _first;

            /// <summary>
            /// Whether the second layer's rule may run the wavefront: the first layer's outputs need a gradient, and the
            /// projection's input gradient as one product would take the packed kernels that the wavefront's per-step
            /// products reproduce.
            /// </summary>
            private bool Applies(int seq, int batch, int hidden) =>
                y1.RequiresGrad && !Gemm.IsSmall(false, false, seq * batch, hidden, 4 * hidden)
                && (Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated);

            /// <summary>
            /// The second layer's rule (its gradient <paramref name="g"/>, the rest its saved tensors): the wavefront when it
            /// applies (then the first layer's gradients wait here), else null (the caller runs the layer's own rule).
            /// </summary>
            public Tensor?[]? SecondLayer(Tensor g, Tensor y2, Tensor? cs2, Tensor gates2, Tensor tanhC2, Tensor xProj2, Tensor h02, Tensor c02, Tensor wHh2,
                Tensor? bHh2, bool batchMajor2)
            {
                DXProj2 = null;
                G1 = null;
                _first = null;
                int seq = gates2.ShapeRef[0], batch = gates2.ShapeRef[1], hidden = wHh2.ShapeRef[1];
                if (!Applies(seq, batch, hidden)) return null;
                var dtype = g.DType;
                var second = LstmGradTensors.For(xProj2, h02, c02, wHh2, bHh2);
                var first = LstmGradTensors.For(xProj1, h01, c01, wHh1, bHh1);
                var g1 = Tensor.Uninitialized(cs1 is null ? [2, seq, batch, hidden] : [seq, batch, hidden], dtype);
                DTypeDispatch.Float(dtype, new LstmPairBackwardKernel(
                    new LstmBackwardKernel(g, y2, cs2, gates2, tanhC2, h02, c02, wHh2, false, second.DXProj, second.DH, second.DC, h02.RequiresGrad, second.DW,
                        second.DB, batchMajor2),
                    wIh2, new LstmBackwardKernel(g1, y1, cs1, gates1, tanhC1, h01, c01, wHh1, false, first.DXProj, first.DH, first.DC, h01.RequiresGrad, first.DW,
                        first.DB)),
                    nameof(LstmPair));
                DXProj2 = second.DXProj;
                G1 = g1;
                _first = first;
                return second.Results(h02, c02, bHh2);
            }

            /// <summary>
            /// The projection's input gradient when <paramref name="g"/> is the second layer's input gradient the wavefront
            /// returned: the h half of <see cref="G1"/>, which holds that product's rows (G1 itself when it has no c half); else null.
            /// </summary>
            public Tensor? ProjectionInputGrad(Tensor g, Tensor x) =>
                G1 is { } g1 && ReferenceEquals(g, DXProj2) ? cs1 is null ? g1.Narrow(0, 0, 1).Reshape(x.ShapeRef) : g1 : null;

            /// <summary>
            /// The first layer's rule: the gradients the wavefront computed, checked against <paramref name="g"/> (and
            /// recomputed from it when they differ) by a kernel of their own; null when no wavefront is pending.
            /// </summary>
            public Tensor?[]? FirstLayer(Tensor g)
            {
                if (_first is not { } f || G1 is not { } g1) return null;
                _first = null;
                G1 = null;
                DXProj2 = null;
                DTypeDispatch.Float(g.DType, new LstmPairCheckKernel(g, g1, new LstmBackwardKernel(g, y1, cs1, gates1, tanhC1, h01, c01, wHh1, false,
                    f.DXProj, f.DH, f.DC, h01.RequiresGrad, f.DW, f.DB)), nameof(LstmPair));
                return f.Results(h01, c01, bHh1);
            }
        }

        /// <summary>
        /// The arrays one LSTM layer's backward rule writes (see <see cref="RecordLstmSequence"/>): dXProj, the running
        /// dh and dc (the gradients reaching h0 and c0), dW_hh and db_hh when wanted.
        /// </summary>
        private readonly record struct LstmGradTensors(Tensor DXProj, Tensor DH, Tensor DC, Tensor? DW, Tensor? DB)
        {
            /// <summary>New arrays for the gradients of a layer with these operands.</summary>
            public static LstmGradTensors For(Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh) => new(
                Tensor.Uninitialized(xProj.Shape, xProj.DType), Tensor.Uninitialized(h0.Shape, xProj.DType), Tensor.Uninitialized(c0.Shape, xProj.DType),
                wHh.RequiresGrad ? Tensor.Uninitialized(wHh.Shape, xProj.DType) : null,
                bHh is not null && bHh.RequiresGrad ? Tensor.Uninitialized(bHh.Shape, xProj.DType) : null);

            /// <summary>
            /// The rule's results, in the order of the op's inputs (xProj, h0, c0, W_hh[, b_hh]); db_hh is offered as the
            /// row sum of dXProj (<see cref="OfferGateGradSum"/>).
            /// </summary>
            public Tensor?[] Results(Tensor h0, Tensor c0, Tensor? bHh)
            {
                if (DB is not null) OfferGateGradSum(DXProj, DB, bHh!);
                Tensor? dH0 = h0.RequiresGrad ? DH : null, dC0 = c0.RequiresGrad ? DC : null;
                return bHh is null ? [DXProj, dH0, dC0, DW] : [DXProj, dH0, dC0, DW, DB];
            }
        }

        /// <summary>
        /// The backward of both layers of a pair as one wavefront (<see cref="LstmPairBackward{T, TK}"/>): the second
        /// layer's rule, the projection's input gradient (into the h half of the first layer's assumed gradient, the c
        /// half zeroed) and the first layer's rule on it, then whatever weight gradients the time loops did not form.
        /// </summary>
        private readonly struct LstmPairBackwardKernel(LstmBackwardKernel second, Tensor wIh2, LstmBackwardKernel first) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                second.Declare(capture);
                Capture.Buffers(capture, [wIh2], [first.G]);
                first.Declare(capture);
            }

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                if (Vector512.IsHardwareAccelerated) Run<T, GemmKernel512<T>>();
                else Run<T, GemmKernel256<T>>();
            }

            private unsafe void Run<T, TK>() where T : unmanaged, IFloatingPointIeee754<T> where TK : struct, IGemmKernel<T>
            {
                int seq = second.Gates.ShapeRef[0], batch = second.Gates.ShapeRef[1], hidden = second.W.ShapeRef[1];
                var (done2, done1) = LstmPairBackward<T, TK>.Run(seq, batch, hidden, second.Operands<T>(), wIh2.Array<T>(), first.Operands<T>());
                if (!done2) second.WeightGrads<T>();
                if (!done1) first.WeightGrads<T>();
            }
        }

        /// <summary>
        /// The first layer's rule after a wavefront: when the gradient it is handed is not bit for bit the one the
        /// wavefront assumed, its results are recomputed from it (the layer's own kernel, into the same arrays).
        /// </summary>
        private readonly struct LstmPairCheckKernel(Tensor g, Tensor assumed, LstmBackwardKernel first) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                Capture.Buffers(capture, [g, assumed], []);
                first.Declare(capture);
            }

            public unsafe void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                bool same;
                if (ReferenceEquals(g.Storage, assumed.Storage)) same = true; // handed the assumed gradient itself (a replay reuses the same buffer)
                else if (LstmParallelSetup != 0)
                    fixed (T* pg = g.Array<T>(), pa = assumed.Array<T>())
                        same = BitCompare.Equal((byte*)pg, (byte*)pa, (nint)g.Numel * sizeof(T));
                else same = MemoryMarshal.AsBytes(g.Span<T>()).SequenceEqual(MemoryMarshal.AsBytes(assumed.Span<T>()));
                if (same) Interlocked.Increment(ref LstmPairWavefrontsKept);
                else first.Run<T>();
            }
        }
    }
}

namespace SharpGrad.Kernels
{
    /// <summary>
    /// The operands of one layer's backward time loop (pinned arrays; see <see cref="LstmRecurrence{T, TK}.Backward"/>):
    /// Y and Gy [2, seq, batch, hidden] (every h_t, then every c_t, and their gradients), or with <paramref name="Cs"/>
    /// (a layer recorded with its h sequence as its output) Y and Gy [seq, batch, hidden] (the h_t and their gradient
    /// alone) and the c_t in Cs, which get no gradient from outside; with <paramref name="BatchMajor"/> (and Cs) Y and Gy
    /// are [batch, seq, hidden].
    /// </summary>
    internal readonly unsafe record struct LstmBackwardOperands<T>(T[] Gy, T[] Y, T[] Gates, T[] TanhC, T[] H0, T[] C0, T[] W, T[] Da, T[] Dh, T[] Dc,
        bool WantDH0, T[]? DW, T[]? DB, T[]? Cs = null, bool BatchMajor = false) where T : unmanaged
    {
        /// <summary>Where the gradient of every c_t starts, from Gy pinned at <paramref name="gy"/> (<paramref name="n"/> = seq·batch·hidden): null when there is none.</summary>
        public T* OutputGradC(T* gy, nint n) => Cs is null ? gy + n : null;

        /// <summary>Where the stored c_t start: after the h_t in Y (pinned at <paramref name="y"/>), or Cs (pinned at <paramref name="cs"/>).</summary>
        public T* States(T* y, T* cs, nint n) => Cs is null ? y + n : cs;
    }

    /// <summary>
    /// The backward of two stacked LSTM layers as a wavefront, the mirror of <see cref="LstmPairForward{T, TK}"/>. The
    /// second layer's chain runs its steps from the last to the first, then its h0 product and its dW_hh (when the time
    /// loop forms it); P(t), the rows of step t of the projection's input gradient <c>da2 W_ih</c>, needs the second
    /// layer's step t; the first layer's chain runs its step t after its step t + 1 and P(t) (its output gradient is P's
    /// rows, its c half zero), then its h0 product and dW_hh. Each part claims the next ready task (the first layer first,
    /// then P, then the second layer) until every one is taken; alone, it runs them all in an order that respects the
    /// dependencies. Every task is computed whole on one thread by the same operations as the layer-by-layer path (the
    /// time loops' threads split units, never a sum; P is the whole-sequence GEMM's tiles, <see cref="PackedRows{T, TK}"/>),
    /// so the results are those of that path for any thread count.
    /// </summary>
    /// <remarks>
    /// With <see cref="NN.Functional.LstmSplitWeightGrad"/> a layer's dW_hh (when its time loop forms it) is not the last
    /// task of its chain but one task per gate of each unit block (NR rows of dW_hh), claimed by either part once the
    /// layer's steps are done, from a panel of the stored states packed once (a task of its own, ready from the start:
    /// the first part with nothing else to do packs it); so the second layer's dW_hh fills the time the first layer's
    /// chain leaves idle and the first layer's is shared by both parts at the end. Each block's tiles are the same
    /// kernel calls on the same values either way.
    /// </remarks>
    internal sealed unsafe class LstmPairBackward<T, TK> : LstmPairWavefront<T, TK>
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        [ThreadStatic] private static LstmPairBackward<T, TK>? t_job;

        private static readonly string[] s_kinds = ["L1 steps", "projection steps", "L2 steps", "L1 dW_hh", "L2 dW_hh", "dW_hh panels"];

        private int _l1Tasks, _l2Tasks;
        private bool _l1H0, _l2H0;
        // Whether the first layer's output gradient has a c half to clear (not when its layer is recorded with its h sequence as its output).
        private bool _clearC1;
        private T* _da2, _dx1;
        // The weights to pack (W_hh of each layer, the projection's W_ih; LstmParallelSetup 1 and 2).
        private T* _wHh2, _wHh1, _wIh2;
        // Split weight gradients: gate-block tasks of each layer's dW_hh (0 when not split or not formed here), claimed
        // so far, and the state of each layer's packed panel (0 not started, 1 packing, 2 packed).
        private int _l1Blocks, _l2Blocks, _l1BlockNext, _l2BlockNext, _l1Panel, _l2Panel;

        /// <summary>Runs the wavefront; returns whether each layer's time loop formed its dW_hh and db_hh (second, first).</summary>
        public static (bool Second, bool First) Run(int seq, int batch, int hidden, LstmBackwardOperands<T> second, T[] wIh2, LstmBackwardOperands<T> first)
        {
            var job = t_job ??= new LstmPairBackward<T, TK>();
            int parts = job.Begin(seq, batch, hidden, backward: true);
            bool weight2 = second.DW is not null && LstmRecurrence<T, TK>.PacksWeightGrad(seq, batch, hidden);
            bool weight1 = first.DW is not null && LstmRecurrence<T, TK>.PacksWeightGrad(seq, batch, hidden);
            bool split = NN.Functional.LstmSplitWeightGrad;
            job._l2H0 = second.WantDH0;
            job._l1H0 = first.WantDH0;
            job._l2Tasks = seq + (second.WantDH0 ? 1 : 0) + (weight2 && !split ? 1 : 0);
            job._l1Tasks = seq + (first.WantDH0 ? 1 : 0) + (weight1 && !split ? 1 : 0);
            job._l2Blocks = weight2 && split ? 4 * job._l2.Blocks : 0;
            job._l1Blocks = weight1 && split ? 4 * job._l1.Blocks : 0;
            job._l1BlockNext = job._l2BlockNext = job._l1Panel = job._l2Panel = 0;
            int setupMode = NN.Functional.LstmParallelSetup;
            bool parallelSetup = setupMode != 0;
            job.BeginPieces(setupMode, SetupPieces);
            job._clearC1 = first.Cs is null;
            if (!parallelSetup && job._clearC1) first.Gy.AsSpan(seq * batch * hidden, seq * batch * hidden).Clear(); // the c half of the first layer's output gradient
            second.Dh.AsSpan().Clear();
            second.Dc.AsSpan().Clear();
            first.Dh.AsSpan().Clear();
            first.Dc.AsSpan().Clear();
            fixed (T* pgy2 = second.Gy, py2 = second.Y, pcs2 = second.Cs, pg2 = second.Gates, ptc2 = second.TanhC, ph02 = second.H0, pc02 = second.C0,
                pw2 = second.W, pda2 = second.Da, pdh2 = second.Dh, pdc2 = second.Dc, pdw2 = second.DW, pdb2 = second.DB, pwi = wIh2,
                pgy1 = first.Gy, py1 = first.Y, pcs1 = first.Cs, pg1 = first.Gates, ptc1 = first.TanhC, ph01 = first.H0, pc01 = first.C0, pw1 = first.W,
                pda1 = first.Da, pdh1 = first.Dh, pdc1 = first.Dc, pdw1 = first.DW, pdb1 = first.DB)
            {
                nint n = (nint)seq * batch * hidden;
                // W_ih as the whole-sequence GEMM dX = dXProj2 W_ih packs it (not transposed: [4·hidden, hidden]).
                job._packedW = PackedRows<T, TK>.Layout(job._packedWih, 4 * hidden, hidden, out job._kc, out job._nPad);
                if (!parallelSetup) PackedRows<T, TK>.PackBlocks(job._packedW, pwi, hidden, false, 4 * hidden, hidden, job._kc, job._nPad, 0, job.KBlocks);
                job._da2 = pda2;
                job._dx1 = pgy1;
                job._l2.BeginBackward(seq, pgy2, second.OutputGradC(pgy2, n), py2, second.States(py2, pcs2, n), pg2, ptc2, ph02, pc02, pw2, pda2, pdh2, pdc2,
                    weight2 ? pdw2 : null, weight2 ? pdb2 : null, reverse: false, packWeight: !parallelSetup, batchMajor: second.BatchMajor);
                // The first layer's output gradient is P's rows (and its c half zeros, or none: see SetupPiece).
                job._l1.BeginBackward(seq, pgy1, first.OutputGradC(pgy1, n), py1, first.States(py1, pcs1, n), pg1, ptc1, ph01, pc01, pw1, pda1, pdh1, pdc1,
                    weight1 ? pdw1 : null, weight1 ? pdb1 : null, reverse: false, packWeight: !parallelSetup);
                job._wHh2 = pw2;
                job._wHh1 = pw1;
                job._wIh2 = pwi;
                if (setupMode == 1)
                {
                    job._setup = true;
                    try { WorkerPool.Run(job, SetupPieces, parts); }
                    finally { job._setup = false; }
                }
                if (parallelSetup) NN.Functional.LstmParallelSetupTaken = true;
                if (job._l2Blocks > 0) job._l2.BeginWeightGrad();
                if (job._l1Blocks > 0) job._l1.BeginWeightGrad();
                long start = 0;
                Stamp(ref start);
                try { WorkerPool.Run(job, parts); }
                finally
                {
                    job._l1.Forget();
                    job._l2.Forget();
                    job._packedW = job._da2 = job._dx1 = null;
                    job._wHh2 = job._wHh1 = job._wIh2 = null;
                }
                job.ReportProfile("LstmPair backward: ", s_kinds, OpProfile.Clock.Now() - start, parts);
            }
            return (weight2, weight1);
        }

        /// <summary>The pieces of the setup job (see <see cref="SetupPiece"/>).</summary>
        private const int SetupPieces = 8;

        /// <summary>
        /// Piece <paramref name="i"/> of the setup before the wavefront: a half of the second layer's W_hh, of the
        /// projection's W_ih (in k blocks), of the first layer's W_hh, or of the first layer's assumed gradient's c half
        /// (cleared). Each piece writes its own part of a buffer, as the serial setup writes it.
        /// </summary>
        protected override void SetupPiece(int i)
        {
            int half = i & 1;
            switch (i >> 1)
            {
                case 0: Halve(_l2.Blocks, half, out int b0, out int b1); _l2.PackBackwardWeight(_wHh2, b0, b1); break;
                case 1:
                    Halve(KBlocks, half, out int k0, out int k1);
                    PackedRows<T, TK>.PackBlocks(_packedW, _wIh2, _hidden, false, 4 * _hidden, _hidden, _kc, _nPad, k0, k1);
                    break;
                case 2: Halve(_l1.Blocks, half, out int u0, out int u1); _l1.PackBackwardWeight(_wHh1, u0, u1); break;
                default:
                    if (!_clearC1) break; // no c half: the first layer's c_t get no gradient from outside
                    nint bh = (nint)_batch * _hidden, n = _seq * bh;
                    Halve((int)n, half, out int c0, out int c1);
                    new Span<T>(_dx1 + n + c0, c1 - c0).Clear(); // the c half of the first layer's output gradient
                    break;
            }
        }

        /// <summary>0: the second layer's W_hh, 1: W_ih, 2: the first layer's W_hh, 3: the c half (two pieces each).</summary>
        protected override int PieceTarget(int i) => i >> 1;

        /// <summary>The k blocks of the packed W_ih (4·hidden deep).</summary>
        private int KBlocks => (4 * _hidden + _kc - 1) / _kc;

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
                int l1 = Volatile.Read(ref _l1Next), p = Volatile.Read(ref _pNext), l2 = Volatile.Read(ref _l2Next);
                int w1 = Volatile.Read(ref _l1BlockNext), w2 = Volatile.Read(ref _l2BlockNext);
                // Every task is taken (the last may still run elsewhere); a panel is packed before its layer's first block is taken.
                if (l1 >= _l1Tasks && p >= seq && l2 >= _l2Tasks && w1 >= _l1Blocks && w2 >= _l2Blocks && Volatile.Read(ref _pieceNext) >= _pieces) return;
                if (TryPiece())
                {
                    spins = 0;
                    continue;
                }
                long t0 = 0;
                Stamp(ref t0);
                // A step multiplies by its layer's W_hh after the first (whose dh starts at zero); the first layer's steps
                // read the c half of their output gradient; P reads W_ih.
                if (l1 < _l1Tasks && l1 == Volatile.Read(ref _l1Done) && (l1 >= seq || Volatile.Read(ref _pDone[l1]) == generation)
                    && Ready(3, 2) && (l1 == 0 || Ready(2, 2)) && Interlocked.CompareExchange(ref _l1Next, l1 + 1, l1) == l1)
                {
                    RunTask(_l1, l1, _l1H0, index);
                    Charge(l1 < seq || (l1 == seq && _l1H0) ? 0 : 3, t0);
                    Volatile.Write(ref _l1Done, l1 + 1);
                    spins = 0;
                    continue;
                }
                if (p < seq && p < Volatile.Read(ref _l2Done) && Ready(1, 2) && Interlocked.CompareExchange(ref _pNext, p + 1, p) == p)
                {
                    Project(seq - 1 - p, index);
                    Charge(1, t0);
                    Volatile.Write(ref _pDone[p], generation);
                    spins = 0;
                    continue;
                }
                if (l2 < _l2Tasks && l2 == Volatile.Read(ref _l2Done) && (l2 == 0 || Ready(0, 2)) && Interlocked.CompareExchange(ref _l2Next, l2 + 1, l2) == l2)
                {
                    RunTask(_l2, l2, _l2H0, index);
                    Charge(l2 < seq || (l2 == seq && _l2H0) ? 2 : 4, t0);
                    Volatile.Write(ref _l2Done, l2 + 1);
                    spins = 0;
                    continue;
                }
                if (TryWeightGradBlock(_l2, w2, _l2Blocks, ref _l2BlockNext, ref _l2Done, ref _l2Panel, index))
                {
                    Charge(4, t0);
                    spins = 0;
                    continue;
                }
                if (TryWeightGradBlock(_l1, w1, _l1Blocks, ref _l1BlockNext, ref _l1Done, ref _l1Panel, index))
                {
                    Charge(3, t0);
                    spins = 0;
                    continue;
                }
                if (TryPackPanel(_l2, _l2Blocks, ref _l2Panel) || TryPackPanel(_l1, _l1Blocks, ref _l1Panel))
                {
                    Charge(5, t0);
                    spins = 0;
                    continue;
                }
                WorkerPool.Pause(ref spins); // a task this part could take next is running on the other thread
            }
        }

        /// <summary>
        /// Claims and runs gate block <paramref name="next"/> of a layer's dW_hh (NR rows) when the layer's steps are done and its
        /// panel is packed; false when there is none to take now.
        /// </summary>
        private bool TryWeightGradBlock(LstmRecurrence<T, TK> layer, int next, int blocks, ref int claimed, ref int done, ref int panel, int part)
        {
            if (next >= blocks || Volatile.Read(ref done) < _seq || Volatile.Read(ref panel) != 2
                || Interlocked.CompareExchange(ref claimed, next + 1, next) != next) return false;
            layer.WeightGradGateBlocks(next, next + 1, part);
            return true;
        }

        /// <summary>Packs a layer's dW_hh panel of the stored states if its weight gradient is split and no part has begun it.</summary>
        private static bool TryPackPanel(LstmRecurrence<T, TK> layer, int blocks, ref int state)
        {
            if (blocks == 0 || Volatile.Read(ref state) != 0 || Interlocked.CompareExchange(ref state, 1, 0) != 0) return false;
            layer.PackWeightGradPanel();
            Volatile.Write(ref state, 2);
            return true;
        }

        /// <summary>Task <paramref name="i"/> of a layer's chain: its steps from the last, then the h0 product (if wanted), then dW_hh (if formed).</summary>
        private void RunTask(LstmRecurrence<T, TK> layer, int i, bool wantH0, int part)
        {
            int seq = _seq;
            if (i < seq) layer.BackwardStep(seq - 1 - i);
            else if (i == seq && wantH0) layer.BackwardToH0();
            else
            {
                layer.BeginWeightGrad();
                layer.WeightGradAlone(part);
                return;
            }
            layer.BackwardStepAlone(part);
        }

        /// <summary>P(t): rows t·batch … of the projection's input gradient <c>dXProj2 W_ih</c>, into the first layer's output gradient.</summary>
        private void Project(int t, int part)
        {
            int batch = _batch, hidden = _hidden, g4 = 4 * hidden;
            int strips = (batch + TK.MR - 1) / TK.MR;
            PackedRows<T, TK>.Multiply(_da2 + (nint)t * batch * g4, g4, batch, _packedW, _nPad, hidden, g4, _kc, _dx1 + (nint)t * batch * hidden, hidden, null,
                _aBufs[part].Get(strips * TK.MR * _kc), _tiles[part].Get(TK.MR * TK.NR));
        }
    }
}
