namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (PyTorch: <c>flatten</c>); a
    /// reshape, so no copy, every dtype, and Reshape's gradient.
    /// </summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shapes.WrapDim(startDim, Rank, nameof(Flatten)), e = Shapes.WrapDim(endDim, Rank, nameof(Flatten));
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for rank {Rank}.");
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= _shape[i];
        var shape = new int[Rank - (e - s)];
        for (int i = 0; i < s; i++) shape[i] = _shape[i];
        shape[s] = merged;
        for (int i = e + 1; i < Rank; i++) shape[i - (e - s)] = _shape[i];
        return ReshapeOwned(shape);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Flatten = Register(nameof(Flatten), static c =>
    {
        c.Add("1", x => x[0].Flatten(1) * Tensor.Arange(0, 24, 1, DType.Float64).Reshape(2, 12), c.Normal(2, 3, 4));
        c.Add("all", x => x[0].Flatten() * Tensor.Arange(0, 6, 1, DType.Float64), c.Normal(2, 3));
    });
}
