using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    /// <summary>
    /// The direction of a recorded <see cref="Functional.LstmSequence"/>, and whether its recorded output is the h sequence
    /// alone ([seq, batch, hidden], <see cref="Functional.LstmHiddenSequence"/>; [batch, seq, hidden] when BatchMajor) rather
    /// than [2, seq, batch, hidden], for tools that read the tape (the ONNX exporter).
    /// </summary>
    internal sealed record LstmSequenceAttributes(bool Reverse, bool HiddenOnly = false, bool BatchMajor = false);

    public static partial class Functional
    {
        /// <summary>
        /// One LSTM layer in one direction over a whole sequence, as one op: from the input projections
        /// <c>xProj[t] = x_t W_ihᵀ + b_ih</c> [seq, batch, 4·hidden] (gates in PyTorch's order i, f, g, o), the initial
        /// states h0, c0 [batch, hidden], W_hh [4·hidden, hidden] and b_hh [4·hidden] (or null), returns
        /// [2, seq, batch, hidden]: every step's h_t (index 0) and c_t (index 1), in time order; with
        /// <paramref name="reverse"/> the recurrence runs from the last step to the first.
        /// <c>a = xProj[t] + b_hh + h_prev W_hhᵀ</c>, <c>c_t = σ(a_f) ⊙ c_prev + σ(a_i) ⊙ tanh(a_g)</c>,
        /// <c>h_t = σ(a_o) ⊙ tanh(c_t)</c>.
        /// </summary>
        /// <remarks>
        /// The time loop is <see cref="LstmRecurrence{T, TK}"/>: W_hh is packed once per call for the GEMM micro-kernel,
        /// and each step is one parallel pass in which every thread computes its hidden units' four gate
        /// pre-activations (<c>xProj[t] + h_prev W_hhᵀ</c>, then + b_hh, the roundings of a GEMM accumulating onto the
        /// projection), their nonlinearities and the cell update. The backward rule walks the steps back once: per step
        /// each thread forms its columns of the recurrent gradient <c>dh = da_{t+1} W_hh</c> and then its units' four
        /// pre-activation gradients; then dW_hh is one product over all steps' stacked gate gradients and the previous
        /// hidden states, and the input projection's gradient is those stacked gate gradients themselves (Linear turns
        /// them into dW_ih, db_ih and dx with one product each). First order only: the rule is a kernel, not recorded
        /// ops, so double backward is refused.
        /// </remarks>
        internal static Tensor LstmSequence(Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh, bool reverse) =>
            LstmLayer(xProj, h0, c0, wHh, bHh, reverse, hiddenOnly: false);

        /// <summary>
        /// Whether an LSTM stack run for its outputs alone (<see cref="LstmSkipUnreadStates"/>: no final state read) records
        /// each layer with its h sequence [seq, batch, hidden] as the op's output (<see cref="LstmHiddenSequence"/>: the
        /// time loop writes the h_t into it, the c_t into a tensor the rule keeps, and the rule takes dH alone, the c_t
        /// getting no gradient from outside) instead of the [2, seq, batch, hidden] output and a Narrow of its h half
        /// (a copy forward, a padded gradient backward). The same values and gradients either way; a switch for A/B
        /// measurements (the bench's --lstm-hidden-output) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmHiddenOutput = true;

        /// <summary>Set when an LSTM layer was recorded with its h sequence as its output (for tests: that the new path ran).</summary>
        internal static volatile bool LstmHiddenOutputTaken;

        /// <summary>
        /// <see cref="LstmSequence"/>'s h half alone, [seq, batch, hidden]:
        /// every step's h_t as the recorded output (written by the time loop, no copy), the c_t kept by the op's rule,
        /// which treats their gradient from outside as zero. Same values as the h half of that op's result, and the same
        /// gradients as its Narrow, for a caller that never reads the c_t. With <paramref name="batchMajor"/> the h_t are
        /// written [batch, seq, hidden] (a batch-first stack's output: only where
        /// <see cref="LstmBatchFirstOutputApplies"/>, which the caller checks).
        /// </summary>
        internal static Tensor LstmHiddenSequence(Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh, bool reverse, bool batchMajor = false) =>
            LstmLayer(xProj, h0, c0, wHh, bHh, reverse, hiddenOnly: true, batchMajor);

        /// <summary>The layer of <see cref="LstmSequence"/> (<paramref name="hiddenOnly"/> false) or <see cref="LstmHiddenSequence"/> (true).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static Tensor LstmLayer(Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh, bool reverse, bool hiddenOnly, bool batchMajor = false)
        {
            ArgumentNullException.ThrowIfNull(xProj);
            ArgumentNullException.ThrowIfNull(h0);
            ArgumentNullException.ThrowIfNull(c0);
            ArgumentNullException.ThrowIfNull(wHh);
            if (wHh.Rank != 2 || wHh.ShapeRef[0] != 4 * wHh.ShapeRef[1])
                throw new ArgumentException($"LstmSequence: W_hh must be [4·hidden, hidden]; got {Shapes.Format(wHh.ShapeRef)}.", nameof(wHh));
            int hidden = wHh.ShapeRef[1];
            if (xProj.Rank != 3 || xProj.ShapeRef[2] != 4 * hidden)
                throw new ArgumentException($"LstmSequence: the input projection must be [seq, batch, {4 * hidden}]; got {Shapes.Format(xProj.ShapeRef)}.", nameof(xProj));
            int seq = xProj.ShapeRef[0], batch = xProj.ShapeRef[1];
            if (h0.Rank != 2 || h0.ShapeRef[0] != batch || h0.ShapeRef[1] != hidden)
                throw new ArgumentException($"LstmSequence: h0 must be [{batch}, {hidden}]; got {Shapes.Format(h0.ShapeRef)}.", nameof(h0));
            if (c0.Rank != 2 || c0.ShapeRef[0] != batch || c0.ShapeRef[1] != hidden)
                throw new ArgumentException($"LstmSequence: c0 must be [{batch}, {hidden}]; got {Shapes.Format(c0.ShapeRef)}.", nameof(c0));
            if (bHh is not null && (bHh.Rank != 1 || bHh.ShapeRef[0] != 4 * hidden))
                throw new ArgumentException($"LstmSequence: b_hh must be [{4 * hidden}]; got {Shapes.Format(bHh.ShapeRef)}.", nameof(bHh));
            var dtype = xProj.DType;
            if (h0.DType != dtype || c0.DType != dtype || wHh.DType != dtype || (bHh is not null && bHh.DType != dtype))
                throw new ArgumentException($"LstmSequence: every operand must be {dtype.ToTorchName()} like the input projection.");

            var y = Tensor.Uninitialized(hiddenOnly ? batchMajor ? [batch, seq, hidden] : [seq, batch, hidden] : [2, seq, batch, hidden], dtype);
            var cs = hiddenOnly ? Tensor.Uninitialized([seq, batch, hidden], dtype) : null;
            var gates = Tensor.Uninitialized([seq, batch, 4 * hidden], dtype); // σ(a_i), σ(a_f), tanh(a_g), σ(a_o)
            var tanhC = Tensor.Uninitialized([seq, batch, hidden], dtype);
            DTypeDispatch.Float(dtype, new LstmForwardKernel(xProj, h0, c0, wHh, bHh, y, cs, gates, tanhC, reverse, batchMajor), nameof(LstmSequence));
            if (hiddenOnly) LstmHiddenOutputTaken = true;
            if (batchMajor) LstmBatchFirstOutputTaken = true;
            return RecordLstmSequence(y, cs, gates, tanhC, xProj, h0, c0, wHh, bHh, reverse, batchMajor: batchMajor);
        }

        /// <summary>
        /// The tape entry of a computed <see cref="LstmSequence"/> (when gradients are on): its output y (with
        /// <paramref name="cs"/>, the h sequence alone, the c sequence in cs), the activated gates and tanh(c_t) the
        /// forward kept, and the operands. Shared with <see cref="LstmPair"/>, which computes two layers at once and
        /// records each as this op.
        /// </summary>
        private static Tensor RecordLstmSequence(Tensor y, Tensor? cs, Tensor gates, Tensor tanhC, Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh,
            bool reverse, LstmPairGrads? pair = null, bool pairSecond = false, bool batchMajor = false)
        {
            if (!SharpGrad.Autograd.IsGradEnabled) return y;
            var dtype = y.DType;
            Tensor[] inputs = bHh is null ? [xProj, h0, c0, wHh] : [xProj, h0, c0, wHh, bHh];
            return SharpGrad.Autograd.Record(y, "LstmSequenceBackward", inputs, g =>
            {
                if (g.DType != dtype) g = g.To(dtype);
                // A layer of a pair: the second's rule may run both layers' backward as a wavefront, the first's then takes its results.
                var paired = pair is null ? null : pairSecond ? pair.SecondLayer(g, y, cs, gates, tanhC, xProj, h0, c0, wHh, bHh, batchMajor) : pair.FirstLayer(g);
                if (paired is not null) return paired;
                var grads = LstmGradTensors.For(xProj, h0, c0, wHh, bHh);
                DTypeDispatch.Float(dtype, new LstmBackwardKernel(g, y, cs, gates, tanhC, h0, c0, wHh, reverse, grads.DXProj, grads.DH, grads.DC, h0.RequiresGrad,
                    grads.DW, grads.DB, batchMajor), nameof(LstmSequence));
                return grads.Results(h0, c0, bHh);
            }, differentiableBackward: false, attributes: new LstmSequenceAttributes(reverse, HiddenOnly: cs is not null, BatchMajor: batchMajor));
        }

        /// <summary>
        /// Whether the Linear that formed an LSTM layer's input projection takes its bias gradient db_ih from the layer's
        /// db_hh (b_ih and b_hh enter the gate pre-activations the same way, so both are the row sum of the gate gradients
        /// dXProj the layer's rule returns) instead of summing dXProj's rows again. Not the same bits: db_hh is a running
        /// sum over the rows in order (the time loops' SumPositions, or WeightGrads' row-by-row sum), the Linear's own sum
        /// is Reduce's interleaved tree. A switch for A/B measurements (the bench's --lstm-shared-bias) and for the tests
        /// that compare the two.
        /// </summary>
        internal static bool LstmSharedBiasGrad = true;

        /// <summary>
        /// Whether a recurrent stack run for its outputs alone (<see cref="RecurrentBase.ForwardEmbedded"/>: a language
        /// model reads the last layer's outputs, never the final states) skips forming the final states h_n and c_n (the
        /// copies of each layer's last step and their stacks). The same outputs and gradients either way; a switch for A/B
        /// measurements (the bench's --lstm-skip-states) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmSkipUnreadStates = true;

        /// <summary>Set when a recurrent stack skipped its final states (for tests: that the skip ran).</summary>
        internal static volatile bool LstmSkipUnreadStatesTaken;

        /// <summary>Set when a Linear's bias gradient was taken from an LSTM layer's db_hh (for tests: that the shared path ran).</summary>
        internal static volatile bool LstmSharedBiasGradTaken;

        /// <summary>The gate gradients dXProj an LSTM rule returned whose row sum (its db_hh) is known, until a Linear's rule takes it.</summary>
        private static readonly ConditionalWeakTable<Tensor, Tensor> s_gateGradSums = new();

        /// <summary>
        /// Records that <paramref name="sum"/> (db_hh) is the row sum of <paramref name="dXProj"/>, for the rule of the
        /// Linear that made the layer's input projection (<see cref="SharedBiasGrad"/>). Not when b_hh has hooks that
        /// run once its gradient is final (they may change the gradient in place before the Linear's rule runs).
        /// </summary>
        private static void OfferGateGradSum(Tensor dXProj, Tensor sum, Tensor bHh)
        {
            if (LstmSharedBiasGrad && bHh.PostAccumulateGradHooks is null) s_gateGradSums.AddOrUpdate(dXProj, sum);
        }

        /// <summary>
        /// A Linear's bias gradient (b of shape [out]) when its output gradient <paramref name="g"/> is the very dXProj an
        /// LSTM rule returned with its db_hh (<see cref="OfferGateGradSum"/>; the engine hands a node's single gradient
        /// over as it is, a sum of several is a new tensor): a copy of db_hh (recorded, so a replay copies too); else null.
        /// </summary>
        internal static Tensor? SharedBiasGrad(Tensor g, Tensor b)
        {
            if (!s_gateGradSums.TryGetValue(g, out var sum)) return null;
            s_gateGradSums.Remove(g);
            if (!LstmSharedBiasGrad || sum.DType != b.DType || !Shapes.Equal(sum.ShapeRef, b.ShapeRef)) return null;
            var db = Tensor.Uninitialized(b.Shape, b.DType);
            db.CopyFrom(sum);
            LstmSharedBiasGradTaken = true;
            return db;
        }

        private readonly struct LstmForwardKernel(Tensor xProj, Tensor h0, Tensor c0, Tensor w, Tensor? b, Tensor y, Tensor? cs, Tensor gates, Tensor tanhC,
            bool reverse, bool batchMajor) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture) => Capture.Buffers(capture, [xProj, h0, c0, w, b], [y, cs, gates, tanhC]);

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int seq = xProj.ShapeRef[0], batch = xProj.ShapeRef[1], hidden = w.ShapeRef[1];
                if (Vector512.IsHardwareAccelerated)
                    LstmRecurrence<T, GemmKernel512<T>>.Forward(seq, batch, hidden, xProj.Array<T>(), h0.Array<T>(), c0.Array<T>(), w.Array<T>(), b?.Array<T>(),
                        y.Array<T>(), cs?.Array<T>(), gates.Array<T>(), tanhC.Array<T>(), reverse, batchMajor);
                else if (Vector256.IsHardwareAccelerated)
                    LstmRecurrence<T, GemmKernel256<T>>.Forward(seq, batch, hidden, xProj.Array<T>(), h0.Array<T>(), c0.Array<T>(), w.Array<T>(), b?.Array<T>(),
                        y.Array<T>(), cs?.Array<T>(), gates.Array<T>(), tanhC.Array<T>(), reverse, batchMajor);
                else
                    LstmRecurrence<T, GemmKernelScalar<T>>.Forward(seq, batch, hidden, xProj.Array<T>(), h0.Array<T>(), c0.Array<T>(), w.Array<T>(), b?.Array<T>(),
                        y.Array<T>(), cs?.Array<T>(), gates.Array<T>(), tanhC.Array<T>(), reverse, batchMajor);
            }
        }

        private readonly struct LstmBackwardKernel(Tensor g, Tensor y, Tensor? cs, Tensor gates, Tensor tanhC, Tensor h0, Tensor c0, Tensor w, bool reverse,
            Tensor dXProj, Tensor dH, Tensor dC, bool wantDH0, Tensor? dW, Tensor? dB, bool batchMajor = false) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture) => Capture.Buffers(capture, [g, y, cs, gates, tanhC, h0, c0, w], [dXProj, dH, dC, dW, dB]);

            /// <summary>The output gradient, the activated gates and W_hh (for <see cref="LstmPairBackwardKernel"/>).</summary>
            public Tensor G => g;

            public Tensor Gates => gates;

            public Tensor W => w;

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int seq = gates.ShapeRef[0], batch = gates.ShapeRef[1], hidden = w.ShapeRef[1];
                var operands = Operands<T>();
                bool done; // whether the time loop also formed dW_hh and db_hh (see LstmRecurrence.Backward)
                if (Vector512.IsHardwareAccelerated) done = LstmRecurrence<T, GemmKernel512<T>>.Backward(seq, batch, hidden, operands, reverse);
                else if (Vector256.IsHardwareAccelerated) done = LstmRecurrence<T, GemmKernel256<T>>.Backward(seq, batch, hidden, operands, reverse);
                else done = LstmRecurrence<T, GemmKernelScalar<T>>.Backward(seq, batch, hidden, operands, reverse);
                if (!done) WeightGrads<T>();
            }

            /// <summary>The arrays of the time loop.</summary>
            public LstmBackwardOperands<T> Operands<T>() where T : unmanaged =>
                new(g.Array<T>(), y.Array<T>(), gates.Array<T>(), tanhC.Array<T>(), h0.Array<T>(), c0.Array<T>(), w.Array<T>(), dXProj.Array<T>(),
                    dH.Array<T>(), dC.Array<T>(), wantDH0, dW?.Array<T>(), dB?.Array<T>(), cs?.Array<T>(), batchMajor);

            /// <summary>dW_hh and db_hh (those wanted) as products and sums after the time loop, when it did not form them.</summary>
            public void WeightGrads<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
                Functional.WeightGrads(gates.ShapeRef[0], gates.ShapeRef[1], w.ShapeRef[1], dXProj.Array<T>(), y.Array<T>(), h0.Span<T>(), reverse,
                    dW is null ? default : dW.Span<T>(), dB is null ? default : dB.Span<T>());
        }

        /// <summary>
        /// dW_hh and db_hh from the gate gradients <paramref name="da"/> [seq, batch, 4·hidden] and the stored states, when
        /// the time loop did not form them (see LstmRecurrence.Backward; empty spans for those not wanted): dW_hh = Σ_t da_tᵀ h_prev(t), the steps whose
        /// previous state is another step's output in one product, h0's step after; db_hh the row-by-row sum of da.
        /// </summary>
        private static void WeightGrads<T>(int seq, int batch, int hidden, T[] da, T[] ys, ReadOnlySpan<T> h0, bool reverse, Span<T> dw, Span<T> db)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            int g4 = 4 * hidden, bh = batch * hidden;
            if (!dw.IsEmpty)
            {
                int first = reverse ? seq - 1 : 0, rest = Math.Max(0, seq - 1) * batch;
                int daStart = reverse ? 0 : batch * g4, hStart = reverse ? bh : 0;
                Gemm.Multiply(true, false, g4, hidden, rest, T.One, da.AsSpan(daStart, rest * g4), g4, ys.AsSpan(hStart, rest * hidden), Math.Max(1, hidden),
                    T.Zero, dw, Math.Max(1, hidden));
                if (seq > 0)
                    Gemm.Multiply(true, false, g4, hidden, batch, T.One, da.AsSpan(first * batch * g4, batch * g4), g4, h0, Math.Max(1, hidden),
                        T.One, dw, Math.Max(1, hidden));
            }
            if (!db.IsEmpty)
            {
                db.Clear();
                for (int r = 0; r < seq * batch; r++) TensorPrimitives.Add<T>(db, da.AsSpan(r * g4, g4), db);
            }
        }
    }
}

