using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Elementwise natural logarithm; d/dx = 1/x (PyTorch: <c>log</c>).</summary>
    public Tensor Log()
    {
        return Unary<LogFunction>(this, nameof(Log), static (y, x) => Autograd.Record(y, "LogBackward", [x], g => [g / x]));
    }
}

/// <summary>ln x (NaN below 0, −∞ at 0).</summary>
internal readonly struct LogFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Log(x);
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => TV.Log(x);
}

internal static partial class GradChecks
{
    internal static readonly int Log = Register(nameof(Log), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Log(), c.Positive(s));
    });
}
