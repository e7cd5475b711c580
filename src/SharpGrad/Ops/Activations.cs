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
    /// The first-order backward is one pass (<c>g · (x &gt; 0)</c> into one new tensor); under <c>createGraph</c> it is
    /// the same product of recorded ops, so it can be differentiated again.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Relu()
    {
        EnsureFloatingPoint(nameof(Relu));
        var y = Uninitialized(_shape, DType);
        if (DType == DType.Float32) ReluParts<float>(this, null, y);
        else ReluParts<double>(this, null, y);
        return Autograd.Record(y, "ReluBackward", [this], g => [ReluGradient(this, g)]);
    }

    /// <summary>
    /// ReLU's backward, <c>dx = g · (positive &gt; 0)</c>, from a tensor that is positive exactly where the ReLU's input
    /// was: the input itself, or the output (a fused op keeps only that). One kernel pass; under createGraph (or for a
    /// gradient of another dtype or shape) the same product of recorded ops, so it can be differentiated again.
    /// </summary>
    internal static Tensor ReluGradient(Tensor positive, Tensor g)
    {
        if (Autograd.IsGradEnabled || g.DType != positive.DType || !Shapes.Equal(g._shape, positive._shape))
            return g * MapBinary<GreaterOp>(positive, positive.ScalarLike(0), nameof(Relu));
        var dx = Uninitialized(positive._shape, positive.DType);
        if (positive.DType == DType.Float32) ReluParts<float>(positive, g, dx);
        else ReluParts<double>(positive, g, dx);
        return dx;
    }

    /// <summary>Elements per block when a ReLU pass is split over the cores.</summary>
    private const int ReluBlock = 1 << 14;

    /// <summary>
    /// ReLU forward (<paramref name="g"/> null: y = max(x, 0)) or backward (y = g where x &gt; 0, else 0), in blocks split
    /// over the cores when the tensor is large: both passes only stream memory, which one core alone does not saturate.
    /// Elementwise, so the result does not depend on the split.
    /// </summary>
    private static void ReluParts<T>(Tensor x, Tensor? g, Tensor y) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = y.Numel;
        if (n < 16 * ReluBlock)
        {
            // Small (XOR's 4x2, a batch-1 layer): one call, no closure, no worker.
            if (g is null) FusedSimd.Relu<T>(x.Span<T>(), y.Span<T>());
            else ActivationKernels.ReluBackward<T>(x.Span<T>(), g.Span<T>(), y.Span<T>());
            return;
        }
        ReluBlocks<T>(x.Array<T>(), g?.Array<T>(), y.Array<T>(), n);
    }

    private static void ReluBlocks<T>(T[] xs, T[]? gs, T[] ys, int n) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int blocks = (n + ReluBlock - 1) / ReluBlock;
        RangeWork.Run(blocks, (long)n * (gs is null ? 2 : 3), (first, last) =>
        {
            int from = first * ReluBlock, length = Math.Min(n, last * ReluBlock) - from;
            if (gs is null) FusedSimd.Relu<T>(xs.AsSpan(from, length), ys.AsSpan(from, length));
            else ActivationKernels.ReluBackward<T>(xs.AsSpan(from, length), gs.AsSpan(from, length), ys.AsSpan(from, length));
        });
    }

    /// <summary>Elementwise x for x &gt; 0 and slope·x otherwise (PyTorch: <c>leaky_relu</c>, default slope 0.01).</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01)
    {
        EnsureFloatingPoint(nameof(LeakyRelu));
        var positive = MapBinary<GreaterOp>(this, ScalarLike(0), nameof(LeakyRelu));
        var factor = positive + (1.0 - positive) * negativeSlope; // 1 where x > 0, slope elsewhere
        var y = MapBinary<MultiplyOp>(this, factor, nameof(LeakyRelu));
        return Autograd.Record(y, "LeakyReluBackward", [this], g => [g * factor], attributes: new ScalarAttributes(negativeSlope));
    }

    /// <summary>
    /// Elementwise logistic sigmoid S(x) = 1 / (1 + e^-x) (PyTorch: <c>sigmoid</c>). Saturates to exactly 0 or 1 for
    /// large |x| without NaN. The backward uses S'(x) = S(x) S(-x) rather than S(1 - S): the same value, but S(-x) keeps
    /// its precision where 1 - S(x) rounds to 0, so S'(100) is 3.7e-44 in float64 instead of 0.
    /// </summary>
    public Tensor Sigmoid()
    {
        var y = MapUnary<SigmoidOp>(this, nameof(Sigmoid));
        return Autograd.Record(y, "SigmoidBackward", [this], g => [g * y * (-this).Sigmoid()]);
    }

    /// <summary>Elementwise hyperbolic tangent; d/dx = 1 - tanh²x (PyTorch: <c>tanh</c>).</summary>
    public Tensor Tanh()
    {
        var y = MapUnary<TanhOp>(this, nameof(Tanh));
        return Autograd.Record(y, "TanhBackward", [this], g => [g * (1.0 - y * y)]);
    }

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
        if (valueAtZero != 0) y = MapBinary<AddOp>(y, MapBinary<MultiplyOp>(MapBinary<EqualOp>(this, zero, nameof(Heaviside)), ScalarLike(valueAtZero), nameof(Heaviside)), nameof(Heaviside));
        return Autograd.Record(y, "HeavisideBackward", [this], g => [ZerosLike(this)]);
    }

    /// <summary>
    /// Elementwise softplus <c>log(1 + e^(βx)) / β</c>, computed as <c>(max(βx, 0) + log1p(e^−|βx|)) / β</c> so it never
    /// overflows; where <c>βx &gt; threshold</c> it is x itself, as in PyTorch (PyTorch: <c>softplus(beta=1,
    /// threshold=20)</c>). Its derivative is <c>σ(βx)</c> (1/2 at 0), and 1 above the threshold.
    /// </summary>
    public Tensor Softplus(double beta = 1, double threshold = 20)
    {
        EnsureFloatingPoint(nameof(Softplus));
        if (beta == 0 || double.IsNaN(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "Softplus: beta must be a non-zero number.");
        Tensor y;
        using (Autograd.NoGrad())
        {
            var bx = beta == 1 ? this : this * beta;
            var soft = bx.Relu() + (-bx.Abs()).Exp().Log1p();
            if (beta != 1) soft = soft / beta;
            y = Where(bx.Gt(threshold), this, soft);
        }
        y = y.Detach();
        return Autograd.Record(y, "SoftplusBackward", [this], g =>
        {
            var bx = beta == 1 ? this : this * beta;
            return [g * Where(bx.Gt(threshold), ScalarLike(1), bx.Sigmoid())];
        }, attributes: new SoftplusAttributes(beta, threshold));
    }
}
