namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Swaps two dimensions (PyTorch: <c>transpose</c>); a <see cref="Permute"/>, so a contiguous copy of any dtype.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        if (Rank < 2 && dim0 is 0 or -1 && dim1 is 0 or -1) return this;
        int a = Shapes.WrapDim(dim0, Rank, nameof(Transpose)), b = Shapes.WrapDim(dim1, Rank, nameof(Transpose));
        var perm = new int[Rank];
        for (int i = 0; i < Rank; i++) perm[i] = i;
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Transpose = Register(nameof(Transpose), static c =>
    {
        c.Add(x => x[0].Transpose(0, 2), c.Normal(2, 3, 4));
        c.Add("last two", x => x[0].Transpose(-1, -2).MatMul(x[0]), c.Normal(3, 2));
    });
}
