using System.Diagnostics;
using SharpGrad.Data;
using SharpGrad.Distributed;
using SharpGrad.MpiWorker;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Distributed;

/// <summary>Runs only where Open MPI's mpirun is installed (openmpi-bin); .ci/run installs it.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpi.Run is null) Skip = "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev); the multi-process tests need it.";
    }
}

/// <summary>Starts programs under <c>mpirun --allow-run-as-root --oversubscribe -np N</c>.</summary>
internal static class Mpi
{
    public static string? Run { get; } = new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists);

    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";

    public static string Worker => Path.Combine(AppContext.BaseDirectory, "SharpGrad.MpiWorker.dll");

    /// <summary>Runs <c>dotnet DLL ARGS</c> in <paramref name="processes"/> processes, one kernel thread each; returns the exit code and output.</summary>
    public static (int ExitCode, string Output) Start(int processes, string dll, IEnumerable<string> args, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo(Run!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", processes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-x", "DOTNET_PROCESSOR_COUNT=1", Host, dll }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun -np {processes} {dll} did not finish in {timeoutSeconds} s.");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}

public class DistributedTests
{
    private static string TempDir() => Directory.CreateTempSubdirectory("sharpgrad-mpi-").FullName;

    private static double[] Flat(Module model) => model.StateDict().SelectMany(p => p.Value.ToArray<double>()).ToArray();

    /// <summary>
    /// Two 2-process runs end bit for bit alike: each rank's weights, optimizer state and last gradients equal the
    /// expected run's, the two ranks' weights equal each other, and the last gradients are means, not zeros left by a
    /// replay that skipped the reduction. With <paramref name="readGradients"/>, also the sums of the gradients each rank
    /// read during the run (the worker's readgrad mode prints them).
    /// </summary>
    private static void AssertSameBits((double[] Rank0, double[] Rank1) expected, string expectedOutput, (double[] Rank0, double[] Rank1) expectedState,
        (double[] Rank0, double[] Rank1) expectedGrads, (double[] Rank0, double[] Rank1) actual, string actualOutput, (double[] Rank0, double[] Rank1) actualState,
        (double[] Rank0, double[] Rank1) actualGrads, bool readGradients)
    {
        if (readGradients)
            for (int r = 0; r < 2; r++)
            {
                string Sum(string text) => System.Text.RegularExpressions.Regex.Match(text, $"rank {r}: gradients read during the run sum to (\\S+)").Groups[1].Value;
                Assert.NotEqual("", Sum(actualOutput));
                Assert.Equal(Sum(expectedOutput), Sum(actualOutput));
            }
        Assert.Equal(expected.Rank0, actual.Rank0);
        Assert.Equal(expected.Rank1, actual.Rank1);
        Assert.Equal(actual.Rank0, actual.Rank1);
        Assert.Equal(expectedGrads.Rank0, actualGrads.Rank0);
        Assert.Equal(expectedGrads.Rank1, actualGrads.Rank1);
        Assert.Equal(expectedState.Rank0, actualState.Rank0);
        Assert.Equal(expectedState.Rank1, actualState.Rank1);
        Assert.True(actualGrads.Rank0.Count(v => v != 0) > actualGrads.Rank0.Length / 4);
    }

    /// <summary>
    /// Runs the equivalence program in two processes with 32 examples each per step and returns each rank's final weights.
    /// <paramref name="mode"/> is the worker's: mpi (DDP's defaults) or flags joined by '+' (deterministic, ring, shm, shard, adam).
    /// </summary>
    private static (double[] Rank0, double[] Rank1) TwoProcesses(string model, string dtype, int steps, string mode) =>
        TwoProcesses(model, dtype, steps, mode, out _);

    private static (double[] Rank0, double[] Rank1) TwoProcesses(string model, string dtype, int steps, string mode, out string output) =>
        TwoProcesses(model, dtype, steps, mode, out output, out _);

    /// <summary>As above; also each rank's final optimizer state dict, flattened (<paramref name="optimizers"/>).</summary>
    private static (double[] Rank0, double[] Rank1) TwoProcesses(string model, string dtype, int steps, string mode, out string output, out (double[] Rank0, double[] Rank1) optimizers) =>
        TwoProcesses(model, dtype, steps, mode, out output, out optimizers, out _);

    /// <summary>As above; also each rank's parameters' last gradients (<see cref="Tensor.Grad"/>), flattened (<paramref name="gradients"/>).</summary>
    private static (double[] Rank0, double[] Rank1) TwoProcesses(string model, string dtype, int steps, string mode, out string output,
        out (double[] Rank0, double[] Rank1) optimizers, out (double[] Rank0, double[] Rank1) gradients)
    {
        string dir = TempDir();
        try
        {
            (int code, output) = Mpi.Start(2, Mpi.Worker, [model, dtype, "64", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), mode, dir]);
            Assert.True(code == 0, $"mpirun exited with {code}:\n{output}");
            double[] Read(int r)
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, $"rank{r}.bin"));
                var v = new double[bytes.Length / 8];
                Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
                return v;
            }
            double[] ReadFile(string name)
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, name));
                var v = new double[bytes.Length / 8];
                Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
                return v;
            }
            optimizers = (ReadFile("optimizer0.bin"), ReadFile("optimizer1.bin"));
            gradients = (ReadFile("grad0.bin"), ReadFile("grad1.bin"));
            return (Read(0), Read(1));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static double RelativeDifference(double[] a, double[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++) { diff = Math.Max(diff, Math.Abs(a[i] - b[i])); scale = Math.Max(scale, Math.Abs(b[i])); }
        return diff / scale;
    }

    [MpiTheory]
    [InlineData("mlp", "float32", "mpi")]
    [InlineData("mlp", "float64", "mpi")]
    [InlineData("cnn", "float64", "mpi")]
    [InlineData("mlp", "float32", "ring")]
    [InlineData("cnn", "float64", "ring")]
    public void TwoProcessesOfBatch32MatchOneProcessOfBatch64(string model, string dtype, string mode)
    {
        const int steps = 100;
        var (rank0, rank1) = TwoProcesses(model, dtype, steps, mode, out string output);
        // Both processes run on this machine: DDP's default is the shared-memory reduction; "ring" forces the messages.
        Assert.Contains(mode == "ring" ? "gradient reduction Ring" : "gradient reduction SharedMemory", output, StringComparison.Ordinal);
        var single = Flat(EquivalenceRun.Train(ProcessGroup.Single(), model, dtype == "float64" ? DType.Float64 : DType.Float32, 64, steps));
        Assert.Equal(rank0, rank1); // the replicas stay identical
        double rel = RelativeDifference(rank0, single);
        Assert.True(rel <= 1e-6, $"{model} {dtype}: the 2-process weights differ from the 1-process ones by {rel:E2} (relative)");
        // ... and training did move them: the comparison is not between two copies of the initial weights.
        Assert.True(RelativeDifference(Flat(EquivalenceRun.Model(model, dtype == "float64" ? DType.Float64 : DType.Float32)), single) > 1e-2);
    }

    /// <summary>
    /// With a deterministic reduction order the two processes' run is bit-identical to one process that computes the
    /// two shards' gradients itself and averages them as (g0 + g1) / 2 — an emulation that does not use the DDP code.
    /// </summary>
    [MpiTheory]
    [InlineData("mlp", "deterministic")]
    [InlineData("cnn", "deterministic")]
    [InlineData("mlp", "ring+deterministic")]
    [InlineData("cnn", "shm")]
    public void DeterministicReductionIsBitIdenticalToTheShardedEmulation(string model, string mode)
    {
        const int steps = 100;
        var (rank0, rank1) = TwoProcesses(model, "float32", steps, mode);
        Assert.Equal(rank0, rank1);
        Assert.Equal(Emulate(model, steps), rank0);
    }

    /// <summary>
    /// The sharded optimizer step (ZeRO-1: each process updates the half of every bucket it averages, then reads the
    /// other half) does per element the arithmetic of the whole step, so after 100 steps the weights are bit-identical
    /// to the unsharded run's, and the gathered optimizer state (SGD's momentum, Adam's moments) is the whole run's on
    /// both processes.
    /// </summary>
    [MpiTheory]
    [InlineData("mlp", "")]
    [InlineData("cnn", "+adam")]
    public void ShardedOptimizerStepIsBitIdenticalToTheWholeStep(string model, string optimizer)
    {
        const int steps = 100;
        var (whole0, whole1) = TwoProcesses(model, "float32", steps, "shm" + optimizer, out _, out var wholeState);
        var (shard0, shard1) = TwoProcesses(model, "float32", steps, "shm+shard" + optimizer, out string output, out var shardState);
        Assert.Contains("sharded step True", output, StringComparison.Ordinal);
        Assert.Equal(whole0, whole1);
        Assert.Equal(whole0, shard0);
        Assert.Equal(whole0, shard1);
        Assert.Equal(wholeState.Rank0, wholeState.Rank1);
        Assert.Equal(wholeState.Rank0, shardState.Rank0);
        Assert.Equal(wholeState.Rank0, shardState.Rank1);
        // The state is not trivially equal: the moments moved.
        Assert.True(wholeState.Rank0.Count(v => v != 0) > wholeState.Rank0.Length / 2);
    }

    /// <summary>
    /// A compiled data-parallel step (Jit.Compile: DDP's gradient hooks, end-of-pass reductions and the sharded step's
    /// gather recorded in the plan) replays exactly what the eager step computes: after 100 steps (one warm-up, one
    /// capture, 98 replays) the weights, the last gradients and the optimizer state are bit-identical to the eager run's,
    /// on both processes, the replays allocate nothing, and the weights match one compiled process at batch 64 within
    /// 1e-6 as the eager run's do.
    /// </summary>
    [MpiTheory]
    [InlineData("mlp", "float32", "mpi")]
    [InlineData("cnn", "float64", "mpi")]
    [InlineData("mlp", "float32", "ring")]
    [InlineData("mlp", "float32", "ring+deterministic")]
    [InlineData("mlp", "float32", "shm+shard+adam")]
    [InlineData("cnn", "float32", "shm+shard")]
    [InlineData("mlp", "float32", "shm+shard+readgrad")]
    [InlineData("mlp", "float32", "shm+shard+adam+nostream")]
    [InlineData("mlp", "float32", "shm+shard+adam+stream")]
    [InlineData("cnn", "float32", "shm+shard+nostream")]
    public void CompiledDataParallelStepsAreBitIdenticalToEagerOnes(string model, string dtype, string mode)
    {
        const int steps = 100;
        var (eager0, eager1) = TwoProcesses(model, dtype, steps, mode, out string eagerOutput, out var eagerState, out var eagerGrads);
        var (compiled0, compiled1) = TwoProcesses(model, dtype, steps, mode + "+compile", out string output, out var compiledState, out var compiledGrads);
        if (mode.Contains("shard", StringComparison.Ordinal)) Assert.Contains("sharded step True", output, StringComparison.Ordinal);
        for (int r = 0; r < 2; r++) Assert.Contains($"rank {r}: replayed {steps - 2} steps, 0 bytes allocated in those after the tenth", output, StringComparison.Ordinal);
        // Through shared memory with ordinary stores (nostream) every weight gradient, and the convolutions' bias gradients,
        // are written by their product or convolution straight into the window (the MLP's two Linear weights; the CNN's
        // two convolution weights and biases and its Linear weight), so the equality below covers those paths too.
        // Otherwise (non-temporal stores, or the kind chosen by measuring, the default) only a gradient wholly in the
        // process's own chunk of its bucket is (of these 4 KB buckets: the CNN's conv1 bias, 32 values at the start of a
        // bucket, on rank 0; no MLP weight), the hooks copying the others.
        if (mode.Contains("shm", StringComparison.Ordinal))
            for (int r = 0; r < 2; r++)
            {
                int expected = mode.Contains("nostream", StringComparison.Ordinal) ? (model == "cnn" ? 5 : 2) : (model == "cnn" && r == 0 ? 1 : 0);
                Assert.Contains($"rank {r}: gradient products in slots {expected}", output, StringComparison.Ordinal);
            }
        // The gradients read between steps (with readgrad: a replay of the sharded step leaves the other process's chunk
        // of each mean in shared memory until .Grad is read) are the eager run's too.
        AssertSameBits((eager0, eager1), eagerOutput, eagerState, eagerGrads, (compiled0, compiled1), output, compiledState, compiledGrads,
            mode.Contains("readgrad", StringComparison.Ordinal));
        var type = dtype == "float64" ? DType.Float64 : DType.Float32;
        var single = Flat(EquivalenceRun.Train(ProcessGroup.Single(), model, type, 64, steps,
            new EquivalenceRun.Settings(Adam: mode.Contains("adam", StringComparison.Ordinal), Compile: true), out _));
        double rel = RelativeDifference(compiled0, single);
        Assert.True(rel <= 1e-6, $"{model} {dtype} {mode}: the compiled 2-process weights differ from the compiled 1-process ones by {rel:E2} (relative)");
    }

    /// <summary>
    /// A compiled sharded step that forms this process's chunk of the means itself (<see cref="DistributedDataParallel.SumInStep"/>:
    /// it reads both processes' values in the window, rank 0's first, and writes the mean as it updates) gives the bits of
    /// the step that reads the means the end of the pass wrote (oldsum): after 100 MLP steps the weights, the optimizer
    /// state (SGD's momentum, Adam's moments; RMSprop, which has no update in registers, sums each block before updating
    /// it), the last gradients and the sum of the gradients read every seventh step
    /// during the run (the means the step wrote, read back through the deferred gradients) are equal, on both processes.
    /// The MLP's 4 KB buckets cut parameters at the processes' chunk boundaries; with ordinary stores (nostream) this
    /// process's values come from the window (the products write there), otherwise from the gradients' own arrays.
    /// </summary>
    [MpiTheory]
    [InlineData("float32", "")]
    [InlineData("float32", "+adam")]
    [InlineData("float64", "+adam")]
    [InlineData("float32", "+adam+nostream")]
    [InlineData("float32", "+nostream")]
    [InlineData("float32", "+rmsprop")]
    public void ShardedStepThatSumsTheMeansGivesTheBitsOfTheStepThatReadsThem(string dtype, string options)
    {
        const int steps = 100;
        string mode = "shm+shard+compile+readgrad" + options;
        var (old0, old1) = TwoProcesses("mlp", dtype, steps, mode + "+oldsum", out string oldOutput, out var oldState, out var oldGrads);
        var (new0, new1) = TwoProcesses("mlp", dtype, steps, mode, out string output, out var newState, out var newGrads);
        for (int r = 0; r < 2; r++)
        {
            // One plan (the full batches') forms its means in the step; none with the switch off.
            Assert.Contains($"rank {r}: replayed {steps - 2} steps, 0 bytes allocated in those after the tenth", output, StringComparison.Ordinal);
            Assert.Matches($"rank {r}: gradient products in slots \\d+, step sum plans 1\\b", output);
            Assert.Matches($"rank {r}: gradient products in slots \\d+, step sum plans 0\\b", oldOutput);
        }
        AssertSameBits((old0, old1), oldOutput, oldState, oldGrads, (new0, new1), output, newState, newGrads, readGradients: true);
        // The state moved.
        Assert.True(newState.Rank0.Count(v => v != 0) > newState.Rank0.Length / 2);
    }

    /// <summary>
    /// Parameters kept whole in an image in the window (<see cref="DistributedDataParallel.ParameterImages"/>: each
    /// process's step writes its updated range into both processes' images, the plan's products read the image, the gather
    /// copies nothing for them, and the parameter's array is written from the image when it is read) give the bits of the
    /// gather that copies the other process's range into the array: after 100 compiled MLP steps the weights, the optimizer
    /// state, the last gradients and the sum of the gradients and parameters read every seventh step during the run (each
    /// such read writes the arrays, and the next step starts from them) are equal on both processes. A half of a weight left
    /// stale anywhere (not written into the other image, not copied into the array) changes them.
    /// </summary>
    [MpiTheory]
    [InlineData("float32", "")]
    [InlineData("float32", "+adam")]
    [InlineData("float64", "+adam")]
    [InlineData("float32", "+adam+nostream")]
    [InlineData("float32", "+stream")]
    public void ParameterImagesGiveTheBitsOfTheGather(string dtype, string options)
    {
        const int steps = 100;
        string mode = "shm+shard+compile+readgrad" + options;
        var (old0, old1) = TwoProcesses("mlp", dtype, steps, mode + "+noimages", out string oldOutput, out var oldState, out var oldGrads);
        var (new0, new1) = TwoProcesses("mlp", dtype, steps, mode + "+images", out string output, out var newState, out var newGrads);
        for (int r = 0; r < 2; r++)
        {
            Assert.Contains($"rank {r}: replayed {steps - 2} steps, 0 bytes allocated in those after the tenth", output, StringComparison.Ordinal);
            Assert.Matches($"rank {r}: gradient products in slots \\d+, step sum plans 1, imaged parameters [1-9]", output);
            Assert.Matches($"rank {r}: gradient products in slots \\d+, step sum plans 1, imaged parameters 0\\b", oldOutput);
        }
        AssertSameBits((old0, old1), oldOutput, oldState, oldGrads, (new0, new1), output, newState, newGrads, readGradients: true);
        Assert.True(newState.Rank0.Count(v => v != 0) > newState.Rank0.Length / 2);
    }

    /// <summary>
    /// With two processes the ring of messages and the shared-memory reduction both compute (g₀ + g₁) / 2 for every
    /// gradient element, so 100 float32 steps through either give the same bits.
    /// </summary>
    [MpiFact]
    public void RingAndSharedMemoryReductionsGiveTheSameWeights()
    {
        const int steps = 100;
        var (ring, _) = TwoProcesses("cnn", "float32", steps, "ring");
        var (shared, _) = TwoProcesses("cnn", "float32", steps, "shm");
        Assert.Equal(ring, shared);
    }

    private static double[] Emulate(string modelName, int steps)
    {
        var model = EquivalenceRun.Model(modelName, DType.Float32);
        var data = EquivalenceRun.Data(64 * steps, DType.Float32);
        var optimizer = new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9);
        var parameters = model.Parameters().ToList();
        var shards = Enumerable.Range(0, 2).Select(r => new DistributedSampler(data, ProcessGroup.Pretend(r, 2), shuffle: true, seed: 3).Indices()).ToArray();
        for (int step = 0; step < steps; step++)
        {
            var grads = new float[2][][];
            for (int r = 0; r < 2; r++)
            {
                var (x, y) = data.GetBatch(shards[r].AsSpan(step * 32, 32));
                optimizer.ZeroGrad();
                F.CrossEntropy(model.Forward(x), y).Backward();
                grads[r] = parameters.Select(p => p.Grad!.ToArray<float>()).ToArray();
            }
            for (int i = 0; i < parameters.Count; i++)
            {
                var mean = new float[grads[0][i].Length];
                for (int k = 0; k < mean.Length; k++) mean[k] = (grads[0][i][k] + grads[1][i][k]) / 2f;
                parameters[i].Grad = Tensor.FromArray(mean, parameters[i].Shape);
            }
            optimizer.Step();
        }
        return Flat(model);
    }

    /// <summary>
    /// With batch norm each process normalises with its own half-batch statistics (PyTorch DDP's default), so the run is
    /// not the 1-process one; it must still learn as well: held-out accuracy within 3 points of the 1-process run's, and
    /// every process ends with the same weights and (rank 0's, broadcast) running statistics.
    /// </summary>
    [MpiFact]
    public void BatchNormTwoProcessRunIsInTheSingleProcessAccuracyBand()
    {
        const int steps = 100;
        var (rank0, rank1) = TwoProcesses("bncnn", "float32", steps, "mpi");
        Assert.Equal(rank0, rank1);
        var single = EquivalenceRun.Train(ProcessGroup.Single(), "bncnn", DType.Float32, 64, steps);
        var parallel = EquivalenceRun.Model("bncnn", DType.Float32);
        int offset = 0;
        var state = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, t) in parallel.StateDict())
        {
            state.Add(new(name, Tensor.FromArray(rank0.AsSpan(offset, t.Numel).ToArray(), t.Numel).Reshape(t.Shape).To(t.DType)));
            offset += t.Numel;
        }
        Assert.Equal(rank0.Length, offset);
        parallel.LoadStateDict(state);
        var heldOut = EquivalenceRun.Data(2000, DType.Float32, seed: 12);
        double a1 = SharpGrad.Training.Trainer.Accuracy(single, heldOut), a2 = SharpGrad.Training.Trainer.Accuracy(parallel, heldOut);
        Assert.True(a1 > 0.2, $"the 1-process run reached only {a1:P1} (chance is 10%)");
        Assert.True(Math.Abs(a2 - a1) <= 0.03, $"2 processes: {a2:P1}, 1 process: {a1:P1}");
    }

    [Fact]
    public void SharedMemoryReductionOverSeveralMachinesIsRefusedNamingTheOption()
    {
        var model = EquivalenceRun.Model("mlp", DType.Float32);
        var e = Assert.Throws<ArgumentException>(() => new DistributedDataParallel(model, ProcessGroup.Pretend(0, 2), reduction: GradientReduction.SharedMemory));
        Assert.Equal("reduction", e.ParamName);
        Assert.Contains("every process on one machine", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamplerShardsInterleaveOnePermutationPaddedToAMultipleOfTheWorld()
    {
        var data = new TensorDataset(Tensor.Arange(0, 10).Unsqueeze(1), Tensor.Arange(0, 10).To(DType.Int64));
        var perm = new Generator(5UL + 2UL).Permutation(10); // seed + epoch
        var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(data, ProcessGroup.Pretend(r, 3), shuffle: true, seed: 5) { Epoch = 2 }.Indices()).ToArray();
        Assert.All(shards, s => Assert.Equal(4, s.Length)); // ceil(10 / 3)
        for (int i = 0; i < 12; i++) Assert.Equal(perm[i % 10], shards[i % 3][i / 3]);
        var unshuffled = new DistributedSampler(data, ProcessGroup.Pretend(1, 2), shuffle: false).Indices();
        Assert.Equal([1, 3, 5, 7, 9], unshuffled);
    }

    [Fact]
    public void SingleProcessGroupAndDdpLeaveGradientsAsTheyAre()
    {
        var group = ProcessGroup.InitMpi(); // not started by mpirun here: a group of one
        Assert.Equal((0, 1), (group.Rank, group.WorldSize));
        var t = Tensor.FromArray(new float[] { 1, 2 }, 2);
        group.AllReduce(t, ReduceOp.Avg);
        group.Broadcast(t);
        group.Barrier();
        Assert.Equal([1f, 2f], t.ToArray<float>());
        Assert.Equal([1, 2], group.AllGather(t).Shape);

        var model = EquivalenceRun.Model("mlp", DType.Float64);
        var reference = EquivalenceRun.Model("mlp", DType.Float64);
        using var ddp = new DistributedDataParallel(model, group, bucketCapBytes: 1000);
        Assert.True(ddp.BucketCount >= 3, $"{ddp.BucketCount} buckets");
        var x = Tensor.Randn([4, 1, 12, 12], new Generator(1), dtype: DType.Float64);
        F.CrossEntropy(ddp.Forward(x), Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 4)).Backward();
        F.CrossEntropy(reference.Forward(x), Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 4)).Backward();
        foreach (var (p, q) in model.Parameters().Zip(reference.Parameters()))
            Assert.Equal(q.Grad!.ToArray<double>(), p.Grad!.ToArray<double>());
        Assert.Equal(ddp.BucketCount, ddp.BucketsStartedDuringBackward); // every bucket started from a hook, none waited for the end of the pass
        Assert.StartsWith("module.", ddp.StateDict().Keys.First(), StringComparison.Ordinal);
    }

    /// <summary>
    /// In a steady training loop (a TensorScope per step) the averaged gradients must not cost a fresh allocation every
    /// step: the engine's gradient that DDP replaces goes back to the step's pool, as ZeroGrad sends it. Before, it
    /// escaped to the garbage collector, and the first layer's 800 KB gradient was a new large-object-heap array each
    /// step (gen-2 collections in a loop that should allocate almost nothing).
    /// </summary>
    [Fact]
    public void DdpStepsInATensorScopeDoNotAllocateTheGradientsAgain()
    {
        var g = new Generator(3);
        var model = new Sequential(new Linear(784, 256, generator: g), new ReLU(), new Linear(256, 10, generator: g));
        using var ddp = new DistributedDataParallel(model, ProcessGroup.Single());
        var optimizer = new Sgd(model.Parameters(), lr: 0.01);
        var x = Tensor.Randn([8, 784], new Generator(4));
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }, 8);
        void Step()
        {
            using var scope = new TensorScope();
            var loss = F.CrossEntropy(ddp.Forward(x), y);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
        }
        for (int i = 0; i < 5; i++) Step();
        const int steps = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        // The first layer's gradient alone is 784 x 256 x 4 = 802,816 bytes; a step's bookkeeping is a few kilobytes.
        Assert.True(perStep < 100_000, $"{perStep:N0} bytes allocated per step");
        Assert.Equal(25, ddp.Timings.Passes);
    }
}

/// <summary>A theory that runs only where mpirun is installed.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (Mpi.Run is null) Skip = "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev); the multi-process tests need it.";
    }
}
