using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The Heaviside step H(x): 0 for x &lt; 0, 1 for x &gt; 0 and <paramref name="valueAtZero"/> at 0 (1/2 by default, the
    /// convention of seed 001; PyTorch: <c>heaviside(x, values)</c>). Its derivative is 0 wherever it exists, so the
    /// backward passes zeros.
    /// </summary>
    public Tensor Heaviside(double valueAtZero = 0.5)
    {
        EnsureFloatingPoint(nameof(Heaviside));
        var zero = ScalarLike(0);
        var y = MapBinary<GreaterOp>(this, zero, nameof(Heaviside));
        if (valueAtZero != 0)
            y = MapBinary<Broadcasting<AddFunction>>(y, MapScalar<MulFunction>(MapBinary<EqualOp>(this, zero, nameof(Heaviside)), valueAtZero, scalarFirst: false), nameof(Heaviside));
        return Autograd.Record(y, "HeavisideBackward", [this], g => [ZerosLike(this)]);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Heaviside = Register(nameof(Heaviside), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Heaviside(), c.AwayFromZero(s));
    });
}
