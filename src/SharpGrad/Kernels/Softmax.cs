using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.Kernels;

/// <summary>
/// Softmax, log-softmax and log-sum-exp over the middle dimension of an (outer, size, inner) block. Each subtracts
/// the maximum first (TensorPrimitives.SoftMax does not), so inputs of ±1e4 stay finite.
/// </summary>
internal static class SoftmaxKernels
{
    public enum Mode { Softmax, LogSoftmax }

    public static void Forward<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> y, Mode mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (size == 0) return;
        T[] scratch = new T[2 * inner];
        Span<T> max = scratch.AsSpan(0, inner), sum = scratch.AsSpan(inner, inner);
        for (int o = 0; o < outer; o++)
        {
            int off = o * size * inner;
            ReadOnlySpan<T> xb = x.Slice(off, size * inner);
            Span<T> yb = y.Slice(off, size * inner);
            if (inner == 1)
            {
                T m = TensorPrimitives.Max(xb);
                if (!T.IsFinite(m)) m = T.IsNaN(m) ? m : T.Zero; // all -inf or some +inf: no shift helps
                TensorPrimitives.Subtract(xb, m, yb);
                if (mode == Mode.Softmax)
                {
                    TensorPrimitives.Exp(yb, yb);
                    T s = TensorPrimitives.Sum<T>(yb);
                    TensorPrimitives.Divide(yb, s, yb);
                }
                else
                {
                    // log-softmax = (x - m) - log(sum exp(x - m)); exp into a temporary row to keep y = x - m.
                    T s = T.Zero;
                    for (int j = 0; j < size; j++) s += T.Exp(yb[j]);
                    TensorPrimitives.Subtract(yb, T.Log(s), yb);
                }
                continue;
            }
            xb.Slice(0, inner).CopyTo(max);
            for (int j = 1; j < size; j++) TensorPrimitives.Max(max, xb.Slice(j * inner, inner), max);
            for (int i = 0; i < inner; i++) if (!T.IsFinite(max[i]) && !T.IsNaN(max[i])) max[i] = T.Zero;
            sum.Clear();
            for (int j = 0; j < size; j++)
            {
                Span<T> row = yb.Slice(j * inner, inner);
                TensorPrimitives.Subtract(xb.Slice(j * inner, inner), max, row);
                if (mode == Mode.Softmax) { TensorPrimitives.Exp(row, row); TensorPrimitives.Add(sum, row, sum); }
                else for (int i = 0; i < inner; i++) sum[i] += T.Exp(row[i]);
            }
            if (mode == Mode.Softmax)
                for (int j = 0; j < size; j++) TensorPrimitives.Divide(yb.Slice(j * inner, inner), sum, yb.Slice(j * inner, inner));
            else
            {
                TensorPrimitives.Log(sum, sum);
                for (int j = 0; j < size; j++) TensorPrimitives.Subtract(yb.Slice(j * inner, inner), sum, yb.Slice(j * inner, inner));
            }
        }
    }

    /// <summary><c>d[o, i] = log sum_j exp(x[o, j, i])</c>, computed as m + log sum exp(x - m).</summary>
    public static void LogSumExp<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<T> xb = x.Slice(o * size * inner, size * inner);
            for (int i = 0; i < inner; i++)
            {
                T m = T.NegativeInfinity;
                for (int j = 0; j < size; j++) { T v = xb[j * inner + i]; if (v > m || T.IsNaN(v)) m = v; }
                if (T.IsNaN(m) || T.IsInfinity(m)) { d[o * inner + i] = m; continue; }
                T s = T.Zero;
                for (int j = 0; j < size; j++) s += T.Exp(xb[j * inner + i] - m);
                d[o * inner + i] = m + T.Log(s);
            }
        }
    }
}
