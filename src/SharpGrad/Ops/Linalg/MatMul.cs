using System.Numerics;
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
    /// Batched <c>C = op(A) op(B)</c> where op transposes the last two dimensions when its flag is set; the transposes
    /// are read in place by the GEMM, never copied. The backward is this op again with other flags
    /// (<c>dA = g op(B)ᵀ</c>, <c>dB = op(A)ᵀ g</c>, each written back through op), so it differentiates any number of times.
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
        var y = Empty([.. batch, m, n], a.DType);
        DTypeDispatch.Float(a.DType, new MatMulKernel(a, b, y, aBatch, bBatch, batch, transA, transB, m, n, ka), nameof(MatMul));
        // An operand that needs no gradient (a data batch) gets none: that product would be thrown away.
        return Autograd.ShouldRecord(a, b) ? RecordMatMul(y, a, b, transA, transB) : y;
    }

    private static Tensor RecordMatMul(Tensor y, Tensor a, Tensor b, bool transA, bool transB) => Autograd.Record(y, "MatMulBackward", [a, b], g =>
    [
        !a.RequiresGrad ? null : transA ? MatMulCore(b, g, transB, true) : MatMulCore(g, b, false, !transB),
        !b.RequiresGrad ? null : transB ? MatMulCore(g, a, true, transA) : MatMulCore(a, g, !transA, false),
    ], attributes: transA || transB ? new MatMulAttributes(transA, transB) : null);

    /// <summary>One GEMM per batch entry; broadcast batch dimensions re-read the same operand matrix.</summary>
    private readonly struct MatMulKernel(Tensor a, Tensor b, Tensor y, int[] aBatch, int[] bBatch, int[] batch, bool transA, bool transB, int m, int n, int k)
        : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(a);
            capture.Reads(b);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            int batches = Shapes.Numel(batch);
            Span<int> aStrides = stackalloc int[batch.Length];
            Span<int> bStrides = stackalloc int[batch.Length];
            Elementwise.BroadcastStrides(aBatch, batch, aStrides);
            Elementwise.BroadcastStrides(bBatch, batch, bStrides);
            Span<int> index = stackalloc int[batch.Length];
            index.Clear();
            ReadOnlySpan<T> xa = a.Span<T>(), xb = b.Span<T>();
            Span<T> c = y.Span<T>();
            int aSize = m * k, bSize = k * n, cSize = m * n;
            for (int bi = 0; bi < batches; bi++)
            {
                int aOff = 0, bOff = 0;
                for (int d = 0; d < batch.Length; d++) { aOff += index[d] * aStrides[d]; bOff += index[d] * bStrides[d]; }
                Gemm.Multiply<T>(transA, transB, m, n, k, xa.Slice(aOff * aSize, aSize), xb.Slice(bOff * bSize, bSize), c.Slice(bi * cSize, cSize), false);
                for (int d = batch.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < batch[d]) break;
                    index[d] = 0;
                }
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int MatMul = Register(nameof(MatMul), static c =>
    {
        int[][][] shapes = [[[3, 4], [4, 5]], [[4], [4, 2]], [[3, 4], [4]], [[4], [4]], [[2, 3, 4], [4, 5]], [[2, 1, 3, 4], [3, 4, 2]], [[1, 4], [4, 1]]];
        foreach (var s in shapes) c.Add(x => x[0].MatMul(x[1]), c.Normal(s[0]), c.Normal(s[1]));
        c.Add("transposed", x => x[0].Transpose(0, 1).MatMul(x[1].Transpose(0, 1)), c.Normal(4, 3), c.Normal(2, 4));
        // The Hessian of a quadratic form: d/dA of tr((A B)ᵀ (A B)) is 2 A B Bᵀ, itself a product of MatMulBackward's.
        c.Add("second order", x => Gradient(a => (a.MatMul(x[1]) * a.MatMul(x[1])).Sum(), x[0]), c.Normal(3, 4), c.Normal(4, 2));
    });
}
