using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

// The skeleton the elementwise ops in this folder share: run the op's function struct, then record its rule only when
// the result is to be recorded (Autograd.ShouldRecord). Each op passes its rule as a static lambda that builds the
// backward closure, so an unrecorded call (inference, a first-order backward pass) allocates no closure at all.
public sealed partial class Tensor
{
    /// <summary><c>f(x)</c> elementwise; <paramref name="record"/>(y, x) records the op's rule when x is to be recorded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Unary<TOp>(Tensor x, string op, Func<Tensor, Tensor, Tensor> record) where TOp : IUnaryFunction
    {
        var y = Map1<TOp>(x, op);
        return Autograd.ShouldRecord(x) ? record(y, x) : y;
    }

    /// <summary>
    /// <c>f(a, b)</c> elementwise with type promotion and broadcasting; <paramref name="record"/>(y, a, b) records the
    /// op's rule (with the promoted operands) when either is to be recorded.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Binary<TOp>(Tensor a, Tensor b, string op, Func<Tensor, Tensor, Tensor, Tensor> record) where TOp : IBinaryFunction
    {
        (a, b) = Promote(a, b, op);
        var y = MapBinary<Broadcasting<TOp>>(a, b, op);
        return Autograd.ShouldRecord(a, b) ? record(y, a, b) : y;
    }

    /// <summary>
    /// <c>f(x, s)</c>, or <c>f(s, x)</c> when <paramref name="scalarFirst"/>, for a floating-point tensor x and a scalar s
    /// rounded to x's dtype, without making a tensor of the scalar; <paramref name="record"/>(y, x, s) records the rule.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor Scalar<TOp>(Tensor x, double s, bool scalarFirst, Func<Tensor, Tensor, double, Tensor> record) where TOp : IBinaryFunction
    {
        var y = MapScalar<TOp>(x, s, scalarFirst);
        return Autograd.ShouldRecord(x) ? record(y, x, s) : y;
    }

    /// <summary>The unrecorded kernel of <see cref="Scalar{TOp}"/>, into a new tensor of x's shape and dtype.</summary>
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
        Capture.Active?.Scalar<TOp>(x, s, scalarFirst, y, typeof(TOp).Name);
        return y;
    }

    /// <summary>Whether a tensor-scalar operator can take the scalar path (a floating-point tensor); null is refused.</summary>
    private static bool IsFloat(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return t.DType.IsFloatingPoint();
    }
}

internal static partial class GradChecks
{
    /// <summary>The operand shapes binary elementwise ops are checked at: equal, broadcast either way, 0-d with n-d.</summary>
    internal static int[][][] BinaryShapes => [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [3, 1]], [[], [3]], [[2, 1, 3], []]];
}
