using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>
/// Cross-entropy of logits x [rows, classes] against class indices, with optional label smoothing ε, fused: one pass
/// per row computes log-softmax (maximum subtracted first) and the per-row loss
/// −(1 − ε) logp[y] − ε mean_c logp[c]; the backward writes s_r (softmax − q) in one pass, where
/// q = (1 − ε) onehot(y) + ε / C and s_r is the row's incoming gradient.
/// </summary>
internal static class CrossEntropyKernels
{
    /// <summary>
    /// Per-row losses into <paramref name="loss"/> and, per row, the shift m and log Σ exp(x − m) into
    /// <paramref name="stats"/> (2 values a row) for the backward. Targets must already be in range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<long> target, int rows, int classes, double smoothing, Span<T> loss, Span<T> stats)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T keep = T.CreateTruncating(1 - smoothing), spread = T.CreateTruncating(smoothing);
        T count = T.CreateTruncating(classes);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * classes, classes);
            T m = T.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                T v = row[c];
                if (v > m || T.IsNaN(v)) { m = v; if (T.IsNaN(v)) break; }
            }
            if (!T.IsFinite(m)) m = T.IsNaN(m) ? m : T.Zero; // all -inf or some +inf: no shift helps (as SoftmaxKernels)
            T s = T.Zero, shiftedSum = T.Zero;
            for (int c = 0; c < classes; c++)
            {
                T z = row[c] - m;
                s += T.Exp(z);
                shiftedSum += z;
            }
            T logS = T.Log(s);
            stats[2 * r] = m;
            stats[2 * r + 1] = logS;
            T nll = -((row[(int)target[r]] - m) - logS);
            if (smoothing == 0) loss[r] = nll;
            else
            {
                T meanLogp = shiftedSum / count - logS;
                loss[r] = nll * keep - meanLogp * spread;
            }
        }
    }

    /// <summary>
    /// <c>dx[r, c] = scale[r] (exp(x[r, c] − m_r − logS_r) − q[r, c])</c>; <paramref name="scale"/> has one value per row,
    /// or one value for every row when its length is 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<long> target, ReadOnlySpan<T> stats, ReadOnlySpan<T> scale,
        int rows, int classes, double smoothing, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T keep = T.CreateTruncating(1 - smoothing), uniform = T.CreateTruncating(smoothing / classes);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * classes, classes);
            Span<T> d = dx.Slice(r * classes, classes);
            T sr = scale.Length == 1 ? scale[0] : scale[r];
            T m = stats[2 * r], logS = stats[2 * r + 1];
            int y = (int)target[r];
            for (int c = 0; c < classes; c++)
            {
                T q = c == y ? keep + uniform : uniform;
                d[c] = (T.Exp((row[c] - m) - logS) - q) * sr;
            }
        }
    }
}
