using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise max(x, 0) (PyTorch: <c>relu</c>). Its derivative is the step H(x) away from 0; at exactly 0 the
    /// backward uses the subgradient 0, as PyTorch does (any value in [0, 1] is a valid subgradient there).
    /// </summary>
    /// <remarks>
    /// The backward is <see cref="ReluGrad"/>, <c>g · [x &gt; 0]</c>: one pass into one new tensor, and itself a
    /// recorded op, so under <c>createGraph</c> it can be differentiated again.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Relu()
    {
        EnsureFloatingPoint(nameof(Relu));
        var y = Uninitialized(_shape, DType);
        if (DType == DType.Float32) ReluParts<float>(this, null, y);
        else ReluParts<double>(this, null, y);
        return Autograd.ShouldRecord(this) ? RecordRelu(y, this) : y;
    }

    private static Tensor RecordRelu(Tensor y, Tensor x) => Autograd.Record(y, "ReluBackward", [x], g => [ReluGrad(g, x)]);

    /// <summary>
    /// ReLU's backward as an op, <c>g · [positive &gt; 0]</c>, from a tensor that is positive exactly where the ReLU's
    /// input was (the input itself, or the output: a fused Linear+ReLU keeps only that). The mask is a constant of the
    /// op (its derivative is 0 almost everywhere), so the op is linear in g and its own backward is
    /// <c>ReluGrad(gg, positive)</c>: a double backward through ReLU works, and costs one pass per order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Tensor ReluGrad(Tensor g, Tensor positive)
    {
        var (a, p) = Promote(g, positive, "ReluBackward");
        Tensor d;
        if (Shapes.Equal(a._shape, p._shape))
        {
            d = Uninitialized(p._shape, p.DType);
            if (p.DType == DType.Float32) ReluParts<float>(a, p, d);
            else ReluParts<double>(a, p, d);
        }
        else d = MapBinary<Broadcasting<ReluGradFunction>>(a, p, "ReluBackward");
        return Autograd.ShouldRecord(a) ? RecordReluGrad(d, a, p) : d;
    }

    private static Tensor RecordReluGrad(Tensor d, Tensor g, Tensor positive) =>
        Autograd.Record(d, "ReluGradBackward", [g], gg => [ReluGrad(gg, positive)]);

    /// <summary>Elements per block when a ReLU pass is split over the cores.</summary>
    private const int ReluBlock = 1 << 14;

    /// <summary>
    /// ReLU forward (<paramref name="p"/> null: d = max(a, 0)) or backward (d = a · [p &gt; 0]), in blocks split over
    /// the cores when the tensor is large: both passes only stream memory, which one core alone does not saturate.
    /// Elementwise, so the result does not depend on the split.
    /// </summary>
    private static void ReluParts<T>(Tensor a, Tensor? p, Tensor d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReluArrays(a.Array<T>(), p?.Array<T>(), d.Array<T>());
        Capture.Active?.Relu(a, p, d, p is null ? nameof(Relu) : "ReluBackward");
    }

    internal static void ReluArrays<T>(T[] a, T[]? p, T[] d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = d.Length;
        if (n < 16 * ReluBlock)
        {
            // Small (XOR's 4x2, a batch-1 layer): one call, no closure, no worker.
            if (p is null) Map.Unary<T, ReluFunction>(a, d);
            else Map.Binary<T, ReluGradFunction>(a, p, d);
            return;
        }
        ReluBlocks<T>(a, p, d, n);
    }

    private static void ReluBlocks<T>(T[] a, T[]? p, T[] d, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = (n + ReluBlock - 1) / ReluBlock;
        RangeWork.Run(blocks, (long)n * (p is null ? 2 : 3), (first, last) =>
        {
            int from = first * ReluBlock, length = Math.Min(n, last * ReluBlock) - from;
            if (p is null) Map.Unary<T, ReluFunction>(a.AsSpan(from, length), d.AsSpan(from, length));
            else Map.Binary<T, ReluGradFunction>(a.AsSpan(from, length), p.AsSpan(from, length), d.AsSpan(from, length));
        });
    }
}

/// <summary>
/// max(x, 0) with the IEEE 754-2019 maximum: NaN stays NaN and −0 becomes +0 (x is kept where x &gt; 0 or x is NaN).
/// </summary>
internal readonly struct ReluFunction : IUnaryFunction
{
    public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero || T.IsNaN(x) ? x : T.Zero;
    public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
        x & (TV.GreaterThan(x, TV.Zero) | ~TV.Equals(x, x));
}

/// <summary>
/// <c>g · [p &gt; 0]</c> as a product with 1 or 0 (not a select), so NaN or ±∞ in g still give NaN where p ≤ 0, as
/// the composite <c>g * (p &gt; 0)</c> does.
/// </summary>
internal readonly struct ReluGradFunction : IBinaryFunction
{
    public static T Apply<T>(T g, T p) where T : unmanaged, IFloatingPointIeee754<T> => g * (p > T.Zero ? T.One : T.Zero);
    public static TV Apply<TV, T>(TV g, TV p) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
        g * (TV.GreaterThan(p, TV.Zero) & TV.One);
}

internal static partial class GradChecks
{
    internal static readonly int Relu = Register(nameof(Relu), static c =>
    {
        foreach (var s in GradCheckBuilder.ElementwiseShapes) c.Add(x => x[0].Relu(), c.AwayFromZero(s));
        // The backward op itself, in g (the mask is a constant): what a double backward through ReLU runs.
        c.Add("grad", x => Tensor.ReluGrad(x[0], x[1].Detach()), c.Normal(2, 3), c.AwayFromZero(2, 3));
        c.Add("grad, broadcast g", x => Tensor.ReluGrad(x[0], x[1].Detach()), c.Normal(3), c.AwayFromZero(2, 3));
    });
}
