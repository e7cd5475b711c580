using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Attention of <paramref name="query"/> [..., Lq, D] over <paramref name="key"/> [..., Lk, D] and
        /// <paramref name="value"/> [..., Lk, Dv]: <c>softmax(Q Kᵀ · scale + mask) V</c>, [..., Lq, Dv] (PyTorch 2:
        /// <c>torch.nn.functional.scaled_dot_product_attention</c>). The leading dimensions (batch, heads) must agree.
        /// </summary>
        /// <param name="query">Queries, usually [batch, heads, Lq, headDim].</param>
        /// <param name="key">Keys, [..., Lk, D].</param>
        /// <param name="value">Values, [..., Lk, Dv].</param>
        /// <param name="attnMask">Broadcastable to [..., Lq, Lk]: a Bool mask where true means "may attend" (PyTorch 2's
        /// convention), or a floating-point mask added to the scores (−∞ to block).</param>
        /// <param name="dropoutP">Dropout on the attention probabilities (pass 0 in evaluation).</param>
        /// <param name="isCausal">Query i attends keys 0..i only (cannot be combined with a mask).</param>
        /// <param name="scale">Score scale; 1/√D by default.</param>
        /// <param name="generator">Source of the dropout seed (the default generator when null).</param>
        /// <remarks>
        /// Computed by a fused kernel (<see cref="FlashAttention"/>) that never holds more than one block of scores per
        /// thread, so memory grows linearly in the sequence length; its backward recomputes the blocks. A row whose keys
        /// are all masked gives NaN, as in PyTorch. First-order gradients only: a double backward is refused.
        /// </remarks>
        public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, double dropoutP = 0,
            bool isCausal = false, double? scale = null, Generator? generator = null)
        {
            ArgumentNullException.ThrowIfNull(query);
            ArgumentNullException.ThrowIfNull(key);
            ArgumentNullException.ThrowIfNull(value);
            const string op = nameof(ScaledDotProductAttention);
            if (query.Rank < 2 || key.Rank != query.Rank || value.Rank != query.Rank)
                throw new ArgumentException($"{op}: query, key and value must have the same rank (at least 2); got {Shapes.Format(query.ShapeRef)}, {Shapes.Format(key.ShapeRef)}, {Shapes.Format(value.ShapeRef)}.");
            int rank = query.Rank, lq = query.Size(-2), d = query.Size(-1), lk = key.Size(-2), dv = value.Size(-1);
            for (int i = 0; i < rank - 2; i++)
                if (key.Size(i) != query.Size(i) || value.Size(i) != query.Size(i))
                    throw new ArgumentException($"{op}: the leading (batch, head) dimensions must agree: query {Shapes.Format(query.ShapeRef)}, key {Shapes.Format(key.ShapeRef)}, value {Shapes.Format(value.ShapeRef)}.");
            if (key.Size(-1) != d) throw new ArgumentException($"{op}: query and key must have the same feature size; got {Shapes.Format(query.ShapeRef)} and {Shapes.Format(key.ShapeRef)}.");
            if (value.Size(-2) != lk) throw new ArgumentException($"{op}: key and value must have the same sequence length; got {Shapes.Format(key.ShapeRef)} and {Shapes.Format(value.ShapeRef)}.");
            if (!query.DType.IsFloatingPoint() || key.DType != query.DType || value.DType != query.DType)
                throw new ArgumentException($"{op}: query, key and value must share one floating-point dtype; got {query.DType.ToTorchName()}, {key.DType.ToTorchName()}, {value.DType.ToTorchName()}.");
            if (!(dropoutP >= 0 && dropoutP < 1)) throw new ArgumentOutOfRangeException(nameof(dropoutP), dropoutP, $"{op}: dropoutP must be in [0, 1).");
            if (isCausal && attnMask is not null) throw new ArgumentException($"{op}: give either attnMask or isCausal, not both.");

            int[] lead = query.ShapeRef[..(rank - 2)];
            int slices = Shapes.Numel(lead);
            var (mask, offsets, rowStride, colStride, maskIsBool) = PreparedMask(attnMask, [.. lead, lq, lk], query.DType, op);
            ulong seed = dropoutP > 0 ? (generator ?? Generator.Default).NextUInt64() : 0;
            var problem = new FlashAttention.Problem(slices, lq, lk, d, dv, scale ?? 1 / Math.Sqrt(d), isCausal, dropoutP, seed, offsets, rowStride, colStride, maskIsBool);

            var output = Tensor.Uninitialized([.. lead, lq, dv], query.DType);
            var lse = Tensor.Uninitialized([slices, lq], query.DType);
            long work = (long)slices * lq * lk * (d + dv);
            DTypeDispatch.Float(query.DType, new AttentionForward(problem, query, key, value, mask, output, lse, work), op);
            return Autograd.Record(output, "ScaledDotProductAttentionBackward", [query, key, value], g =>
            {
                var gq = Tensor.Uninitialized(query.ShapeRef, query.DType);
                var gk = Tensor.Uninitialized(key.ShapeRef, key.DType);
                var gv = Tensor.Uninitialized(value.ShapeRef, value.DType);
                DTypeDispatch.Float(query.DType, new AttentionBackward(problem, query, key, value, mask, output, lse, g, gq, gk, gv, work), op);
                return [gq, gk, gv];
            }, differentiableBackward: false, attributes: new AttentionAttributes(attnMask?.Detach(), problem.Scale, isCausal, dropoutP));
        }

        /// <summary>
        /// The attention mask checked (Bool, or floating point added to the scores; broadcastable to <paramref name="target"/>,
        /// the scores' shape [lead..., Lq, Lk]), in the kernel's dtype and detached, with its per-slice offsets and
        /// strides; all null/0 without a mask.
        /// </summary>
        private static (Tensor? Mask, int[]? Offsets, int RowStride, int ColStride, bool IsBool) PreparedMask(Tensor? attnMask, int[] target, DType dtype, string op)
        {
            if (attnMask is null) return (null, null, 0, 0, false);
            bool isBool = attnMask.DType == DType.Bool;
            if (!isBool && !attnMask.DType.IsFloatingPoint())
                throw new ArgumentException($"{op}: attnMask must be Bool (true = attend) or floating point (added to the scores); got {attnMask.DType.ToTorchName()}.", nameof(attnMask));
            if (attnMask.Rank > target.Length || !Shapes.Equal(Shapes.Broadcast(attnMask.ShapeRef, target, op), target))
                throw new ArgumentException($"{op}: attnMask of shape {Shapes.Format(attnMask.ShapeRef)} does not broadcast to the scores' shape {Shapes.Format(target)}.", nameof(attnMask));
            var (offsets, rowStride, colStride) = MaskLayout(attnMask.ShapeRef, target);
            return (attnMask.To(dtype).Detach(), offsets, rowStride, colStride, isBool);
        }

        /// <summary>Per-slice offsets and the row and column strides of a mask broadcast to [lead..., Lq, Lk].</summary>
        private static (int[] Offsets, int RowStride, int ColStride) MaskLayout(int[] maskShape, int[] target)
        {
            int rank = target.Length, shift = rank - maskShape.Length;
            var stride = new int[rank];
            for (int i = rank - 1, s = 1; i >= shift; i--)
            {
                int size = maskShape[i - shift];
                stride[i] = size == 1 ? 0 : s;
                s *= size;
            }
            int leadRank = rank - 2, slices = 1;
            for (int i = 0; i < leadRank; i++) slices *= target[i];
            var offsets = new int[slices];
            var index = new int[leadRank];
            for (int n = 0, offset = 0; n < slices; n++)
            {
                offsets[n] = offset;
                for (int i = leadRank - 1; i >= 0; i--)
                {
                    offset += stride[i];
                    if (++index[i] < target[i]) break;
                    offset -= stride[i] * target[i];
                    index[i] = 0;
                }
            }
            return (offsets, stride[rank - 2], stride[rank - 1]);
        }

        private readonly struct AttentionForward(FlashAttention.Problem pr, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor o, Tensor lse, long work) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                T[] qa = q.Array<T>(), ka = k.Array<T>(), va = v.Array<T>(), oa = o.Array<T>(), la = lse.Array<T>();
                T[] ma = mask?.Array<T>() ?? [];
                var p = pr;
                RangeWork.Run(pr.Slices, work, (first, last) => FlashAttention.Forward<T>(p, qa, ka, va, ma, oa, la, first, last));
            }
        }

        private readonly struct AttentionBackward(FlashAttention.Problem pr, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor o, Tensor lse, Tensor g,
            Tensor gq, Tensor gk, Tensor gv, long work) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                T[] qa = q.Array<T>(), ka = k.Array<T>(), va = v.Array<T>(), oa = o.Array<T>(), la = lse.Array<T>(), ga = g.Array<T>();
                T[] gqa = gq.Array<T>(), gka = gk.Array<T>(), gva = gv.Array<T>();
                T[] ma = mask?.Array<T>() ?? [];
                var p = pr;
                RangeWork.Run(pr.Slices, work, (first, last) => FlashAttention.Backward<T>(p, qa, ka, va, ma, oa, la, ga, gqa, gka, gva, first, last));
            }
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int ScaledDotProductAttention = Register(nameof(ScaledDotProductAttention), static c =>
        {
            c.Add(x => NN.Functional.ScaledDotProductAttention(x[0], x[1], x[2]), c.Normal(2, 2, 3, 4), c.Normal(2, 2, 5, 4), c.Normal(2, 2, 5, 3));
            c.Add("causal", x => NN.Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: true), c.Normal(1, 2, 70, 3), c.Normal(1, 2, 70, 3), c.Normal(1, 2, 70, 2));
            var boolMask = c.Normal(1, 3, 5).Gt(-0.5).LogicalOr(Tensor.FromArray(new[] { true, false, false, false, false }, 1, 1, 5));
            c.Add("bool mask", x => NN.Functional.ScaledDotProductAttention(x[0], x[1], x[2], boolMask), c.Normal(2, 3, 4), c.Normal(2, 5, 4), c.Normal(2, 5, 3));
            c.Add("dropout", x => NN.Functional.ScaledDotProductAttention(x[0], x[1], x[2], dropoutP: 0.3, generator: new Generator(7)), c.Normal(2, 4, 3), c.Normal(2, 6, 3), c.Normal(2, 6, 2));
            var additive = c.Normal(3, 5);
            c.Add("additive mask, scale", x => NN.Functional.ScaledDotProductAttention(x[0], x[1], x[2], additive, scale: 0.7), c.Normal(2, 3, 4), c.Normal(2, 5, 4), c.Normal(2, 5, 3));
        });
    }
}
