using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// log(softmax(z)) along <paramref name="dim"/>, computed as (z − m) − log Σ exp(z − m) so it never takes the log
    /// of an underflowed 0 (PyTorch: <c>log_softmax</c>). Backward: g − softmax(z) Σ g, in O(n).
    /// </summary>
    public Tensor LogSoftmax(int dim)
    {
        var y = SoftmaxForward(dim, SoftmaxKernels.Mode.LogSoftmax, nameof(LogSoftmax));
        int d = Shapes.WrapDim(dim, Rank, nameof(LogSoftmax));
        return Autograd.Record(y, "LogSoftmaxBackward", [this], g => [g - y.Exp() * g.Sum(d, keepDim: true)], attributes: new DimAttributes(d));
    }
}

internal static partial class GradChecks
{
    internal static readonly int LogSoftmax = Register(nameof(LogSoftmax), static c =>
    {
        foreach (var (s, dim) in DimCases) c.Add($"dim {dim}", x => x[0].LogSoftmax(dim), c.Normal(s));
    });
}
