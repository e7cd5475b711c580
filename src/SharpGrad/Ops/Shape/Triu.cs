namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The upper triangle of the last two dimensions (each matrix of a batch): element (i, j) is kept where
    /// <c>j − i ≥ diagonal</c> and zeroed elsewhere (PyTorch: <c>triu</c>). Works for every dtype (false for Bool); the
    /// gradient is g's upper triangle. Shares its kernel with <see cref="Tril"/>.
    /// </summary>
    public Tensor Triu(int diagonal = 0) => Triangle(diagonal, lower: false, nameof(Triu));
}

internal static partial class GradChecks
{
    internal static readonly int Triu = Register(nameof(Triu), static c =>
    {
        c.Add(x => x[0].Triu(), c.Normal(4, 4));
        c.Add("diagonal -1, batched", x => x[0].Triu(-1), c.Normal(2, 3, 5));
        c.Add("diagonal 2, wide", x => x[0].Triu(2), c.Normal(3, 6));
    });
}
