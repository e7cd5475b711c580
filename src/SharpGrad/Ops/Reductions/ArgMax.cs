using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Index of the largest element of the flattened tensor, as a 0-dimensional Int64 tensor (PyTorch: <c>argmax()</c>).</summary>
    public Tensor ArgMax() => Reshape(-1).ArgMax(0);

    /// <summary>
    /// Indices (Int64) of the largest values along <paramref name="dim"/> (PyTorch: <c>argmax(dim, keepdim)</c>): the first
    /// one wins ties, and a NaN counts as the largest (the first NaN's index), as in PyTorch. Not differentiable.
    /// </summary>
    public Tensor ArgMax(int dim, bool keepDim = false) => ArgExtremum<Larger>(dim, keepDim, nameof(ArgMax));

    private readonly struct Larger : IArgOrder
    {
        public static bool Beats<T>(T v, T best) where T : IFloatingPointIeee754<T> => v > best;
    }
}