namespace SharpGrad.Kernels
{
    /// <summary>
    /// The time loop of <see cref="NN.Functional.LstmSequence"/>, forward and backward, on the GEMM micro-kernels with the
    /// recurrent weight packed once per call and reused by every step (a separate GEMM per step would pack it again each
    /// time). The hidden units are cut into blocks of NR (the micro-kernel's width) and each thread owns a range of
    /// blocks for the whole call: in the forward it computes all four gates' pre-activations of its units (four tiles
    /// per block of rows, each started from the step's input projection), applies the nonlinearities and the cell update
    /// while the tiles are in L1, and writes its part of h_t straight into the packed operand of the next step; in the
    /// backward it forms its columns of dh = da_{t+1} W_hh, then the four gate gradients of its units, packed for the
    /// next product the same way. So a step is one parallel dispatch with no serial part. Every element is computed by
    /// the same sequence of operations whatever the number of threads (threads split units, never a sum).
    /// </summary>
    internal sealed unsafe class LstmRecurrence<T, TK> : ParallelWork
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        [ThreadStatic] private static LstmRecurrence<T, TK>? t_job;

        private readonly AlignedBuffer<T> _packedW = new(), _packedA0 = new(), _packedA1 = new(), _packedDaT = new(), _packedStates = new();
        private AlignedBuffer<T>[] _tiles = [], _bPanels = [];

