using SharpGrad.NN;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>
/// Turns the tape behind one traced output into an ONNX graph: tape nodes in topological order, each mapped by its name
/// (<c>ExpBackward</c> → Exp) and, where the op has non-tensor arguments, by its <see cref="Node.Attributes"/>.
/// Tracks which dimension of each value carries the batch (the input's dimension 0, moved by transposes, reshapes and
/// reductions), so shapes written into the graph (Reshape, Expand, the zero states of a recurrent layer) keep it dynamic.
/// </summary>
internal sealed partial class GraphBuilder(Module module, Tensor input, bool dynamicBatch, int opset)
{
    private const string BatchParam = "batch";

    private readonly GraphProto _graph = new();
    private readonly Dictionary<Tensor, string> _names = new(ReferenceEqualityComparer.Instance);
    /// <summary>The dimension holding the batch, for each value that has one.</summary>
    private readonly Dictionary<Tensor, int> _batchAxis = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> _stateNames = StateNames(module);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly int _batch = input.Rank > 0 ? input.Shape[0] : 1;
    private readonly int _opset = opset;
    private readonly Dictionary<Node, string> _products = new(ReferenceEqualityComparer.Instance);
    private int _counter;
    private string? _batchSize;

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
        if (dynamicBatch) _batchAxis[input] = 0;
        _graph.Input.Add(ValueInfo("input", input, dynamicBatch ? 0 : -1));

