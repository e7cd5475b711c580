using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.Kernels;

/// <summary>
/// The three products of a fully connected layer y = x Wᵀ + b on row-major spans, x [rows, in], W [out, in], y and its
/// gradient g [rows, out]: the forward with the bias fused into the GEMM's epilogue, dX = g W, dW = gᵀ x and
/// db = Σ_rows g. Small batches (batch size 1 and the like) need no path of their own here: <see cref="Gemm"/> sends
/// such shapes to its direct loops (<see cref="Gemm.IsSmall"/>).
/// </summary>
internal static class LinearKernels
{
    /// <summary><c>y = act(x Wᵀ + b)</c> (bias may be empty); every element of y is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int rows, int inF, int outF,
        GemmActivation activation = GemmActivation.None)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || outF == 0) return;
        Gemm.Multiply(false, true, rows, outF, inF, T.One, x, Math.Max(1, inF), w, Math.Max(1, inF), T.Zero, y, outF, bias, activation);
    }

    /// <summary><c>dx = g W</c>: dx [rows, in], every element written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInput<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> w, Span<T> dx, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || inF == 0) return;
        Gemm.Multiply(false, false, rows, inF, outF, g, w, dx, accumulate: false);
    }

    /// <summary><c>dW = gᵀ x</c>: dW [out, in], every element written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeight<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> dw, int rows, int inF, int outF)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outF == 0 || inF == 0) return;
        Gemm.Multiply(true, false, outF, inF, rows, g, x, dw, accumulate: false);
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
