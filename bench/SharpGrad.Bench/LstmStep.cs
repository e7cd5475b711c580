using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

/// <summary>
/// The <c>lstm-step</c> row of issue 14: one full training step of <c>sharpgrad lm --model lstm</c>'s default model
/// (64-d embedding of 54 tokens → 2-layer LSTM, hidden 256, batch first → Linear head) on a batch of 64 chunks of 16
/// tokens, the cross-entropy over every position, backward, global gradient-norm clip 1.0 and an AdamW step
/// (lr 3e-3, weight decay 0.01). bench/reference/workloads.py <c>--workload lstm-step</c> is the same in PyTorch.
/// Random tokens (fixed seed): the time of a step does not depend on the text. Prints the wall and CPU seconds of
/// <c>--steps</c> timed steps (default 50) after <c>--warmup</c> steps (default 5).
/// </summary>
internal static class LstmStep
{
    public static string Run(Dictionary<string, string> options)
    {
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int threads = Int("threads", Environment.ProcessorCount), steps = Int("steps", 50), warmup = Int("warmup", 5);
        const int vocab = 54, batch = 64, context = 16;
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        // --lstm-pair 0: the two layers one after the other (each step split over the threads), for comparison.
        F.LstmPairMode = Int("lstm-pair", 1);
        // --lstm-fused 0: the time loops store their results through scratch tiles and copies (before the fused stores), for A/B.
        F.LstmFusedStores = Int("lstm-fused", 1) != 0;
        // --lstm-split-dw 0: each layer's dW_hh one task at the end of its chain in the backward wavefront (before the split), for A/B.
        F.LstmSplitWeightGrad = Int("lstm-split-dw", 1) != 0;
        // --lstm-zero-start 0: the first forward step multiplies the zero h0 like any other (before the skip), for A/B.
        F.LstmZeroStart = Int("lstm-zero-start", 1) != 0;
        // --embedding-table 0: the first layer's input projection as one product over every position (before the table
        // of the embedding's rows projected once and gathered), for A/B.
        F.LstmEmbeddingTable = Int("embedding-table", 1) != 0;
        // --embedding-table-grad 0: the first layer's input projection's gradients through x (dX = g W over every row, then
        // x's permute and the embedding's index-add; dW = gᵀ x) instead of through the table (g's rows summed per token), for A/B.
        F.LstmEmbeddingTableGrad = Int("embedding-table-grad", 1) != 0;
        // --lstm-zero-h0-dw 0: dW_hh's h0 block multiplied like any other when h0 is zero (before the skip), for A/B.
        F.LstmZeroH0WeightGrad = Int("lstm-zero-h0-dw", 1) != 0;
        // --lstm-parallel-setup 0: the wavefronts' weight packing (and the backward's clear and first-layer check) on the
        // calling thread alone; 1: as pool jobs of pieces; 2 (the default): the same pieces as the wavefronts' first tasks
        // (the check as with 1), for A/B.
        F.LstmParallelSetup = Int("lstm-parallel-setup", 2);
        // --lstm-shared-bias 0: each input projection's db_ih a row sum of its own (before it took the layer's db_hh), for A/B.
        F.LstmSharedBiasGrad = Int("lstm-shared-bias", 1) != 0;
        // --lstm-skip-states 0: the language model's recurrent stack forms the final states it never reads (before the skip), for A/B.
        F.LstmSkipUnreadStates = Int("lstm-skip-states", 1) != 0;
        // --lstm-hidden-output 0: each layer's op records [2, seq, batch, hidden] (h_t, then c_t) and the stack takes its h
        // half by a Narrow (a copy; its gradient padded back), before the op recorded the h sequence itself, for A/B.
        F.LstmHiddenOutput = Int("lstm-hidden-output", 1) != 0;
        // --lstm-batch-first-output 0: the last pair writes its h sequence time-major and the stack transposes it to the
        // batch-first output (a copy; its gradient transposed back), before the time loop wrote it batch-major, for A/B.
        F.LstmBatchFirstOutput = Int("lstm-batch-first-output", 1) != 0;
        // --serial-tails 1: AdamW, the clip's passes and the bias gradients' row sums on the calling thread alone (before
        // they were shared with the worker pool), for A/B.
        SharpGrad.Kernels.StepPaths.SerialTails = Int("serial-tails", 0) != 0;
        // --profile 1: the time of every op (forward and backward) per step, from OpProfile's marks (a build with
        // -p:SharpGradProfile=true); --compile 1: the step captured once by Jit.Compile, then replayed.
        bool profile = Int("profile", 0) != 0, compile = Int("compile", 0) != 0;
        // --clip 0: no gradient clipping (ClipGradNorm returns the norm as a value, which a compiled step cannot replay:
        // with --compile 1 the clip must be off), for measuring what compiling the rest of the step saves.
        bool clip = Int("clip", 1) != 0;
        if (compile && clip) throw new ArgumentException("--compile 1 needs --clip 0 (ClipGradNorm has no replayable form: it returns the norm).");
        if (profile && !OpProfile.CompiledIn)
            throw new ArgumentException("--profile 1 needs the library built with -p:SharpGradProfile=true (OpProfile's marks are compiled out otherwise).");
        var g = new Generator(0);
        var model = new CharRnn(CharRnnKind.Lstm, vocab, context, generator: g);
        var parameters = model.Parameters().ToArray();
        var opt = new AdamW(parameters, 3e-3, weightDecay: 0.01);
        var inputs = new Tensor[warmup + steps];
        var targets = new Tensor[warmup + steps];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch, context);
            targets[i] = Tensor.FromArray(Enumerable.Range(0, batch * context).Select(_ => (long)g.NextInt(vocab)).ToArray(), batch * context);
        }
        model.Train();
        bool phases = options.GetValueOrDefault("phases", "0") == "1";
        // --phases 1: the wall seconds of each part of the step (forward to the loss, backward, clip, AdamW), summed over
        // the timed steps; for finding where a step goes, not for the row (the timestamps are read between the parts).
        var phase = new double[4];
        // And the fastest step's part each (on a busy machine, the steps that ran without losing a core to another process).
        var fastest = new double[] { double.MaxValue, double.MaxValue, double.MaxValue, double.MaxValue };
        var compiled = compile ? Jit.Compile(t =>
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.ForwardSequence(t[0]).Reshape(batch * context, vocab), t[1]);
            loss.Backward();
            opt.Step();
            return loss;
        }) : null;
        void Step(int i)
        {
            using var scope = new TensorScope();
            if (compiled is not null)
            {
                compiled.Run(inputs[i], targets[i]);
                return;
            }
            OpProfile.Charge("step: scope dispose");
            opt.ZeroGrad();
            OpProfile.Charge("step: zero grad");
            long t0 = Stopwatch.GetTimestamp();
            var loss = F.CrossEntropy(model.ForwardSequence(inputs[i]).Reshape(batch * context, vocab), targets[i]);
            OpProfile.Charge("step: forward tail");
            long t1 = Stopwatch.GetTimestamp();
            loss.Backward();
            OpProfile.Charge("step: backward tail (leaf gradients)");
            long t2 = Stopwatch.GetTimestamp();
            if (clip) Utils.ClipGradNorm(parameters, 1.0);
            OpProfile.Charge("step: ClipGradNorm");
            long t3 = Stopwatch.GetTimestamp();
            opt.Step();
            OpProfile.Charge("step: AdamW");
            if (!phases || i < warmup) return;
            long t4 = Stopwatch.GetTimestamp();
            Span<long> marks = [t0, t1, t2, t3, t4];
            for (int k = 0; k < 4; k++)
            {
                double part = Stopwatch.GetElapsedTime(marks[k], marks[k + 1]).TotalSeconds;
                phase[k] += part;
                fastest[k] = Math.Min(fastest[k], part);
            }
        }
        for (int i = 0; i < warmup; i++) Step(i);
        if (compiled?.FallbackReason is { } why) throw new InvalidOperationException("lstm-step: the compiled step fell back to eager mode: " + why);
        if (profile)
        {
            // --profile-clock cpu: this thread's CPU time (with --threads 1, the whole step's work, without the time the
            // process waited for a core on a shared machine); the wavefront's breakdown entries stay wall time.
            if (options.GetValueOrDefault("profile-clock", "wall") == "cpu") OpProfile.Clock = (ThreadCpu.Nanoseconds, 1_000_000_000);
            OpProfile.Clear();
            OpProfile.Start();
            for (int i = warmup; i < warmup + steps; i++) Step(i);
            OpProfile.Charge("step: scope dispose");
            OpProfile.Stop();
            return OpProfile.Report(steps);
        }
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        for (int i = warmup; i < warmup + steps; i++) Step(i);
        double seconds = sw.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        long allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / steps;
        string parts = phases ? string.Create(CultureInfo.InvariantCulture,
            $",\"ms_forward\":{1000 * phase[0] / steps:F3},\"ms_backward\":{1000 * phase[1] / steps:F3},\"ms_clip\":{1000 * phase[2] / steps:F3},\"ms_adamw\":{1000 * phase[3] / steps:F3},\"ms_forward_min\":{1000 * fastest[0]:F3},\"ms_backward_min\":{1000 * fastest[1]:F3},\"ms_clip_min\":{1000 * fastest[2]:F3},\"ms_adamw_min\":{1000 * fastest[3]:F3}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"lstm-step\",\"threads\":{threads},\"lstm_pair\":{F.LstmPairMode},\"lstm_fused\":{(F.LstmFusedStores ? 1 : 0)},\"lstm_split_dw\":{(F.LstmSplitWeightGrad ? 1 : 0)},\"lstm_zero_start\":{(F.LstmZeroStart ? 1 : 0)},\"embedding_table\":{(F.LstmEmbeddingTable ? 1 : 0)},\"embedding_table_grad\":{(F.LstmEmbeddingTableGrad ? 1 : 0)},\"lstm_zero_h0_dw\":{(F.LstmZeroH0WeightGrad ? 1 : 0)},\"lstm_parallel_setup\":{F.LstmParallelSetup},\"lstm_shared_bias\":{(F.LstmSharedBiasGrad ? 1 : 0)},\"lstm_skip_states\":{(F.LstmSkipUnreadStates ? 1 : 0)},\"lstm_hidden_output\":{(F.LstmHiddenOutput ? 1 : 0)},\"lstm_batch_first_output\":{(F.LstmBatchFirstOutput ? 1 : 0)},\"serial_tails\":{(SharpGrad.Kernels.StepPaths.SerialTails ? 1 : 0)},\"old_pad_into\":{(SharpGrad.Kernels.StepPaths.OldPadInto ? 1 : 0)},\"shared_rows\":{(SharpGrad.Kernels.StepPaths.SharedRows ? 1 : 0)},\"a_in_place\":{(SharpGrad.Kernels.GemmTuning.AInPlace ? 1 : 0)},\"compiled\":{(compile ? 1 : 0)},\"clip\":{(clip ? 1 : 0)},\"steps\":{steps},\"seconds\":{seconds:F4},\"cpu_seconds\":{cpu:F4},\"ms_per_step\":{1000 * seconds / steps:F3},\"allocated_bytes_per_step\":{allocated}{parts}}}");
    }
}
