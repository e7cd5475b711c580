using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

// Shared by the arithmetic ops (Add, Sub, Mul, Div): the tensor-scalar forms run the op's own binary function with
// one operand a single value, without making a tensor of the scalar; each op records its own rule for them.
public sealed partial class Tensor
{
    private static bool IsFloat(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.DType.IsFloatingPoint();
    }

    /// <summary>
    /// <c>f(x, s)</c>, or <c>f(s, x)</c> when <paramref name="scalarFirst"/>, elementwise for a floating-point tensor x
    /// and a scalar s rounded to x's dtype, into a new tensor of x's shape. Not recorded: the caller records its rule.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor MapScalar<TOp>(Tensor x, double s, bool scalarFirst) where TOp : IBinaryFunction
    {
        var y = Uninitialized(x._shape, x.DType);
        if (x.DType == DType.Float32)
        {
            if (scalarFirst) Map.Binary<float, TOp>((float)s, x.Span<float>(), y.Span<float>());
            else Map.Binary<float, TOp>(x.Span<float>(), (float)s, y.Span<float>());
        }
        else
        {
            if (scalarFirst) Map.Binary<double, TOp>(s, x.Span<double>(), y.Span<double>());
            else Map.Binary<double, TOp>(x.Span<double>(), s, y.Span<double>());
        }
        return y;
    }
}

internal static partial class GradChecks
{
    /// <summary>The operand shapes binary elementwise ops are checked at: equal, broadcast either way, 0-d with n-d.</summary>
    internal static int[][][] BinaryShapes => [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [3, 1]], [[], [3]], [[2, 1, 3], []]];
}
