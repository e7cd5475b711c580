using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

/// <summary>How a replayed optimizer step updates one parameter when not by a plain <c>Update</c> call.</summary>
internal interface IParameterUpdate
{
    /// <summary>Updates the parameter (and, for a fused update, computes its gradient first). Allocates nothing.</summary>
    void Run();

    /// <summary>Whether the work is shared with the worker threads.</summary>
    bool Split { get; }

    /// <summary>The parts <see cref="Run"/> would cut the work into now (1: it runs whole, on the calling thread).</summary>
    int PartCount();

    /// <summary>Runs part <paramref name="index"/> of <paramref name="count"/> (<see cref="PartCount"/>) of the work.</summary>
    void RunPart(int index, int count);
}

/// <summary>A gradient a replay applied without storing it; written when the parameter's <see cref="Tensor.Grad"/> is read.</summary>
internal interface IDeferredGradient
{
    /// <summary>Writes the gradient into its array, as the replay would have.</summary>
    void Write();
}

/// <summary>An update that computes the parameter's gradient itself (<see cref="FusedGradientUpdate{T}"/>).</summary>
internal interface IFusedUpdate : IParameterUpdate
{
    /// <summary>Whether the gradient is an outer product that the optimizer computes and applies in one pass.</summary>
    bool OnePass { get; }

    /// <summary>Lets the one pass leave the gradient unwritten until <paramref name="parameter"/>'s <see cref="Tensor.Grad"/> is read.</summary>
    void DeferGradientStore(Tensor parameter);
}

/// <summary>
/// How many parts a replayed instruction's work is cut into when it is shared with the <see cref="WorkerPool"/>: several
/// per thread, claimed one at a time, so that a worker that wakes late (or loses its core for a while on a busy
/// machine) leaves the parts it has not claimed to the threads that are running instead of holding half of the work.
/// The split never changes a result (see the instructions that use it).
/// </summary>
internal static class ReplayParts
{
    /// <summary>Parts per thread: each costs one claim (an atomic increment) and one call of the part's kernel.</summary>
    internal const int PerThread = 4;

    /// <summary>The parts for work of <paramref name="units"/> indivisible units (1: run it whole on the calling thread).</summary>
    public static int For(int units)
    {
        int threads = Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism);
        return threads <= 1 ? 1 : Math.Max(1, Math.Min(threads * PerThread, units));
    }

    /// <summary>
    /// Whether a replayed optimizer step runs the split updates of all its parameters in one pool run
    /// (<see cref="UpdateRegion"/>) rather than one run each; the bench runner's <c>--one-update-region 0|1</c>. The same
    /// parts either way, so the same results.
    /// </summary>
    internal static bool OneUpdateRegion = true;
}

/// <summary>
/// The split updates of a replayed optimizer step (<see cref="ParallelUpdate"/>, <see cref="FusedGradientUpdate{T}"/>)
/// as one job: each update's parts as its own run would cut them, ordered thread by thread (thread t's share of every
/// update, then thread t + 1's), so that with <see cref="WorkerPool.HomeParts"/> each thread runs the shares of the
/// parameters that its own runs would have given it, and the threads meet once per step instead of once per parameter.
/// </summary>
internal sealed class UpdateRegion : ParallelWork
{
    private readonly IParameterUpdate[] _updates;
    private readonly int[] _counts;
    private int[] _update = [], _part = [];

    private UpdateRegion(IParameterUpdate[] updates)
    {
        _updates = updates;
        _counts = new int[updates.Length];
    }

    /// <summary>Which parameters it updates (true at their index).</summary>
    public bool[] Covers { get; private init; } = [];

    /// <summary>The region of a step's split updates when there are two or more (else null: they run one by one).</summary>
    public static UpdateRegion? For(IParameterUpdate?[]? updates)
    {
        if (updates is null) return null;
        var split = new List<IParameterUpdate>();
        var covers = new bool[updates.Length];
        for (int i = 0; i < updates.Length; i++)
        {
            // Not the one-pass outer-product updates: their run also defers the gradient's store (see FusedGradientUpdate.Run).
            if (updates[i] is not { Split: true } u || u is IFusedUpdate { OnePass: true }) continue;
            split.Add(u);
            covers[i] = true;
        }
        return split.Count < 2 ? null : new UpdateRegion([.. split]) { Covers = covers };
    }

    public override bool HasHomes => true;

