using SharpGrad.NN;
using F = SharpGrad.NN.Functional;

namespace SharpGrad.Tests.NN;

/// <summary>Issue 17 item 4: PyTorch's dtype rule for layers and class targets.</summary>
public class DTypeRuleTests
{
    private static Tensor Batch(DType dtype, params int[] shape) => Tensor.Randn(shape, new Generator(1), dtype);

    private static void AssertNamesBoth(Action forward, string layer)
    {
        var e = Assert.Throws<ArgumentException>(forward);
        Assert.Contains(layer, e.Message);
        Assert.Contains("input is Float64", e.Message);
        Assert.Contains("Float32", e.Message);
        Assert.Contains(".To(DType.Float32)", e.Message);
    }

    [Fact]
    public void AFloat64BatchIntoAFloat32ModelIsAnErrorNotAPromotion()
    {
        AssertNamesBoth(() => new Linear(4, 3).Forward(Batch(DType.Float64, 5, 4)), "Linear");
        // Sequential runs Linear + ReLU as one fused op: the same rule there.
        AssertNamesBoth(() => new Sequential(new Linear(4, 3), new ReLU()).Forward(Batch(DType.Float64, 5, 4)), "Linear");
        AssertNamesBoth(() => new Conv2d(1, 2, 3).Forward(Batch(DType.Float64, 2, 1, 6, 6)), "Conv2d");
        AssertNamesBoth(() => new Conv1d(1, 2, 3).Forward(Batch(DType.Float64, 2, 1, 6)), "Conv1d");
        AssertNamesBoth(() => new BatchNorm1d(4).Forward(Batch(DType.Float64, 5, 4)), "BatchNorm1d");
        AssertNamesBoth(() => new LayerNorm([4]).Forward(Batch(DType.Float64, 5, 4)), "LayerNorm");
        AssertNamesBoth(() => new LSTMCell(4, 3).Forward(Batch(DType.Float64, 5, 4)), "LSTMCell");
        AssertNamesBoth(() => new MultiheadAttention(4, 2).Forward(Batch(DType.Float64, 3, 2, 4)), "MultiheadAttention");
    }

    [Fact]
    public void MatchingDTypesWorkAndPlainTensorArithmeticStillPromotes()
    {
        var y = new Linear(4, 3, dtype: DType.Float64).Forward(Batch(DType.Float64, 5, 4));
        Assert.Equal(DType.Float64, y.DType);
        Assert.Equal(DType.Float32, new Linear(4, 3).Forward(Batch(DType.Float64, 5, 4).To(DType.Float32)).DType);
        // Between tensors PyTorch promotes (float32 + float64 -> float64), and so do we.
        var sum = Tensor.Ones([2], DType.Float32) + Tensor.Ones([2], DType.Float64);
        Assert.Equal(DType.Float64, sum.DType);
        Assert.Equal(new[] { 2.0, 2.0 }, sum.ToArray<double>());
    }

    [Fact]
    public void Float64LabelsGivenToCrossEntropySayClassTargetsMustBeInt64()
    {
        var logits = Batch(DType.Float32, 5, 3);
        var labels = Tensor.FromArray(new double[] { 0, 2, 1, 1, 0 });
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(logits, labels));
        Assert.Contains("class targets must be Int64", e.Message);
        Assert.Contains("Float64", e.Message);
        Assert.Contains(".To(DType.Int64)", e.Message);
        var n = Assert.Throws<ArgumentException>(() => F.NllLoss(logits.LogSoftmax(1), labels));
        Assert.Contains("class targets must be Int64", n.Message);
        // Converted, they give the loss computed by hand: mean of -log softmax at the labels.
        var p = logits.LogSoftmax(1).ToArray<float>();
        double expected = -(p[0] + p[3 + 2] + p[6 + 1] + p[9 + 1] + p[12 + 0]) / 5;
        Assert.Equal(expected, F.CrossEntropy(logits, labels.To(DType.Int64)).Item(), 5);
        // Probabilities shaped like the input are still accepted as soft targets.
        var soft = Tensor.Full([5, 3], 1.0 / 3);
        Assert.True(double.IsFinite(F.CrossEntropy(logits, soft).Item()));
    }
}
