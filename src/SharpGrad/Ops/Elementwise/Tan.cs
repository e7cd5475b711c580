using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise tangent (radians); <c>d/dx tan x = 1 + tan² x</c> (PyTorch: <c>tan</c>).</summary>
    public Tensor Tan()
    {
        var y = Map1<TanFunction>(this, nameof(Tan));
        return Autograd.Record(y, "TanBackward", [this], g => [g * (y * y + 1.0)]);
    }
}

/// <summary>tan x; the vector form is sin x / cos x from the runtime's vector sine and cosine.</summary>
internal readonly struct TanFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Tan(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Sin(x) / TV.Cos(x);
}

internal static partial class GradChecks
{
    internal static readonly int Tan = Register(nameof(Tan), static c =>
    {
        // Away from the poles at ±π/2.
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Tan(), c.Uniform(-1.3, 1.3, s));
        c.Add("second branch", x => x[0].Tan(), c.Uniform(1.8, 4.4, 6));
    });
}
