using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise x for x &gt; 0 and slope·x otherwise (PyTorch: <c>leaky_relu</c>, default slope 0.01); the
    /// derivative is the same factor (1 or the slope), a constant of the backward.
    /// </summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01)
    {
        EnsureFloatingPoint(nameof(LeakyRelu));
        var positive = MapBinary<GreaterOp>(this, ScalarLike(0), nameof(LeakyRelu));
        var factor = positive + (1.0 - positive) * negativeSlope; // exactly 1 where x > 0, the slope elsewhere (a constant: not recorded)
        var y = MapBinary<Broadcasting<MulFunction>>(this, factor, nameof(LeakyRelu));
        return Autograd.ShouldRecord(this)
            ? Autograd.Record(y, "LeakyReluBackward", [this], g => [g * factor], attributes: new ScalarAttributes(negativeSlope))
            : y;
    }
}

internal static partial class GradChecks
{
    internal static readonly int LeakyRelu = Register(nameof(LeakyRelu), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].LeakyRelu(0.1), c.AwayFromZero(s));
        c.Add("default slope", x => x[0].LeakyRelu(), c.AwayFromZero(6));
    });
}