        private enum Pass { Forward, Backward, WeightGrad }

        private Pass _pass;
        private int _batch, _hidden, _depth, _kc, _blocks, _strips;
        private T* _w, _aCur, _aNext, _bias, _a0, _a1;
        // Forward: the whole call's operands (BeginForward), from which ForwardStep points at one step.
        private T* _xAll, _c0, _yAll, _cAll, _gatesAll, _tanhCAll;
        // Backward: the whole call's output gradients (of every h_t, and of every c_t or null when the c sequence gets none)
        // and gate gradients (BeginBackward), from which BackwardStep points at one step.
        private T* _gyAll, _gcAll, _daAll;
        private int _seq;
        private bool _reverse;
        // Forward: whether the first step's recurrent products are all exactly +0 (h0 zero, W_hh finite: every term is ±0
        // and the accumulator starts at +0), and whether the step set by ForwardStep is that step (its tiles cleared
        // instead of multiplied, on the fused path).
        private bool _zeroStart, _zeroProducts;
        // Forward: the step's input projection, activated gates, h_t, c_t, tanh(c_t) and c_{t-1}.
        private T* _xp, _gates, _h, _c, _tanhC, _cPrev;
        // Backward: the step's output gradients (of h_t and c_t; _gc null: none, taken as +0), dh and dc running buffers, the gate gradients of the step.
        private T* _gh, _gc, _dh, _dc, _da;
        // Backward with the weight gradient: every step's gate gradients transposed and packed as the A operand of
        // dW_hh = Σ_t da_tᵀ h_prev(t) (one strip of MR gate units, all seq·batch positions deep), and the position of the
        // step's first row in it. WeightGrad pass: dW_hh, db_hh, the previous states (rows of the stored h_t, then h0)
        // and where their positions start in the packed gradients.
        private T* _daT, _dW, _dB, _hRest, _h0;
        // Where h_t (and, backward, its gradient) sits: step t at t·_hStep, row b at b·_ldh. Time-major [seq, batch, hidden]
        // (the default: batch·hidden and hidden) or batch-major [batch, seq, hidden] (hidden and seq·hidden; see BatchMajor).
        private nint _hStep, _ldh;
        private int _daTRow, _positions, _rest, _restStart, _h0Start, _kcRest, _kcH0;
        // The previous states packed whole as dW_hh's B operand (PackWeightGradPanel), every k block in order; null: each
        // part packs its k blocks itself as it goes.
        private T* _statesPanel;
        // WeightGrad pass: whether h0 is all zeros (LstmZeroH0WeightGrad): then a strip's h0 block, when its gate gradients
        // are finite, adds exactly +0 to each dW_hh value, which is done without the products.
        private bool _h0Zero;

        /// <summary>The unit blocks of NR (the parts a step or dW_hh splits into).</summary>
        internal int Blocks => _blocks;

        private static LstmRecurrence<T, TK> Job(int threads, int batch, int hidden, int depth) =>
            Configure(t_job ??= new LstmRecurrence<T, TK>(), threads, batch, hidden, depth);

        private static LstmRecurrence<T, TK> Configure(LstmRecurrence<T, TK> job, int threads, int batch, int hidden, int depth)
        {
            int mr = TK.MR, nr = TK.NR;
            job._batch = batch;
            job._hidden = hidden;
            job._depth = depth;
            job._kc = GemmTuning.BlockDepth<T>(nr, depth); // the k blocks the GEMM would use: same sums, same rounding
            job._blocks = (hidden + nr - 1) / nr;
            job._strips = (batch + mr - 1) / mr;
            if (job._tiles.Length < threads) job._tiles = AlignedBuffer<T>.Grow(job._tiles, Math.Max(threads, WorkerPool.MaxParallelism));
            if (job._bPanels.Length < threads) job._bPanels = AlignedBuffer<T>.Grow(job._bPanels, Math.Max(threads, WorkerPool.MaxParallelism));
            return job;
        }

