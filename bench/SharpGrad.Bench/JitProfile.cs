using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpGrad;
using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using F = SharpGrad.NN.Functional;

/// <summary>
/// Profile of a compiled step's replay (<c>--workload jit-profile --model xor|logreg|batch1|mlp|cnn --reps N --threads T</c>):
/// the mean microseconds of a whole replay, then each recorded instruction's mean nanoseconds over its fastest block of
/// 100 replays (the blocks that ran undisturbed on a shared machine; timestamps around each instruction, so every entry
/// carries their cost too). <c>mlp</c> is mlp-epoch's step (784-256-128-10, Adam, batch 64; <c>--batch</c>
/// changes the batch). For finding where a replay spends its time; not a compare.sh row.
/// </summary>
internal static class JitProfile
{
    public static string Run(Dictionary<string, string> options)
    {
        string model = options.GetValueOrDefault("model", "xor");
        int reps = int.Parse(options.GetValueOrDefault("reps", model == "mlp" ? "1000" : model == "cnn" ? "300" : "20000"), CultureInfo.InvariantCulture);
        if (options.TryGetValue("threads", out var threads)) SharpGrad.Kernels.Gemm.MaxThreads = int.Parse(threads, CultureInfo.InvariantCulture);
        var (step, inputs) = model switch
        {
            "xor" => Xor(),
            "logreg" => LogReg(),
            "batch1" => Mlp(1),
            "mlp" => Mlp(int.Parse(options.GetValueOrDefault("batch", "64"), CultureInfo.InvariantCulture)),
            "cnn" => Cnn(),
            _ => throw new ArgumentException($"unknown --model '{model}' (xor, logreg, batch1, mlp or cnn)"),
        };
        for (int i = 0; i < 20; i++) step.Run(inputs);
        if (step.FallbackReason is { } why) throw new InvalidOperationException("jit-profile: the step fell back to eager mode: " + why);
        // The mean, and the fastest mean of a block of 100 replays: on a shared machine the blocks that ran undisturbed.
        const int Block = 100;
        double fastest = double.MaxValue;
        var sw = Stopwatch.StartNew();
        for (int done = 0; done < reps; done += Block)
        {
            int n = Math.Min(Block, reps - done);
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) step.Run(inputs);
            fastest = Math.Min(fastest, Stopwatch.GetElapsedTime(t0).TotalMicroseconds / n);
        }
        double whole = sw.Elapsed.TotalMicroseconds / reps;
        var parts = step.ProfileReplay(inputs, reps);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{{\"workload\":\"jit-profile\",\"model\":\"{model}\",\"replay_us\":{whole:F3},\"replay_fastest_block_us\":{fastest:F3},\"instructions\":[");
        for (int i = 0; i < parts.Length; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}\n  {{\"name\":\"{parts[i].Name}\",\"ns\":{parts[i].Nanoseconds:F1}}}");
        sb.Append("]}");
        return sb.ToString();
    }

    private static (CompiledStep, Tensor[]) Xor()
    {
        var x = Tensor.FromArray(new double[] { 0, 0, 0, 1, 1, 0, 1, 1 }, 4, 2);
        var y = Tensor.FromArray(new double[] { -1, 1, 1, -1 }, 4, 1);
        var g = new Generator(3);
        var u = Tensor.Randn([2, 2], g, DType.Float64, requiresGrad: true);
        var b1 = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        var w = Tensor.Randn([2, 1], g, DType.Float64, requiresGrad: true);
        var b2 = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
        var opt = new Sgd([u, b1, w, b2], lr: 0.1);
        var step = Jit.Compile(t =>
        {
            var loss = F.MseLoss(t[0].MatMul(u).Add(b1).Relu().MatMul(w).Add(b2), t[1]);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            return loss;
        });
        return (step, [x, y]);
    }

    private static CompiledStep Classifier(Module model, Optimizer opt) => Jit.Compile(t =>
    {
        var loss = F.CrossEntropy(model.Forward(t[0]), t[1]);
        opt.ZeroGrad();
        loss.Backward();
        opt.Step();
        return loss;
    });

    private static (CompiledStep, Tensor[]) LogReg()
    {
        var g = new Generator(5);
        var model = Models.LogisticRegression(784, 10, new Generator(0));
        var batch = new[] { Tensor.Rand([1, 1, 28, 28], g), Tensor.FromArray(new long[] { 3 }) };
        return (Classifier(model, new Sgd(model.Parameters(), lr: 0.01)), batch);
    }

    /// <summary>cnn-epoch's step: the issue's CNN (Models.Cnn), Adam, batch 64.</summary>
    private static (CompiledStep, Tensor[]) Cnn()
    {
        var g = new Generator(5);
        var model = Models.Cnn(generator: new Generator(0));
        var batch = new[] { Tensor.Rand([64, 1, 28, 28], g), Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i * 7 % 10)).ToArray()) };
        return (Classifier(model, new Adam(model.Parameters(), 1e-3)), batch);
    }

    private static (CompiledStep, Tensor[]) Mlp(int batchSize)
    {
        var g = new Generator(5);
        var model = Models.Mlp(784, [256, 128], 10, generator: new Generator(0));
        var batch = new[] { Tensor.Rand([batchSize, 1, 28, 28], g), Tensor.FromArray(Enumerable.Range(0, batchSize).Select(i => (long)(i * 7 % 10)).ToArray()) };
        return (Classifier(model, new Adam(model.Parameters(), 1e-3)), batch);
    }
}
