using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Whether a recurrent stack fed by an embedding (<see cref="CharRnn"/>) forms its first layer's input projection
        /// from a table (<see cref="LinearOfRows"/>: the embedding's rows projected once, then gathered) instead of one
        /// product over every position. The same values either way; a switch for A/B measurements (the bench's
        /// --embedding-table) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmEmbeddingTable = true;

        /// <summary>Set when <see cref="LinearOfRows"/> formed a projection from its table (for tests: that the table path ran).</summary>
        internal static volatile bool LstmEmbeddingTableTaken;

        /// <summary>
        /// Whether a <see cref="LinearOfRows"/> whose caller vouches that x's gradient goes to the source's rows (an
        /// embedding without a padding row, x read by nothing else: <see cref="CharRnn"/>) sends its gradients through the
        /// table as well: with S the gradient rows summed per token (S[v] = Σ of g's rows r with rowIndex[r] = v), the
        /// source's gradient S W, dW = Sᵀ source and db = Σ_v S[v], V rows each instead of a product over every row for dX
        /// (then x's permute and the embedding's index-add) and one of depth rows for dW. Not the same bits as the old
        /// path (a token's rows are summed before the products instead of after); a switch for A/B measurements (the
        /// bench's --embedding-table-grad) and for the tests that compare the two.
        /// </summary>
        internal static bool LstmEmbeddingTableGrad = true;

        /// <summary>Set when a <see cref="LinearOfRows"/> rule gave its gradients through the table (for tests: that the path ran).</summary>
        internal static volatile bool LstmEmbeddingTableGradTaken;

        /// <summary>
        /// <c>Linear(x, W, b)</c> for an x [..., in] whose row r is row <paramref name="rowIndex"/>[r] of
        /// <paramref name="source"/> [V, in] (an embedding of tokens): with the same values and the same tape entry as
        /// <see cref="Linear"/> (recorded on x, W and b, so the gradients are those of the product), computed as the table
        /// <c>source Wᵀ + b</c> [V, out] and a gather of its rows, V·out·in multiply-adds instead of rows·out·in.
        /// </summary>
        /// <remarks>
        /// Bit for bit: the whole product takes the packed kernels (<see cref="GemmJob{T, TK}"/>; checked here, else
        /// <see cref="Linear"/> runs), in which an element of C is its row of A against its column of op(B), the same k
        /// blocks of the same micro-kernel then the bias in the epilogue, whatever the row's place and the thread count;
        /// the table's rows are computed that way (<see cref="PackedRows{T, TK}"/>), so each is what the product gives
        /// every row holding it. The caller vouches that x's rows are those rows (x itself is not read). Not while a plan
        /// is being captured (the replay knows the product).
        /// <para>
        /// With <paramref name="sourceGrad"/> the caller also vouches that x's gradient reaches the source as that of
        /// <c>source[rowIndex]</c> would and that nothing else reads x's own gradient (x a temporary read by this op
        /// alone); with <see cref="LstmEmbeddingTableGrad"/> the entry then lists the source after its Linear inputs
        /// (<see cref="LinearOfRowsAttributes"/>) and its first-order rule gives x no gradient and the source
        /// its part directly (<see cref="TableGrads"/>).
        /// </para>
        /// </remarks>
        internal static Tensor LinearOfRows(Tensor x, long[] rowIndex, Tensor source, Tensor w, Tensor? b, bool sourceGrad = false)
        {
            if (!LinearOfRowsApplies(x, rowIndex, source, w, b)) return Linear(x, w, b);
            int inF = w.ShapeRef[1], outF = w.ShapeRef[0], rows = rowIndex.Length;
            OpProfile.Mark("Linear forward: before");
            var y = Tensor.Uninitialized([.. x.ShapeRef[..^1], outF], x.DType);
            DTypeDispatch.Float(x.DType, new TableKernel(rowIndex, source, w, b, y), nameof(LinearOfRows));
            LstmEmbeddingTableTaken = true;
            OpProfile.Mark("Linear forward: table and gather, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!SharpGrad.Autograd.ShouldRecord(x, w) && (b is null || !SharpGrad.Autograd.ShouldRecord(b))) return y;
            if (sourceGrad && LstmEmbeddingTableGrad && source.RequiresGrad)
            {
                Tensor[] withSource = b is null ? [x, w, source] : [x, w, b, source];
                return SharpGrad.Autograd.Record(y, "LinearBackward", withSource, g => TableGrads(g, x, rowIndex, source, w, b, rows, inF, outF),
                    attributes: new LinearOfRowsAttributes(withSource.Length - 1));
            }
            Tensor[] inputs = b is null ? [x, w] : [x, w, b];
            return SharpGrad.Autograd.Record(y, "LinearBackward", inputs, g => LinearGrads(g, x, w, b, rows, inF, outF));
        }

        /// <summary>
        /// The rule of a <see cref="LinearOfRows"/> entry that lists its source (inputs x, W, b if any, source): with S the
        /// rows of g summed per token (<see cref="RowSums{T}"/>), dW = Sᵀ source, db = db_hh where an LSTM layer offers
        /// it (<see cref="SharedBiasGrad"/>) else Σ_v S[v], the source's gradient S W, and none for x. A pass that records
        /// its gradients (createGraph) or is being captured takes the Linear's own rule instead (x's gradient, then through
        /// x to the source), which differentiates again and which a replay knows.
        /// </summary>
        private static Tensor?[] TableGrads(Tensor g, Tensor x, long[] rowIndex, Tensor source, Tensor w, Tensor? b, int rows, int inF, int outF)
        {
            var grads = new Tensor?[b is null ? 3 : 4];
            if (SharpGrad.Autograd.IsGradEnabled || Capture.Active is not null)
            {
                LinearGrads(g, x, w, b, rows, inF, outF).CopyTo(grads, 0);
                return grads;
            }
            Tensor? db = b is not null && b.RequiresGrad ? SharedBiasGrad(g, b) : null;
            if (g.DType != x.DType) g = g.To(x.DType);
            OpProfile.Mark("Linear backward: before");
            var sums = Tensor.Uninitialized([source.ShapeRef[0], outF], g.DType);
            DTypeDispatch.Float(g.DType, new RowSumsKernel(g, rowIndex, sums), nameof(LinearOfRows));
            OpProfile.Mark("Linear backward: table, row sums per token, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (w.RequiresGrad) grads[1] = LinearWeightGrad(sums, source, w.ShapeRef);
            if (b is not null && b.RequiresGrad) grads[2] = db ?? sums.Sum(0);
            grads[^1] = LinearInputGrad(sums, w, source.ShapeRef);
            LstmEmbeddingTableGradTaken = true;
            OpProfile.Mark("Linear backward: table, dW and dSource, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return grads;
        }

        /// <summary>
        /// Whether <see cref="LinearOfRows"/> takes the table: switched on, no capture, one float dtype, the shapes of a
        /// Linear whose rows are indexed rows of the source, a table at most half the rows, and the whole product on the
        /// packed kernels (not the small-product loops, not the few-rows form; AVX-512 or AVX2).
        /// </summary>
        private static bool LinearOfRowsApplies(Tensor x, long[] rowIndex, Tensor source, Tensor w, Tensor? b)
        {
            if (!LstmEmbeddingTable || Capture.Active is not null || w.Rank != 2 || source.Rank != 2 || x.Rank == 0) return false;
            var dtype = x.DType;
            if (!dtype.IsFloatingPoint() || w.DType != dtype || source.DType != dtype || (b is not null && (b.DType != dtype || b.Rank != 1 || b.ShapeRef[0] != w.ShapeRef[0])))
                return false;
            int inF = w.ShapeRef[1], outF = w.ShapeRef[0], vocab = source.ShapeRef[0], rows = rowIndex.Length;
            if (inF == 0 || outF == 0 || x.ShapeRef[^1] != inF || source.ShapeRef[1] != inF || x.Numel != (long)rows * inF) return false;
            if ((long)vocab * 2 > rows || (long)rows * outF > int.MaxValue / 2) return false;
            foreach (long r in rowIndex)
                if ((ulong)r >= (ulong)vocab) return false;
            if (!(Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated) || Gemm.IsSmall(false, true, rows, outF, inF)) return false;
            return dtype == DType.Float32
                ? !SmallRowsNT<float>.Applies(false, true, rows, outF, inF, 1f, 0f)
                : !SmallRowsNT<double>.Applies(false, true, rows, outF, inF, 1d, 0d);
        }

        private readonly struct RowSumsKernel(Tensor g, long[] rowIndex, Tensor sums) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => RowSums<T>.Run(g, rowIndex, sums);
        }

        private readonly struct TableKernel(long[] rowIndex, Tensor source, Tensor w, Tensor? b, Tensor y) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                if (Vector512.IsHardwareAccelerated) ProjectedRows<T, GemmKernel512<T>>.Run(rowIndex, source, w, b, y);
                else ProjectedRows<T, GemmKernel256<T>>.Run(rowIndex, source, w, b, y);
            }
        }
    }
}