        var order = TopologicalOrder(output);
        foreach (var (t, product) in order)
        {
            if (product) { EmitFirstHalf(t); continue; }
            if (ReferenceEquals(t, output)) Claim(t, "output");
            Emit(t);
        }
        if (!_names.TryGetValue(output, out var outName) || outName != "output")
        {
            // The output is an input or an initializer itself (no op between): ONNX needs a node to name it "output".
            AddNode("Identity", [Name(output)], "output");
        }
        _graph.Output.Add(ValueInfo("output", output, _batchAxis.TryGetValue(output, out int axis) ? axis : -1));
        return _graph;
    }

    private void Claim(Tensor t, string name)
    {
        _names[t] = name;
        _used.Add(name);
    }

    private enum Visit { Expand, Emit, Product }

    /// <summary>
    /// The inputs the op computes its output from: a Linear formed from a table of rows also lists the table, for its
    /// gradient alone (<see cref="LinearOfRowsAttributes"/>), which the graph leaves out.
    /// </summary>
    private static Tensor[] OpInputs(Node node) => node.Attributes is LinearOfRowsAttributes a ? node.Inputs[..a.TableInput] : node.Inputs;

    /// <summary>
    /// Ops written as several nodes of which the first ones read only some inputs: a linear layer on a batch of
    /// sequences (a MatMul, then an Add of the bias) and attention (the weights from the queries and keys, then their
    /// product with the values). The ops that make the last input (a slice of a packed bias, the value projection) are
    /// written between the two halves, where the nodes of the graph imported from the file would make them, so that
    /// export → import → export writes the nodes in the same order. Returns how many inputs the first half reads, or 0.
    /// </summary>
    private static int FirstHalfInputs(Tensor t) => t.GradFn switch
    {
        { Name: "LinearBackward" or "LinearReluBackward" } n when OpInputs(n).Length == 3 && n.Inputs[0].Rank != 2 => 2,
        { Name: "ScaledDotProductAttentionBackward" } => 2,
        _ => 0,
    };

    /// <summary>
    /// Non-leaf tensors reachable from <paramref name="output"/>, inputs before the ops that read them (explicit stack, no
    /// recursion); Product entries are the first half of an op <see cref="FirstHalfInputs"/> splits.
    /// </summary>
    private List<(Tensor T, bool Product)> TopologicalOrder(Tensor output)
    {
        var order = new List<(Tensor, bool)>();
        var done = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor T, Visit Visit)>();
        stack.Push((output, Visit.Expand));
        while (stack.Count > 0)
        {
            var (t, visit) = stack.Pop();
            if (t.GradFn is null || ReferenceEquals(t, input)) continue;
            if (visit == Visit.Product) { order.Add((t, true)); continue; }
            if (visit == Visit.Emit) { if (done.Add(t)) order.Add((t, false)); continue; }
            if (done.Contains(t)) continue;
            stack.Push((t, Visit.Emit));
            var inputs = OpInputs(t.GradFn);
            int half = FirstHalfInputs(t);
            for (int k = inputs.Length - 1; k >= half; k--) if (!done.Contains(inputs[k])) stack.Push((inputs[k], Visit.Expand));
            if (half == 0) continue;
            stack.Push((t, Visit.Product));
            for (int k = half - 1; k >= 0; k--) if (!done.Contains(inputs[k])) stack.Push((inputs[k], Visit.Expand));
            // Inputs pushed last to first so they are visited first to last: values come out in the order the ops
            // consumed them, as an imported graph lists its nodes.
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
        if (!_stateNames.ContainsKey(t) && BatchFill(t) is { } fill)
        {
            // A constant as large as the traced batch and of one value (a recurrent layer's zero state): made at run
            // time with the batch the input has, not baked in with the traced one.
            name = Fresh("fill");
            var value = OnnxTensors.ToProto(Tensor.Full([1], fill, t.DType), "");
            AddNode("ConstantOfShape", [BatchShape(t.Shape)], name, new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
            _names[t] = name;
            _batchAxis[t] = 0;
            return name;
        }
        if (_stateNames.TryGetValue(t, out var stateName) && _used.Add(stateName))
        {
            // Counted as a fresh name would be, so that the names after it do not depend on whether this constant was a
            // module's buffer (an imported model's) or made by the op (the model it was exported from).
            name = stateName;
            _counter++;
        }
        else name = Fresh("const");
        _names[t] = name;
        _graph.Initializer.Add(OnnxTensors.ToProto(t.Detach(), name));
        return name;
    }

    /// <summary>The one value of a floating-point constant whose dimension 0 is the traced batch, or null.</summary>
    private double? BatchFill(Tensor t)
    {
        if (!dynamicBatch || t.Rank == 0 || t.Shape[0] != _batch || t.Numel == 0 || !t.DType.IsFloatingPoint()) return null;
        double[] values = t.To(DType.Float64).ToArray<double>();
        double first = values[0];
        foreach (double v in values) if (BitConverter.DoubleToInt64Bits(v) != BitConverter.DoubleToInt64Bits(first)) return null;
        return first;
    }

    /// <summary>An int64 shape value: the run-time batch, then <paramref name="shape"/>[1..].</summary>
    private string BatchShape(int[] shape)
    {
        if (_batchSize is null)
        {
            string full = Fresh("input_shape");
            AddNode("Shape", ["input"], full);
            _batchSize = Fresh("batch_size");
            AddNode("Slice", [full, Constant([0]), Constant([1])], _batchSize);
        }
        if (shape.Length == 1) return _batchSize;
        string output = Fresh("fill_shape");
        AddNode("Concat", [_batchSize, Constant([.. shape.Skip(1).Select(d => (long)d)])], output, Int("axis", 0));
        return output;
    }

    private string Constant(long[] values) => Name(OnnxTensors.Make(values, [values.Length]));

    private string Scalar(double value, DType dtype) => Name(Tensor.Scalar(value, dtype));

    private ValueInfoProto ValueInfo(string name, Tensor t, int batchAxis)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < t.Rank; i++)
            shape.Dim.Add(i == batchAxis ? new TensorShapeProto.Types.Dimension { DimParam = BatchParam } : new TensorShapeProto.Types.Dimension { DimValue = t.Shape[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTensors.ElemType(t.DType), Shape = shape } },
        };
    }

    private NodeProto AddNode(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        if (ReferenceEquals(output, PendingOutput))
        {
            var t = _pending ?? throw new InvalidOperationException("OnnxExporter: internal error, no op output is pending.");
            output = _names.TryGetValue(t, out var claimed) ? claimed : Fresh(OpName(t.GradFn!.Name));
            _names[t] = output;
            _pending = null;
        }
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

    /// <summary>The dimension of <paramref name="t"/> that holds the batch, or -1.</summary>
    private int AxisOf(Tensor t) => _batchAxis.TryGetValue(t, out int a) ? a : -1;

    /// <summary>
    /// Where an elementwise or broadcasting op puts the batch: the first batched input's dimension, aligned from the
    /// right as broadcasting aligns shapes, when the output still has the batch's size there.
    /// </summary>
    private int BroadcastAxis(Tensor t, Tensor[] ins)
    {
        foreach (var i in ins)
        {
            int a = AxisOf(i);
            if (a < 0) continue;
            int o = a + t.Rank - i.Rank;
            if (o >= 0 && o < t.Rank && t.Shape[o] == _batch) return o;
        }
        return -1;
    }

    /// <summary>Where a reshape moves the batch: the output dimension with the same product of dimensions before it.</summary>
    private static int ReshapeAxis(int[] from, int axis, int[] to)
    {
        long before = 1;
        for (int i = 0; i < axis; i++) before *= from[i];
        long p = 1;
        for (int j = 0; j < to.Length; j++)
        {
            if (p == before && to[j] == from[axis]) return j;
            p *= to[j];
        }
        return -1;
    }

    private void Emit(Tensor t)
    {
        var node = t.GradFn!;
        var ins = OpInputs(node);
        // An LSTM layer names its zero states where its steps first use them (see EmitLstmSequence).
        string[] inNames = node.Name == "LstmSequenceBackward" ? [Name(ins[0])] : [.. ins.Select(Name)];
        // The output's name is taken when the node making it is added, after the names of any constants and intermediate
        // nodes the op is written with, so that names are numbered as in the graph imported from the file.
        string output = PendingOutput;
        _pending = t;
        int axis = BroadcastAxis(t, ins); // ops below that move or remove dimensions say where the batch goes
        int inAxis = ins.Length > 0 ? AxisOf(ins[0]) : -1;
        string x = inNames.Length > 0 ? inNames[0] : "";

        switch (node.Name)
        {
            case "AddBackward" or "SubBackward" or "MulBackward" or "DivBackward":
            {
                string op = OpName(node.Name);
                if (ins.Length == 2) { AddNode(op, inNames, output); break; }
                var s = Attrs<ScalarAttributes>(node);
                string c = Scalar(s.Value, ins[0].DType);
                AddNode(op, s.ScalarFirst ? [c, x] : [x, c], output);
                break;
            }
            case "NegBackward" or "ExpBackward" or "LogBackward" or "SqrtBackward" or "AbsBackward" or "ReluBackward"
                or "SigmoidBackward" or "TanhBackward" or "ErfBackward" or "SinBackward" or "CosBackward" or "TanBackward"
                or "FloorBackward" or "CeilBackward" or "RoundBackward" or "SignBackward" or "ReciprocalBackward" or "SoftsignBackward":
                AddNode(OpName(node.Name), inNames, output);
                break;
            case "SoftplusBackward":
                EmitSoftplus(node, ins, x, output);
                break;
            case "RsqrtBackward":
                AddNode("Reciprocal", [Unary("Sqrt", x)], output);
                break;
            case "SquareBackward":
                AddNode("Mul", [x, x], output);
                break;
            case "Expm1Backward":
                AddNode("Sub", [Unary("Exp", x), Scalar(1, ins[0].DType)], output);
                break;
            case "Log1pBackward":
                AddNode("Log", [Binary("Add", x, Scalar(1, ins[0].DType))], output);
                break;
            case "SiluBackward":
                AddNode("Mul", [x, Unary("Sigmoid", x)], output);
                break;
            case "MishBackward":
                AddNode("Mul", [x, Unary("Tanh", Unary("Softplus", x))], output);
                break;
            case "HardSigmoidBackward":
                AddNode("HardSigmoid", inNames, output, Float("alpha", 1.0 / 6), Float("beta", 0.5));
                break;
            case "HardSwishBackward":
                AddNode("HardSwish", inNames, output);
                break;
            case "GeluBackward":
                EmitGelu(node, ins, x, output);
                break;
            case "RemainderBackward":
            {
                // Python's remainder (the divisor's sign) for floats: a − b·⌊a/b⌋ (ONNX's Mod takes only fmod = 1 for floats).
                string q = Unary("Floor", Binary("Div", inNames[0], inNames[1]));
                AddNode("Sub", [inNames[0], Binary("Mul", inNames[1], q)], output);
                break;
            }
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
                AddNode("Pow", ins.Length == 2 ? inNames : [x, Scalar(Attrs<ScalarAttributes>(node).Value, ins[0].DType)], output);
                break;
            case "ClampBackward":
            {
                var c = Attrs<ClampAttributes>(node);
                AddNode("Clip", [x, c.Min is { } lo ? Scalar(lo, ins[0].DType) : "", c.Max is { } hi ? Scalar(hi, ins[0].DType) : ""], output);
                break;
            }
            case "MaximumBackward":
                AddNode("Max", inNames, output);
                break;
            case "SoftmaxBackward" or "LogSoftmaxBackward":
                AddNode(OpName(node.Name), inNames, output, Int("axis", Attrs<DimAttributes>(node).Dim));
                break;
            case "SumBackward":
                if (node.Attributes is DimAttributes sd) AddNode("ReduceSum", [x, Constant([sd.Dim])], output, Int("keepdims", sd.KeepDim ? 1 : 0));
                else AddNode("ReduceSum", inNames, output, Int("keepdims", 0));
                axis = ReducedAxis(node, inAxis);
                break;
            case "MeanBackward" or "MaxBackward" or "MinBackward":
            {
                string op = "Reduce" + OpName(node.Name);
                if (node.Attributes is DimAttributes d) AddNode(op, inNames, output, Ints("axes", d.Dim), Int("keepdims", d.KeepDim ? 1 : 0));
                else AddNode(op, inNames, output, Int("keepdims", 0));
                axis = ReducedAxis(node, inAxis);
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
                axis = inAxis < 0 ? -1 : ReshapeAxis(ins[0].Shape, inAxis, t.Shape);
                if (inAxis >= 0 && axis < 0)
                    throw NoMapping(node, $"reshaping {Shapes(ins[0].Shape)} to {Shapes(t.Shape)} mixes the batch dimension with others, so the shape cannot follow the run-time batch (export with dynamicBatch: false)");
                if (axis >= 0) shape[axis] = -1; // inferred at run time: every other dimension is fixed
                AddNode("Reshape", [x, Constant(shape)], output);
                break;
            }
            case "PermuteBackward":
            {
                var p = Attrs<PermuteAttributes>(node);
                AddNode("Transpose", inNames, output, Ints("perm", [.. p.Perm.Select(d => (long)d)]));
                axis = inAxis < 0 ? -1 : Array.IndexOf(p.Perm, inAxis);
                break;
            }
            case "ExpandBackward":
            {
                long[] shape = [.. t.Shape.Select(d => (long)d)];
                // Expand broadcasts both ways, so a 1 where the input carries the batch keeps the run-time batch size.
                if (inAxis >= 0) { axis = inAxis + t.Rank - ins[0].Rank; shape[axis] = 1; }
                AddNode("Expand", [x, Constant(shape)], output);
                break;
            }
            case "NarrowBackward":
            {
                var n = Attrs<NarrowAttributes>(node);
                if (n.Dim == inAxis) throw NoMapping(node, "narrowing the batch dimension cannot be exported with a dynamic batch axis (export with dynamicBatch: false)");
                AddNode("Slice", [x, Constant([n.Start]), Constant([n.Start + n.Length]), Constant([n.Dim])], output);
                axis = inAxis;
                break;
            }
            case "ConcatBackward":
            {
                int dim = Attrs<DimAttributes>(node).Dim;
                AddNode("Concat", inNames, output, Int("axis", dim));
                if (axis == dim) axis = -1; // joined along the batch: no longer one batch
                break;
            }
            case "Conv1dBackward" or "Conv2dBackward" or "Conv3dBackward" or "ConvTranspose1dBackward" or "ConvTranspose2dBackward" or "ConvTranspose3dBackward":
                EmitConv(node, ins, inNames, output);
                axis = inAxis;
                break;
            case "MaxPool2dBackward" when node.Attributes is Pool2dAttributes:
            {
                var p = Attrs<Pool2dAttributes>(node);
                AddNode("MaxPool", inNames, output, Ints("kernel_shape", p.Kernel.H, p.Kernel.W), Ints("strides", p.Stride.H, p.Stride.W),
                    Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), Ints("dilations", p.Dilation.H, p.Dilation.W));
                axis = inAxis;
                break;
            }
            case "AvgPool2dBackward" when node.Attributes is Pool2dAttributes:
            {
                var p = Attrs<Pool2dAttributes>(node);
                AddNode("AveragePool", inNames, output, Ints("kernel_shape", p.Kernel.H, p.Kernel.W), Ints("strides", p.Stride.H, p.Stride.W),
                    Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), Int("count_include_pad", 1));
                axis = inAxis;
                break;
            }
            case "EluBackward" or "SeluBackward":
            {
                var e = Attrs<EluAttributes>(node);
                if (e.Scale == 1) AddNode("Elu", inNames, output, Float("alpha", e.Alpha));
                else if (node.Name == "SeluBackward") AddNode("Selu", inNames, output, Float("alpha", e.Alpha), Float("gamma", e.Scale));
                else AddNode("Mul", [Unary("Elu", x, Float("alpha", e.Alpha)), Scalar(e.Scale, ins[0].DType)], output);
                break;
            }
            case "HardtanhBackward":
            {
                var c = Attrs<ClampAttributes>(node);
                AddNode("Clip", [x, Scalar(c.Min!.Value, ins[0].DType), Scalar(c.Max!.Value, ins[0].DType)], output);
                break;
            }
            case "ConstantPadBackward":
            {
                var p = Attrs<PadAttributes>(node);
                int rank = ins[0].Rank, k = p.Pads.Length / 2;
                var pads = new long[2 * rank];
                for (int j = 0; j < k; j++)
                {
                    int d = rank - 1 - j;
                    if (d == inAxis && (p.Pads[2 * j] != 0 || p.Pads[2 * j + 1] != 0))
                        throw NoMapping(node, "padding the batch dimension cannot be exported with a dynamic batch axis (export with dynamicBatch: false)");
                    pads[d] = p.Pads[2 * j];
                    pads[rank + d] = p.Pads[2 * j + 1];
                }
                AddNode("Pad", [x, Constant(pads), Scalar(p.Value, ins[0].DType)], output, new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("constant") });
                axis = inAxis;
                break;
            }
            case "TrilBackward" or "TriuBackward":
                AddNode("Trilu", [x, Name(OnnxTensors.Make(new long[] { Attrs<TriangleAttributes>(node).Diagonal }, []))], output, Int("upper", node.Name == "TriuBackward" ? 1 : 0));
                break;
            case "CumSumBackward":
            {
                var c = Attrs<ScanAttributes>(node);
                AddNode("CumSum", [x, Name(OnnxTensors.Make(new long[] { c.Dim }, []))], output, Int("reverse", c.Reverse ? 1 : 0));
                if (c.Dim == inAxis) axis = -1;
                break;
            }
            case "MaxPool1dBackward" or "MaxPool2dBackward" or "MaxPool3dBackward" or "AvgPool1dBackward" or "AvgPool2dBackward" or "AvgPool3dBackward" or "AdaptiveAvgPool1dBackward"
                or "AdaptiveAvgPool2dBackward" or "AdaptiveMaxPool2dBackward" when node.Attributes is PoolAttributes:
                EmitPool(node, ins, x, output);
                axis = inAxis;
                break;
            case "BatchNormBackward":
                EmitBatchNorm(node, ins, inNames, output);
                axis = inAxis;
                break;
            case "LayerNormBackward":
                EmitLayerNorm(node, ins, inNames, output);
                axis = inAxis;
                break;
            case "LstmSequenceBackward": // issue 14: a whole LSTM layer in one direction
                EmitLstmSequence(node, ins, inNames, output);
                axis = inAxis >= 0 ? inAxis + 1 : -1;
                break;
            case "ScaledDotProductAttentionBackward":
                AddNode("MatMul", [_products[node], inNames[2]], output); // the weights came before the values
                axis = inAxis;
                break;
            default:
                throw NoMapping(node);
        }
        if (_pending is not null) throw new InvalidOperationException($"OnnxExporter: internal error, the mapping of {node.Name} wrote no node for its output.");
        if (dynamicBatch && axis >= 0 && axis < t.Rank && t.Shape[axis] == _batch) _batchAxis[t] = axis;
    }

    /// <summary>Stands for the output of the op being written until its last node takes a name (<see cref="AddNode"/>).</summary>
    private const string PendingOutput = "\0pending";
    private Tensor? _pending;
}
