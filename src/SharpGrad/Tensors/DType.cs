namespace SharpGrad;

/// <summary>The element type of a <see cref="Tensor"/> (PyTorch: <c>torch.dtype</c>).</summary>
public enum DType
{
    /// <summary>32-bit IEEE 754 floating point, the default (<c>torch.float32</c>).</summary>
    Float32,
    /// <summary>64-bit IEEE 754 floating point (<c>torch.float64</c>); gradient checks and exact exercises use it.</summary>
    Float64,
    /// <summary>
    /// 64-bit signed integers (<c>torch.int64</c>): class labels and the indices that <see cref="Tensor.ArgMax(int, bool)"/>
    /// returns and <see cref="Tensor.IndexSelect"/> / <see cref="Tensor.Gather"/> take. Not differentiable; arithmetic
    /// ops reject it with a message, convert with <see cref="Tensor.To(DType)"/> first.
    /// </summary>
    Int64,
    /// <summary>
    /// Booleans, one byte each (<c>torch.bool</c>): the results of comparisons (<see cref="Tensor.Gt(Tensor)"/>,
    /// <see cref="Tensor.Eq(Tensor)"/> ...) and the masks that <see cref="Tensor.Where(Tensor, Tensor, Tensor)"/> and
    /// <see cref="Tensor.MaskedFill(Tensor, double)"/> take. Not differentiable; convert with <see cref="Tensor.To(DType)"/>
    /// to count or average (True is 1, False is 0).
    /// </summary>
    Bool,
}

/// <summary>Helpers on <see cref="DType"/>.</summary>
public static class DTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int64 => 8,
        DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for <see cref="DType.Float32"/> and <see cref="DType.Float64"/>.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>The PyTorch spelling, e.g. <c>float32</c>.</summary>
    public static string ToTorchName(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int64 => "int64",
        DType.Bool => "bool",
        _ => dtype.ToString(),
    };
}