namespace SharpGrad.Kernels
{
    /// <summary>
    /// <see cref="NN.Functional.LinearOfRows"/>'s kernel: the table <c>source Wᵀ + b</c> on the packed micro-kernel as the
    /// whole product computes its rows, then every output row copied from its table row (shared with the worker pool).
    /// One instance per thread and type, reused: a call allocates nothing once its buffers are large enough.
    /// </summary>
    internal sealed unsafe class ProjectedRows<T, TK> : ParallelWork
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernel<T>
    {
        /// <summary>Output rows per part at least (a part's cost is a claim and a call).</summary>
        private const int MinRows = 64;

        [ThreadStatic] private static ProjectedRows<T, TK>? t_job;

        private readonly AlignedBuffer<T> _packedW = new(), _aBuf = new(), _tile = new(), _table = new();
        private long[] _rowIndex = [];
        private T* _tablePtr, _y;
        private int _rows, _n;

        public static void Run(long[] rowIndex, Tensor source, Tensor w, Tensor? b, Tensor y)
        {
            var job = t_job ??= new ProjectedRows<T, TK>();
            int vocab = source.ShapeRef[0], k = w.ShapeRef[1], n = w.ShapeRef[0];
            int strips = (vocab + TK.MR - 1) / TK.MR;
            fixed (T* ps = source.Array<T>(), pw = w.Array<T>(), pb = b?.Array<T>(), py = y.Array<T>())
            {
                T* packed = PackedRows<T, TK>.PackB(job._packedW, pw, k, true, k, n, out int kc, out int nPad);
                T* table = job._table.Get(vocab * n);
                PackedRows<T, TK>.Multiply(ps, k, vocab, packed, nPad, n, k, kc, table, n, b is null ? null : pb,
                    job._aBuf.Get(strips * TK.MR * kc), job._tile.Get(TK.MR * TK.NR));
                job._rowIndex = rowIndex;
                job._tablePtr = table;
                job._y = py;
                job._rows = rowIndex.Length;
                job._n = n;
                try { WorkerPool.Run(job, ReplayParts.For(rowIndex.Length / MinRows)); }
                finally
                {
                    job._rowIndex = [];
                    job._tablePtr = job._y = null;
                }
            }
        }

        /// <summary>Rows of part <paramref name="index"/>: each a copy of its table row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int index, int count)
        {
            int first = (int)((long)_rows * index / count), last = (int)((long)_rows * (index + 1) / count), n = _n;
            nint bytes = (nint)n * sizeof(T);
            for (int r = first; r < last; r++)
                Buffer.MemoryCopy(_tablePtr + (nint)_rowIndex[r] * n, _y + (nint)r * n, bytes, bytes);
        }
    }

