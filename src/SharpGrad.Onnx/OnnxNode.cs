using System.Text;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>One ONNX node being run: its inputs (null where an optional input is left empty), attributes and opset.</summary>
internal sealed class OnnxNode(NodeProto proto, long opset, Tensor?[] inputs)
{
    public NodeProto Proto { get; } = proto;

    /// <summary>The default-domain opset the model imports; several operators changed form between versions.</summary>
    public long Opset { get; } = opset;

    public Tensor?[] Inputs { get; } = inputs;

    public string OpType => Proto.OpType;

    public int OutputCount => Proto.Output.Count;

    /// <summary>"node 'conv1' (Conv)" — how every message names the node.</summary>
    public string Describe() => Describe(Proto);

    public static string Describe(NodeProto p) => string.IsNullOrEmpty(p.Name) ? $"node ({p.OpType}) producing '{string.Join("', '", p.Output)}'" : $"node '{p.Name}' ({p.OpType})";

    public int InputCount => Inputs.Length;

    /// <summary>Required input <paramref name="i"/>.</summary>
    public Tensor In(int i) => Opt(i) ?? throw Bad($"input {i} is required");

    /// <summary>Optional input <paramref name="i"/>, null when absent or left empty.</summary>
    public Tensor? Opt(int i) => i < Inputs.Length ? Inputs[i] : null;

    /// <summary>Whether the node asks for output <paramref name="i"/> (present and not empty).</summary>
    public bool WantsOutput(int i) => i < Proto.Output.Count && Proto.Output[i].Length > 0;

    private AttributeProto? Attr(string name)
    {
        foreach (var a in Proto.Attribute) if (a.Name == name) return a;
        return null;
    }

    public bool Has(string name) => Attr(name) is not null;

    public long Int(string name, long fallback) => Attr(name) is { } a ? a.I : fallback;

    public float Float(string name, float fallback) => Attr(name) is { } a ? a.F : fallback;

    public string Str(string name, string fallback) => Attr(name) is { } a ? Encoding.UTF8.GetString(a.S.Span) : fallback;

    public long[]? Ints(string name) => Attr(name) is { } a ? [.. a.Ints] : null;

    public float[]? Floats(string name) => Attr(name) is { } a ? [.. a.Floats] : null;

    public TensorProto? TensorAttr(string name) => Attr(name)?.T;

    /// <summary>An attribute or input the mapping does not cover: the node is refused, never approximated.</summary>
    public OnnxNotSupportedException Unsupported(string what) =>
        new(OnnxUnsupportedKind.Attribute, OpType, $"{Describe()}: {what} is not supported.");

    public OnnxNotSupportedException UnsupportedType(Tensor t, int input) =>
        new(OnnxUnsupportedKind.DataType, OpType, $"{Describe()}: input {input} has dtype {t.DType}, which SharpGrad's {OpType} mapping does not take.");

    /// <summary>A malformed node (wrong input count, out-of-range attribute).</summary>
    public InvalidDataException Bad(string what) => new($"{Describe()}: {what}.");

    /// <summary>Input <paramref name="i"/> read as integers (shapes, axes, indices), e.g. Reshape's target shape.</summary>
    public long[] IntValues(int i)
    {
        var t = In(i);
        if (t.DType != DType.Int64) throw new InvalidDataException($"{Describe()}: input {i} must be int64, got {t.DType}.");
        return t.ToArray<long>();
    }

    /// <summary>Optional integer input <paramref name="i"/>, null when absent.</summary>
    public long[]? OptIntValues(int i) => Opt(i) is null ? null : IntValues(i);

    /// <summary>A scalar input as a double (Clip's min/max, Pad's value).</summary>
    public double? ScalarValue(int i)
    {
        var t = Opt(i);
        if (t is null) return null;
        if (t.Numel != 1) throw Bad($"input {i} must hold one value, got shape [{string.Join(", ", t.Shape)}]");
        return t.Reshape(1).To(DType.Float64).ToArray<double>()[0];
    }

    /// <summary>Requires every given input to be Float32 or Float64 (SharpGrad's arithmetic refuses Int64).</summary>
    public void RequireFloat(params int[] inputs)
    {
        foreach (int i in inputs)
            if (Opt(i) is { } t && !t.DType.IsFloatingPoint()) throw UnsupportedType(t, i);
    }

    /// <summary>Wraps a negative axis and checks it against <paramref name="rank"/>.</summary>
    public int Axis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw Bad($"axis {axis} is out of range for rank {rank}");
        return (int)a;
    }
}
