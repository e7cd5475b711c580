namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Inserts a dimension of size 1 at <paramref name="dim"/> (−Rank−1 ≤ dim ≤ Rank) (PyTorch: <c>unsqueeze</c>); a
    /// reshape (no copy, every dtype).
    /// </summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = Shapes.WrapDim(dim, Rank + 1, nameof(Unsqueeze));
        var shape = new int[Rank + 1];
        for (int i = 0; i < d; i++) shape[i] = _shape[i];
        shape[d] = 1;
        for (int i = d; i < Rank; i++) shape[i + 1] = _shape[i];
        return ReshapeOwned(shape);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Unsqueeze = Register(nameof(Unsqueeze), static c =>
    {
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => x[0].Unsqueeze(dim), c.Normal(s));
        c.Add("0-d", x => x[0].Unsqueeze(0), c.Normal());
    });
}
