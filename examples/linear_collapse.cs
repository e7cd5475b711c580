#:project ../src/SharpGrad/SharpGrad.csproj
#:project ../src/SharpGrad.Theory/SharpGrad.Theory.csproj
#:property PublishAot=false
// Seed 002, Q6.1-2: linear layers without activations collapse to one: W2(W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2).
//   rank(AB) <= min(rank A, rank B), so 10 -> 2 -> 10 is a 10x10 map of rank 2: depth without nonlinearity adds nothing.
// Run: dotnet run examples/linear_collapse.cs    (the same as: sharpgrad construct collapse --widths 10,2,10)
using SharpGrad;
using SharpGrad.Theory;

var g = new Generator(seed: 0);
foreach (int[] widths in new[] { new[] { 10, 2, 10 }, [10, 3, 8, 6] })
{
    var layers = new List<LinearLayer>();
    for (int i = 0; i + 1 < widths.Length; i++)          // PyTorch's layout: weight [out, in]
        layers.Add(new LinearLayer(Tensor.Randn([widths[i + 1], widths[i]], g, DType.Float64), Tensor.Randn([widths[i + 1]], g, DType.Float64)));

    var collapsed = LinearCollapse.Collapse(layers);
    var x = Tensor.Randn([500, widths[0]], g, DType.Float64);
    double diff = (LinearCollapse.Forward(layers, x) - collapsed.Forward(x)).Abs().Max().Item();

    Console.WriteLine($"{string.Join(" -> ", widths)}: one {collapsed.Layer.OutFeatures}x{collapsed.Layer.InFeatures} layer of rank {collapsed.Rank} " +
                      $"(factor ranks {string.Join(", ", collapsed.FactorRanks)}, bound {collapsed.RankBound}); max |stack - collapsed| = {diff:E1}");
}
