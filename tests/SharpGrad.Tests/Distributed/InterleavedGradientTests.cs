using SharpGrad.Kernels;
using SharpGrad.MpiWorker;
using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.Distributed;

/// <summary>
/// Data-parallel training over two processes (DistributedSampler's interleaved split) averages the gradients the two
/// compute for the even- and the odd-positioned examples of a global batch. These tests compute, in one process, the
/// gradients of a batch and those of its two interleaved halves, and compare bits per parameter.
/// </summary>
public class InterleavedGradientTests
{
    /// <summary>Each parameter's gradient of the mean cross-entropy over <paramref name="rows"/> of the data.</summary>
    private static float[][] Gradients(Module model, Tensor x, Tensor y, int[] rows)
    {
        var index = Tensor.FromArray(rows.Select(r => (long)r).ToArray(), rows.Length);
        foreach (var p in model.Parameters()) p.Grad = null;
        F.CrossEntropy(model.Forward(x.IndexSelect(0, index)), y.IndexSelect(0, index)).Backward();
        return model.Parameters().Select(p => p.Grad!.ToArray<float>()).ToArray();
    }

    /// <summary>
    /// The equivalence test's CNN (two padded 3x3 convolutions, max-pooling, a Linear) at batch 64 and 48: every
    /// parameter's gradient is bit for bit <c>(g_even + g_odd) / 2</c>, what two processes at half the batch average to:
    /// the convolutions' weight gradients (Winograd's for the second layer by default; also with Force, where the first
    /// takes it too; and with both direct), their bias gradients, the Linear's weight gradient (a product over the batch
    /// small enough for <see cref="Gemm.BatchTreeApplies"/>) and its bias gradient.
    /// </summary>
    [Theory]
    [InlineData(64, "auto")]
    [InlineData(64, "force")]
    [InlineData(64, "direct")]
    [InlineData(48, "auto")]
    public void CnnGradientsOfABatchAreTheMeanOfItsInterleavedHalves(int batch, string winograd)
    {
        var saved = Winograd.t_mode;
        Winograd.t_mode = winograd == "force" ? Winograd.Mode.Force : Winograd.Mode.Auto;
        Winograd.t_directWeightGradient = winograd == "direct";
        try
        {
            var model = EquivalenceRun.Model("cnn", DType.Float32);
            var data = EquivalenceRun.Data(batch, DType.Float32);
            var (x, y) = (data.Inputs, data.Targets);
            var whole = Gradients(model, x, y, Enumerable.Range(0, batch).ToArray());
            var even = Gradients(model, x, y, Enumerable.Range(0, batch).Where(i => i % 2 == 0).ToArray());
            var odd = Gradients(model, x, y, Enumerable.Range(0, batch).Where(i => i % 2 == 1).ToArray());
            var names = model.NamedParameters().Select(p => p.Key).ToArray();
            var differing = new List<string>();
            for (int p = 0; p < whole.Length; p++)
            {
                int diff = 0;
                for (int i = 0; i < whole[p].Length; i++)
                    if (BitConverter.SingleToInt32Bits(whole[p][i]) != BitConverter.SingleToInt32Bits((even[p][i] + odd[p][i]) / 2)) diff++;
                if (diff > 0) differing.Add($"{names[p]} ({diff} of {whole[p].Length})");
            }
            Assert.True(differing.Count == 0, "differing: " + string.Join(", ", differing));
        }
        finally { Winograd.t_mode = saved; Winograd.t_directWeightGradient = false; }
    }
}