    /// <summary>Runs every covered update, in one pool run when any of them is split now.</summary>
    public void Run()
    {
        int total = 0;
        for (int u = 0; u < _updates.Length; u++) total += _counts[u] = _updates[u].PartCount();
        if (total == _updates.Length)
        {
            foreach (var u in _updates) u.RunPart(0, 1);
            return;
        }
        if (_update.Length < total)
        {
            _update = new int[total];
            _part = new int[total];
        }
        int threads = Math.Max(1, Math.Min(Gemm.MaxThreads, WorkerPool.MaxParallelism)), j = 0;
        for (int t = 0; t < threads; t++)
            for (int u = 0; u < _updates.Length; u++)
                for (int q = (int)((long)_counts[u] * t / threads), end = (int)((long)_counts[u] * (t + 1) / threads); q < end; q++, j++)
                    (_update[j], _part[j]) = (u, q);
        WorkerPool.Run(this, total);
    }

    public override void Execute(int index, int count)
    {
        int u = _update[index];
        _updates[u].RunPart(_part[index], _counts[u]);
    }
}

/// <summary>
/// The update of one large parameter in a replayed optimizer step, split into element ranges run on the
/// <see cref="WorkerPool"/> (allocated once, at capture, so a replay allocates nothing). Only for optimizers whose
/// update is elementwise (<see cref="Optim.Optimizer.UpdatesElementwise"/>): each element then gets the same
/// operations whichever thread runs its range, so the result does not depend on the split.
/// </summary>
internal sealed class ParallelUpdate : ParallelWork, IParameterUpdate
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
    public static IParameterUpdate?[]? For(Optim.Optimizer optimizer, Array?[] gradients)
    {
        if (!optimizer.UpdatesElementwise || WorkerPool.MaxParallelism < 2) return null;
        IParameterUpdate?[]? splits = null;
        for (int i = 0; i < gradients.Length; i++)
        {
            if (gradients[i] is not { Length: >= MinElements } g) continue;
            splits ??= new IParameterUpdate?[gradients.Length];
            splits[i] = new ParallelUpdate(optimizer, i, g);
        }
        return splits;
    }

    public bool Split => true;

    /// <summary>Part t updates the t-th share of the elements (rows, in order), as the weight gradient's and the forward's splits share them.</summary>
    public override bool HasHomes => true;

    public void Run()
    {
        int parts = ReplayParts.For(_blocks);
        if (parts <= 1) _optimizer.UpdateRange(_index, _gradient, 0, _gradient.Length);
        else WorkerPool.Run(this, parts);
    }

    public int PartCount() => ReplayParts.For(_blocks);

    public void RunPart(int index, int count) => Execute(index, count);

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
        int parts = ReplayParts.For(_units / 2);
        if (parts <= 1) Execute(0, 1);
        else WorkerPool.Run(this, parts);
    }

    /// <summary>Blocks of C are independent.</summary>
    public override bool HasHomes => true;

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

