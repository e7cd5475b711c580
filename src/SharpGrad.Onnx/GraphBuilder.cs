using SharpGrad.NN;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>
/// Turns the tape behind one traced output into an ONNX graph: tape nodes in topological order, each mapped by its name
/// (<c>ExpBackward</c> → Exp) and, where the op has non-tensor arguments, by its <see cref="Node.Attributes"/>.
/// Tracks which values carry the batch in dimension 0 so shapes written into the graph (Reshape, Expand) keep it dynamic.
/// </summary>
internal sealed class GraphBuilder(Module module, Tensor input, bool dynamicBatch)
{
    private const string BatchParam = "batch";

    private readonly GraphProto _graph = new();
    private readonly Dictionary<Tensor, string> _names = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Tensor> _batched = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> _stateNames = StateNames(module);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly int _batch = input.Rank > 0 ? input.Shape[0] : 1;
    private int _counter;

    private static Dictionary<Tensor, string> StateNames(Module module)
    {
        var d = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, t) in module.NamedParameters().Concat(module.NamedBuffers())) d.TryAdd(t, name);
        return d;
    }

    public GraphProto Build(Tensor output)
    {
        _names[input] = "input";
        _used.Add("input");
        if (dynamicBatch) _batched.Add(input);
        _graph.Input.Add(ValueInfo("input", input, dynamicBatch));

        var order = TopologicalOrder(output);
        foreach (var t in order)
        {
            if (ReferenceEquals(t, output)) Claim(t, "output");
            Emit(t);
        }
        if (!_names.TryGetValue(output, out var outName) || outName != "output")
        {
            // The output is an input or an initializer itself (no op between): ONNX needs a node to name it "output".
            AddNode("Identity", [Name(output)], "output");
        }
        _graph.Output.Add(ValueInfo("output", output, _batched.Contains(output)));
        return _graph;
    }

    private void Claim(Tensor t, string name)
    {
        _names[t] = name;
        _used.Add(name);
    }

    /// <summary>Non-leaf tensors reachable from <paramref name="output"/>, inputs before the ops that read them (explicit stack, no recursion).</summary>
    private List<Tensor> TopologicalOrder(Tensor output)
    {
        var order = new List<Tensor>();
        var done = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor T, bool Expanded)>();
        stack.Push((output, false));
        while (stack.Count > 0)
        {
            var (t, expanded) = stack.Pop();
            if (t.GradFn is null || ReferenceEquals(t, input)) continue;
            if (expanded) { if (done.Add(t)) order.Add(t); continue; }
            if (done.Contains(t)) continue;
            stack.Push((t, true));
            foreach (var i in t.GradFn.Inputs) if (!done.Contains(i)) stack.Push((i, false));
        }
        return order;
    }

    private string Fresh(string stem)
    {
        string name;
        do name = $"{stem}_{_counter++}"; while (_used.Contains(name));
        _used.Add(name);
        return name;
    }

    /// <summary>The value name of <paramref name="t"/>; a leaf met for the first time becomes an initializer.</summary>
    private string Name(Tensor t)
    {
        if (_names.TryGetValue(t, out var name)) return name;
        if (t.GradFn is not null) throw new InvalidOperationException("OnnxExporter: internal error, a tape value was used before it was computed.");
        name = _stateNames.TryGetValue(t, out var stateName) && _used.Add(stateName) ? stateName : Fresh("const");
        _names[t] = name;
        _graph.Initializer.Add(OnnxTensors.ToProto(t.Detach(), name));
        return name;
    }

    private string Constant(long[] values) => Name(OnnxTensors.Make(values, [values.Length]));

    private string Scalar(double value, DType dtype) => Name(Tensor.Scalar(value, dtype));

    private ValueInfoProto ValueInfo(string name, Tensor t, bool batched)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < t.Rank; i++)
            shape.Dim.Add(i == 0 && batched ? new TensorShapeProto.Types.Dimension { DimParam = BatchParam } : new TensorShapeProto.Types.Dimension { DimValue = t.Shape[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTensors.ElemType(t.DType), Shape = shape } },
        };
    }

    private NodeProto AddNode(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return node;
    }

    private static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    private static AttributeProto Float(string name, double v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)v };

    private static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    private static T Attrs<T>(Node node) where T : class =>
        node.Attributes as T ?? throw new InvalidOperationException($"OnnxExporter: tape node '{node.Name}' carries no {typeof(T).Name}; the op must record them to be exported.");

    private static OnnxNotSupportedException NoMapping(Node node, string? why = null) =>
        new(OnnxUnsupportedKind.Operator, node.Name, $"OnnxExporter: the SharpGrad op {OpName(node.Name)} (tape node '{node.Name}') has no ONNX mapping{(why is null ? "" : ": " + why)}.");

    private static string OpName(string nodeName) => nodeName.EndsWith("Backward", StringComparison.Ordinal) ? nodeName[..^"Backward".Length] : nodeName;

    private void Emit(Tensor t)
    {
        var node = t.GradFn!;
        var ins = node.Inputs;
        string[] inNames = [.. ins.Select(Name)];
        string output = _names.TryGetValue(t, out var claimed) ? claimed : Fresh(OpName(node.Name));
        _names[t] = output;
        bool batched = dynamicBatch && t.Rank > 0 && t.Shape[0] == _batch && ins.Any(_batched.Contains);

        switch (node.Name)
        {
            case "AddBackward" or "SubBackward" or "MulBackward" or "DivBackward":
            {
                string op = OpName(node.Name);
                if (ins.Length == 2) { AddNode(op, inNames, output); break; }
                var s = Attrs<ScalarAttributes>(node);
                string c = Scalar(s.Value, ins[0].DType);
                AddNode(op, s.ScalarFirst ? [c, inNames[0]] : [inNames[0], c], output);
                break;
            }
            case "NegBackward" or "ExpBackward" or "LogBackward" or "SqrtBackward" or "AbsBackward" or "ReluBackward"
                or "SigmoidBackward" or "TanhBackward" or "SoftplusBackward":
                AddNode(OpName(node.Name), inNames, output);
                break;
            case "CloneBackward":
                AddNode("Identity", inNames, output);
                break;
            case "ToBackward":
                AddNode("Cast", inNames, output, Int("to", OnnxTensors.ElemType(t.DType)));
                break;
            case "LeakyReluBackward":
                AddNode("LeakyRelu", inNames, output, Float("alpha", Attrs<ScalarAttributes>(node).Value));
                break;
            case "PowBackward":
                AddNode("Pow", ins.Length == 2 ? inNames : [inNames[0], Scalar(Attrs<ScalarAttributes>(node).Value, ins[0].DType)], output);
                break;
            case "ClampBackward":
            {
                var c = Attrs<ClampAttributes>(node);
                AddNode("Clip", [inNames[0], c.Min is { } lo ? Scalar(lo, ins[0].DType) : "", c.Max is { } hi ? Scalar(hi, ins[0].DType) : ""], output);
                break;
            }
            case "MaximumBackward":
                AddNode("Max", inNames, output);
                break;
            case "SoftmaxBackward" or "LogSoftmaxBackward":
                AddNode(OpName(node.Name), inNames, output, Int("axis", Attrs<DimAttributes>(node).Dim));
                break;
            case "SumBackward":
                if (node.Attributes is DimAttributes sd) AddNode("ReduceSum", [inNames[0], Constant([sd.Dim])], output, Int("keepdims", sd.KeepDim ? 1 : 0));
                else AddNode("ReduceSum", inNames, output, Int("keepdims", 0));
                batched &= node.Attributes is DimAttributes { Dim: > 0 };
                break;
            case "MeanBackward" or "MaxBackward" or "MinBackward":
            {
                string op = "Reduce" + OpName(node.Name);
                if (node.Attributes is DimAttributes d) AddNode(op, inNames, output, Ints("axes", d.Dim), Int("keepdims", d.KeepDim ? 1 : 0));
                else AddNode(op, inNames, output, Int("keepdims", 0));
                batched &= node.Attributes is DimAttributes { Dim: > 0 };
                break;
            }
            case "MatMulBackward":
            {
                var m = node.Attributes as MatMulAttributes;
                string a = m is { TransA: true } ? SwapLast(inNames[0], ins[0].Rank) : inNames[0];
                string b = m is { TransB: true } ? SwapLast(inNames[1], ins[1].Rank) : inNames[1];
                AddNode("MatMul", [a, b], output);
                break;
            }
            case "LinearBackward" or "LinearReluBackward":
                EmitLinear(node, ins, inNames, output);
                break;
            case "ReshapeBackward":
            {
                long[] shape = [.. t.Shape.Select(d => (long)d)];
                bool keepBatch = _batched.Contains(ins[0]) && ins[0].Rank > 0 && t.Rank > 0 && t.Shape[0] == ins[0].Shape[0];
                if (keepBatch) shape[0] = 0; // copy the input's dimension 0: the batch, whatever its size at run time
                batched = keepBatch;
                AddNode("Reshape", [inNames[0], Constant(shape)], output);
                break;
            }
            case "PermuteBackward":
            {
                var p = Attrs<PermuteAttributes>(node);
                AddNode("Transpose", inNames, output, Ints("perm", [.. p.Perm.Select(d => (long)d)]));
                batched &= p.Perm.Length > 0 && p.Perm[0] == 0;
                break;
            }
            case "ExpandBackward":
            {
                long[] shape = [.. t.Shape.Select(d => (long)d)];
                // Expand broadcasts both ways, so a 1 where the input carries the batch keeps the run-time batch size.
                if (_batched.Contains(ins[0]) && ins[0].Rank == t.Rank && t.Rank > 0) shape[0] = 1;
                AddNode("Expand", [inNames[0], Constant(shape)], output);
                break;
            }
            case "NarrowBackward":
            {
                var n = Attrs<NarrowAttributes>(node);
                if (n.Dim == 0 && _batched.Contains(ins[0])) throw NoMapping(node, "narrowing the batch dimension cannot be exported with a dynamic batch axis (export with dynamicBatch: false)");
                AddNode("Slice", [inNames[0], Constant([n.Start]), Constant([n.Start + n.Length]), Constant([n.Dim])], output);
                break;
            }
            case "ConcatBackward":
                AddNode("Concat", inNames, output, Int("axis", Attrs<DimAttributes>(node).Dim));
                break;
            case "Conv1dBackward" or "Conv2dBackward" or "Conv3dBackward" or "ConvTranspose1dBackward" or "ConvTranspose2dBackward" or "ConvTranspose3dBackward":
                EmitConv(node, ins, inNames, output);
                break;
            case "MaxPool2dBackward":
            {
                var p = Attrs<Pool2dAttributes>(node);
                AddNode("MaxPool", inNames, output, Ints("kernel_shape", p.Kernel.H, p.Kernel.W), Ints("strides", p.Stride.H, p.Stride.W),
                    Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), Ints("dilations", p.Dilation.H, p.Dilation.W));
                break;
            }
            case "AvgPool2dBackward":
            {
                var p = Attrs<Pool2dAttributes>(node);
                AddNode("AveragePool", inNames, output, Ints("kernel_shape", p.Kernel.H, p.Kernel.W), Ints("strides", p.Stride.H, p.Stride.W),
                    Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), Int("count_include_pad", 1));
                break;
            }
            case "BatchNormBackward":
                EmitBatchNorm(node, ins, inNames, output);
                break;
            default:
                throw NoMapping(node);
        }
        if (batched) _batched.Add(t);
    }

    /// <summary>A Transpose swapping the last two dims of value <paramref name="name"/> (MatMul of a transposed operand).</summary>
    private string SwapLast(string name, int rank)
    {
        long[] perm = [.. Enumerable.Range(0, rank).Select(i => (long)i)];
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        string output = Fresh("Transpose");
        AddNode("Transpose", [name], output, Ints("perm", perm));
        return output;
    }

    private void EmitLinear(Node node, Tensor[] ins, string[] inNames, string output)
    {
        bool relu = node.Name == "LinearReluBackward";
        string linear = relu ? Fresh("Linear") : output;
        if (ins[0].Rank == 2)
        {
            AddNode("Gemm", inNames, linear, Int("transB", 1));
        }
        else
        {
            string wt = SwapLast(inNames[1], 2);
            if (ins.Length == 3)
            {
                string product = Fresh("MatMul");
                AddNode("MatMul", [inNames[0], wt], product);
                AddNode("Add", [product, inNames[2]], linear);
            }
            else AddNode("MatMul", [inNames[0], wt], linear);
        }
        if (relu) AddNode("Relu", [linear], output);
    }

    /// <summary>Conv or ConvTranspose with the recorded geometry (symmetric pads, as the SharpGrad ops have).</summary>
    private void EmitConv(Node node, Tensor[] ins, string[] inNames, string output)
    {
        var c = Attrs<ConvAttributes>(node);
        long[] L(int[] v) => v.Select(e => (long)e).ToArray();
        var attributes = new List<AttributeProto>
        {
            Ints("kernel_shape", L(ins[1].Shape[2..])), Ints("strides", L(c.Stride)), Ints("pads", L([.. c.Padding, .. c.Padding])),
            Ints("dilations", L(c.Dilation)), Int("group", c.Groups),
        };
        if (c.Transposed && c.OutputPadding.Any(v => v != 0)) attributes.Add(Ints("output_padding", L(c.OutputPadding)));
        AddNode(c.Transposed ? "ConvTranspose" : "Conv", inNames, output, [.. attributes]);
    }

    private void EmitBatchNorm(Node node, Tensor[] ins, string[] inNames, string output)
    {
        var a = Attrs<BatchNormAttributes>(node);
        if (a.Training || a.RunningMean is null || a.RunningVar is null)
            throw NoMapping(node, "batch statistics (training mode or no running statistics) are not exported; the exporter traces in evaluation mode");
        if (ins.Length == 2) throw NoMapping(node, "a batch norm with only one of weight and bias");
        int c = ins[0].Shape[1];
        var dtype = ins[0].DType;
        string scale = ins.Length == 3 ? inNames[1] : Name(Tensor.Full([c], 1.0, dtype));
        string bias = ins.Length == 3 ? inNames[2] : Name(Tensor.Full([c], 0.0, dtype));
        AddNode("BatchNormalization", [inNames[0], scale, bias, Name(a.RunningMean), Name(a.RunningVar)], output, Float("epsilon", a.Eps));
    }
}
