using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Index of the largest element of the flattened tensor, as a 0-dimensional Int64 tensor (PyTorch: <c>argmax()</c>).</summary>
    public Tensor ArgMax() => Reshape(-1).ArgMax(0);

    /// <summary>
    /// Indices (Int64) of the largest values along <paramref name="dim"/> (PyTorch: <c>argmax(dim, keepdim)</c>): the first
    /// one wins ties, and a NaN counts as the largest (the first NaN's index), as in PyTorch. Not differentiable.
    /// </summary>
    public Tensor ArgMax(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(ArgMax));
        int d = Shapes.WrapDim(dim, Rank, nameof(ArgMax));
        if (Rank == 0) return Reshape(1).ArgMax(0).Reshape();
        var (outer, size, inner) = Shapes.Split(_shape, d);
        if (size == 0) throw new ArgumentException($"ArgMax: dimension {d} of the input (shape {Shapes.Format(_shape)}) is empty.");
        var y = Uninitialized(ReducedShape(d, keepDim), DType.Int64);
        DTypeDispatch.Float(DType, new ArgMaxKernel(this, y, outer, size, inner), nameof(ArgMax));
        return y;
    }

    private readonly struct ArgMaxKernel(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<long> ys = y.Span<long>();
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int b = o * size * inner + i, best = 0;
                    T bestValue = xs[b];
                    if (!T.IsNaN(bestValue))
                        for (int j = 1; j < size; j++)
                        {
                            T v = xs[b + j * inner];
                            if (T.IsNaN(v)) { best = j; break; }
                            if (v > bestValue) { best = j; bestValue = v; }
                        }
                    ys[o * inner + i] = best;
                }
        }
    }
}
