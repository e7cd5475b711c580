namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Joins tensors of equal shape along a new dimension (PyTorch: <c>torch.stack</c>): each is unsqueezed at
    /// <paramref name="dim"/> and the results concatenated, so it has Concat's dtypes and gradient.
    /// </summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack: no tensors given.", nameof(tensors));
        var shape = tensors[0]._shape;
        for (int i = 1; i < tensors.Count; i++)
            if (!Shapes.Equal(tensors[i]._shape, shape))
                throw new ArgumentException($"Stack: tensor {i} has shape {Shapes.Format(tensors[i]._shape)} but tensor 0 has {Shapes.Format(shape)}.");
        int d = Shapes.WrapDim(dim, shape.Length + 1, nameof(Stack));
        var parts = new Tensor[tensors.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = tensors[i].Unsqueeze(d);
        return Concat(parts, d);
    }
}

internal static partial class GradChecks
{
    internal static readonly int Stack = Register(nameof(Stack), static c =>
    {
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => Tensor.Stack([x[0], x[1]], dim), c.Normal(s), c.Normal(s));
        c.Add("0-d", x => Tensor.Stack([x[0], x[1] * x[0]]), c.Normal(), c.Normal());
    });
}
