using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// A transformer's feed-forward block <c>y = GELU(x W1ᵀ + b1) W2ᵀ + b2</c> (exact GELU) as one op, same values as
        /// <c>Linear(Linear(x, W1, b1).Gelu(), W2, b2)</c>. GELU runs in the first product's epilogue on each block while
        /// it is in cache, which also keeps GELU' of its input for the backward (the two share the first part of their
        /// formula); the backward multiplies by it in the epilogue of the product <c>g W2</c>. Two passes over the
        /// [rows, hidden] activations fewer in each direction, and no GELU' evaluated in the backward.
        /// </summary>
        /// <remarks>
        /// The three separate ops are run instead when the operands do not suit the fused kernels (mixed dtypes, a bias
        /// that is not [out], empty dimensions), during a <see cref="Jit"/> capture, and when
        /// <paramref name="oneNode"/> is false and the op is recorded: a tape read op by op (the ONNX exporter traces a
        /// model in eval mode) then sees the Linear, GELU and Linear it knows. The recorded op's backward is first order
        /// only, as GELU's is.
        /// </remarks>
        internal static Tensor FeedForwardGelu(Tensor input, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, bool oneNode = true)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(w1);
            ArgumentNullException.ThrowIfNull(w2);
            bool records = SharpGrad.Autograd.ShouldRecord(input, w1) || SharpGrad.Autograd.ShouldRecord(w2)
                || (b1 is not null && SharpGrad.Autograd.ShouldRecord(b1)) || (b2 is not null && SharpGrad.Autograd.ShouldRecord(b2));
            if (!FeedForwardFuses(input, w1, b1, w2, b2) || Capture.Active is not null || (records && !oneNode))
                return Linear(Linear(input, w1, b1).Gelu(), w2, b2);
            int inF = w1.ShapeRef[1], hidden = w1.ShapeRef[0], outF = w2.ShapeRef[0];
            int rows = input.Numel / inF;
            // GELU' of the first product, for the backward: a forward nothing differentiates computes GELU alone.
            var slope = records ? Tensor.Uninitialized([rows, hidden], input.DType) : null;
            var act = Tensor.Uninitialized([rows, hidden], input.DType);
            var y = Tensor.Uninitialized([.. input.ShapeRef[..^1], outF], input.DType);
            OpProfile.Mark("FeedForwardGelu forward: before");
            DTypeDispatch.Float(input.DType, new FeedForwardGeluForward(input, w1, b1, w2, b2, slope, act, y, rows), nameof(FeedForwardGelu));
            if (!records) return y;
            var x = input;
            Tensor[] inputs = b1 is null
                ? b2 is null ? [x, w1, w2] : [x, w1, w2, b2]
                : b2 is null ? [x, w1, b1, w2] : [x, w1, b1, w2, b2];
            return SharpGrad.Autograd.Record(y, "FeedForwardGeluBackward", inputs, g =>
            {
                if (g.DType != x.DType) g = g.To(x.DType);
                var g2 = g.Rank == 2 ? g : g.Reshape(rows, outF);
                Tensor? dx = null, dw1 = null, db1 = null, dw2 = null, db2 = null;
                OpProfile.Mark("FeedForwardGelu backward: before");
                if (w2.RequiresGrad) dw2 = LinearWeightGrad(g2, act, w2.ShapeRef);
                OpProfile.Mark("FeedForwardGelu backward: dW2");
                if (b2 is not null && b2.RequiresGrad) db2 = g2.Sum(0);
                OpProfile.Mark("FeedForwardGelu backward: db2");
                if (x.RequiresGrad || w1.RequiresGrad || (b1 is not null && b1.RequiresGrad))
                {
                    // dPre = (g W2) · GELU'(pre), the forward's GELU' applied to each block of the product in cache.
                    var dPre = Tensor.Uninitialized([rows, hidden], x.DType);
                    DTypeDispatch.Float(x.DType, new FeedForwardGeluBackward(g2, w2, slope!, dPre), nameof(FeedForwardGelu));
                    OpProfile.Mark("FeedForwardGelu backward: dPre (g W2, GELU')");
                    if (x.RequiresGrad) dx = x.Rank == 2 ? LinearInputGrad(dPre, w1, x.ShapeRef) : LinearInputGrad(dPre, w1).Reshape(x.ShapeRef);
                    OpProfile.Mark("FeedForwardGelu backward: dX");
                    if (w1.RequiresGrad) dw1 = LinearWeightGrad(dPre, x.Rank == 2 ? x : x.Reshape(rows, inF), w1.ShapeRef);
                    OpProfile.Mark("FeedForwardGelu backward: dW1");
                    if (b1 is not null && b1.RequiresGrad) db1 = dPre.Sum(0);
                    OpProfile.Mark("FeedForwardGelu backward: db1");
                }
                return b1 is null
                    ? b2 is null ? [dx, dw1, dw2] : [dx, dw1, dw2, db2]
                    : b2 is null ? [dx, dw1, db1, dw2] : [dx, dw1, db1, dw2, db2];
            }, differentiableBackward: false);
        }

        /// <summary>Whether the fused kernels take these operands: one float dtype, 2-d weights that chain, biases [out], no empty dimension.</summary>
        private static bool FeedForwardFuses(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2) =>
            w1.Rank == 2 && w2.Rank == 2 && x.Rank > 0 && x.ShapeRef[^1] == w1.ShapeRef[1] && w2.ShapeRef[1] == w1.ShapeRef[0]
            && x.Numel > 0 && w1.Numel > 0 && w2.Numel > 0
            && FusesWith(x, w1, b1) && FusesWith(x, w2, b2);

        /// <summary>act = GELU(pre) and slope = GELU'(pre) for pre = x W1ᵀ + b1 in the first product's epilogue, then y = act W2ᵀ + b2.</summary>
        private readonly struct FeedForwardGeluForward(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, Tensor? slope, Tensor act, Tensor y, int rows) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int inF = w1.ShapeRef[1], hidden = w1.ShapeRef[0], outF = w2.ShapeRef[0];
                Gemm.MultiplyGelu(false, true, rows, hidden, inF, x.Span<T>(), inF, w1.Span<T>(), inF, act.Span<T>(), hidden,
                    b1 is null ? default : b1.Span<T>(), slope is null ? GemmActivation.Gelu : GemmActivation.GeluKeepDerivative,
                    slope is null ? default : slope.Span<T>());
                Gemm.Multiply(false, true, rows, outF, hidden, T.One, act.Span<T>(), hidden, w2.Span<T>(), hidden, T.Zero, y.Span<T>(), outF,
                    b2 is null ? default : b2.Span<T>());
            }
        }

        /// <summary>dPre = (g W2) · slope, slope = GELU'(pre) from the forward, applied in the product's epilogue.</summary>
        private readonly struct FeedForwardGeluBackward(Tensor g, Tensor w2, Tensor slope, Tensor dPre) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int rows = g.ShapeRef[0], outF = w2.ShapeRef[0], hidden = w2.ShapeRef[1];
                Gemm.MultiplyGelu(false, false, rows, hidden, outF, g.Span<T>(), outF, w2.Span<T>(), hidden, dPre.Span<T>(), hidden,
                    default, GemmActivation.ScaleByAux, slope.Span<T>());
            }
        }
    }
}

