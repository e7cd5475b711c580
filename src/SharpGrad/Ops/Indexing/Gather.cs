using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Picks values along <paramref name="dim"/> by <paramref name="index"/> (Int64, same rank, each other dimension no
    /// larger than this tensor's; negative entries count from the end): out[i][j][k] = x[i][index[i][j][k]][k] for dim 1
    /// (PyTorch: <c>gather</c>), for every dtype. The gradient adds g back at the gathered positions.
    /// </summary>
    public Tensor Gather(int dim, Tensor index)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(Gather));
        ArgumentNullException.ThrowIfNull(index);
        if (index.Rank != Rank)
            throw new ArgumentException($"Gather: the index has shape {Shapes.Format(index._shape)} but the input has shape {Shapes.Format(_shape)}; they need the same rank.", nameof(index));
        for (int i = 0; i < Rank; i++)
            if (i != d && index._shape[i] > _shape[i])
                throw new ArgumentException($"Gather: index shape {Shapes.Format(index._shape)} exceeds input shape {Shapes.Format(_shape)} in dimension {i}.", nameof(index));
        var idx = CheckIndex(index, _shape[d], nameof(Gather), $"dimension {d}");
        var y = Uninitialized(index._shape, DType);
        DTypeDispatch.Any(DType, new GatherKernel(this, y, d, idx));
        return Autograd.ShouldRecord(this) ? RecordGather(y, this, d, index) : y;
    }

    private static Tensor RecordGather(Tensor y, Tensor x, int d, Tensor index) =>
        Autograd.Record(y, "GatherBackward", [x], g => [g.ScatterAddInto(x._shape, d, index)]);

    /// <summary>
    /// The backward of Gather as an op of its own: zeros of <paramref name="fullShape"/> with this tensor's values added
    /// at the gathered positions. Its gradient is Gather again, so both differentiate any number of times.
    /// </summary>
    internal Tensor ScatterAddInto(int[] fullShape, int dim, Tensor index)
    {
        var y = Empty(fullShape, DType);
        DTypeDispatch.Float(DType, new ScatterAddIntoKernel(this, y, dim, index.Array<long>()), nameof(Gather));
        return Autograd.ShouldRecord(this) ? RecordScatterAddInto(y, this, dim, index) : y;
    }

    private static Tensor RecordScatterAddInto(Tensor y, Tensor x, int dim, Tensor index) =>
        Autograd.Record(y, "ScatterAddBackward", [x], g => [g.Gather(dim, index)]);

    /// <summary>
    /// Calls <paramref name="visit"/>(n, offset) for every position n of the index shape (row-major), where offset is the
    /// position in the full tensor: n's coordinates with the one along <paramref name="dim"/> replaced by index[n].
    /// </summary>
    private static void ForEachGathered<TVisit>(int[] fullShape, int[] indexShape, int dim, long[] idx, ref TVisit visit) where TVisit : struct, IGatherVisit
    {
        int rank = fullShape.Length;
        if (idx.Length == 0) return;
        int[] strides = Shapes.ContiguousStrides(fullShape);
        Span<int> pos = stackalloc int[Math.Max(rank, 1)];
        pos.Clear();
        for (int n = 0; n < idx.Length; n++)
        {
            int off = 0;
            for (int k = 0; k < rank; k++) if (k != dim) off += pos[k] * strides[k];
            long r = idx[n] < 0 ? idx[n] + fullShape[dim] : idx[n];
            off += (int)r * (rank == 0 ? 0 : strides[dim]);
            visit.Visit(n, off);
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++pos[k] < indexShape[k]) break;
                pos[k] = 0;
            }
        }
    }

    private interface IGatherVisit { void Visit(int n, int offset); }

    private readonly struct GatherKernel(Tensor x, Tensor y, int dim, long[] idx) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            var v = new Copy<T>((T[])x.Storage, (T[])y.Storage);
            ForEachGathered(x.ShapeRef, y.ShapeRef, dim, idx, ref v);
        }

        private readonly struct Copy<T>(T[] full, T[] small) : IGatherVisit
        {
            public void Visit(int n, int offset) => small[n] = full[offset];
        }
    }

    private readonly struct ScatterAddIntoKernel(Tensor g, Tensor y, int dim, long[] idx) : IFloatKernel
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var v = new Add<T>((T[])y.Storage, (T[])g.Storage);
            ForEachGathered(y.ShapeRef, g.ShapeRef, dim, idx, ref v);
        }

        private readonly struct Add<T>(T[] full, T[] small) : IGatherVisit where T : IFloatingPointIeee754<T>
        {
            public void Visit(int n, int offset) => full[offset] += small[n];
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Gather = Register(nameof(Gather), static c =>
    {
        foreach (var (s, dim) in ReductionDims)
            c.Add($"dim {dim}", x =>
            {
                var shape = x[0].Shape;
                int dd = dim < 0 ? dim + shape.Length : dim;
                var gen = new Generator(7UL);
                var idx = new long[x[0].Numel];
                for (int i = 0; i < idx.Length; i++) idx[i] = gen.NextInt(shape[dd]);
                return x[0].Gather(dim, Tensor.FromArray(idx, shape));
            }, c.Normal(s));
        c.Add("argmax", x => x[0].Gather(1, x[0].ArgMax(1, keepDim: true)), c.Normal(3, 5));
        c.Add("second order", x => Gradient(t => t.Gather(1, Tensor.FromArray(new long[] { 2, 2, 0, -1 }, 2, 2)).Pow(2).Sum(), x[0]), c.Normal(2, 3));
    });
}