    /// <summary>
    /// The rows of g [rows, n] summed per token: <c>sums[v] = Σ g[r]</c> over the rows r (in order) with
    /// <c>rowIndex[r] = v</c>, zero for a token no row holds (<see cref="NN.Functional.LinearOfRows"/>'s rule). Parts are
    /// blocks of columns, whole vectors each, so every element is the same running sum on any thread count; shared with the
    /// worker pool. One instance per thread and type, reused.
    /// </summary>
    internal sealed unsafe class RowSums<T> : ParallelWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>Columns per part at least (a part reads each of g's rows once, this many elements of it).</summary>
        private const int MinColumns = 64;

        [ThreadStatic] private static RowSums<T>? t_job;

        private long[] _rowIndex = [];
        private T* _g, _sums;
        private int _vocab, _n;

        public static void Run(Tensor g, long[] rowIndex, Tensor sums)
        {
            var job = t_job ??= new RowSums<T>();
            fixed (T* pg = g.Array<T>(), ps = sums.Array<T>())
            {
                job._rowIndex = rowIndex;
                job._g = pg;
                job._sums = ps;
                job._vocab = sums.ShapeRef[0];
                job._n = sums.ShapeRef[1];
                try { WorkerPool.Run(job, ReplayParts.For(job._n / MinColumns)); }
                finally
                {
                    job._rowIndex = [];
                    job._g = job._sums = null;
                }
            }
        }

        /// <summary>Columns of part <paramref name="index"/> (cut at whole 64-byte vectors): zeroed, then every row of g added to its token's row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Execute(int index, int count)
        {
            int lanes = Vector512<T>.Count, vectors = (_n + lanes - 1) / lanes, n = _n;
            int first = Math.Min(n, (int)((long)vectors * index / count) * lanes), last = Math.Min(n, (int)((long)vectors * (index + 1) / count) * lanes);
            if (first >= last) return;
            int width = last - first;
            for (int v = 0; v < _vocab; v++) new Span<T>(_sums + (nint)v * n + first, width).Clear();
            long[] rowIndex = _rowIndex;
            for (int r = 0; r < rowIndex.Length; r++)
            {
                T* src = _g + (nint)r * n + first, dst = _sums + (nint)rowIndex[r] * n + first;
                int j = 0;
                for (; j <= width - lanes; j += lanes)
                    Vector512.Store(Vector512.Load(dst + j) + Vector512.Load(src + j), dst + j);
                for (; j < width; j++) dst[j] += src[j];
            }
        }
    }
}
