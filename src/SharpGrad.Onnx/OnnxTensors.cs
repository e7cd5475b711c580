using System.Runtime.InteropServices;
using Google.Protobuf;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>
/// Converts between ONNX <c>TensorProto</c> and <see cref="Tensor"/>. Every size is checked against the data the
/// proto actually carries before anything is allocated, so a hostile file cannot make the reader allocate more than the
/// file itself justifies.
/// </summary>
internal static class OnnxTensors
{
    /// <summary>Ranks past this are not tensors anyone saves; the cap bounds the work a hostile header can ask for.</summary>
    internal const int MaxRank = 64;

    internal const int Float = (int)TensorProto.Types.DataType.Float;
    internal const int Double = (int)TensorProto.Types.DataType.Double;
    internal const int Int64 = (int)TensorProto.Types.DataType.Int64;
    internal const int Bool = (int)TensorProto.Types.DataType.Bool;

    /// <summary>For messages: the element types a SharpGrad tensor can hold.</summary>
    internal const string SupportedTypes = "SharpGrad has float32, float64, int64 and bool";

    /// <summary>The ONNX element type for <paramref name="dtype"/>.</summary>
    internal static int ElemType(DType dtype) => dtype switch
    {
        DType.Float32 => Float,
        DType.Float64 => Double,
        DType.Int64 => Int64,
        DType.Bool => Bool,
        _ => throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"SharpGrad dtype {dtype} has no ONNX element type mapping."),
    };

    /// <summary>The SharpGrad dtype for ONNX element type <paramref name="elemType"/>, or null when SharpGrad has none.</summary>
    internal static DType? ToDType(int elemType) => elemType switch
    {
        Float => DType.Float32,
        Double => DType.Float64,
        Int64 => DType.Int64,
        Bool => DType.Bool,
        _ => null,
    };

    /// <summary>The ONNX spelling of an element type (<c>FLOAT16</c>, <c>BOOL</c>…), for messages.</summary>
    internal static string ElemTypeName(int elemType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), elemType) ? ((TensorProto.Types.DataType)elemType).ToString().ToUpperInvariant() : $"element type {elemType}";

    /// <summary>Checks an ONNX shape and returns it as <c>int[]</c> with its element count.</summary>
    internal static int[] CheckedShape(IList<long> dims, string what, out int numel)
    {
        if (dims.Count > MaxRank) throw new InvalidDataException($"{what}: rank {dims.Count} exceeds the supported maximum of {MaxRank}.");
        var shape = new int[dims.Count];
        long n = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = dims[i];
            if (d < 0 || d > int.MaxValue) throw new InvalidDataException($"{what}: dimension {i} is {d}; expected 0 to {int.MaxValue}.");
            shape[i] = (int)d;
            n *= d;
            if (n > Array.MaxLength) throw new InvalidDataException($"{what}: shape [{string.Join(", ", dims)}] has more elements than an array can hold.");
        }
        numel = (int)n;
        return shape;
    }

    /// <summary>
    /// The tensor a <c>TensorProto</c> holds. <paramref name="what"/> names it in errors (e.g. "initializer 'fc.weight'").
    /// The element count implied by <c>dims</c> must equal what <c>raw_data</c> or the typed field carries.
    /// </summary>
    internal static Tensor ToTensor(TensorProto p, string what)
    {
        if (p.DataLocation == TensorProto.Types.DataLocation.External)
            throw new OnnxNotSupportedException(OnnxUnsupportedKind.Attribute, null, $"{what}: external data (a weights file beside the model) is not supported; save the model with its weights inside.");
        var dtype = ToDType(p.DataType)
            ?? throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"{what}: element type {ElemTypeName(p.DataType)} is not supported ({SupportedTypes}).");
        int[] shape = CheckedShape(p.Dims, what, out int numel);
        int size = dtype.ElementSize();
        Tensor t;
        if (p.HasRawData)
        {
            ReadOnlySpan<byte> raw = p.RawData.Span;
            if (raw.Length != (long)numel * size)
                throw new InvalidDataException($"{what}: raw_data holds {raw.Length} bytes but shape [{string.Join(", ", shape)}] of {ElemTypeName(p.DataType)} needs {(long)numel * size}.");
            t = dtype switch
            {
                DType.Float32 => Make(FromLittleEndian<float>(raw), shape),
                DType.Float64 => Make(FromLittleEndian<double>(raw), shape),
                DType.Bool => Make(raw.ToArray().Select(b => b != 0).ToArray(), shape),
                _ => Make(FromLittleEndian<long>(raw), shape),
            };
        }
        else
        {
            // Bool values travel in int32_data (the ONNX rule for every type narrower than 32 bits).
            int count = dtype switch { DType.Float32 => p.FloatData.Count, DType.Float64 => p.DoubleData.Count, DType.Bool => p.Int32Data.Count, _ => p.Int64Data.Count };
            if (count != numel)
                throw new InvalidDataException($"{what}: holds {count} values but shape [{string.Join(", ", shape)}] needs {numel}.");
            t = dtype switch
            {
                DType.Float32 => Make(p.FloatData.ToArray(), shape),
                DType.Float64 => Make(p.DoubleData.ToArray(), shape),
                DType.Bool => Make(p.Int32Data.Select(v => v != 0).ToArray(), shape),
                _ => Make(p.Int64Data.ToArray(), shape),
            };
        }
        return t;
    }

    private static T[] FromLittleEndian<T>(ReadOnlySpan<byte> raw) where T : unmanaged
    {
        var values = MemoryMarshal.Cast<byte, T>(raw).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEach(MemoryMarshal.AsBytes(values.AsSpan()), System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        return values;
    }

    private static void ReverseEach(Span<byte> bytes, int width)
    {
        for (int i = 0; i < bytes.Length; i += width) bytes.Slice(i, width).Reverse();
    }

    // FromArray reads an empty shape as "1-D of the data's length", so rank 0 (a scalar) is a reshape of a 1-element tensor.
    internal static Tensor Make(float[] data, int[] shape) => shape.Length == 0 ? Tensor.FromArray(data, 1).Reshape() : Tensor.FromArray(data, shape);
    internal static Tensor Make(double[] data, int[] shape) => shape.Length == 0 ? Tensor.FromArray(data, 1).Reshape() : Tensor.FromArray(data, shape);
    internal static Tensor Make(bool[] data, int[] shape) => shape.Length == 0 ? Tensor.FromArray(data, 1).Reshape() : Tensor.FromArray(data, shape);
    internal static Tensor Make(long[] data, int[] shape) => shape.Length == 0 ? Tensor.FromArray(data, 1).Reshape() : Tensor.FromArray(data, shape);

    /// <summary>The <c>TensorProto</c> for <paramref name="t"/> with its values as little-endian <c>raw_data</c>.</summary>
    internal static TensorProto ToProto(Tensor t, string name)
    {
        var p = new TensorProto { Name = name, DataType = ElemType(t.DType) };
        foreach (int d in t.Shape) p.Dims.Add(d);
        byte[] bytes = t.DType switch
        {
            DType.Float32 => ToLittleEndian(t.ToArray<float>()),
            DType.Float64 => ToLittleEndian(t.ToArray<double>()),
            DType.Bool => [.. t.To(DType.Int64).ToArray<long>().Select(v => (byte)(v != 0 ? 1 : 0))],
            _ => ToLittleEndian(t.ToArray<long>()),
        };
        p.RawData = ByteString.CopyFrom(bytes);
        return p;
    }

    private static byte[] ToLittleEndian<T>(T[] values) where T : unmanaged
    {
        byte[] bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEach(bytes, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        return bytes;
    }
}
