namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Removes every dimension of size 1 (PyTorch: <c>squeeze()</c>); a reshape (no copy, every dtype).</summary>
    public Tensor Squeeze() => ReshapeOwned(_shape.Where(d => d != 1).ToArray());

    /// <summary>Removes dimension <paramref name="dim"/> if its size is 1; otherwise returns the tensor unchanged, as PyTorch does.</summary>
    public Tensor Squeeze(int dim)
    {
        if (Rank == 0) return this;
        int d = Shapes.WrapDim(dim, Rank, nameof(Squeeze));
        return _shape[d] == 1 ? ReshapeOwned(Shapes.RemoveDim(_shape, d)) : this;
    }
}

internal static partial class GradChecks
{
    internal static readonly int Squeeze = Register(nameof(Squeeze), static c =>
    {
        c.Add(x => x[0].Squeeze(), c.Normal(1, 3, 1));
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => x[0].Squeeze(dim), c.Normal(s));
    });
}
