using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise cosine (radians); <c>d/dx cos x = −sin x</c> (PyTorch: <c>cos</c>).</summary>
    public Tensor Cos()
    {
        var y = Map1<CosFunction>(this, nameof(Cos));
        return Autograd.Record(y, "CosBackward", [this], g => [-(g * Sin())]);
    }
}

/// <summary>cos x, vectorised through the runtime's vector cosine.</summary>
internal readonly struct CosFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Cos(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Cos(x);
}

internal static partial class GradChecks
{
    internal static readonly int Cos = Register(nameof(Cos), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Cos(), c.Normal(s));
        c.Add("large |x|", x => x[0].Cos(), c.Uniform(-20, 20, 7));
    });
}
