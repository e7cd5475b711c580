namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// A copy of this tensor with <paramref name="src"/>'s values added at the positions <paramref name="index"/> names
    /// along <paramref name="dim"/>: for dim 1, <c>y[i][index[i][j][k]][k] += src[i][j][k]</c> (PyTorch:
    /// <c>scatter_add</c>). Index rules as <see cref="Scatter(int, Tensor, Tensor)"/>; repeated targets accumulate,
    /// always in row-major order of the index, so the result is deterministic. Works for every dtype (logical or for
    /// Bool). Gradients: g for this tensor, <c>g.Gather(dim, index)</c> for src.
    /// </summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => ScatterCore(dim, index, src, nameof(ScatterAdd), add: true);
}

internal static partial class GradChecks
{
    internal static readonly int ScatterAdd = Register(nameof(ScatterAdd), static c =>
    {
        var repeated = Tensor.FromArray(new long[] { 0, 0, 2, 0, 1, 1, 0, 1 }, 2, 4);
        c.Add("duplicates", x => x[0].ScatterAdd(1, repeated, x[1]) * x[0], c.Normal(2, 3), c.Normal(2, 4));
        c.Add("dim 0", x => x[0].ScatterAdd(0, Tensor.FromArray(new long[] { 1, 1, 0 }, 3, 1), x[1]), c.Normal(2, 2), c.Normal(3, 2));
    });
}
