using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise sine (radians); <c>d/dx sin x = cos x</c> (PyTorch: <c>sin</c>).</summary>
    public Tensor Sin()
    {
        var y = Map1<SinFunction>(this, nameof(Sin));
        return Autograd.Record(y, "SinBackward", [this], g => [g * Cos()]);
    }
}

/// <summary>sin x, vectorised through the runtime's vector sine.</summary>
internal readonly struct SinFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Sin(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Sin(x);
}

internal static partial class GradChecks
{
    internal static readonly int Sin = Register(nameof(Sin), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Sin(), c.Normal(s));
        c.Add("large |x|", x => x[0].Sin(), c.Uniform(-20, 20, 7));
    });
}
