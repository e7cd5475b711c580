using System.Numerics;

namespace SharpGrad;

/// <summary>Which of two values an index reduction keeps: <see cref="Tensor.ArgMax(int, bool)"/> or <see cref="Tensor.ArgMin(int, bool)"/>.</summary>
internal interface IArgOrder
{
    /// <summary>Whether <paramref name="v"/> replaces the best value so far (strictly, so the first one wins ties).</summary>
    static abstract bool Beats<T>(T v, T best) where T : IFloatingPointIeee754<T>;
}

public sealed partial class Tensor
{
    /// <summary>
    /// The index along <paramref name="dim"/> of the value that beats every other under <typeparamref name="TOrder"/>
    /// (Int64, not recorded): the first one wins ties, and the first NaN wins outright, as in PyTorch.
    /// </summary>
    private Tensor ArgExtremum<TOrder>(int dim, bool keepDim, string op) where TOrder : IArgOrder
    {
        EnsureFloatingPoint(op);
        int d = Shapes.WrapDim(dim, Rank, op);
        if (Rank == 0) return Reshape(1).ArgExtremum<TOrder>(0, false, op).Reshape();
        var (outer, size, inner) = Shapes.Split(_shape, d);
        if (size == 0) throw new ArgumentException($"{op}: dimension {d} of the input (shape {Shapes.Format(_shape)}) is empty.");
        var y = Uninitialized(ReducedShape(d, keepDim), DType.Int64);
        DTypeDispatch.Float(DType, new ArgExtremumKernel<TOrder>(this, y, outer, size, inner), op);
        return y;
    }

    private readonly struct ArgExtremumKernel<TOrder>(Tensor x, Tensor y, int outer, int size, int inner) : IFloatKernel where TOrder : IArgOrder
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
                            if (TOrder.Beats(v, bestValue)) { best = j; bestValue = v; }
                        }
                    ys[o * inner + i] = best;
                }
        }
    }
}
