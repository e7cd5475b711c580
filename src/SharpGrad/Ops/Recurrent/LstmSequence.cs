using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    /// <summary>The direction of a recorded <see cref="Functional.LstmSequence"/>, for tools that read the tape (the ONNX exporter).</summary>
    internal sealed record LstmSequenceAttributes(bool Reverse);

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
        /// Per step: one product <c>h W_hhᵀ</c> added onto a copy of the step's projection (b_hh in its epilogue), then
        /// the four gates' nonlinearities and the cell update in one vectorised pass over each row. The backward rule
        /// walks the steps back once, writing all four gates' pre-activation gradients of a step together, one product
        /// with W_hh per step for the recurrent gradient; then dW_hh is one product over all steps' stacked gate
        /// gradients and the previous hidden states, and the input projection's gradient is those stacked gate
        /// gradients themselves (Linear turns them into dW_ih, db_ih and dx with one product each). First order only:
        /// the rule is a kernel, not recorded ops, so double backward is refused.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static Tensor LstmSequence(Tensor xProj, Tensor h0, Tensor c0, Tensor wHh, Tensor? bHh, bool reverse)
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

            var y = Tensor.Uninitialized([2, seq, batch, hidden], dtype);
            var gates = Tensor.Uninitialized([seq, batch, 4 * hidden], dtype); // σ(a_i), σ(a_f), tanh(a_g), σ(a_o)
            var tanhC = Tensor.Uninitialized([seq, batch, hidden], dtype);
            DTypeDispatch.Float(dtype, new LstmForwardKernel(xProj, h0, c0, wHh, bHh, y, gates, tanhC, reverse), nameof(LstmSequence));
            if (!SharpGrad.Autograd.IsGradEnabled) return y;
            Tensor[] inputs = bHh is null ? [xProj, h0, c0, wHh] : [xProj, h0, c0, wHh, bHh];
            return SharpGrad.Autograd.Record(y, "LstmSequenceBackward", inputs, g =>
            {
                if (g.DType != dtype) g = g.To(dtype);
                var k = new LstmBackwardKernel(g, y, gates, tanhC, h0, c0, wHh, reverse,
                    dXProj: Tensor.Uninitialized(xProj.Shape, dtype), dH0: Tensor.Uninitialized([batch, hidden], dtype),
                    dC0: Tensor.Uninitialized([batch, hidden], dtype),
                    dW: wHh.RequiresGrad ? Tensor.Uninitialized(wHh.Shape, dtype) : null,
                    dB: bHh is not null && bHh.RequiresGrad ? Tensor.Uninitialized([4 * hidden], dtype) : null);
                DTypeDispatch.Float(dtype, k, nameof(LstmSequence));
                return bHh is null ? [k.DXProj, k.DH0, k.DC0, k.DW] : [k.DXProj, k.DH0, k.DC0, k.DW, k.DB];
            }, differentiableBackward: false, attributes: new LstmSequenceAttributes(reverse));
        }

        private readonly struct LstmForwardKernel(Tensor xProj, Tensor h0, Tensor c0, Tensor w, Tensor? b, Tensor y, Tensor gates, Tensor tanhC, bool reverse)
            : IFloatKernel
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int seq = xProj.ShapeRef[0], batch = xProj.ShapeRef[1], hidden = w.ShapeRef[1], g4 = 4 * hidden, bh = batch * hidden;
                ReadOnlySpan<T> xp = xProj.Span<T>(), wh = w.Span<T>(), bias = b is null ? default : b.Span<T>();
                Span<T> ys = y.Span<T>(), gs = gates.Span<T>(), tc = tanhC.Span<T>();
                int cOffset = seq * bh; // y[1] starts here
                for (int s = 0; s < seq; s++)
                {
                    int t = reverse ? seq - 1 - s : s, tPrev = reverse ? t + 1 : t - 1;
                    ReadOnlySpan<T> hPrev = s == 0 ? h0.Span<T>() : ys.Slice(tPrev * bh, bh);
                    ReadOnlySpan<T> cPrev = s == 0 ? c0.Span<T>() : ys.Slice(cOffset + tPrev * bh, bh);
                    var a = gs.Slice(t * batch * g4, batch * g4);
                    xp.Slice(t * batch * g4, batch * g4).CopyTo(a);
                    if (hidden > 0)
                        Gemm.Multiply(false, true, batch, g4, hidden, T.One, hPrev, hidden, wh, hidden, T.One, a, g4, bias);
                    else if (!bias.IsEmpty)
                        for (int r = 0; r < batch; r++) TensorPrimitives.Add(a.Slice(r * g4, g4), bias, a.Slice(r * g4, g4));
                    var h = ys.Slice(t * bh, bh);
                    var c = ys.Slice(cOffset + t * bh, bh);
                    var tcs = tc.Slice(t * bh, bh);
                    for (int r = 0; r < batch; r++)
                    {
                        var row = a.Slice(r * g4, g4);
                        var ifg = row[..(2 * hidden)];
                        TensorPrimitives.Sigmoid<T>(ifg, ifg);
                        var gg = row.Slice(2 * hidden, hidden);
                        TensorPrimitives.Tanh<T>(gg, gg);
                        var og = row.Slice(3 * hidden, hidden);
                        TensorPrimitives.Sigmoid<T>(og, og);
                        var cr = c.Slice(r * hidden, hidden);
                        // c = f ⊙ c_prev + i ⊙ g, rounded as the two products and the sum are in the composite form.
                        TensorPrimitives.Multiply<T>(row.Slice(hidden, hidden), cPrev.Slice(r * hidden, hidden), cr);
                        TensorPrimitives.MultiplyAdd<T>(row[..hidden], gg, cr, cr);
                        var tr = tcs.Slice(r * hidden, hidden);
                        TensorPrimitives.Tanh<T>(cr, tr);
                        TensorPrimitives.Multiply<T>(og, tr, h.Slice(r * hidden, hidden));
                    }
                }
            }
        }

        private struct LstmBackwardKernel(Tensor g, Tensor y, Tensor gates, Tensor tanhC, Tensor h0, Tensor c0, Tensor w, bool reverse,
            Tensor dXProj, Tensor dH0, Tensor dC0, Tensor? dW, Tensor? dB) : IFloatKernel
        {
            public readonly Tensor DXProj = dXProj, DH0 = dH0, DC0 = dC0;
            public readonly Tensor? DW = dW, DB = dB;

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public readonly void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int seq = gates.ShapeRef[0], batch = gates.ShapeRef[1], hidden = w.ShapeRef[1], g4 = 4 * hidden, bh = batch * hidden;
                int cOffset = seq * bh;
                ReadOnlySpan<T> gy = g.Span<T>(), ys = y.Span<T>(), gs = gates.Span<T>(), tc = tanhC.Span<T>(), wh = w.Span<T>();
                Span<T> da = DXProj.Span<T>(), dh = DH0.Span<T>(), dc = DC0.Span<T>();
                dh.Clear(); // the gradient reaching h_t through step t+1 (none for the last step)
                dc.Clear(); // likewise for c_t
                for (int s = seq - 1; s >= 0; s--)
                {
                    int t = reverse ? seq - 1 - s : s, tPrev = reverse ? t + 1 : t - 1;
                    ReadOnlySpan<T> cPrev = s == 0 ? c0.Span<T>() : ys.Slice(cOffset + tPrev * bh, bh);
                    var dat = da.Slice(t * batch * g4, batch * g4);
                    for (int r = 0; r < batch; r++)
                    {
                        int o = r * hidden;
                        GateGrads(gy.Slice(t * bh + o, hidden), gy.Slice(cOffset + t * bh + o, hidden), gs.Slice((t * batch + r) * g4, g4),
                            tc.Slice(t * bh + o, hidden), cPrev.Slice(o, hidden), dh.Slice(o, hidden), dc.Slice(o, hidden), dat.Slice(r * g4, g4));
                    }
                    if (hidden > 0) Gemm.Multiply(false, false, batch, hidden, g4, dat, wh, dh, accumulate: false); // dh_prev = da W_hh
                }
                if (DW is not null)
                {
                    // dW_hh = Σ_t da_tᵀ h_prev(t): the steps whose previous state is another step's output in one product, h0's step after.
                    var dw = DW.Span<T>();
                    int first = reverse ? seq - 1 : 0, rest = Math.Max(0, seq - 1) * batch;
                    int daStart = reverse ? 0 : batch * g4, hStart = reverse ? bh : 0;
                    Gemm.Multiply(true, false, g4, hidden, rest, T.One, da.Slice(daStart, rest * g4), g4, ys.Slice(hStart, rest * hidden), Math.Max(1, hidden),
                        T.Zero, dw, Math.Max(1, hidden));
                    if (seq > 0)
                        Gemm.Multiply(true, false, g4, hidden, batch, T.One, da.Slice(first * batch * g4, batch * g4), g4, h0.Span<T>(), Math.Max(1, hidden),
                            T.One, dw, Math.Max(1, hidden));
                }
                if (DB is not null)
                {
                    var db = DB.Span<T>();
                    db.Clear();
                    for (int r = 0; r < seq * batch; r++) TensorPrimitives.Add<T>(db, da.Slice(r * g4, g4), db);
                }
            }

            /// <summary>
            /// One row of one step: from the output gradients (ghOut, gcOut), the recurrent ones (dh, dc: in, then dc is
            /// replaced by the gradient reaching c_prev), the activated gates and tanh(c_t), writes the four
            /// pre-activation gradients.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static void GateGrads<T>(ReadOnlySpan<T> ghOut, ReadOnlySpan<T> gcOut, ReadOnlySpan<T> act, ReadOnlySpan<T> tanhC,
                ReadOnlySpan<T> cPrev, ReadOnlySpan<T> dh, Span<T> dc, Span<T> da) where T : unmanaged, IFloatingPointIeee754<T>
            {
                int n = dh.Length, j = 0;
                ReadOnlySpan<T> ig = act[..n], fg = act.Slice(n, n), gg = act.Slice(2 * n, n), og = act.Slice(3 * n, n);
                Span<T> dai = da[..n], daf = da.Slice(n, n), dag = da.Slice(2 * n, n), dao = da.Slice(3 * n, n);
                if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
                {
                    var one = Vector<T>.One;
                    for (; j <= n - Vector<T>.Count; j += Vector<T>.Count)
                    {
                        var hGrad = new Vector<T>(ghOut[j..]) + new Vector<T>(dh[j..]);
                        var i = new Vector<T>(ig[j..]);
                        var f = new Vector<T>(fg[j..]);
                        var gv = new Vector<T>(gg[j..]);
                        var o = new Vector<T>(og[j..]);
                        var tcv = new Vector<T>(tanhC[j..]);
                        var cGrad = new Vector<T>(gcOut[j..]) + new Vector<T>(dc[j..]) + hGrad * o * (one - tcv * tcv);
                        (cGrad * gv * i * (one - i)).CopyTo(dai[j..]);
                        (cGrad * new Vector<T>(cPrev[j..]) * f * (one - f)).CopyTo(daf[j..]);
                        (cGrad * i * (one - gv * gv)).CopyTo(dag[j..]);
                        (hGrad * tcv * o * (one - o)).CopyTo(dao[j..]);
                        (cGrad * f).CopyTo(dc[j..]);
                    }
                }
                for (; j < n; j++)
                {
                    T hGrad = ghOut[j] + dh[j], i = ig[j], f = fg[j], gv = gg[j], o = og[j], tcv = tanhC[j];
                    T cGrad = gcOut[j] + dc[j] + hGrad * o * (T.One - tcv * tcv);
                    dai[j] = cGrad * gv * i * (T.One - i);
                    daf[j] = cGrad * cPrev[j] * f * (T.One - f);
                    dag[j] = cGrad * i * (T.One - gv * gv);
                    dao[j] = hGrad * tcv * o * (T.One - o);
                    dc[j] = cGrad * f;
                }
            }
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
        });
    }
}
