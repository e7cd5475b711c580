using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>
/// The update of one large parameter in a replayed optimizer step, split into element ranges run on the
/// <see cref="WorkerPool"/> (allocated once, at capture, so a replay allocates nothing). Only for optimizers whose
/// update is elementwise (<see cref="Optim.Optimizer.UpdatesElementwise"/>): each element then gets the same
/// operations whichever thread runs its range, so the result does not depend on the split.
/// </summary>
internal sealed class ParallelUpdate : ParallelWork
{
    /// <summary>Parameters with fewer elements are updated on one thread: waking another costs more than it saves.</summary>
    internal const int MinElements = 1 << 15;

    /// <summary>Ranges start at multiples of this many elements (whole cache lines and vectors).</summary>
    private const int Align = 64;

    private readonly Optim.Optimizer _optimizer;
    private readonly int _index;
    private readonly Array _gradient;
    private readonly int _blocks;

    private ParallelUpdate(Optim.Optimizer optimizer, int index, Array gradient)
    {
        _optimizer = optimizer;
        _index = index;
        _gradient = gradient;
        _blocks = (gradient.Length + Align - 1) / Align;
    }

    /// <summary>One split per gradient large enough, or null when there is none (or the optimizer does not qualify).</summary>
    public static ParallelUpdate?[]? For(Optim.Optimizer optimizer, Array?[] gradients)
    {
        if (!optimizer.UpdatesElementwise || WorkerPool.MaxParallelism < 2) return null;
        ParallelUpdate?[]? splits = null;
        for (int i = 0; i < gradients.Length; i++)
        {
            if (gradients[i] is not { Length: >= MinElements } g) continue;
            splits ??= new ParallelUpdate?[gradients.Length];
            splits[i] = new ParallelUpdate(optimizer, i, g);
        }
        return splits;
    }

    public void Run()
    {
        int parts = Math.Min(Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism), _blocks);
        if (parts <= 1) _optimizer.UpdateRange(_index, _gradient, 0, _gradient.Length);
        else WorkerPool.Run(this, parts);
    }

    public override void Execute(int index, int count)
    {
        int first = (int)((long)_blocks * index / count) * Align;
        int last = Math.Min(_gradient.Length, (int)((long)_blocks * (index + 1) / count) * Align);
        if (first < last) _optimizer.UpdateRange(_index, _gradient, first, last - first);
    }
}

/// <summary>
/// A replayed GEMM that takes <see cref="Gemm"/>'s direct loops (<see cref="Gemm.IsSmall"/>: a batch-1 Linear, an outer
/// product for its weight gradient) and is large enough to share, split into blocks of C computed on the
/// <see cref="WorkerPool"/>: rows in 4-row tiles when there are enough rows, else columns in 16-column blocks. Every
/// element of C is the same k-ordered chain of multiply-adds in the whole product and in a block (the direct loops
/// compute elements independently, 4 x 4 tiles aligned as in the whole), so the result does not depend on the split.
/// </summary>
internal sealed class GemmSplit<T> : ParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Products of fewer multiply-adds run on one thread.</summary>
    internal const long MinMultiplyAdds = 1 << 16;

    private const int RowTile = 4, ColumnBlock = 16;

    private readonly bool _transA, _transB, _byRows;
    private readonly int _m, _n, _k, _units;
    private readonly T[] _a, _b, _c;
    private readonly T[]? _bias;
    private readonly GemmActivation _activation;

    private GemmSplit(bool transA, bool transB, int m, int n, int k, T[] a, T[] b, T[] c, T[]? bias, GemmActivation activation, bool byRows)
    {
        (_transA, _transB, _m, _n, _k, _a, _b, _c, _bias, _activation, _byRows) = (transA, transB, m, n, k, a, b, c, bias, activation, byRows);
        _units = byRows ? (m + RowTile - 1) / RowTile : (n + ColumnBlock - 1) / ColumnBlock;
    }

    /// <summary>The split of this product, or null when it runs whole (small, packed, or no second core).</summary>
    public static GemmSplit<T>? For(bool transA, bool transB, int m, int n, int k, T[] a, T[] b, T[] c, T[]? bias, GemmActivation activation)
    {
        if (WorkerPool.MaxParallelism < 2 || (long)m * n * k < MinMultiplyAdds || !Gemm.IsSmall(transA, transB, m, n, k)) return null;
        bool byRows = m >= 2 * RowTile;
        // Every block must take the direct loops as the whole does: the smallest block is about half the product.
        if (byRows ? !Gemm.IsSmall(transA, transB, RowTile, n, k) : n < 2 * ColumnBlock || !Gemm.IsSmall(transA, transB, m, ColumnBlock, k)) return null;
        return new GemmSplit<T>(transA, transB, m, n, k, a, b, c, bias, activation, byRows);
    }

    public void Run()
    {
        // At least two units per part, so that a ragged last unit never makes a block on its own.
        int parts = Math.Min(Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism), _units / 2);
        if (parts <= 1) Execute(0, 1);
        else WorkerPool.Run(this, parts);
    }

    public override void Execute(int index, int count)
    {
        int u0 = (int)((long)_units * index / count), u1 = (int)((long)_units * (index + 1) / count);
        if (u0 >= u1) return;
        int lda = Math.Max(1, _transA ? _m : _k), ldb = Math.Max(1, _transB ? _k : _n), ldc = Math.Max(1, _n);
        if (_byRows)
        {
            int i0 = u0 * RowTile, i1 = Math.Min(_m, u1 * RowTile);
            // op(A)'s rows i0.. start at column i0 of the stored k x m matrix when A is transposed, else at row i0.
            Gemm.Multiply(_transA, _transB, i1 - i0, _n, _k, T.One, _a.AsSpan(_transA ? i0 : i0 * lda), lda, _b, ldb, T.Zero,
                _c.AsSpan(i0 * ldc), ldc, _bias, _activation);
        }
        else
        {
            int j0 = u0 * ColumnBlock, j1 = Math.Min(_n, u1 * ColumnBlock);
            Gemm.Multiply(_transA, _transB, _m, j1 - j0, _k, T.One, _a, lda, _b.AsSpan(_transB ? j0 * ldb : j0), ldb, T.Zero,
                _c.AsSpan(j0), ldc, _bias is null ? default : _bias.AsSpan(j0), _activation);
        }
    }
}
