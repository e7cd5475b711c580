namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise selection with broadcasting: <c>x</c> where <paramref name="condition"/> is true, <c>y</c> elsewhere
    /// (PyTorch: <c>torch.where</c>). The condition must be Bool. The gradient goes to x where the condition holds and
    /// to y elsewhere (0 to the other), summed back over broadcast dimensions.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (condition.DType != DType.Bool)
            throw new ArgumentException($"Where: the condition must be a Bool tensor (a comparison or a mask); it is {condition.DType.ToTorchName()} with shape {Shapes.Format(condition._shape)}.", nameof(condition));
        if (x.DType != y.DType)
        {
            if (x.DType.IsFloatingPoint() || y.DType.IsFloatingPoint()) (x, y) = Promote(x, y, nameof(Where));
            else throw new ArgumentException($"Where: x is {x.DType.ToTorchName()} and y is {y.DType.ToTorchName()}; give both one dtype.");
        }
        int[] shape = Shapes.Broadcast(Shapes.Broadcast(condition._shape, x._shape, nameof(Where)), y._shape, nameof(Where));
        var result = Uninitialized(shape, x.DType);
        DTypeDispatch.Any(x.DType, new Select(condition, x, y, result));
        if (!Autograd.ShouldRecord(x, y)) return result;
        return Autograd.Record(result, "WhereBackward", [x, y], g =>
        {
            var zero = g.ScalarLike(0);
            return [x.RequiresGrad ? Where(condition, g, zero) : null, y.RequiresGrad ? Where(condition, zero, g) : null];
        });
    }

    /// <summary><see cref="Where(Tensor, Tensor, Tensor)"/> with a constant where the condition is false.</summary>
    public static Tensor Where(Tensor condition, Tensor x, double y) => Where(condition, x, x.ScalarLike(y));

    /// <summary><see cref="Where(Tensor, Tensor, Tensor)"/> with a constant where the condition is true.</summary>
    public static Tensor Where(Tensor condition, double x, Tensor y) => Where(condition, y.ScalarLike(x), y);

    /// <summary>
    /// This tensor with <paramref name="value"/> wherever the Bool <paramref name="mask"/> (broadcast to this shape) is
    /// true (PyTorch: <c>masked_fill</c>); no gradient flows to the filled elements.
    /// </summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var filled = Where(mask, ScalarLike(value), this);
        if (!Shapes.Equal(filled._shape, _shape))
            throw new ArgumentException($"MaskedFill: the mask's shape {Shapes.Format(mask._shape)} must broadcast to the tensor's {Shapes.Format(_shape)}.", nameof(mask));
        return filled;
    }

    private readonly struct Select(Tensor condition, Tensor x, Tensor y, Tensor result) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            var shape = result._shape;
            var c = condition.BroadcastArray<bool>(shape);
            var a = x.BroadcastArray<T>(shape);
            var b = y.BroadcastArray<T>(shape);
            var d = (T[])result.Storage;
            for (int i = 0; i < d.Length; i++) d[i] = c[i] ? a[i] : b[i];
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Where = Register(nameof(Where), static c =>
    {
        var mask = c.Normal(3, 4).Gt(0);
        c.Add(x => Tensor.Where(mask, x[0], x[1]), c.Normal(3, 4), c.Normal(3, 4));
        c.Add("broadcast", x => Tensor.Where(mask, x[0], x[1]), c.Normal(4), c.Normal(3, 1));
        c.Add("scalar", x => Tensor.Where(mask, x[0], 0.5), c.Normal(3, 4));
    });

    internal static readonly int MaskedFill = Register(nameof(MaskedFill), static c =>
    {
        var mask = c.Normal(1, 4).Gt(0);
        c.Add(x => x[0].MaskedFill(mask, -1e9), c.Normal(3, 4));
    });
}
