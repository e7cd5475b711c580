using System.Numerics;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>Index of the smallest element of the flattened tensor, as a 0-dimensional Int64 tensor (PyTorch: <c>argmin()</c>).</summary>
    public Tensor ArgMin() => Reshape(-1).ArgMin(0);

    /// <summary>
    /// Indices (Int64) of the smallest values along <paramref name="dim"/> (PyTorch: <c>argmin(dim, keepdim)</c>): the
    /// first one wins ties, and a NaN counts as the smallest (the first NaN's index), as in PyTorch. Not differentiable.
    /// </summary>
    public Tensor ArgMin(int dim, bool keepDim = false) => ArgExtremum<Smaller>(dim, keepDim, nameof(ArgMin));

    private readonly struct Smaller : IArgOrder
    {
        public static bool Beats<T>(T v, T best) where T : IFloatingPointIeee754<T> => v < best;
    }
}
