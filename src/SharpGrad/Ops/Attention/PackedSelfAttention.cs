using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Multi-head self-attention straight from a fused in-projection: <paramref name="qkv"/> is [batch, L, 3·E]
        /// (queries, keys, values side by side, as <c>Linear(x, in_proj_weight, in_proj_bias)</c> gives them, E = heads ·
        /// headDim), the result is [batch, L, E] with the heads side by side, ready for the out-projection. Same values as
        /// splitting the three parts into heads ([batch, heads, L, headDim]), <see cref="ScaledDotProductAttention"/>
        /// and merging the heads back, without the six split/merge copies forward and backward: the kernel reads each
        /// head in place with a row stride of 3·E.
        /// </summary>
        /// <param name="qkv">[batch, L, 3·E].</param>
        /// <param name="heads">Heads; E must be a multiple.</param>
        /// <param name="attnMask">Broadcastable to [batch, heads, L, L], in <see cref="ScaledDotProductAttention"/>'s
        /// convention (Bool true = may attend, or additive); null for none.</param>
        /// <param name="dropoutP">Dropout on the attention probabilities.</param>
        /// <param name="isCausal">Query i attends keys 0..i only (not with a mask).</param>
        /// <param name="generator">Source of the dropout seed.</param>
        internal static Tensor PackedSelfAttention(Tensor qkv, int heads, Tensor? attnMask = null, double dropoutP = 0, bool isCausal = false, Generator? generator = null)
        {
            ArgumentNullException.ThrowIfNull(qkv);
            const string op = nameof(PackedSelfAttention);
            if (qkv.Rank != 3 || heads <= 0 || qkv.Size(2) % (3 * heads) != 0 || qkv.Size(2) == 0)
                throw new ArgumentException($"{op}: the packed projection must be [batch, seq, 3·E] with E a positive multiple of the {heads} heads; got {Shapes.Format(qkv.ShapeRef)}.", nameof(qkv));
            if (!qkv.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: the packed projection must be floating point; got {qkv.DType.ToTorchName()}.", nameof(qkv));
            if (!(dropoutP >= 0 && dropoutP < 1)) throw new ArgumentOutOfRangeException(nameof(dropoutP), dropoutP, $"{op}: dropoutP must be in [0, 1).");
            if (isCausal && attnMask is not null) throw new ArgumentException($"{op}: give either attnMask or isCausal, not both.");
            int b = qkv.Size(0), l = qkv.Size(1), e = qkv.Size(2) / 3, hd = e / heads, slices = b * heads;
            var (mask, offsets, rowStride, colStride, maskIsBool) = PreparedMask(attnMask, [b, heads, l, l], qkv.DType, op);
            ulong seed = dropoutP > 0 ? (generator ?? Generator.Default).NextUInt64() : 0;
            var problem = new FlashAttention.Problem(slices, l, l, hd, hd, 1 / Math.Sqrt(hd), isCausal, dropoutP, seed, offsets, rowStride, colStride, maskIsBool, heads);
            var output = Tensor.Uninitialized([b, l, e], qkv.DType);
            var lse = Tensor.Uninitialized([slices, l], qkv.DType);
            long work = (long)slices * l * l * 2 * hd;
            DTypeDispatch.Float(qkv.DType, new AttentionForward(problem, qkv, qkv, qkv, mask, output, lse, work), op);
            return Autograd.Record(output, "PackedSelfAttentionBackward", [qkv], g =>
            {
                if (g.DType != qkv.DType) g = g.To(qkv.DType);
                // Every element is written: each slice clears and fills its head's columns of the three parts.
                var gqkv = Tensor.Uninitialized(qkv.ShapeRef, qkv.DType);
                DTypeDispatch.Float(qkv.DType, new AttentionBackward(problem, qkv, qkv, qkv, mask, output, lse, g, gqkv, gqkv, gqkv, work), op);
                return [gqkv];
            }, differentiableBackward: false);
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int PackedSelfAttention = Register(nameof(PackedSelfAttention), static c =>
        {
            c.Add(x => NN.Functional.PackedSelfAttention(x[0], 2), c.Normal(2, 5, 12));
            c.Add("causal", x => NN.Functional.PackedSelfAttention(x[0], 3, isCausal: true), c.Normal(2, 7, 18));
            c.Add("long causal", x => NN.Functional.PackedSelfAttention(x[0], 1, isCausal: true), c.Normal(1, 70, 6));
            var boolMask = c.Normal(2, 1, 4, 4).Gt(-0.5).LogicalOr(Tensor.FromArray(new[] { true, false, false, false }, 1, 1, 1, 4));
            c.Add("bool mask", x => NN.Functional.PackedSelfAttention(x[0], 2, boolMask), c.Normal(2, 4, 12));
            var additive = c.Normal(4, 4);
            c.Add("additive mask", x => NN.Functional.PackedSelfAttention(x[0], 2, additive), c.Normal(1, 4, 12));
            c.Add("dropout", x => NN.Functional.PackedSelfAttention(x[0], 2, dropoutP: 0.3, generator: new Generator(7)), c.Normal(2, 4, 12));
        });
    }
}
