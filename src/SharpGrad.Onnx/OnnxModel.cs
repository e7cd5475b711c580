using Google.Protobuf;
using SharpGrad.NN;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>
/// An ONNX model as a SharpGrad <see cref="Module"/>: <see cref="Load(string)"/> reads the file, and
/// <see cref="Forward"/> / <see cref="Run"/> execute its graph with SharpGrad's public ops, on the tape, so the model can
/// be fine-tuned. Floating-point initializers become parameters named after the initializer (<c>fc1.weight</c> becomes
/// the parameter <c>weight</c> of a child <c>fc1</c>, so <see cref="Module.NamedParameters"/> gives the ONNX names back);
/// integer initializers (shapes, axes) become buffers.
/// </summary>
public sealed class OnnxModel : Module
{
    /// <summary>Files larger than this are refused: protobuf messages cannot exceed 2 GB.</summary>
    private const long MaxFileBytes = int.MaxValue;

    private readonly GraphProto _graph;
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DType? DType, int? Rank)> _inputTypes = new(StringComparer.Ordinal);
    private readonly string _source;

    private OnnxModel(ModelProto model, string source)
    {
        _source = source;
        _graph = model.Graph ?? throw new InvalidDataException($"{source}: the model has no graph.");
        Opset = DefaultOpset(model, source, _graph);
        IrVersion = model.IrVersion;

        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in _graph.Initializer)
        {
            string what = $"{source}: initializer '{init.Name}'";
            if (string.IsNullOrEmpty(init.Name)) throw new InvalidDataException($"{source}: an initializer has no name.");
            if (!initializerNames.Add(init.Name)) throw new InvalidDataException($"{what} appears twice.");
            var t = OnnxTensors.ToTensor(init, what);
            _constants[init.Name] = t;
            try
            {
                Register(init.Name, t, parameter: t.DType.IsFloatingPoint());
            }
            catch (ArgumentException)
            {
                // A name that is both a tensor and a scope ("fc" beside "fc.weight"): keep it flat instead.
                try { AddTensor(init.Name.Replace('.', '_'), t, t.DType.IsFloatingPoint()); }
                catch (ArgumentException e) { throw new InvalidDataException($"{what}: its name clashes with another initializer's ({e.Message}).", e); }
            }
        }

        var inputs = new List<string>();
        foreach (var vi in _graph.Input)
        {
            if (initializerNames.Contains(vi.Name)) continue; // IR < 4 lists initializers as inputs too
            inputs.Add(vi.Name);
            var tt = vi.Type?.TensorType;
            if (vi.Type is not null && tt is null)
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"{source}: input '{vi.Name}' is not a tensor (a sequence, map or optional); only tensor inputs are supported.");
            if (tt is { HasElemType: true } && OnnxTensors.ToDType(tt.ElemType) is null)
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"{source}: input '{vi.Name}' has element type {OnnxTensors.ElemTypeName(tt.ElemType)} ({OnnxTensors.SupportedTypes}).");
            _inputTypes[vi.Name] = (tt is { HasElemType: true } ? OnnxTensors.ToDType(tt.ElemType) : null, tt?.Shape is { } s ? s.Dim.Count : null);
        }
        InputNames = inputs;
        OutputNames = [.. _graph.Output.Select(o => o.Name)];
        foreach (var vo in _graph.Output)
        {
            if (vo.Type is not null && vo.Type.TensorType is null)
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"{source}: output '{vo.Name}' is not a tensor (a sequence, map or optional); only tensor outputs are supported.");
            if (vo.Type?.TensorType is { HasElemType: true } ot && OnnxTensors.ToDType(ot.ElemType) is null)
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, null, $"{source}: output '{vo.Name}' has element type {OnnxTensors.ElemTypeName(ot.ElemType)} ({OnnxTensors.SupportedTypes}).");
        }
        Validate(source, initializerNames);
    }

    /// <summary>The default-domain (<c>ai.onnx</c>) opset version the model imports.</summary>
    public long Opset { get; }

    /// <summary>The model's IR version.</summary>
    public long IrVersion { get; }

    /// <summary>The graph inputs the caller supplies (initializers excluded), in the model's order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The graph outputs, in the model's order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The ONNX operator types the graph uses, with their counts, in order of first use.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> OpHistogram() =>
        [.. _graph.Node.GroupBy(n => n.OpType).Select(g => new KeyValuePair<string, int>(g.Key, g.Count()))];

    /// <summary>
    /// Reads an ONNX model file. Throws <see cref="InvalidDataException"/> for a malformed file (naming the file and
    /// what is wrong) and <see cref="OnnxNotSupportedException"/> naming the first node whose operator or element type
    /// SharpGrad cannot run.
    /// </summary>
    public static OnnxModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"{path}: {info.Length} bytes; an ONNX protobuf file holds at most {MaxFileBytes}.");
        // The whole file in memory: every length prefix inside is then checked against bytes that exist, so nothing
        // the parser allocates can exceed the file's own size.
        return Load(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads an ONNX model from bytes; <paramref name="source"/> names it in errors.</summary>
    public static OnnxModel Load(byte[] bytes, string source = "ONNX model")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new OnnxModel(Parse(bytes, source), source);
    }

    internal static ModelProto Parse(byte[] bytes, string source)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source}: not a valid ONNX protobuf file ({e.Message}).", e);
        }
    }

    private static long DefaultOpset(ModelProto model, string source, GraphProto graph)
    {
        long? opset = null;
        foreach (var o in model.OpsetImport)
            if (o.Domain is "" or "ai.onnx") opset = o.Version;
        foreach (var node in graph.Node)
            if (node.Domain is not ("" or "ai.onnx"))
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.Operator, node.OpType, $"{source}: {OnnxNode.Describe(node)} is in domain '{node.Domain}'; only the default ONNX domain is supported.");
        if (opset is null) throw new InvalidDataException($"{source}: the model imports no default-domain (ai.onnx) opset.");
        return opset.Value;
    }

    /// <summary>Every value used before it is made, and every operator unsupported, is reported at load, not mid-run.</summary>
    private void Validate(string source, HashSet<string> initializerNames)
    {
        var defined = new HashSet<string>(initializerNames, StringComparer.Ordinal);
        foreach (var i in InputNames) defined.Add(i);
        foreach (var node in _graph.Node)
        {
            if (node.Domain is not ("" or "ai.onnx"))
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.Operator, node.OpType, $"{source}: {OnnxNode.Describe(node)} is in domain '{node.Domain}'; only the default ONNX domain is supported.");
            if (!OnnxOps.Table.ContainsKey(node.OpType))
                throw new OnnxNotSupportedException(OnnxUnsupportedKind.Operator, node.OpType, $"{source}: {OnnxNode.Describe(node)}: operator {node.OpType} is not supported by SharpGrad's ONNX importer.");
            foreach (var a in node.Attribute)
                if (a.Type is AttributeProto.Types.AttributeType.Graph or AttributeProto.Types.AttributeType.Graphs)
                    throw new OnnxNotSupportedException(OnnxUnsupportedKind.Attribute, node.OpType, $"{source}: {OnnxNode.Describe(node)}: subgraph attributes (control flow) are not supported.");
            foreach (var input in node.Input)
                if (input.Length > 0 && !defined.Contains(input))
                    throw new InvalidDataException($"{source}: {OnnxNode.Describe(node)} reads '{input}', which no earlier node, input or initializer defines (nodes must be in topological order).");
            foreach (var output in node.Output)
                if (output.Length > 0) defined.Add(output);
        }
        foreach (var o in OutputNames)
            if (!defined.Contains(o)) throw new InvalidDataException($"{source}: graph output '{o}' is never computed.");
    }

    /// <summary>
    /// Runs the graph on one input and returns its first output (a model with one input; see <see cref="Run"/> for
    /// several).
    /// </summary>
    public override Tensor Forward(Tensor input)
    {
        if (InputNames.Count != 1)
            throw new InvalidOperationException($"{_source}: the model has {InputNames.Count} inputs ({string.Join(", ", InputNames)}); call Run with one tensor per input.");
        return Run(input)[0];
    }

    /// <summary>Runs the graph on one tensor per input (in <see cref="InputNames"/> order) and returns every output.</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != InputNames.Count)
            throw new ArgumentException($"{_source}: the model takes {InputNames.Count} inputs ({string.Join(", ", InputNames)}), got {inputs.Length}.", nameof(inputs));
        var values = new Dictionary<string, Tensor>(_constants, StringComparer.Ordinal);
        for (int i = 0; i < inputs.Length; i++)
        {
            string name = InputNames[i];
            var (dtype, rank) = _inputTypes[name];
            if (dtype is { } d && inputs[i].DType != d)
                throw new ArgumentException($"{_source}: input '{name}' must be {d}, got {inputs[i].DType}.", nameof(inputs));
            if (rank is { } r && inputs[i].Rank != r)
                throw new ArgumentException($"{_source}: input '{name}' must have rank {r}, got shape [{string.Join(", ", inputs[i].Shape)}].", nameof(inputs));
            values[name] = inputs[i];
        }
        foreach (var node in _graph.Node) Execute(node, values);
        var outputs = new Tensor[OutputNames.Count];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = values[OutputNames[i]];
        return outputs;
    }

    private void Execute(NodeProto proto, Dictionary<string, Tensor> values)
    {
        var inputs = new Tensor?[proto.Input.Count];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = proto.Input[i].Length == 0 ? null : values[proto.Input[i]];
        var node = new OnnxNode(proto, Opset, inputs);
        Tensor[] outputs;
        try
        {
            outputs = OnnxOps.Table[proto.OpType](node);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new InvalidOperationException($"{_source}: {node.Describe()} failed: {e.Message}", e);
        }
        for (int i = 0; i < proto.Output.Count; i++)
        {
            if (proto.Output[i].Length == 0) continue;
            if (i >= outputs.Length) throw node.Unsupported($"output {i} ('{proto.Output[i]}')");
            values[proto.Output[i]] = outputs[i];
        }
    }

    /// <summary>Registers an initializer under its dotted name as nested child modules, so parameter paths equal ONNX names.</summary>
    private void Register(string name, Tensor t, bool parameter)
    {
        string[] parts = name.Split('.');
        if (parts.Any(p => p.Length == 0)) parts = [name.Replace('.', '_')];
        Module owner = this;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var existing = owner.NamedChildren().FirstOrDefault(c => c.Key == parts[i]).Value;
            owner = existing ?? Add(owner, parts[i]);
        }
        if (owner is OnnxModel m) m.AddTensor(parts[^1], t, parameter);
        else ((Scope)owner).AddTensor(parts[^1], t, parameter);
    }

    private Scope Add(Module owner, string name)
    {
        var scope = new Scope();
        if (owner is OnnxModel m) m.RegisterModule(name, scope);
        else ((Scope)owner).AddChild(name, scope);
        return scope;
    }

    private void AddTensor(string name, Tensor t, bool parameter)
    {
        if (parameter) RegisterParameter(name, t); else RegisterBuffer(name, t);
    }

    /// <inheritdoc/>
    protected override string Describe() => $"OnnxModel(opset={Opset}, nodes={_graph.Node.Count})";

    /// <summary>A level of a dotted initializer name; holds tensors only, the graph runs in <see cref="OnnxModel"/>.</summary>
    private sealed class Scope : Module
    {
        public override Tensor Forward(Tensor input) => throw new InvalidOperationException("An ONNX name scope holds initializers only; run the OnnxModel.");

        public void AddTensor(string name, Tensor t, bool parameter)
        {
            if (parameter) RegisterParameter(name, t); else RegisterBuffer(name, t);
        }

        public void AddChild(string name, Scope child) => RegisterModule(name, child);
    }
}
