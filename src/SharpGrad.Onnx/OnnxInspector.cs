using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>A graph input or output: name, element type and shape (a symbolic dimension by its name, e.g. <c>batch</c>).</summary>
/// <param name="Name">The value's name.</param>
/// <param name="ElementType">The ONNX element type (<c>FLOAT</c>, <c>INT64</c>…), or null when the model does not say.</param>
/// <param name="Shape">Each dimension as a number or a symbolic name; null when the model gives no shape.</param>
public sealed record OnnxValueInfo(string Name, string? ElementType, IReadOnlyList<string>? Shape);

/// <summary>An initializer: name, element type, shape and element count.</summary>
/// <param name="Name">The initializer's name.</param>
/// <param name="ElementType">The ONNX element type.</param>
/// <param name="Shape">Its dimensions.</param>
/// <param name="Count">Its number of elements.</param>
public sealed record OnnxInitializerInfo(string Name, string ElementType, IReadOnlyList<long> Shape, long Count);

/// <summary>What an ONNX file holds, read without running or converting anything (<c>sharpgrad inspect model.onnx</c>).</summary>
/// <param name="IrVersion">The ONNX IR version.</param>
/// <param name="Opset">The default-domain opset, or null when the model imports none.</param>
/// <param name="Producer">Producer name and version.</param>
/// <param name="Inputs">Graph inputs (initializers excluded).</param>
/// <param name="Outputs">Graph outputs.</param>
/// <param name="OpHistogram">Operator types (domain-qualified outside the default domain) with their counts, most used first.</param>
/// <param name="Initializers">The initializers (weights and constants).</param>
public sealed record OnnxModelInfo(long IrVersion, long? Opset, string Producer, IReadOnlyList<OnnxValueInfo> Inputs, IReadOnlyList<OnnxValueInfo> Outputs,
    IReadOnlyList<KeyValuePair<string, int>> OpHistogram, IReadOnlyList<OnnxInitializerInfo> Initializers)
{
    /// <summary>Reads <paramref name="path"/>: a malformed file is an <see cref="InvalidDataException"/> naming it.</summary>
    public static OnnxModelInfo Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        var model = OnnxModel.Parse(File.ReadAllBytes(path), path);
        var graph = model.Graph ?? throw new InvalidDataException($"{path}: the model has no graph.");
        long? opset = null;
        foreach (var o in model.OpsetImport) if (o.Domain is "" or "ai.onnx") opset = o.Version;
        var initNames = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inits = graph.Initializer.Select(i =>
        {
            long count = 1;
            foreach (long d in i.Dims) count = d < 0 ? 0 : checked(count * d);
            return new OnnxInitializerInfo(i.Name, OnnxTensors.ElemTypeName(i.DataType), [.. i.Dims], count);
        }).ToList();
        var ops = graph.Node.GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}")
            .Select(g => new KeyValuePair<string, int>(g.Key, g.Count())).OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        return new OnnxModelInfo(model.IrVersion, opset, $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            [.. graph.Input.Where(v => !initNames.Contains(v.Name)).Select(Value)], [.. graph.Output.Select(Value)], ops, inits);
    }

    private static OnnxValueInfo Value(ValueInfoProto v)
    {
        var t = v.Type?.TensorType;
        return new OnnxValueInfo(v.Name, t is { HasElemType: true } ? OnnxTensors.ElemTypeName(t.ElemType) : null,
            t?.Shape is { } s ? [.. s.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.HasDimParam ? d.DimParam : "?")] : null);
    }
}
