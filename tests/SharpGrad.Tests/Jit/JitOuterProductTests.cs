using SharpGrad.Optim;

namespace SharpGrad.Tests.Jit;

/// <summary>
/// At batch 1 a Linear's weight gradient is an outer product, which a replay computes inside the optimizer's update in
/// one pass (each element computed, stored and applied at once). The parameters and the gradients left in .Grad must be
/// bit-identical to eager steps, for layer widths that are not multiples of the vector width and for every optimizer
/// setting the pass covers; SGD with momentum takes the two-step form and must match too.
/// </summary>
public class JitOuterProductTests
{
    private static Optimizer Make(string name, IEnumerable<Tensor> p) => name switch
    {
        "sgd" => new Sgd(p, lr: 0.05),
        "sgd-decay" => new Sgd(p, lr: 0.05, weightDecay: 1e-2),
        "sgd-momentum" => new Sgd(p, lr: 0.05, momentum: 0.9),
        "adam" => new Adam(p, 1e-2),
        "adam-amsgrad-decay" => new Adam(p, 1e-2, weightDecay: 1e-2, amsgrad: true),
        "adamw" => new AdamW(p, 1e-2),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, DType> Cases()
    {
        var d = new TheoryData<string, DType>();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (var o in new[] { "sgd", "sgd-decay", "sgd-momentum", "adam", "adam-amsgrad-decay", "adamw" }) d.Add(o, dt);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnePassUpdateIsBitIdenticalToEager(string optimizer, DType dtype)
    {
        const int steps = 5;
        // 37 inputs, 29 then 10 outputs: rows that end in a partial vector; 300 x 37 is split over the threads.
        int[] sizes = [37, 300, 29, 10];
        var g = new Generator(31);
        // Exact zeros in the input (black pixels): their gradient column is 0 (+0, as the GEMM writes it).
        var xs = Enumerable.Range(0, steps).Select(_ =>
        {
            var v = Tensor.Randn([sizes[0]], g, DType.Float64).ToArray<double>();
            for (int j = 3; j < 8; j++) v[j] = 0;
            return Tensor.FromArray(v, 1, sizes[0]).To(dtype);
        }).ToArray();
        var ys = Enumerable.Range(0, steps).Select(i => Tensor.FromArray(new long[] { (3 * i) % 10 })).ToArray();

        var eagerModel = JitTests.Linears(dtype, 12, sizes);
        var eagerOpt = Make(optimizer, eagerModel.Parameters());
        var eagerLosses = xs.Select((x, i) => JitTests.ClassifierStep(eagerModel, eagerOpt, x, ys[i]).Item()).ToArray();

        var model = JitTests.Linears(dtype, 12, sizes);
        var opt = Make(optimizer, model.Parameters());
        var step = SharpGrad.Jit.Compile(t => JitTests.ClassifierStep(model, opt, t[0], t[1]));
        var losses = xs.Select((x, i) => step.Run(x, ys[i]).Item()).ToArray();
        Assert.Null(step.FallbackReason);
        Assert.True(step.LastRunReplayed);
        var update = step.PlanInstructions.OfType<OptimizerStepInstruction>().Single();
        Assert.Equal(3, update.Fused);
        Assert.Equal(optimizer == "sgd-momentum" ? 0 : 3, update.OnePass);

        Assert.Equal(eagerLosses, losses);
        foreach (var (e, r) in eagerModel.Parameters().Zip(model.Parameters()))
        {
            Assert.Equal(Bits(e), Bits(r));
            Assert.Equal(Bits(e.Grad!), Bits(r.Grad!));
        }
    }

    /// <summary>The values' bit patterns, so that +0 and −0 (and NaN payloads) count as different.</summary>
    private static long[] Bits(Tensor t) => t.DType == DType.Float32
        ? t.ToArray<float>().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray()
        : t.ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray();
}
