namespace SharpGrad.Data;

/// <summary>
/// A NumPy array with its element type kept as stored: what <see cref="Npy.ReadArray(Stream, string?)"/> returns,
/// so that, for example, uint8 images stay one byte per pixel instead of widening to a tensor's eight.
/// </summary>
/// <remarks>
/// Elements are in row-major (C) order whatever the file's <c>fortran_order</c> was. <see cref="Data"/> is the
/// array itself, not a copy; <see cref="ToTensor()"/> copies.
/// </remarks>
public sealed class NpyArray
{
    private readonly int[] _shape;

    /// <summary>
    /// Wraps <paramref name="data"/> (not copied) with the given shape, which must hold exactly
    /// <c>data.Length</c> elements; an empty shape makes a 0-d array of one element.
    /// </summary>
    /// <param name="data">A float[] (<c>&lt;f4</c>), double[] (<c>&lt;f8</c>), int[] (<c>&lt;i4</c>), long[]
    /// (<c>&lt;i8</c>), byte[] (<c>|u1</c>) or bool[] (<c>|b1</c>).</param>
    /// <param name="shape">The dimensions, NumPy's <c>shape</c>.</param>
    /// <exception cref="ArgumentException">Another element type, a negative dimension, or a shape that does not hold
    /// <c>data.Length</c> elements.</exception>
    public NpyArray(Array data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        Descr = DescrOf(data)
            ?? throw new ArgumentException($"NpyArray holds float[], double[], int[], long[], byte[] or bool[]; got {data.GetType().Name}.", nameof(data));
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {Shapes.Format(shape)} has a negative dimension.", nameof(shape));
            n = Math.Min(n * d, long.MaxValue / int.MaxValue);
        }
        if (n != data.Length)
            throw new ArgumentException($"Shape {Shapes.Format(shape)} does not hold the {data.Length} elements of the data.", nameof(shape));
        _shape = (int[])shape.Clone();
        Data = data;
    }

    /// <summary>For the reader and the tensor writer: already validated, nothing copied.</summary>
    internal NpyArray(Array data, int[] shape, string descr)
    {
        Data = data;
        _shape = shape;
        Descr = descr;
    }

    /// <summary>The NumPy dtype string, little-endian: <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i4</c>, <c>&lt;i8</c>,
    /// <c>|u1</c> or <c>|b1</c>.</summary>
    public string Descr { get; }

    /// <summary>A copy of the dimensions (NumPy: <c>a.shape</c>); empty for a 0-d array.</summary>
    public int[] Shape => (int[])_shape.Clone();

    internal int[] ShapeRef => _shape;

    /// <summary>The elements in row-major order: float[], double[], int[], long[], byte[] or bool[] as
    /// <see cref="Descr"/> says.</summary>
    public Array Data { get; }

    /// <summary>
    /// A new tensor holding a copy of the elements: <c>&lt;f4</c> becomes <see cref="DType.Float32"/>, <c>&lt;f8</c>
    /// <see cref="DType.Float64"/>, and the integer and boolean types widen to <see cref="DType.Int64"/>.
    /// </summary>
    public Tensor ToTensor() => ToTensor(copy: true);

    internal Tensor ToTensor(bool copy)
    {
        int[] shape = (int[])_shape.Clone();
        return Data switch
        {
            float[] f => new Tensor(copy ? (float[])f.Clone() : f, shape, DType.Float32),
            double[] d => new Tensor(copy ? (double[])d.Clone() : d, shape, DType.Float64),
            long[] l => new Tensor(copy ? (long[])l.Clone() : l, shape, DType.Int64),
            int[] i => new Tensor(Widen(i), shape, DType.Int64),
            byte[] b => new Tensor(Widen(b), shape, DType.Int64),
            bool[] b => new Tensor(Widen(b), shape, DType.Int64),
            _ => throw new InvalidOperationException($"Unexpected NpyArray data {Data.GetType().Name}."),
        };
    }

    /// <summary>Shares the tensor's storage: only for writing it out, never handed to the user.</summary>
    internal static NpyArray FromTensor(Tensor t) => new(t.Storage, t.ShapeRef, DescrOf(t.Storage)!);

    private static long[] Widen(int[] src)
    {
        var dst = new long[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = src[i];
        return dst;
    }

    private static long[] Widen(byte[] src)
    {
        var dst = new long[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = src[i];
        return dst;
    }

    private static long[] Widen(bool[] src)
    {
        var dst = new long[src.Length];
        for (int i = 0; i < src.Length; i++) dst[i] = src[i] ? 1 : 0;
        return dst;
    }

    internal static string? DescrOf(Array data) => data switch
    {
        float[] => "<f4",
        double[] => "<f8",
        int[] => "<i4",
        long[] => "<i8",
        byte[] => "|u1",
        bool[] => "|b1",
        _ => null,
    };
}
