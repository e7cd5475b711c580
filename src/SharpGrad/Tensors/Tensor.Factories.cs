namespace SharpGrad;

public sealed partial class Tensor
{
    private static int[] ShapeOrLength(int[]? shape, int length, string what)
    {
        int[] s = shape is { Length: > 0 } ? shape.AsSpan().ToArray() : [length];
        int n = Shapes.Numel(s);
        if (n != length)
            throw new ArgumentException($"FromArray: {length} {what} elements do not fill shape {Shapes.Format(s)} ({n} elements).");
        return s;
    }

    /// <summary>
    /// A Float32 tensor holding a copy of <paramref name="data"/> in row-major order, with the given shape (a 1-D tensor
    /// when no shape is given). PyTorch: <c>torch.tensor(data).reshape(shape)</c>.
    /// </summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromOutside(new Tensor(data.AsSpan().ToArray(), ShapeOrLength(shape, data.Length, "float"), DType.Float32));
    }

    /// <summary>A Float64 tensor holding a copy of <paramref name="data"/>; see <see cref="FromArray(float[], int[])"/>.</summary>
    public static Tensor FromArray(double[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromOutside(new Tensor(data.AsSpan().ToArray(), ShapeOrLength(shape, data.Length, "double"), DType.Float64));
    }

    /// <summary>An Int64 tensor (labels, indices) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(long[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromOutside(new Tensor(data.AsSpan().ToArray(), ShapeOrLength(shape, data.Length, "long"), DType.Int64));
    }

    /// <summary>A Bool tensor (a mask) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(bool[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromOutside(new Tensor(data.AsSpan().ToArray(), ShapeOrLength(shape, data.Length, "bool"), DType.Bool));
    }

    /// <summary>An Int64 tensor (labels, indices) from 32-bit integers.</summary>
    public static Tensor FromArray(int[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        var l = new long[data.Length];
        for (int i = 0; i < l.Length; i++) l[i] = data[i];
        return FromOutside(new Tensor(l, ShapeOrLength(shape, data.Length, "int"), DType.Int64));
    }

    /// <summary>A 0-dimensional tensor holding one value (PyTorch: <c>torch.tensor(value)</c>).</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, bool requiresGrad = false) =>
        Full([], value, dtype, requiresGrad);

    /// <summary>A Float32 tensor of zeros (PyTorch: <c>torch.zeros</c>).</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, DType.Float32);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(int[] shape, DType dtype, bool requiresGrad = false) => Full(shape, 0.0, dtype, requiresGrad);

    /// <summary>A Float32 tensor of ones (PyTorch: <c>torch.ones</c>).</summary>
    public static Tensor Ones(params int[] shape) => Ones(shape, DType.Float32);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(int[] shape, DType dtype, bool requiresGrad = false) => Full(shape, 1.0, dtype, requiresGrad);

    /// <summary>A tensor filled with <paramref name="value"/> (PyTorch: <c>torch.full</c>).</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var t = Empty(shape.Length == 0 ? ScalarShape : shape.AsSpan().ToArray(), dtype);
        switch (t.Storage)
        {
            case float[] f: f.AsSpan().Fill((float)value); break;
            case double[] d: d.AsSpan().Fill(value); break;
            case long[] l:
                if (value != Math.Floor(value)) throw new ArgumentException($"Full: {value} is not an integer, but dtype is int64.", nameof(value));
                l.AsSpan().Fill((long)value); break;
            case bool[] b: b.AsSpan().Fill(value != 0); break;
        }
        t.RequiresGrad = requiresGrad;
        return Literal(t);
    }

    /// <summary>A tensor of zeros with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Empty(like._shape, like.DType);

    /// <summary>A tensor of ones with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => FullLike(like, 1.0);

    /// <summary>The 1-D tensor start, start + step, ... up to but excluding <paramref name="end"/> (PyTorch: <c>torch.arange</c>).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32)
    {
        if (step == 0 || double.IsNaN(step)) throw new ArgumentOutOfRangeException(nameof(step), step, "Arange: step must be non-zero.");
        double count = Math.Ceiling((end - start) / step);
        if (count > System.Array.MaxLength) throw new ArgumentException($"Arange: {count} elements is too many.");
        int n = Math.Max(0, (int)count);
        var t = Empty([n], dtype);
        for (int i = 0; i < n; i++) t.SetDouble(i, start + i * step);
        return t;
    }

    /// <summary>0, 1, ..., end - 1.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32) => Arange(0, end, 1, dtype);

    /// <summary>The n x m identity matrix (PyTorch: <c>torch.eye</c>).</summary>
    public static Tensor Eye(int n, int? m = null, DType dtype = DType.Float32)
    {
        int cols = m ?? n;
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        var t = Empty([n, cols], dtype);
        for (int i = 0; i < Math.Min(n, cols); i++) t.SetDouble(i * cols + i, 1.0);
        return t;
    }

    /// <summary>Uniform samples in [0, 1) from <paramref name="generator"/> (PyTorch: <c>torch.rand</c>).</summary>
    public static Tensor Rand(int[] shape, Generator? generator = null, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        var g = generator ?? Generator.Default;
        return Fill(shape, dtype, requiresGrad, g.NextDouble);
    }

    /// <summary>Uniform samples in [low, high).</summary>
    public static Tensor Uniform(int[] shape, double low, double high, Generator? generator = null, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        var g = generator ?? Generator.Default;
        return Fill(shape, dtype, requiresGrad, () => low + (high - low) * g.NextDouble());
    }

    /// <summary>Standard normal samples from <paramref name="generator"/> (PyTorch: <c>torch.randn</c>).</summary>
    public static Tensor Randn(int[] shape, Generator? generator = null, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        var g = generator ?? Generator.Default;
        return Fill(shape, dtype, requiresGrad, g.NextNormal);
    }

    private static Tensor Fill(int[] shape, DType dtype, bool requiresGrad, Func<double> next)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException("Random tensors are floating point; use Float32 or Float64.", nameof(dtype));
        var t = Empty(shape.Length == 0 ? ScalarShape : shape.AsSpan().ToArray(), dtype);
        for (int i = 0; i < t.Numel; i++) t.SetDouble(i, next());
        t.RequiresGrad = requiresGrad;
        return t;
    }

    internal void SetDouble(int flatIndex, double value)
    {
        switch (Storage)
        {
            case float[] f: f[flatIndex] = (float)value; break;
            case double[] d: d[flatIndex] = value; break;
            case long[] l: l[flatIndex] = (long)value; break;
            case bool[] b: b[flatIndex] = value != 0; break;
        }
    }
}