        /// <summary>Threads for a call: one per core when a step's product is worth splitting, at most one per unit block.</summary>
        private static int Threads(int batch, int hidden)
        {
            int blocks = (hidden + TK.NR - 1) / TK.NR;
            return 2.0 * batch * 4 * hidden * hidden < Gemm.ParallelThresholdFlops ? 1 : Math.Max(1, Math.Min(Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism), blocks));
        }

        /// <summary>Clears the padding rows of the last strip of a packed operand (a partial strip is read whole by the kernel).</summary>
        private static void ClearPadding(T* packed, int batch, int depth)
        {
            int mr = TK.MR, strips = (batch + mr - 1) / mr, h = batch - (strips - 1) * mr;
            if (h == mr || strips == 0) return;
            T* s = packed + (nint)(strips - 1) * mr * depth;
            for (int p = 0; p < depth; p++)
                for (int r = h; r < mr; r++) s[p * mr + r] = T.Zero;
        }

        /// <summary>
        /// The forward time loop: <paramref name="y"/> [2, seq, batch, hidden] (h_t, then c_t; with <paramref name="cs"/>,
        /// y is [seq, batch, hidden], the h_t alone, and the c_t go to cs), the activated gates [seq, batch, 4·hidden]
        /// (σ(i), σ(f), tanh(g), σ(o)) and tanh(c_t) [seq, batch, hidden]; with <paramref name="batchMajor"/> (and cs) y is
        /// [batch, seq, hidden].
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Forward(int seq, int batch, int hidden, T[] xProj, T[] h0, T[] c0, T[] w, T[]? bias, T[] y, T[]? cs, T[] gates, T[] tanhC, bool reverse,
            bool batchMajor = false)
        {
            if (seq == 0 || batch == 0 || hidden == 0) return; // nothing to compute (hidden 0: every output is empty)
            int threads = Threads(batch, hidden);
            var job = Job(threads, batch, hidden, hidden);
            fixed (T* px = xProj, ph0 = h0, pc0 = c0, pwh = w, pb = bias, py = y, pcs = cs, pg = gates, ptc = tanhC)
            {
                job.BeginForward(seq, ph0, pwh, bias is null ? null : pb, px, pc0, py, cs is null ? py + (nint)seq * batch * hidden : pcs, pg, ptc, reverse,
                    batchMajor: batchMajor);
                try
                {
                    for (int s = 0; s < seq; s++)
                    {
                        job.ForwardStep(s);
                        WorkerPool.Run(job, threads);
                    }
                }
                finally { job.Forget(); }
            }
        }

        /// <summary>
        /// A job of its own (not the calling thread's cached one) for <see cref="LstmPairForward{T, TK}"/> and
        /// <see cref="LstmPairBackward{T, TK}"/>, which run two layers' time loops at once: <paramref name="slot"/> 0 or 1, cached per calling thread.
        /// </summary>
        internal static LstmRecurrence<T, TK> PairJob(int slot, int batch, int hidden, bool backward = false)
        {
            var job = slot == 0 ? t_pair0 ??= new LstmRecurrence<T, TK>() : t_pair1 ??= new LstmRecurrence<T, TK>();
            return Configure(job, WorkerPool.MaxParallelism, batch, hidden, backward ? 4 * hidden : hidden);
        }

        [ThreadStatic] private static LstmRecurrence<T, TK>? t_pair0, t_pair1;

        /// <summary>
        /// Sets up a forward call: packs W_hhᵀ (one strip per unit block and gate) and h0, and keeps the pointers of the
        /// pinned operands; <see cref="ForwardStep"/> then points the job at one step, and one pass over every unit block
        /// (split over threads or not) computes it: h_t at step t of <paramref name="y"/>, c_t at step t of
        /// <paramref name="cs"/> ([seq, batch, hidden] each). With <paramref name="packWeight"/> false W_hhᵀ is not packed
        /// here: the caller packs every unit block with <see cref="PackForwardWeight"/> before the first step.
        /// </summary>
        internal void BeginForward(int seq, T* h0, T* w, T* bias, T* xProj, T* c0, T* y, T* cs, T* gates, T* tanhC, bool reverse, bool packWeight = true,
            bool batchMajor = false)
        {
            SetHiddenLayout(seq, batchMajor);
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, batch = _batch;
            int strips = _strips, blocks = _blocks;
            nint aLength = (nint)strips * mr * hidden;
            _w = _packedW.Get(blocks * 4 * hidden * nr);
            _a0 = _packedA0.Get((int)aLength);
            _a1 = _packedA1.Get((int)aLength);
            if (packWeight) PackForwardWeight(w, 0, blocks);
            GemmPacking.PackA(_a0, h0, hidden, false, batch, hidden, mr);
            ClearPadding(_a1, batch, hidden);
            _zeroStart = NN.Functional.LstmZeroStart && TensorPrimitives.MaxMagnitude(new ReadOnlySpan<T>(h0, batch * hidden)) == T.Zero
                && T.IsFinite(TensorPrimitives.MaxMagnitude(new ReadOnlySpan<T>(w, 4 * hidden * hidden)));
            _pass = Pass.Forward;
            _bias = bias;
            _seq = seq;
            _reverse = reverse;
            _xAll = xProj;
            _c0 = c0;
            _yAll = y;
            _cAll = cs;
            _gatesAll = gates;
            _tanhCAll = tanhC;
        }

        /// <summary>
        /// The layout of the h sequence (and of its gradient): time-major [seq, batch, hidden], or with
        /// <paramref name="batchMajor"/> [batch, seq, hidden] (a batch-first stack's last layer: see
        /// <see cref="NN.Functional.LstmBatchFirstOutput"/>; only where the backward forms dW_hh itself, <see cref="PacksWeightGrad"/>).
        /// </summary>
        private void SetHiddenLayout(int seq, bool batchMajor)
        {
            _hStep = batchMajor ? _hidden : (nint)_batch * _hidden;
            _ldh = batchMajor ? (nint)seq * _hidden : _hidden;
        }

        /// <summary>
        /// Packs positions [<paramref name="p0"/>, <paramref name="p0"/> + <paramref name="kc"/>) of the previous states
        /// (position p: row p % batch of step p / batch from <see cref="_hRest"/>) as one k block of dW_hh's B operand, as
        /// <see cref="GemmPacking.PackB{T}"/> packs contiguous rows (whole NR strips: <see cref="PacksWeightGrad"/>).
        /// </summary>
        private void PackStates(T* dst, int p0, int kc)
        {
            int nr = TK.NR, hidden = _hidden, batch = _batch;
            if (_ldh == hidden)
            {
                GemmPacking.PackB(dst, _hRest + (nint)p0 * hidden, hidden, false, kc, hidden, nr);
                return;
            }
            nint strip = (nint)kc * nr;
            for (int p = 0; p < kc; p++)
            {
                int position = p0 + p;
                T* src = _hRest + (nint)(position % batch) * _ldh + (position / batch) * _hStep;
                T* d = dst + (nint)p * nr;
                for (int s = 0; s < hidden; s += nr, d += strip) new ReadOnlySpan<T>(src + s, nr).CopyTo(new Span<T>(d, nr));
            }
        }

        /// <summary>
        /// Packs unit blocks [<paramref name="ub0"/>, <paramref name="ub1"/>) of W_hhᵀ (<paramref name="w"/>) as the forward
        /// steps' B, one strip per (unit block, gate), block ub's four strips adjacent, into the buffer <see cref="BeginForward"/> set.
        /// </summary>
        internal void PackForwardWeight(T* w, int ub0, int ub1)
        {
            int nr = TK.NR, hidden = _hidden;
            for (int ub = ub0; ub < ub1; ub++)
                for (int g = 0; g < 4; g++)
                    GemmPacking.PackBStrip(_w + (nint)(ub * 4 + g) * hidden * nr, w + (nint)(g * hidden + ub * nr) * hidden, hidden, true, hidden,
                        Math.Min(nr, hidden - ub * nr), nr);
        }

        /// <summary>Points the job at step <paramref name="s"/> of the processing order (a time step; the last first when reversed).</summary>
        internal void ForwardStep(int s)
        {
            int seq = _seq, batch = _batch, g4 = 4 * _hidden, bh = batch * _hidden;
            int t = _reverse ? seq - 1 - s : s, tPrev = _reverse ? t + 1 : t - 1;
            T* cOut = _cAll;
            _aCur = s % 2 == 0 ? _a0 : _a1;
            _aNext = s % 2 == 0 ? _a1 : _a0;
            _xp = _xAll + (nint)t * batch * g4;
            _gates = _gatesAll + (nint)t * batch * g4;
            _h = _yAll + t * _hStep;
            _c = cOut + (nint)t * bh;
            _tanhC = _tanhCAll + (nint)t * bh;
            _cPrev = s == 0 ? _c0 : cOut + (nint)tPrev * bh;
            _zeroProducts = s == 0 && _zeroStart;
        }

        /// <summary>The step set by <see cref="ForwardStep"/>, every unit block on the calling thread (with part <paramref name="part"/>'s scratch).</summary>
        internal void ForwardStepAlone(int part) => ForwardPart(0, _blocks, _tiles[part].Get(7 * TK.MR * TK.NR), blocksOuter: true);

        /// <summary>
        /// The backward time loop: from the output gradient Gy [2, seq, batch, hidden] of <paramref name="operands"/>,
        /// writes the gate pre-activation gradients Da [seq, batch, 4·hidden] (the gradient of the input projection), the
        /// gradient reaching c0 into Dc and, when WantDH0, the one reaching h0 into Dh (both [batch, hidden], used as
        /// running buffers). When <see cref="PacksWeightGrad"/> holds and DW is given, also dW_hh and (if given) db_hh,
        /// and returns true; otherwise the caller forms them.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static bool Backward(int seq, int batch, int hidden, LstmBackwardOperands<T> operands, bool reverse)
        {
            var (gy, y, gates, tanhC, h0, c0, w, da, dh, dc, wantDH0, dW, dB, cs, batchMajor) = operands;
            dh.AsSpan().Clear();
            dc.AsSpan().Clear();
            if (seq == 0 || batch == 0 || hidden == 0) { da.AsSpan().Clear(); return false; }
            bool weightGrad = dW is not null && PacksWeightGrad(seq, batch, hidden);
            int threads = Threads(batch, hidden);
            var job = Job(threads, batch, hidden, 4 * hidden);
            fixed (T* pgy = gy, py = y, pcs = cs, pg = gates, ptc = tanhC, ph0 = h0, pc0 = c0, pwh = w, pda = da, pdh = dh, pdc = dc, pdw = dW, pdb = dB)
            {
                job.BeginBackward(seq, pgy, operands.OutputGradC(pgy, seq * batch * hidden), py, operands.States(py, pcs, seq * batch * hidden), pg, ptc, ph0, pc0,
                    pwh, pda, pdh, pdc, weightGrad ? pdw : null, weightGrad && dB is not null ? pdb : null, reverse, batchMajor: batchMajor);
                try
                {
                    for (int s = seq - 1; s >= 0; s--)
                    {
                        job.BackwardStep(s);
                        WorkerPool.Run(job, threads);
                    }
                    if (wantDH0)
                    {
                        job.BackwardToH0();
                        WorkerPool.Run(job, threads);
                    }
                    if (weightGrad)
                    {
                        job.BeginWeightGrad();
                        // One panel of the stored states for every part (rather than each part packing all of it per k block).
                        if (NN.Functional.LstmSplitWeightGrad) job.PackWeightGradPanel();
                        WorkerPool.Run(job, threads);
                    }
                }
                finally { job.Forget(); }
            }
            return weightGrad;
        }

        /// <summary>
        /// Sets up a backward call (dh and dc already cleared by the caller): packs W_hh (one strip per unit block,
        /// 4·hidden deep) and keeps the pointers of the pinned operands (the gradients of every h_t and c_t,
        /// <paramref name="gy"/> and <paramref name="gc"/>, null when the c_t get none; the stored h_t and c_t,
        /// <paramref name="y"/> and <paramref name="cs"/>; [seq, batch, hidden] each); <see cref="BackwardStep"/> then points the job at
        /// one step, <see cref="BackwardToH0"/> at the last product (the gradient reaching h0) and
        /// <see cref="BeginWeightGrad"/> at dW_hh and db_hh, which it forms when <paramref name="dW"/> is not null
        /// (<see cref="PacksWeightGrad"/> must hold then). With <paramref name="packWeight"/> false W_hh is not packed
        /// here: the caller packs every unit block with <see cref="PackBackwardWeight"/> before the first step.
        /// </summary>
        internal void BeginBackward(int seq, T* gy, T* gc, T* y, T* cs, T* gates, T* tanhC, T* h0, T* c0, T* w, T* da, T* dh, T* dc, T* dW, T* dB,
            bool reverse, bool packWeight = true, bool batchMajor = false)
        {
            SetHiddenLayout(seq, batchMajor);
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, g4 = 4 * hidden, batch = _batch;
            int strips = _strips, blocks = _blocks;
            nint aLength = (nint)strips * mr * g4;
            _w = _packedW.Get(blocks * g4 * nr);
            _a0 = _packedA0.Get((int)aLength);
            _a1 = _packedA1.Get((int)aLength);
            if (packWeight) PackBackwardWeight(w, 0, blocks);
            ClearPadding(_a0, batch, g4);
            ClearPadding(_a1, batch, g4);
            _pass = Pass.Backward;
            _dh = dh;
            _dc = dc;
            _seq = seq;
            _reverse = reverse;
            _gyAll = gy;
            _gcAll = gc;
            _yAll = y;
            _cAll = cs;
            _gatesAll = gates;
            _tanhCAll = tanhC;
            _c0 = c0;
            _h0 = h0;
            _daAll = da;
            _dW = dW;
            _dB = dB;
            _positions = seq * batch;
            _daT = dW != null ? _packedDaT.Get(g4 * seq * batch) : null;
        }

        /// <summary>
        /// Packs unit blocks [<paramref name="ub0"/>, <paramref name="ub1"/>) of W_hh (<paramref name="w"/>) as the backward
        /// steps' B (dh = da W_hh): one strip per unit block, 4·hidden deep, into the buffer <see cref="BeginBackward"/> set.
        /// </summary>
        internal void PackBackwardWeight(T* w, int ub0, int ub1)
        {
            int nr = TK.NR, hidden = _hidden, g4 = 4 * hidden;
            for (int ub = ub0; ub < ub1; ub++)
                GemmPacking.PackBStrip(_w + (nint)ub * g4 * nr, w + ub * nr, hidden, false, g4, Math.Min(nr, hidden - ub * nr), nr);
        }

        /// <summary>Points the job at backward step <paramref name="s"/> of the processing order (run from seq − 1 down to 0).</summary>
        internal void BackwardStep(int s)
        {
            int seq = _seq, batch = _batch, g4 = 4 * _hidden, bh = batch * _hidden;
            int t = _reverse ? seq - 1 - s : s, tPrev = _reverse ? t + 1 : t - 1;
            bool even = (seq - 1 - s) % 2 == 0;
            _aCur = s == seq - 1 ? null : even ? _a0 : _a1; // null: no later step, dh starts at zero
            _aNext = even ? _a1 : _a0;
            _gh = _gyAll + t * _hStep;
            _gc = _gcAll == null ? null : _gcAll + (nint)t * bh;
            _gates = _gatesAll + (nint)t * batch * g4;
            _tanhC = _tanhCAll + (nint)t * bh;
            _cPrev = s == 0 ? _c0 : _cAll + (nint)tPrev * bh;
            _da = _daAll + (nint)t * batch * g4;
            _daTRow = t * batch;
        }

        /// <summary>Points the job at the gradient reaching h0: one more product, da of the first step with W_hh.</summary>
        internal void BackwardToH0()
        {
            _aCur = _seq % 2 == 1 ? _a1 : _a0;
            _da = null;
        }

        /// <summary>
        /// Points the job at dW_hh and db_hh: the same two products (and k blocks) as Gemm.Multiply on da and the stored
        /// states, first the steps whose previous state is another step's output, then h0's step, accumulated.
        /// </summary>
        internal void BeginWeightGrad()
        {
            int nr = TK.NR, batch = _batch, bh = batch * _hidden, rest = (_seq - 1) * batch;
            _pass = Pass.WeightGrad;
            _rest = rest;
            _hRest = _reverse ? _yAll + _hStep : _yAll;
            _restStart = _reverse ? 0 : batch;
            _h0Start = _reverse ? rest : 0;
            _kcRest = GemmTuning.BlockDepth<T>(nr, Math.Max(1, rest));
            _kcH0 = GemmTuning.BlockDepth<T>(nr, batch);
            _h0Zero = NN.Functional.LstmZeroH0WeightGrad && TensorPrimitives.MaxMagnitude(new ReadOnlySpan<T>(_h0, batch * _hidden)) == T.Zero;
        }

        /// <summary>The step (or product) set by <see cref="BackwardStep"/> or <see cref="BackwardToH0"/>, every unit block on the calling thread.</summary>
        internal void BackwardStepAlone(int part) => BackwardPart(0, _blocks, _tiles[part].Get(7 * TK.MR * TK.NR));

        /// <summary>dW_hh and db_hh (after <see cref="BeginWeightGrad"/>), every unit block on the calling thread.</summary>
        internal void WeightGradAlone(int part) => WeightGradGateBlocks(0, 4 * _blocks, part);

        /// <summary>
        /// The dW_hh and db_hh rows of gate blocks [gb0, gb1) (after <see cref="BeginWeightGrad"/>; gate block gb is gate
        /// gb % 4 of unit block gb / 4, NR gate units), on the calling thread with part <paramref name="part"/>'s scratch.
        /// </summary>
        internal void WeightGradGateBlocks(int gb0, int gb1, int part) =>
            WeightGradPart(gb0, gb1, _statesPanel != null ? null : _bPanels[part].Get(Math.Max(_kcRest, _kcH0) * _hidden));

        /// <summary>
        /// Packs the previous states of every position (after <see cref="BeginWeightGrad"/>) as dW_hh's B operand, each
        /// k block as <see cref="WeightGradPart"/> packs it, one after the other: then every call's blocks read this one
        /// panel instead of packing their own. Needs whole unit blocks (<see cref="PacksWeightGrad"/>).
        /// </summary>
        internal void PackWeightGradPanel()
        {
            int nr = TK.NR, hidden = _hidden, rest = _rest, batch = _batch;
            T* panel = _packedStates.Get(_positions * hidden);
            for (int p0 = 0; p0 < rest; p0 += _kcRest)
                PackStates(panel + (nint)p0 * hidden, p0, Math.Min(_kcRest, rest - p0));
            for (int p0 = 0; p0 < batch; p0 += _kcH0)
                GemmPacking.PackB(panel + (nint)(rest + p0) * hidden, _h0 + (nint)p0 * hidden, hidden, false, Math.Min(_kcH0, batch - p0), hidden, nr);
            _statesPanel = panel;
            NN.Functional.LstmSplitWeightGradTaken = true;
        }

        /// <summary>
        /// Whether <see cref="Backward"/> forms dW_hh (and db_hh) itself, from gate gradients it packs as it goes: when
        /// the kernel's MR is 8 and the hidden units fill whole NR blocks (so a unit block's gate units are whole strips),
        /// and when Gemm.Multiply would run both products on these same packed kernels (not its direct small loops, nor, for
        /// a small dW_hh, its interleaved batch tree over k: <see cref="Gemm.BatchTreeApplies"/>), so that the result is
        /// bit for bit the one the two products give.
        /// </summary>
        internal static bool PacksWeightGrad(int seq, int batch, int hidden)
        {
            int g4 = 4 * hidden, rest = (seq - 1) * batch;
            return TK.MR == 8 && hidden % TK.NR == 0 && seq > 0 && batch > 0 && (long)g4 * seq * batch <= int.MaxValue / 2
                && (rest == 0 || (!Gemm.IsSmall(true, false, g4, hidden, rest) && !Gemm.BatchTreeApplies(true, false, g4, hidden, rest, hidden)))
                && !Gemm.IsSmall(true, false, g4, hidden, batch);
        }

        /// <summary>Drops the pointers into the caller's pinned arrays once the call is over.</summary>
        internal void Forget()
        {
            _w = _aCur = _aNext = _bias = _xp = _gates = _h = _c = _tanhC = _cPrev = null;
            _a0 = _a1 = _xAll = _c0 = _yAll = _cAll = _gatesAll = _tanhCAll = _gyAll = _gcAll = _daAll = null;
            _gh = _gc = _dh = _dc = _da = null;
            _daT = _dW = _dB = _hRest = _h0 = _statesPanel = null;
        }

        public override void Execute(int index, int count)
        {
            int b0 = _blocks * index / count, b1 = _blocks * (index + 1) / count;
            if (b0 >= b1) return;
            T* tile = _tiles[index].Get(7 * TK.MR * TK.NR);
            if (_pass == Pass.Backward) BackwardPart(b0, b1, tile);
            else if (_pass == Pass.Forward) ForwardPart(b0, b1, tile);
            else WeightGradPart(4 * b0, 4 * b1, _bPanels[index].Get(Math.Max(_kcRest, _kcH0) * _hidden));
        }

        /// <summary>Units of blocks [b0, b1), every row, one forward step.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ForwardPart(int b0, int b1, T* tile, bool blocksOuter = false)
        {
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, g4 = 4 * hidden, depth = _depth, kc = _kc, size = mr * nr;
            // Tiles of MR x NR: the four gates, then c_prev / c, tanh(c), h.
            T* tc = tile + 4 * size, tt = tile + 5 * size, th = tile + 6 * size;
            // Tile order: row strips outer (a thread's share of W_hh stays in its L2), or, for a whole step on one thread,
            // unit blocks outer (each block's W_hh strips, 4·hidden·NR values, serve every row strip while in L2 instead
            // of all of W_hh passing through once per row strip). Each tile is computed the same way in either order.
            int blocks = b1 - b0, tiles = _strips * blocks;
            bool fused = false;
            bool float512 = typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated && size % Vector512<float>.Count == 0;
            bool fuseWhole = float512 && nr % Vector512<float>.Count == 0 && depth <= kc && NN.Functional.LstmFusedStores;
            for (int i = 0; i < tiles; i++)
            {
                int rs = blocksOuter ? i % _strips : i / blocks, ub = b0 + (blocksOuter ? i / _strips : i % blocks);
                int row0 = rs * mr, h = Math.Min(mr, _batch - row0);
                T* a = _aCur + (nint)rs * mr * depth;
                T* aNext = _aNext + (nint)rs * mr * depth;
                {
                    int u0 = ub * nr, w = Math.Min(nr, hidden - u0);
                    int next = i + 1;
                    if (next < tiles)
                        PrefetchForward(blocksOuter ? next % _strips : next / blocks, b0 + (blocksOuter ? next / _strips : next % blocks));
                    nint o = (nint)row0 * hidden + u0, oh = row0 * _ldh + u0;
                    if (fuseWhole && h == mr && w == nr)
                    {
                        // A whole float32 tile with one k block: each gate's product alone (beta 0: the accumulator
                        // itself, exact), then in one pass from the registers the projection and the bias added (the
                        // same two roundings, in the same order, as the GEMM's fma(1, acc, x) and its epilogue), the
                        // nonlinearities, the cell update and the stores to their rows (h also to its tile, for packing).
                        // The first step from a zero h0 has products of +0 only: the tiles are cleared instead.
                        if (_zeroProducts) new Span<T>(tile, 4 * size).Clear();
                        else
                            for (int g = 0; g < 4; g++)
                                TK.Run(depth, a, _w + (nint)(ub * 4 + g) * depth * nr, nr, tile + g * size, nr, T.One, T.Zero);
                        CellUpdate512((float*)tile, size, nr, (float*)(_xp + (nint)row0 * g4 + u0), (float*)(_bias == null ? null : _bias + u0),
                            (float*)(_cPrev + o), (float*)(_gates + (nint)row0 * g4 + u0), g4, hidden, (float*)(_c + o), (float*)(_tanhC + o), (float*)(_h + oh), _ldh);
                        GemmPacking.PackA(aNext + (nint)u0 * mr, th, nr, false, h, w, mr);
                        fused = true;
                        continue;
                    }
                    for (int g = 0; g < 4; g++)
                    {
                        // a = (x_t W_ihᵀ + b_ih) + h_{t-1} W_hhᵀ, then + b_hh: the operations (and roundings) of a GEMM
                        // accumulating onto the projection with the bias in its epilogue.
                        T* tg = tile + g * size;
                        LoadRows(tg, _xp + (nint)row0 * g4 + g * hidden + u0, g4, h, w);
                        T* b = _w + (nint)(ub * 4 + g) * depth * nr;
                        for (int p0 = 0; p0 < depth; p0 += kc)
                            TK.Run(Math.Min(kc, depth - p0), a + p0 * mr, b + p0 * nr, nr, tg, nr, T.One, T.One);
                        if (_bias != null) AddBias(tg, _bias + g * hidden + u0, h, w);
                    }
                    // Nonlinearities and the cell update over whole tiles (padding lanes hold finite values and are not stored).
                    LoadRows(tc, _cPrev + o, hidden, h, w);
                    if (float512)
                        CellUpdate512((float*)tile, size);
                    else
                    {
                        TensorPrimitives.Sigmoid<T>(new ReadOnlySpan<T>(tile, 2 * size), new Span<T>(tile, 2 * size));
                        TensorPrimitives.Tanh<T>(new ReadOnlySpan<T>(tile + 2 * size, size), new Span<T>(tile + 2 * size, size));
                        TensorPrimitives.Sigmoid<T>(new ReadOnlySpan<T>(tile + 3 * size, size), new Span<T>(tile + 3 * size, size));
                        var c = new Span<T>(tc, size);
                        // c = f ⊙ c_prev + i ⊙ g, rounded as the two products and the sum are in the composite form.
                        TensorPrimitives.Multiply<T>(new ReadOnlySpan<T>(tile + size, size), c, c);
                        TensorPrimitives.MultiplyAdd<T>(new ReadOnlySpan<T>(tile, size), new ReadOnlySpan<T>(tile + 2 * size, size), c, c);
                        TensorPrimitives.Tanh<T>(c, new Span<T>(tt, size));
                        TensorPrimitives.Multiply<T>(new ReadOnlySpan<T>(tile + 3 * size, size), new ReadOnlySpan<T>(tt, size), new Span<T>(th, size));
                    }
                    for (int g = 0; g < 4; g++) StoreRows(tile + g * size, _gates + (nint)row0 * g4 + g * hidden + u0, g4, h, w);
                    StoreRows(tc, _c + o, hidden, h, w);
                    StoreRows(tt, _tanhC + o, hidden, h, w);
                    StoreRows(th, _h + oh, _ldh, h, w);
                    // h_t is the next step's A operand: write it packed (A(r, p) at p·MR + r, p the unit).
                    GemmPacking.PackA(aNext + (nint)u0 * mr, th, nr, false, h, w, mr);
                }
            }
            if (fused) NN.Functional.LstmFusedStoresTaken = true;
            if (fused && _zeroProducts) NN.Functional.LstmZeroStartTaken = true;
        }

        /// <summary>
        /// Asks for the rows of the next forward tile of this thread (its step's input projection and c_prev, and the
        /// rows its results go to) while the current tile's products run: they come from the far side of the cache (the
        /// projection of the whole sequence was written before the loop), rows 4·hidden apart that the hardware
        /// prefetcher does not follow, and waiting for them was most of the time outside the products.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PrefetchForward(int rs, int ub)
        {
            if (!Sse.IsSupported || rs >= _strips) return;
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, g4 = 4 * hidden, row0 = rs * mr, u0 = ub * nr;
            int h = Math.Min(mr, _batch - row0), w = Math.Min(nr, hidden - u0);
            nint o = (nint)row0 * hidden + u0, og = (nint)row0 * g4 + u0;
            for (int g = 0; g < 4; g++)
            {
                PrefetchRows(_xp + og + g * hidden, g4, h, w);
                PrefetchRows(_gates + og + g * hidden, g4, h, w);
            }
            PrefetchRows(_cPrev + o, hidden, h, w);
            PrefetchRows(_c + o, hidden, h, w);
            PrefetchRows(_tanhC + o, hidden, h, w);
            PrefetchRows(_h + row0 * _ldh + u0, _ldh, h, w);
        }

        /// <summary>The backward counterpart of <see cref="PrefetchForward"/>: the next tile's stored step and gradient rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PrefetchBackward(int rs, int ub)
        {
            if (!Sse.IsSupported || rs >= _strips) return;
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, g4 = 4 * hidden, row0 = rs * mr, u0 = ub * nr;
            int h = Math.Min(mr, _batch - row0), w = Math.Min(nr, hidden - u0);
            nint o = (nint)row0 * hidden + u0, og = (nint)row0 * g4 + u0;
            for (int g = 0; g < 4; g++)
            {
                PrefetchRows(_gates + og + g * hidden, g4, h, w);
                PrefetchRows(_da + og + g * hidden, g4, h, w);
            }
            PrefetchRows(_gh + row0 * _ldh + u0, _ldh, h, w);
            if (_gc != null) PrefetchRows(_gc + o, hidden, h, w);
            PrefetchRows(_tanhC + o, hidden, h, w);
            PrefetchRows(_cPrev + o, hidden, h, w);
            if (_daT == null) return;
            // The tile's places in the transposed gate gradients: h positions of each strip of 8 gate units, contiguous.
            for (int g = 0; g < 4; g++)
                for (int q = 0; q < w; q += 8)
                    PrefetchRows(_daT + ((nint)g * hidden + u0 + q) * _positions + (nint)(_daTRow + row0) * 8, 0, 1, 8 * h);
        }

        /// <summary>Prefetches (into L2: the products' packed operands own L1) rows [0, h) x columns [0, w) of a row-major array.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PrefetchRows(T* src, nint ld, int h, int w)
        {
            int bytes = w * sizeof(T);
            for (int r = 0; r < h; r++)
            {
                byte* p = (byte*)(src + r * ld);
                for (int l = 0; l < bytes; l += 64) Sse.Prefetch1(p + l);
                Sse.Prefetch1(p + bytes - 1);
            }
        }

        /// <summary>
        /// The float32 cell update of one block of tiles in one pass, 16 lanes at a time: the gate tiles (pre-activations
        /// in, σ(i), σ(f), tanh(g), σ(o) out), then c_prev in / c out, tanh(c) and h. The same operations as the
        /// TensorPrimitives path (c = f·c_prev, then + i·g, each rounded), with σ and tanh from
        /// <see cref="LstmMath.Sigmoid"/> and <see cref="LstmMath.Tanh"/>: single-precision polynomials, a few ulp from the
        /// correctly rounded values, where the library's exp widens every lane to double.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CellUpdate512(float* tile, int size)
        {
            for (int j = 0; j < size; j += Vector512<float>.Count)
            {
                float* p = tile + j;
                CellUpdate512(Vector512.Load(p), Vector512.Load(p + size), Vector512.Load(p + 2 * size), Vector512.Load(p + 3 * size), Vector512.Load(p + 4 * size),
                    out var i, out var f, out var g, out var o, out var c, out var tc);
                i.Store(p);
                f.Store(p + size);
                g.Store(p + 2 * size);
                o.Store(p + 3 * size);
                c.Store(p + 4 * size);
                tc.Store(p + 5 * size);
                (o * tc).Store(p + 6 * size);
            }
        }

        /// <summary>
        /// <see cref="CellUpdate512(float*, int)"/> for a whole tile (rows of <paramref name="nr"/>, a multiple of 16) whose
        /// gate tiles hold the bare products: each pre-activation is the product plus the projection (rows of
        /// <paramref name="xp"/>, leading dimension <paramref name="ldg"/>, gate g at g·<paramref name="hidden"/>), then plus
        /// the bias (when not null), the roundings of the tile path; c_prev comes from its rows (<paramref name="hidden"/>
        /// apart), and the results go straight from the registers to their rows: the four activated gates in
        /// <paramref name="gates"/> (laid out as xp), c, tanh(c) and h (rows <paramref name="ldh"/> apart); h also to the
        /// tile's h (for packing the next step's operand).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CellUpdate512(float* tile, int size, int nr, float* xp, float* bias, float* cPrev, float* gates, nint ldg, int hidden,
            float* c, float* tanhC, float* h, nint ldh)
        {
            for (int j = 0; j < size; j += Vector512<float>.Count)
            {
                float* p = tile + j;
                int r = j / nr, col = j - r * nr;
                float* px = xp + r * ldg + col;
                var ai = Vector512.Load(p) + Vector512.Load(px);
                var af = Vector512.Load(p + size) + Vector512.Load(px + hidden);
                var ag = Vector512.Load(p + 2 * size) + Vector512.Load(px + 2 * hidden);
                var ao = Vector512.Load(p + 3 * size) + Vector512.Load(px + 3 * hidden);
                if (bias != null)
                {
                    float* pb = bias + col;
                    ai += Vector512.Load(pb);
                    af += Vector512.Load(pb + hidden);
                    ag += Vector512.Load(pb + 2 * hidden);
                    ao += Vector512.Load(pb + 3 * hidden);
                }
                nint ro = (nint)r * hidden + col;
                CellUpdate512(ai, af, ag, ao, Vector512.Load(cPrev + ro), out var i, out var f, out var g, out var o, out var cv, out var tc);
                float* pg = gates + r * ldg + col;
                i.Store(pg);
                f.Store(pg + hidden);
                g.Store(pg + 2 * hidden);
                o.Store(pg + 3 * hidden);
                cv.Store(c + ro);
                tc.Store(tanhC + ro);
                var hv = o * tc;
                hv.Store(h + r * ldh + col);
                hv.Store(p + 6 * size);
            }
        }

        /// <summary>One vector of the cell update: from the four pre-activations and c_prev, the activated gates, c and tanh(c).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CellUpdate512(Vector512<float> ai, Vector512<float> af, Vector512<float> ag, Vector512<float> ao, Vector512<float> cPrev,
            out Vector512<float> i, out Vector512<float> f, out Vector512<float> g, out Vector512<float> o, out Vector512<float> c, out Vector512<float> tc)
        {
            i = LstmMath.Sigmoid(ai);
            f = LstmMath.Sigmoid(af);
            g = LstmMath.Tanh(ag);
            o = LstmMath.Sigmoid(ao);
            c = f * cPrev;
            c = i * g + c;
            tc = LstmMath.Tanh(c);
        }

        /// <summary>Rows [0, h) x columns [0, w) of a row-major source into an MR x NR tile; the rest of the tile zero.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void LoadRows(T* tile, T* src, nint ld, int h, int w)
        {
            int mr = TK.MR, nr = TK.NR;
            if (w == nr && h == mr)
            {
                for (int r = 0; r < mr; r++) Copy(src + r * ld, tile + r * nr, nr);
                return;
            }
            new Span<T>(tile, mr * nr).Clear();
            for (int r = 0; r < h; r++) Copy(src + r * ld, tile + r * nr, w);
        }

        /// <summary>Rows [0, h) x columns [0, w) of an MR x NR tile out to a row-major destination.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreRows(T* tile, T* dst, nint ld, int h, int w)
        {
            int nr = TK.NR;
            for (int r = 0; r < h; r++) Copy(tile + r * nr, dst + r * ld, w);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddBias(T* tile, T* bias, int h, int w)
        {
            int nr = TK.NR;
            for (int r = 0; r < h; r++)
            {
                T* row = tile + r * nr;
                int j = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; j + Vector512<T>.Count <= w; j += Vector512<T>.Count) (Vector512.Load(row + j) + Vector512.Load(bias + j)).Store(row + j);
                for (; j < w; j++) row[j] += bias[j];
            }
        }

        /// <summary>A short copy (a tile row) in vectors, without a call into Memmove.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Copy(T* src, T* dst, int n)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + Vector512<T>.Count <= n; j += Vector512<T>.Count) Vector512.Store(Vector512.Load(src + j), dst + j);
            else if (Vector256.IsHardwareAccelerated)
                for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count) Vector256.Store(Vector256.Load(src + j), dst + j);
            for (; j < n; j++) dst[j] = src[j];
        }

        /// <summary>Eight values (one packed row of a strip of 8) in one vector.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Copy8(T* src, T* dst)
        {
            if (sizeof(T) == 4 && Vector256.IsHardwareAccelerated) Vector256.Store(Vector256.Load((float*)src), (float*)dst);
            else if (sizeof(T) == 8 && Vector512.IsHardwareAccelerated) Vector512.Store(Vector512.Load((double*)src), (double*)dst);
            else for (int j = 0; j < 8; j++) dst[j] = src[j];
        }

        /// <summary>
        /// dW_hh and db_hh rows of the gate units of gate blocks [gb0, gb1) (gate gb % 4 of unit block gb / 4; the gate
        /// blocks of unit blocks [b0, b1) are [4·b0, 4·b1)), from the packed gate gradients: the
        /// products Gemm.Multiply would run (the same kernel calls on the same k blocks, each KC-deep block of the stored
        /// states packed once into <paramref name="bPanel"/>, whole rows at a time, or read from the panel
        /// <see cref="PackWeightGradPanel"/> packed, and used by every strip of the part), and the bias gradient summed
        /// over the positions in storage order, as a row-by-row sum does. Each tile of dW_hh gets its k blocks in order, so
        /// the sums are the same.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WeightGradPart(int gb0, int gb1, T* bPanel)
        {
            int nr = TK.NR, hidden = _hidden, positions = _positions, rest = _rest, batch = _batch;
            if (_dB != null)
                for (int gb = gb0; gb < gb1; gb++)
                    for (int q = 0; q < nr; q += 8)
                    {
                        int unit = GateUnit(gb) + q;
                        SumPositions(_daT + (nint)unit * positions, positions, _dB + unit);
                    }
            if (rest == 0)
                for (int gb = gb0; gb < gb1; gb++)
                    new Span<T>(_dW + (nint)GateUnit(gb) * hidden, nr * hidden).Clear();
            if (_statesPanel != null)
            {
                // Every k block of the panel for one gate block at a time: its strips of gate gradients and its rows of
                // dW_hh stay in L2 from one k block to the next.
                for (int gb = gb0; gb < gb1; gb++)
                {
                    for (int p0 = 0; p0 < rest; p0 += _kcRest)
                        StripProducts(gb, gb + 1, _restStart + p0, Math.Min(_kcRest, rest - p0), _statesPanel + (nint)p0 * hidden, p0 == 0 ? T.Zero : T.One);
                    for (int p0 = 0; p0 < batch; p0 += _kcH0)
                        StripProducts(gb, gb + 1, _h0Start + p0, Math.Min(_kcH0, batch - p0), _statesPanel + (nint)(rest + p0) * hidden, T.One, _h0Zero);
                }
                return;
            }
            for (int p0 = 0; p0 < rest; p0 += _kcRest)
            {
                int kc = Math.Min(_kcRest, rest - p0);
                PackStates(bPanel, p0, kc);
                StripProducts(gb0, gb1, _restStart + p0, kc, bPanel, p0 == 0 ? T.Zero : T.One);
            }
            for (int p0 = 0; p0 < batch; p0 += _kcH0)
            {
                int kc = Math.Min(_kcH0, batch - p0);
                GemmPacking.PackB(bPanel, _h0 + (nint)p0 * hidden, hidden, false, kc, hidden, nr);
                StripProducts(gb0, gb1, _h0Start + p0, kc, bPanel, T.One, _h0Zero);
            }
        }

        /// <summary>
        /// One k block of dW_hh for every strip of 8 gate units of gate blocks [gb0, gb1), against a packed panel of every
        /// column: each strip's k block stays in L1 while it meets every column strip of the panel (in L2).
        /// </summary>
        /// <remarks>
        /// <paramref name="zeroB"/>: the panel's block is all zeros (h0's, <see cref="NN.Functional.LstmZeroH0WeightGrad"/>;
        /// beta 1). A strip whose gate gradients in the block are all finite then gets what the kernel would give without
        /// the products: each term a·(±0) is ±0, the accumulator starts at +0 and stays +0 (+0 + −0 is +0), and the
        /// store's fma(1, +0, C) is C + 0 (−0 becomes +0, NaN stays the same NaN). A strip with a non-finite gradient
        /// (∞·0 is NaN) runs the products.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StripProducts(int gb0, int gb1, int position, int kc, T* bPanel, T beta, bool zeroB = false)
        {
            int nr = TK.NR, hidden = _hidden, positions = _positions;
            for (int gb = gb0; gb < gb1; gb++)
                for (int q = 0; q < nr; q += 8)
                {
                    int unit = GateUnit(gb) + q; // first gate unit of the strip
                    T* a = _daT + (nint)unit * positions + (nint)position * 8;
                    if (zeroB && T.IsFinite(TensorPrimitives.MaxMagnitude(new ReadOnlySpan<T>(a, kc * 8))))
                    {
                        var rows = new Span<T>(_dW + (nint)unit * hidden, 8 * hidden);
                        TensorPrimitives.Add(rows, T.Zero, rows);
                        NN.Functional.LstmZeroH0WeightGradTaken = true;
                        continue;
                    }
                    for (int jb = 0; jb < hidden; jb += nr)
                        TK.Run(kc, a, bPanel + (nint)jb * kc, nr, _dW + (nint)unit * hidden + jb, hidden, T.One, beta);
                }
        }

        /// <summary>The first gate unit (row of W_hh) of gate block <paramref name="gb"/>: gate gb % 4 of unit block gb / 4.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int GateUnit(int gb) => (gb & 3) * _hidden + (gb >> 2) * TK.NR;

        /// <summary>The sum over every position of a packed strip of 8 gate units, position by position from the first.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void SumPositions(T* strip, int positions, T* db)
        {
            if (sizeof(T) == 4 && Vector256.IsHardwareAccelerated)
            {
                var acc = Vector256<float>.Zero;
                for (int p = 0; p < positions; p++) acc += Vector256.Load((float*)strip + p * 8);
                Vector256.Store(acc, (float*)db);
                return;
            }
            for (int j = 0; j < 8; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < positions; p++) sum += strip[p * 8 + j];
                db[j] = sum;
            }
        }

        /// <summary>Units of blocks [b0, b1), every row, one backward step: dh from the later step, then the gate gradients.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackwardPart(int b0, int b1, T* tile)
        {
            int mr = TK.MR, nr = TK.NR, hidden = _hidden, g4 = 4 * hidden, depth = _depth, kc = _kc;
            bool fusedAny = false;
            for (int rs = 0; rs < _strips; rs++)
            {
                int row0 = rs * mr, h = Math.Min(mr, _batch - row0);
                for (int ub = b0; ub < b1; ub++)
                {
                    int u0 = ub * nr, w = Math.Min(nr, hidden - u0);
                    if (_da != null) PrefetchBackward(ub + 1 < b1 ? rs : rs + 1, ub + 1 < b1 ? ub + 1 : b0);
                    if (_aCur != null)
                    {
                        // dh_t = da_{t+1} W_hh for these units (overwritten, as a GEMM with beta 0 would).
                        T* a = _aCur + (nint)rs * mr * depth;
                        T* b = _w + (nint)ub * depth * nr;
                        for (int p0 = 0; p0 < depth; p0 += kc)
                            TK.Run(Math.Min(kc, depth - p0), a + p0 * mr, b + p0 * nr, nr, tile, nr, T.One, p0 == 0 ? T.Zero : T.One);
                        StoreRows(tile, _dh + (nint)row0 * hidden + u0, hidden, h, w);
                    }
                    if (_da == null) continue; // the last product only (the gradient reaching h0)
                    T* aNext = _aNext + (nint)rs * mr * depth;
                    // With whole 512-bit vectors the transposed gate gradients are stored from the registers (their strips of 8 are halves or wholes).
                    bool fusedT = _daT != null && Vector512.IsHardwareAccelerated && w % Vector512<T>.Count == 0 && NN.Functional.LstmFusedStores;
                    for (int r = 0; r < h; r++)
                    {
                        nint o = (nint)(row0 + r) * hidden + u0;
                        GateGrads(w, hidden, _gh + (row0 + r) * _ldh + u0, _gc == null ? null : _gc + o, _gates + (nint)(row0 + r) * g4 + u0, _tanhC + o, _cPrev + o, _dh + o, _dc + o,
                            _da + (nint)(row0 + r) * g4 + u0, fusedT ? _daT + (nint)u0 * _positions + (nint)(_daTRow + row0 + r) * 8 : null, _positions);
                    }
                    // da_t is the next product's A operand: pack it (A(r, p) at p·MR + r, p = gate·hidden + unit).
                    for (int g = 0; g < 4; g++)
                        GemmPacking.PackA(aNext + (nint)(g * hidden + u0) * mr, _da + (nint)row0 * g4 + g * hidden + u0, g4, false, h, w, mr);
                    if (_daT != null && !fusedT)
                    {
                        // And, transposed, the weight gradient's A operand: row r of the step is position _daTRow + r of
                        // every strip of 8 gate units, whose 8 values are contiguous in both layouts.
                        for (int r = 0; r < h; r++)
                        {
                            T* src = _da + (nint)(row0 + r) * g4 + u0;
                            T* dst = _daT + (nint)u0 * _positions + (nint)(_daTRow + row0 + r) * 8;
                            for (int g = 0; g < 4; g++)
                                for (int q = 0; q < nr; q += 8)
                                    Copy8(src + g * hidden + q, dst + ((nint)g * hidden + q) * _positions);
                        }
                    }
                    else if (fusedT) fusedAny = true;
                }
            }
            if (fusedAny) NN.Functional.LstmFusedStoresTaken = true;
        }

        /// <summary>
        /// One row of one step for <paramref name="n"/> units: from the output gradients (gh, gc; gc null: every one +0,
        /// added as such, so the bits are those of a gradient of zeros), the recurrent ones
        /// (dh; dc in, then replaced by the gradient reaching c_prev), the activated gates (four runs of n, hidden apart)
        /// and tanh(c_t), writes the four pre-activation gradients (hidden apart).
        /// </summary>
        /// <remarks>
        /// With <paramref name="daT"/> (only when the 512-bit loop covers all n units) the four gradients also go, straight
        /// from the registers, to the row's places in the transposed gate gradients: unit u of the row (u a multiple of 8
        /// from the tile's first) at daT + u·<paramref name="positions"/>, 8 contiguous values per strip.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void GateGrads(int n, int hidden, T* gh, T* gc, T* act, T* tanhC, T* cPrev, T* dh, T* dc, T* da, T* daT = null, nint positions = 0)
        {
            T* ig = act, fg = act + hidden, gg = act + 2 * hidden, og = act + 3 * hidden;
            T* dai = da, daf = da + hidden, dag = da + 2 * hidden, dao = da + 3 * hidden;
            int j = 0;
            if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
            {
                // The same operations as the loops below, a whole 512-bit register at a time.
                var one = Vector512<T>.One;
                for (; j <= n - Vector512<T>.Count; j += Vector512<T>.Count)
                {
                    var hGrad = Vector512.Load(gh + j) + Vector512.Load(dh + j);
                    var i = Vector512.Load(ig + j);
                    var f = Vector512.Load(fg + j);
                    var gv = Vector512.Load(gg + j);
                    var o = Vector512.Load(og + j);
                    var tcv = Vector512.Load(tanhC + j);
                    var cGrad = (gc == null ? Vector512<T>.Zero : Vector512.Load(gc + j)) + Vector512.Load(dc + j) + hGrad * o * (one - tcv * tcv);
                    var vi = cGrad * gv * i * (one - i);
                    var vf = cGrad * Vector512.Load(cPrev + j) * f * (one - f);
                    var vg = cGrad * i * (one - gv * gv);
                    var vo = hGrad * tcv * o * (one - o);
                    vi.Store(dai + j);
                    vf.Store(daf + j);
                    vg.Store(dag + j);
                    vo.Store(dao + j);
                    (cGrad * f).Store(dc + j);
                    if (daT != null)
                    {
                        T* t = daT + j * positions;
                        nint gs = hidden * positions;
                        StoreStrips(vi, t, positions);
                        StoreStrips(vf, t + gs, positions);
                        StoreStrips(vg, t + 2 * gs, positions);
                        StoreStrips(vo, t + 3 * gs, positions);
                    }
                }
            }
            if (Vector.IsHardwareAccelerated && n - j >= Vector<T>.Count)
            {
                var one = Vector<T>.One;
                for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                {
                    var hGrad = Load(gh + j) + Load(dh + j);
                    var i = Load(ig + j);
                    var f = Load(fg + j);
                    var gv = Load(gg + j);
                    var o = Load(og + j);
                    var tcv = Load(tanhC + j);
                    var cGrad = (gc == null ? Vector<T>.Zero : Load(gc + j)) + Load(dc + j) + hGrad * o * (one - tcv * tcv);
                    Store(cGrad * gv * i * (one - i), dai + j);
                    Store(cGrad * Load(cPrev + j) * f * (one - f), daf + j);
                    Store(cGrad * i * (one - gv * gv), dag + j);
                    Store(hGrad * tcv * o * (one - o), dao + j);
                    Store(cGrad * f, dc + j);
                }
            }
            for (; j < n; j++)
            {
                T hGrad = gh[j] + dh[j], i = ig[j], f = fg[j], gv = gg[j], o = og[j], tcv = tanhC[j];
                T cGrad = (gc == null ? T.Zero : gc[j]) + dc[j] + hGrad * o * (T.One - tcv * tcv);
                dai[j] = cGrad * gv * i * (T.One - i);
                daf[j] = cGrad * cPrev[j] * f * (T.One - f);
                dag[j] = cGrad * i * (T.One - gv * gv);
                dao[j] = hGrad * tcv * o * (T.One - o);
                dc[j] = cGrad * f;
            }
        }

        /// <summary>The strips of 8 of a 512-bit vector (one of float64, two of float32) to their places, 8·<paramref name="positions"/> values apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreStrips(Vector512<T> v, T* dst, nint positions)
        {
            if (Vector512<T>.Count == 8) { v.Store(dst); return; }
            var f = v.AsSingle();
            f.GetLower().Store((float*)dst);
            f.GetUpper().Store((float*)(dst + 8 * positions));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<T> Load(T* p) => Unsafe.ReadUnaligned<Vector<T>>(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(Vector<T> v, T* p) => Unsafe.WriteUnaligned(p, v);
    }
}

