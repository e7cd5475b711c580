using System.Numerics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>log Σ exp(z) along <paramref name="dim"/>, as m + log Σ exp(z − m) (PyTorch: <c>logsumexp</c>); gradient softmax(z).</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false)
    {
        EnsureFloatingPoint(nameof(LogSumExp));
        int d = Shapes.WrapDim(dim, Rank, nameof(LogSumExp));
        var (outer, size, inner) = Shapes.Split(_shape, d);
        int[] shape = keepDim ? Shapes.WithDim(_shape, d, 1) : Shapes.RemoveDim(_shape, d);
        var y = Empty(shape, DType);
        if (DType == DType.Float32) LogSumExpKernel.Run<float>(Span<float>(), outer, size, inner, y.Span<float>());
        else LogSumExpKernel.Run<double>(Span<double>(), outer, size, inner, y.Span<double>());
        return Autograd.Record(y, "LogSumExpBackward", [this], g =>
        {
            var gk = keepDim ? g : g.Unsqueeze(d);
            return [gk * Softmax(d)];
        });
    }
}

/// <summary>log-sum-exp over the middle dimension of an (outer, size, inner) block, shifted by the maximum.</summary>
internal static class LogSumExpKernel
{
    /// <summary><c>d[o, i] = log sum_j exp(x[o, j, i])</c>, computed as m + log sum exp(x - m).</summary>
    public static void Run<T>(ReadOnlySpan<T> x, int outer, int size, int inner, Span<T> d)
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

internal static partial class GradChecks
{
    internal static readonly int LogSumExp = Register(nameof(LogSumExp), static c =>
    {
        foreach (var (s, dim) in DimCases)
        {
            c.Add($"dim {dim}", x => x[0].LogSumExp(dim), c.Normal(s));
            c.Add($"dim {dim}, keep", x => x[0].LogSumExp(dim, keepDim: true), c.Normal(s));
        }
    });
}
