using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with PyTorch's <c>matmul</c> semantics: 1-D · 1-D is a dot product; a 1-D left operand is a row
    /// vector and a 1-D right operand a column vector (the added dimension is removed again); otherwise the last two
    /// dimensions multiply and the leading (batch) dimensions broadcast.
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var (a, b) = Promote(this, other, nameof(MatMul));
        if (a.Rank == 0 || b.Rank == 0)
            throw new ArgumentException($"MatMul: both operands need at least one dimension; got shapes {Shapes.Format(a._shape)} and {Shapes.Format(b._shape)}.");
        if (a.Rank == 1 && b.Rank == 1) return MatMulCore(a.Unsqueeze(0), b.Unsqueeze(1), false, false).Reshape();
        if (a.Rank == 1) return MatMulCore(a.Unsqueeze(0), b, false, false).Squeeze(-2);
        if (b.Rank == 1) return MatMulCore(a, b.Unsqueeze(1), false, false).Squeeze(-1);
        return MatMulCore(a, b, false, false);
    }

    /// <summary>
    /// Batched <c>op(a) op(b)</c> where op transposes the last two dimensions when its flag is set; the transposes are
    /// read in place by the GEMM, never copied. Its backward is again MatMulCore with other flags, so it can be
    /// differentiated twice.
    /// </summary>
    internal static Tensor MatMulCore(Tensor a, Tensor b, bool transA, bool transB)
    {
        int ar = a.Rank, br = b.Rank;
        int m = transA ? a._shape[ar - 1] : a._shape[ar - 2];
        int ka = transA ? a._shape[ar - 2] : a._shape[ar - 1];
        int kb = transB ? b._shape[br - 1] : b._shape[br - 2];
        int n = transB ? b._shape[br - 2] : b._shape[br - 1];
        if (ka != kb)
            throw new ArgumentException($"MatMul: shapes {Shapes.Format(a._shape)}{(transA ? "ᵀ" : "")} and {Shapes.Format(b._shape)}{(transB ? "ᵀ" : "")} cannot be multiplied ({ka} columns vs {kb} rows).");
        int[] aBatch = a._shape[..^2], bBatch = b._shape[..^2];
        int[] batch = Shapes.Broadcast(aBatch, bBatch, nameof(MatMul));
        int[] outShape = [.. batch, m, n];
        var y = Empty(outShape, a.DType);
        int batches = Shapes.Numel(batch);
        Span<int> aStrides = stackalloc int[batch.Length];
        Span<int> bStrides = stackalloc int[batch.Length];
        Elementwise.BroadcastStrides(aBatch, batch, aStrides);
        Elementwise.BroadcastStrides(bBatch, batch, bStrides);
        Span<int> index = stackalloc int[batch.Length];
        index.Clear();
        int aSize = m * ka, bSize = ka * n, cSize = m * n;
        for (int bi = 0; bi < batches; bi++)
        {
            int aOff = 0, bOff = 0;
            for (int d = 0; d < batch.Length; d++) { aOff += index[d] * aStrides[d]; bOff += index[d] * bStrides[d]; }
            if (a.DType == DType.Float32)
                Gemm.Multiply<float>(transA, transB, m, n, ka, a.Span<float>().Slice(aOff * aSize, aSize), b.Span<float>().Slice(bOff * bSize, bSize), y.Span<float>().Slice(bi * cSize, cSize), false);
            else
                Gemm.Multiply<double>(transA, transB, m, n, ka, a.Span<double>().Slice(aOff * aSize, aSize), b.Span<double>().Slice(bOff * bSize, bSize), y.Span<double>().Slice(bi * cSize, cSize), false);
            for (int d = batch.Length - 1; d >= 0; d--)
            {
                if (++index[d] < batch[d]) break;
                index[d] = 0;
            }
        }
        // C = op(A) op(B); dL/dA and dL/dB written with the same primitive (see the derivation in the XML doc above).
        // An operand that needs no gradient (a data batch) gets none: that product would be thrown away.
        if (!Autograd.ShouldRecord(a, b)) return y;
        return Autograd.Record(y, "MatMulBackward", [a, b], g =>
        [
            !a.RequiresGrad ? null : transA ? MatMulCore(b, g, transB, true) : MatMulCore(g, b, false, !transB),
            !b.RequiresGrad ? null : transB ? MatMulCore(g, a, true, transA) : MatMulCore(a, g, !transA, false),
        ], attributes: transA || transB ? new MatMulAttributes(transA, transB) : null);
    }
}
