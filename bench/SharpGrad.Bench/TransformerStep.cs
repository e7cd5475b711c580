using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.NN;

/// <summary>
/// The transformer-step row of bench/compare.sh (issue 14): full training steps of <c>sharpgrad lm --model transformer</c>'s
/// default model and recipe (4 layers × 4 heads, d = 128, feed-forward 512, GELU, pre-norm, learned positions, tied
/// output, causal mask; batch 64 chunks of context 16 from the word list, every scored position in the loss; backward,
/// gradient-norm clip 1.0, AdamW, cosine schedule), each step in a <see cref="TensorScope"/>. bench/reference/workloads.py
/// runs the same steps on the same batches with the reference model of bench/reference/lm.py.
/// </summary>
internal static class TransformerStep
{
    public static string Run(Dictionary<string, string> options)
    {
        int Int(string key, int fallback) => int.Parse(options.GetValueOrDefault(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int threads = Int("threads", Environment.ProcessorCount), steps = Int("steps", 30), warmup = Int("warmup", 5);
        bool profile = Int("profile", 0) != 0;
        if (profile && !OpProfile.CompiledIn)
            throw new ArgumentException("--profile 1 needs the library built with -p:SharpGradProfile=true (OpProfile's marks are compiled out otherwise).");
        SharpGrad.Kernels.Gemm.MaxThreads = threads;
        // --old-nonproduct 1: attention's and LayerNorm's former kernels, for an A/B in one binary (StepPaths).
        SharpGrad.Kernels.StepPaths.Old = Int("old-nonproduct", 0) != 0;
        // --old-attention 1: attention's small-tile path without its inline row statistics and causal trimming (StepPaths).
        SharpGrad.Kernels.StepPaths.OldAttention = Int("old-attention", 0) != 0;
        // --old-causal-blocks 1: attention's causal products trimmed per eight-row block only, not inside it (StepPaths).
        SharpGrad.Kernels.StepPaths.OldCausalBlocks = Int("old-causal-blocks", 0) != 0;
        // --attention-prefetch 0: attention's small-tile path without its prefetch of the next slice (StepPaths).
        SharpGrad.Kernels.StepPaths.AttentionPrefetch = Int("attention-prefetch", 1) != 0;
        const int k = 16, b = 64;
        const ulong seed = 0;
        var data = CharLmData.Load(options.GetValueOrDefault("data", "/usr/share/dict/american-english"), seed);
        var model = CharLm.Create("transformer", data.VocabSize, k, new Generator(seed + 1));
        var (xs, ys) = data.Sequences(data.Train, k);
        int chunks = checked((int)(ys.LongLength / k));
        var parameters = model.Parameters().ToArray();
        var optimizer = new SharpGrad.Optim.AdamW(parameters, 3e-3, weightDecay: 0.01);
        var schedule = new SharpGrad.Optim.CosineAnnealingLR(optimizer, warmup + steps);
        var rng = new Generator(seed + 2); // the batches of `sharpgrad lm`'s first steps
        var bx = new long[b * k];
        var by = new long[b * k];
        model.Train();
        double loss = 0;
        void Step()
        {
            for (int i = 0; i < b; i++)
            {
                int row = rng.NextInt(chunks);
                Array.Copy(xs, (long)row * k, bx, (long)i * k, k);
                Array.Copy(ys, (long)row * k, by, (long)i * k, k);
            }
            OpProfile.Charge("step: scope dispose, batch");
            using var scope = new TensorScope();
            optimizer.ZeroGrad();
            OpProfile.Charge("step: zero grad");
            var (l, _) = CharLm.SequenceLoss(model, bx, by, b);
            OpProfile.Charge("step: forward tail");
            l.Backward();
            OpProfile.Charge("step: backward tail (leaf gradients)");
            Utils.ClipGradNorm(parameters, 1.0);
            OpProfile.Charge("step: ClipGradNorm");
            optimizer.Step();
            OpProfile.Charge("step: AdamW");
            schedule.Step();
            loss = l.Item();
            OpProfile.Charge("step: schedule, Item");
        }
        for (int i = 0; i < warmup; i++) Step();
        if (profile)
        {
            // --profile-clock cpu: this thread's CPU time (with --threads 1, the whole step's work; unlike wall time it
            // does not count the time the process waited for a core on a shared machine).
            if (options.GetValueOrDefault("profile-clock", "wall") == "cpu") OpProfile.Clock = (ThreadCpu.Nanoseconds, 1_000_000_000);
            OpProfile.Clear();
            OpProfile.Start();
            for (int i = 0; i < steps; i++) Step();
            OpProfile.Charge("step: scope dispose");
            OpProfile.Stop();
            return OpProfile.Report(steps);
        }
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var pause = GC.GetTotalPauseDuration();
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        double seconds = sw.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        long allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / steps;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"workload\":\"transformer-step\",\"threads\":{threads},\"steps\":{steps},\"seconds\":{seconds / steps:F5},\"cpu_seconds\":{cpu / steps:F5},\"allocated_bytes_per_step\":{allocated},\"gc_pause_seconds\":{(GC.GetTotalPauseDuration() - pause).TotalSeconds / steps:F5},\"last_loss\":{loss:F4}}}");
    }
}
