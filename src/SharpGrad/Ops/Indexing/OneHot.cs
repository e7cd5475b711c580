namespace SharpGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// One-hot encoding (PyTorch: <c>torch.nn.functional.one_hot</c>): an Int64 tensor of shape
    /// <c>indices.Shape + [numClasses]</c> with a 1 at <c>[…, indices[…]]</c> and 0 elsewhere. <paramref name="indices"/>
    /// is Int64 with values in [0, numClasses); numClasses −1 means the largest index + 1. Not differentiable.
    /// </summary>
    public static Tensor OneHot(Tensor indices, int numClasses = -1)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.DType != DType.Int64)
            throw new ArgumentException($"OneHot: the indices must be an Int64 tensor; got {indices.DType.ToTorchName()}.", nameof(indices));
        if (numClasses < -1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "OneHot: numClasses must be positive, or -1 to take the largest index + 1.");
        var idx = indices.Array<long>();
        if (numClasses == -1)
        {
            if (idx.Length == 0) throw new ArgumentException("OneHot: cannot infer the number of classes (numClasses -1) from an empty tensor; give numClasses.", nameof(numClasses));
            long max = idx.Max();
            if (max >= int.MaxValue) throw new ArgumentException($"OneHot: the largest index {max} is too large to infer a number of classes.", nameof(indices));
            numClasses = (int)Math.Max(max + 1, 0);
        }
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= numClasses)
                throw new ArgumentOutOfRangeException(nameof(indices), $"OneHot: class value {idx[i]} at {Shapes.Format(Tensor.Unravel(i, indices.ShapeRef))} is out of range for {numClasses} classes (0..{numClasses - 1}).");
        int[] shape = [.. indices.ShapeRef, numClasses];
        var y = Tensor.Zeros(shape, DType.Int64);
        var data = y.Array<long>();
        for (int i = 0; i < idx.Length; i++) data[(long)i * numClasses + idx[i]] = 1;
        return y;
    }
}