namespace SharpGrad
{
    using F = SharpGrad.NN.Functional;

    internal static partial class GradChecks
    {
        internal static readonly int FeedForwardGelu = Register(nameof(FeedForwardGelu), static c =>
        {
            c.Add((Func<Tensor[], Tensor>)(x => F.FeedForwardGelu(x[0], x[1], x[2], x[3], x[4])),
                c.Normal(4, 6), c.Normal(5, 6), c.Normal(5), c.Normal(3, 5), c.Normal(3));
            c.Add("batch of sequences", x => F.FeedForwardGelu(x[0], x[1], x[2], x[3], x[4]),
                c.Normal(2, 3, 4), c.Normal(7, 4), c.Normal(7), c.Normal(4, 7), c.Normal(4));
            c.Add("no biases", x => F.FeedForwardGelu(x[0], x[1], null, x[2], null), c.Normal(3, 4), c.Normal(6, 4), c.Normal(2, 6));
            c.Add("first bias only", x => F.FeedForwardGelu(x[0], x[1], x[2], x[3], null), c.Normal(3, 4), c.Normal(6, 4), c.Normal(6), c.Normal(2, 6));
            // Larger than the direct small-product loops take: the packed kernels' epilogues.
            c.Add("packed products", x => F.FeedForwardGelu(x[0], x[1], x[2], x[3], x[4]),
                c.Normal(20, 9), c.Normal(33, 9), c.Normal(33), c.Normal(10, 33), c.Normal(10));
        });
    }
}
