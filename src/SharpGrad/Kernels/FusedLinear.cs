using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>
/// The three products of a fully connected layer y = x Wᵀ + b on row-major spans, x [rows, in], W [out, in], y and its
/// gradient g [rows, out]: the forward with the bias fused into the GEMM's epilogue, dX = g W, dW = gᵀ x and
/// db = Σ_rows g. A handful of rows (batch size 1 and the like) would spend most of a GEMM call packing W for almost no
/// arithmetic, so up to <see cref="SmallRows"/> rows go through dot products and axpys that stream W once instead.
/// </summary>
internal static class LinearKernels
{
    /// <summary>Up to this many rows the matrix-vector forms are used instead of the packed GEMM.</summary>
    internal const int SmallRows = 4;

    /// <summary><c>y = x Wᵀ + b</c> (bias may be empty); every element of y is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || outF == 0) return;
        if (rows > SmallRows || inF == 0)
        {
            Gemm.Multiply(false, true, rows, outF, inF, T.One, x, Math.Max(1, inF), w, Math.Max(1, inF), T.Zero, y, outF, bias);
            return;
        }
        // One pass over W: each row of W (one output feature) is dotted with every input row while it is in L1.
        for (int o = 0; o < outF; o++)
        {
            ReadOnlySpan<T> wr = w.Slice(o * inF, inF);
            T b = bias.IsEmpty ? T.Zero : bias[o];
            for (int r = 0; r < rows; r++)
            {
                T dot = FusedSimd.Dot(x.Slice(r * inF, inF), wr);
                y[r * outF + o] = bias.IsEmpty ? dot : dot + b;
            }
        }
    }

    /// <summary><c>dx = g W</c>: dx [rows, in], every element written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInput<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> w, Span<T> dx, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || inF == 0) return;
        if (rows > SmallRows || outF == 0)
        {
            Gemm.Multiply(false, false, rows, inF, outF, g, w, dx, accumulate: false);
            return;
        }
        // dx[r] = Σ_o g[r, o] W[o]: axpys over the rows of W, each row read once for all input rows.
        for (int r = 0; r < rows; r++) FusedSimd.Axpy(g[r * outF], w.Slice(0, inF), dx.Slice(r * inF, inF), accumulate: false);
        for (int o = 1; o < outF; o++)
        {
            ReadOnlySpan<T> wr = w.Slice(o * inF, inF);
            for (int r = 0; r < rows; r++)
            {
                FusedSimd.Axpy(g[r * outF + o], wr, dx.Slice(r * inF, inF), accumulate: true);
            }
        }
    }

    /// <summary><c>dW = gᵀ x</c>: dW [out, in], every element written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeight<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> dw, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outF == 0 || inF == 0) return;
        if (rows > SmallRows || rows == 0)
        {
            Gemm.Multiply(true, false, outF, inF, rows, g, x, dw, accumulate: false);
            return;
        }
        // dW[o] = Σ_r g[r, o] x[r]: a sum of outer products, written one row of dW at a time.
        for (int o = 0; o < outF; o++)
        {
            Span<T> dr = dw.Slice(o * inF, inF);
            FusedSimd.Axpy(g[o], x.Slice(0, inF), dr, accumulate: false);
            for (int r = 1; r < rows; r++) FusedSimd.Axpy(g[r * outF + o], x.Slice(r * inF, inF), dr, accumulate: true);
        }
    }

    /// <summary><c>db = Σ_r g[r]</c>: the column sums of g [rows, out], summed in row order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BiasGrad<T>(ReadOnlySpan<T> g, Span<T> db, int rows, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0) { db.Slice(0, outF).Clear(); return; }
        g.Slice(0, outF).CopyTo(db);
        for (int r = 1; r < rows; r++) FusedSimd.AddInPlace(db.Slice(0, outF), g.Slice(r * outF, outF));
    }
}
