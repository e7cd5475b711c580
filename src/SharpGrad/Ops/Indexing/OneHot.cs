namespace SharpGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// One-hot encoding (PyTorch: <c>torch.nn.functional.one_hot</c>): a tensor of shape <c>indices.Shape + [numClasses]</c>
    /// with 1 at <c>[…, indices[…]]</c> and 0 elsewhere, Int64 as PyTorch's unless <paramref name="dtype"/> asks for
    /// another (the losses take it in their floating type). <paramref name="indices"/> is Int64 with values in
    /// [0, numClasses); numClasses −1 means the largest index + 1. Not differentiable.
    /// </summary>
    public static Tensor OneHot(Tensor indices, int numClasses = -1, DType dtype = DType.Int64)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.DType != DType.Int64) throw new ArgumentException($"OneHot: indices must be Int64; got {indices.DType.ToTorchName()}.");
        var idx = indices.Array<long>();
        if (numClasses < -1)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "OneHot: numClasses must be positive, or -1 to take the largest index + 1.");
        if (numClasses == -1)
        {
            if (idx.Length == 0) throw new ArgumentException("OneHot: cannot infer the number of classes (numClasses -1) from an empty tensor; give numClasses.", nameof(numClasses));
            long max = idx.Max();
            if (max >= int.MaxValue) throw new ArgumentException($"OneHot: the largest index {max} is too large to infer a number of classes from.", nameof(indices));
            numClasses = (int)Math.Max(max + 1, 0);
        }
        var y = Tensor.Zeros([.. indices.ShapeRef, numClasses], dtype);
        for (int i = 0; i < idx.Length; i++)
        {
            if (idx[i] < 0 || idx[i] >= numClasses)
                throw new ArgumentException($"OneHot: index {idx[i]} at position {i} is outside [0, {numClasses}) for {numClasses} classes.");
            y.SetDouble(i * numClasses + (int)idx[i], 1.0);
        }
        return y;
    }
}
