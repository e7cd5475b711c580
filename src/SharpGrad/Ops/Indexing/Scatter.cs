using System.Runtime.CompilerServices;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// A copy of this tensor with <paramref name="src"/>'s values written at the positions <paramref name="index"/> names
    /// along <paramref name="dim"/>: for dim 1, <c>y[i][index[i][j][k]][k] = src[i][j][k]</c> over every position of the
    /// index (PyTorch: <c>scatter</c>). The index is Int64 of this tensor's rank, no larger than src in any dimension
    /// nor than this tensor outside <paramref name="dim"/>; its values lie in [0, size of dim). When the index repeats a
    /// position the last write wins here (PyTorch leaves it unspecified); use <see cref="ScatterAdd"/> to accumulate.
    /// Works for every dtype. Gradients: this tensor gets g with the written positions zeroed, src gets
    /// <c>g.Gather(dim, index)</c> (zeros where src is larger than the index).
    /// </summary>
    public Tensor Scatter(int dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, nameof(Scatter), add: false);

    /// <summary>
    /// A copy of this tensor with <paramref name="value"/> written at the positions <paramref name="index"/> names along
    /// <paramref name="dim"/> (PyTorch: <c>scatter(dim, index, value)</c>); the gradient is g with those positions zeroed.
    /// </summary>
    public Tensor Scatter(int dim, Tensor index, double value)
    {
        var (d, idx) = CheckScatter(dim, index, null, nameof(Scatter));
        var y = ScatterForward(d, index, idx, null, Full([], value, DType), add: false);
        if (!Autograd.ShouldRecord(this)) return y;
        return Autograd.Record(y, "ScatterBackward", [this], g => [g.Scatter(d, index, 0.0)]);
    }

    private Tensor ScatterCore(int dim, Tensor index, Tensor src, string op, bool add)
    {
        ArgumentNullException.ThrowIfNull(src);
        var (d, idx) = CheckScatter(dim, index, src, op);
        var y = ScatterForward(d, index, idx, src, null, add);
        if (!Autograd.ShouldRecord(this, src)) return y;
        int[] srcShape = src._shape;
        return Autograd.Record(y, add ? "ScatterAddBackward" : "ScatterBackward", [this, src], g =>
        [
            RequiresGrad ? (add ? g : g.Scatter(d, index, 0.0)) : null,
            src.RequiresGrad ? GatherToShape(g, d, index, srcShape) : null,
        ]);
    }

    /// <summary><c>g.Gather(d, index)</c>, padded with zeros up to src's shape where the index is smaller.</summary>
    private static Tensor GatherToShape(Tensor g, int d, Tensor index, int[] srcShape)
    {
        var taken = g.Gather(d, index);
        if (Shapes.Equal(taken._shape, srcShape)) return taken;
        var pads = new int[2 * srcShape.Length];
        for (int j = 0; j < srcShape.Length; j++) pads[2 * j + 1] = srcShape[srcShape.Length - 1 - j] - taken._shape[srcShape.Length - 1 - j];
        return taken.PadConstant(pads, 0);
    }

    private Tensor ScatterForward(int d, Tensor index, long[] idx, Tensor? src, Tensor? fill, bool add)
    {
        var y = Uninitialized(_shape, DType);
        System.Array.Copy(Storage, y.Storage, Numel);
        DTypeDispatch.Any(DType, new ScatterKernel(y, src, fill, index._shape, idx, d, add));
        return y;
    }

    /// <summary>Validates a scatter's dimension, index (and source) as PyTorch does; returns the wrapped dim and the index values.</summary>
    private (int Dim, long[] Index) CheckScatter(int dim, Tensor index, Tensor? src, string op)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = Shapes.WrapDim(dim, Rank, op);
        if (index.DType != DType.Int64)
            throw new ArgumentException($"{op}: the index must be an Int64 tensor; got {index.DType.ToTorchName()}.", nameof(index));
        if (src is not null && src.DType != DType)
            throw new ArgumentException($"{op}: src is {src.DType.ToTorchName()} but this tensor is {DType.ToTorchName()}; give both one dtype.", nameof(src));
        if (index.Rank != Rank || (src is not null && src.Rank != Rank))
            throw new ArgumentException($"{op}: the index (shape {Shapes.Format(index._shape)}){(src is null ? "" : $" and src (shape {Shapes.Format(src._shape)})")} must have the rank of this tensor (shape {Shapes.Format(_shape)}).", nameof(index));
        for (int k = 0; k < Rank; k++)
        {
            if (k != d && index._shape[k] > _shape[k])
                throw new ArgumentException($"{op}: index shape {Shapes.Format(index._shape)} is larger than this tensor's shape {Shapes.Format(_shape)} in dimension {k}.", nameof(index));
            if (src is not null && index._shape[k] > src._shape[k])
                throw new ArgumentException($"{op}: index shape {Shapes.Format(index._shape)} is larger than src's shape {Shapes.Format(src._shape)} in dimension {k}.", nameof(index));
        }
        var idx = index.Array<long>();
        int size = Rank == 0 ? 1 : _shape[d];
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= size)
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {idx[i]} (at {Shapes.Format(Unravel(i, index._shape))} of the index) is out of range for dimension {d} of size {size} (tensor shape {Shapes.Format(_shape)}).");
        return (d, idx);
    }

    /// <summary>The multi-index of flat position <paramref name="flat"/> in <paramref name="shape"/>, for messages.</summary>
    internal static int[] Unravel(int flat, int[] shape)
    {
        var pos = new int[shape.Length];
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            pos[k] = flat % shape[k];
            flat /= shape[k];
        }
        return pos;
    }

    /// <summary>
    /// Walks every position p of the index; writes (or adds) src at p, or the fill value, into y at p with p[dim]
    /// replaced by index[p]. Positions are visited in row-major order, so repeated targets add in a fixed order.
    /// </summary>
    private readonly struct ScatterKernel(Tensor y, Tensor? src, Tensor? fill, int[] indexShape, long[] idx, int dim, bool add) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            if (idx.Length == 0) return;
            Span<T> ys = y.Span<T>();
            ReadOnlySpan<T> ss = src is null ? default : src.Span<T>();
            T value = fill is null ? default : fill.Span<T>()[0];
            int rank = indexShape.Length;
            int[] yStrides = Shapes.ContiguousStrides(y.ShapeRef);
            int[] sStrides = src is null ? yStrides : Shapes.ContiguousStrides(src.ShapeRef);
            Span<int> pos = stackalloc int[Math.Max(rank, 1)];
            pos.Clear();
            for (int n = 0; n < idx.Length; n++)
            {
                int to = 0, from = 0;
                for (int k = 0; k < rank; k++)
                {
                    to += (k == dim ? (int)idx[n] : pos[k]) * yStrides[k];
                    from += pos[k] * sStrides[k];
                }
                T v = src is null ? value : ss[from];
                ys[to] = add ? AddValues(ys[to], v) : v;
                for (int k = rank - 1; k >= 0; k--)
                {
                    if (++pos[k] < indexShape[k]) break;
                    pos[k] = 0;
                }
            }
        }
    }

    /// <summary><c>a + b</c> for any element type (logical or for Bool, as PyTorch's sum of bools); the JIT keeps one branch per T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T AddValues<T>(T a, T b) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { float r = Unsafe.As<T, float>(ref a) + Unsafe.As<T, float>(ref b); return Unsafe.As<float, T>(ref r); }
        if (typeof(T) == typeof(double)) { double r = Unsafe.As<T, double>(ref a) + Unsafe.As<T, double>(ref b); return Unsafe.As<double, T>(ref r); }
        if (typeof(T) == typeof(long)) { long r = Unsafe.As<T, long>(ref a) + Unsafe.As<T, long>(ref b); return Unsafe.As<long, T>(ref r); }
        if (typeof(T) == typeof(bool)) { bool r = Unsafe.As<T, bool>(ref a) | Unsafe.As<T, bool>(ref b); return Unsafe.As<bool, T>(ref r); }
        throw new NotSupportedException($"No addition for {typeof(T).Name}.");
    }
}

internal static partial class GradChecks
{
    internal static readonly int Scatter = Register(nameof(Scatter), static c =>
    {
        // Distinct targets per column (a permutation along dim 0): with repeats the overwritten src values would have a
        // gradient by PyTorch's rule but none by finite differences.
        var perm = Tensor.FromArray(new long[] { 2, 0, 1, 1, 2, 0 }, 2, 3);
        c.Add("src", x => x[0].Scatter(0, perm, x[1]), c.Normal(3, 3), c.Normal(2, 3));
        c.Add("src larger than index", x => x[0].Scatter(1, Tensor.FromArray(new long[] { 3, 0 }, 2, 1), x[1]), c.Normal(2, 4), c.Normal(2, 3));
        c.Add("value", x => x[0].Scatter(1, Tensor.FromArray(new long[] { 1, 3, 0, 2 }, 2, 2), -1.5), c.Normal(2, 4));
    });
}
