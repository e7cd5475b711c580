using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise minimum of two tensors with broadcasting (PyTorch: <c>torch.minimum</c>), as <c>−max(−a, −b)</c>, so
    /// its backward is <see cref="Maximum"/>'s (ties share the gradient).
    /// </summary>
    public static Tensor Minimum(Tensor a, Tensor b) => -Maximum(-a, -b);
}

internal static partial class GradChecks
{
    internal static readonly int Minimum = Register(nameof(Minimum), static c =>
    {
        foreach (var s in BinaryShapes) c.Add((Func<Tensor[], Tensor>)(x => Tensor.Minimum(x[0], x[1])), c.Normal(s[0]), c.Normal(s[1]));
    });
}
