using System.Numerics;
using System.Numerics.Tensors;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    private Tensor SoftmaxForward(int dim, SoftmaxKernels.Mode mode, string op)
    {
        EnsureFloatingPoint(op);
        dim = Shapes.WrapDim(dim, Rank, op);
        var (outer, size, inner) = Shapes.Split(_shape, dim);
        var y = Empty(_shape, DType);
        if (DType == DType.Float32) SoftmaxKernels.Forward<float>(Span<float>(), outer, size, inner, y.Span<float>(), mode);
        else SoftmaxKernels.Forward<double>(Span<double>(), outer, size, inner, y.Span<double>(), mode);
        return y;
    }

    /// <summary>
    /// Softmax along <paramref name="dim"/>: S_i = exp(z_i / c) / Σ_j exp(z_j / c) with temperature c
    /// (PyTorch: <c>softmax(dim)</c> for c = 1). The maximum is subtracted first, so any finite input is safe, and for any
    /// positive finite c: c → 0 tends to one-hot at the maximum (shared equally by ties; reached exactly once
    /// (z_max − z_i) / c overflows) and c → ∞ to uniform. The backward is the O(n) vector-Jacobian product
    /// S ⊙ (g − ⟨g, S⟩), never the n × n Jacobian diag(S) − S Sᵀ.
    /// </summary>
    public Tensor Softmax(int dim, double temperature = 1.0)
    {
        if (!(temperature > 0) || double.IsPositiveInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Softmax: the temperature must be positive and finite.");
        if (temperature != 1.0)
        {
            // (z − max z) / c rather than z · (1/c): 1/c overflows for a tiny c (1e-320 gives z · ∞ and then NaN), and
            // z / c can overflow for a large z. After the shift every entry is ≤ 0, so the worst is −∞, whose exp is 0.
            // The shift is a constant (detached): softmax does not change under it, nor does its gradient.
            Tensor shifted = this - Max(dim, keepDim: true).Detach();
            return (shifted / temperature).Softmax(dim);
        }
        var y = SoftmaxForward(dim, SoftmaxKernels.Mode.Softmax, nameof(Softmax));
        int d = Shapes.WrapDim(dim, Rank, nameof(Softmax));
        return Autograd.Record(y, "SoftmaxBackward", [this], g => [y * (g - (g * y).Sum(d, keepDim: true))], attributes: new DimAttributes(d));
    }
}

/// <summary>
/// Softmax and log-softmax over the middle dimension of an (outer, size, inner) block. Each subtracts the maximum
/// first (TensorPrimitives.SoftMax does not), so inputs of ±1e4 stay finite.
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
}

internal static partial class GradChecks
{
    /// <summary>The (shape, dim) pairs the ops along one dimension are checked at.</summary>
    internal static (int[] Shape, int Dim)[] DimCases => [([4], 0), ([3, 4], 1), ([3, 4], 0), ([2, 3, 4], 1), ([2, 1, 3], -1), ([3, 1], 1)];

    internal static readonly int Softmax = Register(nameof(Softmax), static c =>
    {
        foreach (var (s, dim) in DimCases)
        {
            c.Add($"dim {dim}", x => x[0].Softmax(dim), c.Normal(s));
            c.Add($"dim {dim}, T=0.5", x => x[0].Softmax(dim, 0.5), c.Normal(s));
        }
    });
}
