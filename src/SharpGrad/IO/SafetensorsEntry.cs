namespace SharpGrad.IO;

/// <summary>
/// One tensor as a safetensors header describes it: its name, dtype string (<c>F32</c>, <c>I64</c>, ...), shape and
/// the byte range <c>[Begin, End)</c> of its data, counted from the start of the data section.
/// </summary>
/// <param name="Name">The tensor's name, e.g. <c>fc1.weight</c>.</param>
/// <param name="DType">The safetensors dtype string as written in the file.</param>
/// <param name="Shape">The dimensions; empty for a scalar.</param>
/// <param name="Begin">First byte of the data, relative to the data section.</param>
/// <param name="End">One past the last byte.</param>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long Count
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Whether SharpGrad can load this dtype into a tensor (F32, F64, I64, and F16/BF16 converted to F32).</summary>
    public bool IsLoadable => SafetensorsDTypes.ToDType(DType) is not null;
}

/// <summary>
/// The dtype strings of the safetensors format and their sizes; which of them become which <see cref="SharpGrad.DType"/>.
/// </summary>
public static class SafetensorsDTypes
{
    /// <summary>
    /// Bytes per element of every byte-sized dtype the format defines, or 0 for a string that is not one.
    /// </summary>
    public static int ItemSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" or "C64" => 8,
        _ => 0,
    };

    /// <summary>
    /// The tensor dtype a safetensors dtype loads as: F32, F16 and BF16 as <see cref="DType.Float32"/> (half types are
    /// widened exactly), F64 as <see cref="DType.Float64"/>, I64 as <see cref="DType.Int64"/>; null for the others.
    /// </summary>
    public static DType? ToDType(string dtype) => dtype switch
    {
        "F32" or "F16" or "BF16" => DType.Float32,
        "F64" => DType.Float64,
        "I64" => DType.Int64,
        _ => null,
    };

    /// <summary>The safetensors dtype string a tensor is saved as.</summary>
    public static string FromDType(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "No safetensors dtype for this tensor dtype."),
    };

    /// <summary>Every dtype string the reader knows, for error messages.</summary>
    internal const string Known = "BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64, C64";
}

/// <summary>What a safetensors file holds: its tensors in data order and its <c>__metadata__</c> strings.</summary>
/// <param name="Tensors">The tensors by name, in the order of their data in the file.</param>
/// <param name="Metadata">The <c>__metadata__</c> map (empty when the file has none).</param>
public sealed record SafetensorsContents(OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>A safetensors header, validated against the file it came from.</summary>
/// <param name="Entries">The tensors, sorted by data offset.</param>
/// <param name="Metadata">The <c>__metadata__</c> map (empty when the file has none).</param>
/// <param name="DataStart">Byte offset of the data section in the file: 8 plus the header length.</param>
public sealed record SafetensorsHeader(IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);