/// <summary>
/// A parameter's gradient computed inside its optimizer update, in blocks of rows: each block of the recorded GEMM that
/// wrote the gradient (a Linear's weight gradient <c>gᵀ x</c>) is computed and then updated at once, while it is still
/// in cache, instead of the whole gradient being written by one instruction and read back by the step. The
/// gradient array still receives every value (the parameter's <c>.Grad</c> stays as eager mode leaves it). Row blocks
/// of a direct-loop product give each element the same operations as the whole product (see <see cref="GemmSplit{T}"/>)
/// and the update is elementwise, so the results are those of the two instructions run one after the other. Large
/// parameters share the blocks with the worker threads. An outer product (inner dimension 1: the weight gradient of a
/// batch of one) needs no blocks: where the optimizer has the pass (<see cref="Optim.Optimizer.UpdateOuterRows"/>: plain
/// SGD, Adam, AdamW) each gradient element is computed, stored and applied in one pass over the parameter.
/// </summary>
internal sealed class FusedGradientUpdate<T> : ParallelWork, IFusedUpdate, IDeferredGradient where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int RowTile = 4;

    /// <summary>
    /// About this many bytes of gradient per block: the block is read back from L2 rather than from L3 or memory, and each
    /// block costs one more call of the optimizer's update (Adam's recomputes its bias corrections), so not fewer.
    /// </summary>
    private const int BlockBytes = 64 * 1024;

    private readonly Optim.Optimizer _optimizer;
    private readonly int _index, _m, _n, _k, _tiles, _blockRows, _lda, _ldb;
    private readonly bool _transA, _transB, _outer;
    private readonly T[] _a, _b, _c;

    // The parameter whose gradient the one pass may leave unwritten until its .Grad is read (DeferGradientStore), and
    // whether this replay's pass stores it.
    private Tensor? _deferTo;
    private bool _store = true;

    private FusedGradientUpdate(Optim.Optimizer optimizer, int index, GemmInstruction<T> g)
    {
        _optimizer = optimizer;
        _index = index;
        (_transA, _transB, _m, _n, _k, _a, _b, _c) = (g.TransA, g.TransB, g.M, g.N, g.K, g.A, g.B, g.C);
        _lda = Math.Max(1, _transA ? _m : _k);
        _ldb = Math.Max(1, _transB ? _k : _n);
        _tiles = (_m + RowTile - 1) / RowTile;
        // op(A)[i, 0] is a[i] and op(B)[0, j] is b[j] for either layout of A when k is 1 (its leading dimension is then 1 or m).
        _outer = _k == 1 && !_transB && _a.Length >= _m && _b.Length >= _n;
        _blockRows = Math.Max(RowTile, BlockBytes / Math.Max(1, _n * Unsafe.SizeOf<T>()) / RowTile * RowTile);
    }

    /// <summary>
    /// The fused update of parameter <paramref name="index"/> with <paramref name="gemm"/>, or null when the product has
    /// a bias or an activation, takes the packed kernels, or could take another path in a block of rows than whole.
    /// </summary>
    public static FusedGradientUpdate<T>? For(Optim.Optimizer optimizer, int index, GemmInstruction<T> gemm)
    {
        if (!optimizer.UpdatesElementwise || !gemm.Plain || gemm.M < 1 || gemm.N < 1 || gemm.C.Length != gemm.M * gemm.N) return null;
        if (!Gemm.IsSmall(gemm.TransA, gemm.TransB, gemm.M, gemm.N, gemm.K)) return null;
        if (gemm.M > RowTile && !Gemm.IsSmall(gemm.TransA, gemm.TransB, RowTile, gemm.N, gemm.K)) return null;
        return new FusedGradientUpdate<T>(optimizer, index, gemm);
    }

    public bool Split => _c.Length >= ParallelUpdate.MinElements && WorkerPool.MaxParallelism > 1 && _tiles >= 2;

    /// <summary>The parts of the split: <see cref="ReplayParts.For"/> of the row tiles (1 when not split).</summary>
    public int PartCount() => Split ? ReplayParts.For(_tiles) : 1;

    /// <summary>An outer product whose optimizer has the one-pass update for its current settings.</summary>
    public bool OnePass => _outer && _optimizer.HasOuterUpdate(_index);

    /// <summary>
    /// Lets the one pass skip writing the gradient array, writing it instead when <paramref name="parameter"/>'s
    /// <see cref="Tensor.Grad"/> is next read (from this replay's A and B, which stay as they are until the next replay
    /// of the plan). Only for a plan in which nothing else reads the array (see <see cref="Fusion"/>): the batch-1
    /// weight gradient is then the largest array a step writes and no one reads.
    /// </summary>
    public void DeferGradientStore(Tensor parameter) => _deferTo = parameter;

    public void Run()
    {
        // Deferred only where the one pass runs (the blocked form writes the gradient and reads it back).
        bool defer = _deferTo is not null && OnePass;
        _store = !defer;
        int parts = PartCount();
        if (parts <= 1) Execute(0, 1);
        else WorkerPool.Run(this, parts);
        if (defer) _deferTo!.DeferGradient(this);
    }

    /// <summary>A part as <see cref="Run"/> runs it, the gradient stored (an <see cref="UpdateRegion"/> defers no store).</summary>
    public void RunPart(int index, int count)
    {
        _store = true;
        Execute(index, count);
    }

    /// <inheritdoc/>
    public void Write()
    {
        for (int r = 0; r < _m; r++) OuterProductRow<T>.Write(_a[r], _b.AsSpan(0, _n), _c.AsSpan(r * _n, _n));
    }

    /// <summary>Row blocks are independent; part t takes the t-th share of the parameter's rows.</summary>
    public override bool HasHomes => true;

    public override void Execute(int index, int count)
    {
        int r0 = (int)((long)_tiles * index / count) * RowTile, r1 = Math.Min(_m, (int)((long)_tiles * (index + 1) / count) * RowTile);
        if (r0 >= r1) return;
        // An outer product (inner dimension 1, a batch-1 weight gradient): gradient and update in one pass over the rows.
        if (_outer && _optimizer.UpdateOuterRows(_index, _c, r0, r1 - r0, _n, _a, _b, _store)) return;
        for (int r = r0; r < r1; r += _blockRows)
        {
            int rows = Math.Min(_blockRows, r1 - r);
            Gemm.Multiply(_transA, _transB, rows, _n, _k, T.One, _a.AsSpan(_transA ? r : r * _lda), _lda, _b, _ldb, T.Zero, _c.AsSpan(r * _n), _n);
            _optimizer.UpdateRange(_index, _c, r * _n, rows * _n);
        }
    }
}
