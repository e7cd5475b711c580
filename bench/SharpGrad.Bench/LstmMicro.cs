using System.Globalization;
using SharpGrad.Kernels;

/// <summary>
/// Single-thread CPU milliseconds per time step of one LSTM layer's forward and backward time loops (seq 16, batch 64,
/// hidden 256, float32, as in lstm-step), against the bare recurrent products of a step on the same packed kernels
/// (<c>--workload lstm-micro</c>): what a step costs beyond its product. For A/B runs on a loaded machine; not a row.
/// </summary>
internal static unsafe class LstmMicro
{
    public static string Run(Dictionary<string, string> options)
    {
        Gemm.MaxThreads = 1;
        // --lstm-fused 0: the time loops store through scratch tiles and copies (the path before the fused stores).
        SharpGrad.NN.Functional.LstmFusedStores = options.GetValueOrDefault("lstm-fused", "1") != "0";
        // --lstm-split-dw 0: dW_hh with the states packed per k block by the part (before the one packed panel).
        SharpGrad.NN.Functional.LstmSplitWeightGrad = options.GetValueOrDefault("lstm-split-dw", "1") != "0";
        int reps = int.Parse(options.GetValueOrDefault("reps", "40"), CultureInfo.InvariantCulture);
        const int seq = 16, batch = 64, hidden = 256, g4 = 4 * hidden;
        var rng = new Random(1);
        float[] R(int n, float s) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * s; return a; }
        float[] xp = R(seq * batch * g4, 1), h0 = R(batch * hidden, 1), c0 = R(batch * hidden, 1), w = R(g4 * hidden, 0.06f), b = R(g4, 0.1f);
        float[] y = new float[2 * seq * batch * hidden], gates = new float[seq * batch * g4], tanhC = new float[seq * batch * hidden];
        float[] gy = R(2 * seq * batch * hidden, 1), da = new float[seq * batch * g4], dh = new float[batch * hidden], dc = new float[batch * hidden];
        float[] dw = new float[g4 * hidden], db = new float[g4];
        double T(Action a) => Micro.CpuMilliseconds(reps, a) / seq;
        double fwd = T(() => LstmRecurrence<float, GemmKernel512<float>>.Forward(seq, batch, hidden, xp, h0, c0, w, b, y, null, gates, tanhC, false));
        var ops = new LstmBackwardOperands<float>(gy, y, gates, tanhC, h0, c0, w, da, dh, dc, true, dw, db);
        double bwd = T(() => LstmRecurrence<float, GemmKernel512<float>>.Backward(seq, batch, hidden, ops, false));
        double bwdNoW = T(() => LstmRecurrence<float, GemmKernel512<float>>.Backward(seq, batch, hidden, ops with { DW = null, DB = null }, false));
        // Bare products of one step: forward 64 x 1024 x 256 (k 256), backward 64 x 256 x 1024 (k 1024), packed operands.
        int mr = 8, nr = 32;
        var pa = new AlignedBuffer<float>(); var pb = new AlignedBuffer<float>(); var pc = new AlignedBuffer<float>();
        float* a = pa.Get(batch * g4), bb = pb.Get(g4 * hidden), c = pc.Get(mr * nr);
        for (int i = 0; i < batch * g4; i++) a[i] = 0.01f * (i % 7);
        for (int i = 0; i < g4 * hidden; i++) bb[i] = 0.01f * (i % 5);
        int kcF = GemmTuning.BlockDepth<float>(nr, hidden), kcB = GemmTuning.BlockDepth<float>(nr, g4);
        double bareF = T(() =>
        {
            for (int s = 0; s < seq; s++)
                for (int ub = 0; ub < hidden / nr; ub++)
                    for (int rs = 0; rs < batch / mr; rs++)
                        for (int g = 0; g < 4; g++)
                            for (int p0 = 0; p0 < hidden; p0 += kcF)
                                GemmKernel512<float>.Run(Math.Min(kcF, hidden - p0), a + rs * mr * hidden + p0 * mr, bb + (ub * 4 + g) * hidden * nr + p0 * nr, nr, c, nr, 1f, 1f);
        });
        double bareB = T(() =>
        {
            for (int s = 0; s < seq; s++)
                for (int rs = 0; rs < batch / mr; rs++)
                    for (int ub = 0; ub < hidden / nr; ub++)
                        for (int p0 = 0; p0 < g4; p0 += kcB)
                            GemmKernel512<float>.Run(Math.Min(kcB, g4 - p0), a + rs * mr * g4 + p0 * mr, bb + ub * g4 * nr + p0 * nr, nr, c, nr, 1f, p0 == 0 ? 0f : 1f);
        });
        return FormattableString.Invariant($"{{\"workload\":\"lstm-micro\",\"forward_step_ms\":{fwd:F4},\"bare_forward_ms\":{bareF:F4},\"backward_step_ms\":{bwd:F4},\"backward_step_no_dw_ms\":{bwdNoW:F4},\"bare_backward_ms\":{bareB:F4}}}");
    }
}
