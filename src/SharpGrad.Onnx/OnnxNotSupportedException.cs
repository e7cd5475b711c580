namespace SharpGrad.Onnx;

/// <summary>
/// An ONNX model uses something SharpGrad cannot run or write: an operator it has no mapping for, an element type it has
/// no <see cref="DType"/> for, or an attribute value the mapping does not cover. The message names the node, the
/// operator and what is missing; nothing is approximated in its place.
/// </summary>
public sealed class OnnxNotSupportedException : NotSupportedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What is missing (see <see cref="Kind"/>).</param>
    /// <param name="opType">The ONNX operator involved, or null when the problem is not tied to one.</param>
    /// <param name="message">The full message.</param>
    public OnnxNotSupportedException(OnnxUnsupportedKind kind, string? opType, string message) : base(message)
    {
        Kind = kind;
        OpType = opType;
    }

    /// <summary>What is missing: an operator, an element type, or an attribute value of a supported operator.</summary>
    public OnnxUnsupportedKind Kind { get; }

    /// <summary>The ONNX operator (<c>op_type</c>) involved, when there is one.</summary>
    public string? OpType { get; }
}

/// <summary>The kinds of <see cref="OnnxNotSupportedException"/>.</summary>
public enum OnnxUnsupportedKind
{
    /// <summary>No mapping for the operator (ONNX import) or for the SharpGrad op (export).</summary>
    Operator,
    /// <summary>An element type SharpGrad has no <see cref="DType"/> for (float16, bool, int32, strings…) or an op refuses.</summary>
    DataType,
    /// <summary>A supported operator with an attribute value or input form the mapping does not cover.</summary>
    Attribute,
}