namespace SharpGrad.Kernels
{
    /// <summary>
    /// Single-precision σ and tanh for the LSTM cell, 16 lanes at a time. exp is Cody and Waite's reduction
    /// x = n·ln 2 + r (ln 2 split in two so that n·ln2_hi is exact), |r| ≤ ln(2)/2, and the degree-7 polynomial
    /// e^r ≈ 1 + r + r²·P(r) with Cephes' single-precision coefficients (expf), scaled by 2ⁿ through the exponent bits.
    /// σ(x) = 1 / (1 + e^(−x)); tanh(x) = sign(x)·(−m) / (2 + m) with m = e^(−2|x|) − 1, where m is r + r²·P(r) itself
    /// when n = 0 (|x| ≤ ln(2)/4), so small arguments keep their relative precision. A few ulp from the correctly rounded
    /// values; NaN in, NaN out; outside ±87 the arguments of exp are clamped (σ is then 1, or about 6e-39 instead of a
    /// smaller subnormal).
    /// </summary>
    internal static class LstmMath
    {
        private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
        private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

        /// <summary>e^x − 1 as (2ⁿ, m) with e^x = 2ⁿ·(1 + m): n is 0 for |x| ≤ ln(2)/2, where m is e^x − 1 to full precision.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Expm1Reduced(Vector512<float> x, out Vector512<float> n)
        {
            x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.3f)), Vector512.Create(88f));
            n = Vector512.Round(x * Vector512.Create(Log2E));
            var r = x - n * Vector512.Create(Ln2Hi);
            r -= n * Vector512.Create(Ln2Lo);
            var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
            return Vector512.FusedMultiplyAdd(p, r * r, r);
        }

        /// <summary>2ⁿ for whole n in [−126, 127], from the exponent bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Pow2(Vector512<float> n) =>
            Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();

        /// <summary>σ(x) = 1 / (1 + e^(−x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Sigmoid(Vector512<float> x)
        {
            var m = Expm1Reduced(-x, out var n);
            var e = Pow2(n) * (m + Vector512<float>.One);
            var s = Vector512<float>.One / (Vector512<float>.One + e);
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), s, x);
        }

        /// <summary>tanh(x) = sign(x)·(1 − e^(−2|x|)) / (1 + e^(−2|x|)), through e^(−2|x|) − 1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Tanh(Vector512<float> x)
        {
            var a = Vector512.Abs(x);
            var m = Expm1Reduced(-(a + a), out var n);
            m = Vector512.ConditionalSelect(Vector512.Equals(n, Vector512<float>.Zero), m, Pow2(n) * (m + Vector512<float>.One) - Vector512<float>.One);
            var t = -m / (Vector512.Create(2f) + m);
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), Vector512.CopySign(t, x), x);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int LstmSequence = Register(nameof(LstmSequence), static c =>
        {
            // xProj [seq, batch, 4·hidden], h0, c0 [batch, hidden], W_hh [4·hidden, hidden], b_hh [4·hidden].
            c.Add(x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: false),
                c.Normal(3, 2, 12), c.Normal(2, 3), c.Normal(2, 3), c.Normal(12, 3), c.Normal(12));
            c.Add("reverse", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: true),
                c.Normal(4, 2, 8), c.Normal(2, 2), c.Normal(2, 2), c.Normal(8, 2), c.Normal(8));
            c.Add("no bias, one step", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], null, reverse: false),
                c.Normal(1, 3, 8), c.Normal(3, 2), c.Normal(3, 2), c.Normal(8, 2));
            c.Add("batch 1, hidden 5", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: true),
                c.Normal(2, 1, 20), c.Normal(1, 5), c.Normal(1, 5), c.Normal(20, 5), c.Normal(20));
            // Two unit blocks of the packed time loop (the second partial) and two row strips (the second partial).
            c.Add("batch 9, hidden 17", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: false),
                c.Normal(2, 9, 68), c.Normal(9, 17), c.Normal(9, 17), c.Normal(68, 17), c.Normal(68));
            // Whole unit blocks (float64 NR is 16 with AVX-512): the time loop packs the gate gradients and forms dW_hh itself.
            c.Add("batch 3, hidden 16", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: false),
                c.Normal(3, 3, 64), c.Normal(3, 16), c.Normal(3, 16), c.Normal(64, 16), c.Normal(64));
            c.Add("reverse, batch 3, hidden 16", x => NN.Functional.LstmSequence(x[0], x[1], x[2], x[3], x[4], reverse: true),
                c.Normal(3, 3, 64), c.Normal(3, 16), c.Normal(3, 16), c.Normal(64, 16), c.Normal(64));
        });
    }
}
