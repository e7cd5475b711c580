using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Mean of all elements (PyTorch: <c>mean()</c>); 0 / 0 = NaN for an empty tensor, as in PyTorch.</summary>
    public Tensor Mean()
    {
        EnsureFloatingPoint(nameof(Mean));
        var y = Uninitialized(ScalarShape, DType);
        DTypeDispatch.Float(DType, new MeanKernel(this, y), nameof(Mean));
        return Autograd.ShouldRecord(this) ? RecordMean(y, this) : y;
    }

    /// <summary>Mean over <paramref name="dim"/> (PyTorch: <c>mean(dim, keepdim)</c>): the sum over dim divided by its size.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Sum(dim, keepDim) / _shape[Shapes.WrapDim(dim, Rank, nameof(Mean))];

    /// <summary>∂mean/∂x = 1/n everywhere: g / n broadcast to x's shape (a fill), recorded when g is.</summary>
    private static Tensor RecordMean(Tensor y, Tensor x) => Autograd.Record(y, "MeanBackward", [x], g => [(g / x.Numel).ExpandTo(x._shape)]);

    private readonly struct MeanKernel(Tensor x, Tensor y) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(x);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => y.Span<T>()[0] = Vec.Sum<T>(x.Span<T>()) / T.CreateTruncating(x.Numel);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Mean = Register(nameof(Mean), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Mean(), c.Normal(s));
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => x[0].Mean(dim), c.Normal(s));
        c.Add("second order", x => Gradient(t => t.Mean() * t.Mean(), x[0]) * x[0], c.Normal(2, 3));
    });
}
