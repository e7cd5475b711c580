using System.Diagnostics;
using System.Globalization;
using SharpGrad;
using SharpGrad.Kernels;

// The benchmark runner: one workload per run, one JSON line on stdout (see Workloads.cs and bench/reference/).
var options = ParseArgs(args);
string workload = options.GetValueOrDefault("workload", "gemm");
switch (workload)
{
    case "gemm":
    {
        int m = int.Parse(options.GetValueOrDefault("m", "512"), CultureInfo.InvariantCulture);
        int n = int.Parse(options.GetValueOrDefault("n", m.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int k = int.Parse(options.GetValueOrDefault("k", m.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var g = new Generator(1);
        var a = Tensor.Randn([m, k], g).ToArray<float>();
        var b = Tensor.Randn([k, n], g).ToArray<float>();
        var c = new float[m * n];
        Gemm.Multiply<float>(false, false, m, n, k, a, b, c, false); // warm-up and JIT
        int reps = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 2 || reps < 3) { Gemm.Multiply<float>(false, false, m, n, k, a, b, c, false); reps++; }
        double seconds = sw.Elapsed.TotalSeconds / reps;
        double gflops = 2.0 * m * n * k / seconds / 1e9;
        Console.WriteLine(FormattableString.Invariant($"{{\"workload\":\"gemm\",\"threads\":1,\"m\":{m},\"n\":{n},\"k\":{k},\"gflops\":{gflops:F2}}}"));
        break;
    }
    case "mlp-epoch": case "cnn-epoch": case "mlp-batch1": case "xor": case "sgd-logreg":
        Console.WriteLine(Workloads.Run(workload, options));
        break;
    default:
        Console.Error.WriteLine($"unknown workload '{workload}' (known: gemm, mlp-epoch, cnn-epoch, mlp-batch1, xor, sgd-logreg)");
        return 1;
}
return 0;

static Dictionary<string, string> ParseArgs(string[] args)
{
    var d = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected --name value, got '{args[i]}'");
        d[args[i][2..]] = args[i + 1];
    }
    return d;
}
