using SharpGrad.NN;
using SharpGrad.Onnx.Proto;

namespace SharpGrad.Onnx;

/// <summary>The ops <see cref="GraphBuilder"/> writes as several ONNX nodes (softplus, GELU, layer norm, the unrolled LSTM,
/// attention, linear, convolution, pooling, batch norm) and the small node helpers they share.</summary>
internal sealed partial class GraphBuilder
{
    private static string Shapes(int[] shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>The batch dimension after a reduction: gone when reduced (or everything is), one lower when a dimension before it is dropped.</summary>
    private static int ReducedAxis(Node node, int inAxis)
    {
        if (inAxis < 0 || node.Attributes is not DimAttributes d || d.Dim == inAxis) return -1;
        return d.Dim < inAxis && !d.KeepDim ? inAxis - 1 : inAxis;
    }

    /// <summary>A one-input node with a fresh output name (a step of an op written as several ONNX nodes).</summary>
    private string Unary(string op, string x, params AttributeProto[] attributes)
    {
        string output = Fresh(op);
        AddNode(op, [x], output, attributes);
        return output;
    }

    private string Binary(string op, string a, string b)
    {
        string output = Fresh(op);
        AddNode(op, [a, b], output);
        return output;
    }

    private void EmitSoftplus(Node node, Tensor[] ins, string x, string output)
    {
        // PyTorch's softplus(beta, threshold): log(1 + e^(βx))/β, and x itself where βx > threshold.
        var (beta, threshold) = node.Attributes is SoftplusAttributes a ? (a.Beta, a.Threshold) : (1.0, 20.0);
        var dtype = ins[0].DType;
        if (beta == 1 && threshold >= 20)
        {
            // Above the threshold (20 or more) log(1 + eˣ) exceeds x by less than e^-20 ≈ 2e-9: ONNX's Softplus as it is.
            AddNode("Softplus", [x], output);
            return;
        }
        string bx = beta == 1 ? x : Binary("Mul", x, Scalar(beta, dtype));
        string soft = Unary("Softplus", bx);
        if (beta != 1) soft = Binary("Div", soft, Scalar(beta, dtype));
        string above = Binary("Greater", bx, Scalar(threshold, dtype));
        AddNode("Where", [above, x, soft], output);
    }

    private void EmitGelu(Node node, Tensor[] ins, string x, string output)
    {
        // Opset 17 has no Gelu: x/2 · (1 + erf(x/√2)), or the tanh form x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))).
        var dtype = ins[0].DType;
        string half = Binary("Mul", x, Scalar(0.5, dtype)); // first, as an imported graph computes it
        string inner;
        if (Attrs<GeluAttributes>(node).Approximate == GeluApproximation.Tanh)
        {
            string cube = Binary("Mul", Binary("Mul", x, x), x);
            string sum = Binary("Add", x, Binary("Mul", cube, Scalar(0.044715, dtype)));
            inner = Unary("Tanh", Binary("Mul", sum, Scalar(Math.Sqrt(2 / Math.PI), dtype)));
        }
        else inner = Unary("Erf", Binary("Mul", x, Scalar(1 / Math.Sqrt(2), dtype)));
        AddNode("Mul", [half, Binary("Add", inner, Scalar(1, dtype))], output);
    }

    private void EmitLayerNorm(Node node, Tensor[] ins, string[] inNames, string output)
    {
        var a = Attrs<LayerNormAttributes>(node);
        if (_opset < 17) throw NoMapping(node, "LayerNormalization needs opset 17");
        var x = ins[0];
        int[] normalized = x.Shape[^a.Dims..];
        // LayerNorm's inputs are [x], [x, weight], [x, bias] or [x, weight, bias]: tell weight from bias by the tape order.
        Tensor? weight = null, bias = null;
        if (ins.Length == 3) (weight, bias) = (ins[1], ins[2]);
        else if (ins.Length == 2)
        {
            if (node.Attributes is LayerNormAttributes { HasWeight: true }) weight = ins[1]; else bias = ins[1];
        }
        string scale = weight is not null ? Name(weight) : Name(Tensor.Full(normalized, 1.0, x.DType));
        string[] inputs = bias is not null ? [inNames[0], scale, Name(bias)] : [inNames[0], scale];
        AddNode("LayerNormalization", inputs, output, Int("axis", -a.Dims), Float("epsilon", a.Eps));
    }

    /// <summary>
    /// <see cref="SharpGrad.NN.Functional.LstmSequence"/> unrolled over its steps with ONNX's Gemm, Slice, Sigmoid, Tanh,
    /// Mul and Add (as an imported ONNX LSTM is unrolled on the way in): inputs xProj [seq, batch, 4·hidden], h0, c0,
    /// W_hh and b_hh when present; output [2, seq, batch, hidden] (every h_t, then every c_t), or [seq, batch, hidden]
    /// (every h_t; [batch, seq, hidden] when recorded batch-major) for a layer recorded with its h sequence as its output.
    /// The batch size is read from the input at run time (-1 in every reshape).
    /// </summary>
    private void EmitLstmSequence(Node node, Tensor[] ins, string[] inNames, string output)
    {
        bool reverse = node.Attributes is SharpGrad.NN.LstmSequenceAttributes { Reverse: true };
        bool hiddenOnly = node.Attributes is SharpGrad.NN.LstmSequenceAttributes { HiddenOnly: true };
        bool batchMajor = node.Attributes is SharpGrad.NN.LstmSequenceAttributes { BatchMajor: true };
        int seq = ins[0].Shape[0], hidden = ins[3].Shape[1];
        // h0 and c0 are named (a zero state: emitted) just before the node that first uses each, W_hh and b_hh with h0,
        // as the step-by-step layer's tape names them.
        string? w = null, b = null;
        var hOf = new string?[seq]; // by step (processing order)
        var cOf = new string?[seq];
        var hAt = new string[seq];  // by time position
        var cAt = new string[seq];
        // Written as the step-by-step layer's tape would be (Narrow → Slice, Squeeze → Reshape, Linear → Gemm), in the
        // order the exporter walks such a tape (depth first from the output, inputs in order), constants made just before
        // the node using them, so that importing the export and exporting again gives the same graph node for node.
        string Slice(string x, int start, int length, int dim) => Multi("Slice", x, Constant([start]), Constant([start + length]), Constant([dim]));
        void Step(int s)
        {
            int t = reverse ? seq - 1 - s : s;
            string xt = Binary("Reshape", Slice(inNames[0], t, 1, 0), Constant([-1, 4L * hidden]));
            // The walk reaches the previous step's state after this step's input slice (in the reverse direction that
            // puts every input slice first).
            string hPrev;
            if (s == 0) { hPrev = Name(ins[1]); w = Name(ins[3]); b = ins.Length > 4 ? Name(ins[4]) : null; }
            else { if (hOf[s - 1] is null) Step(s - 1); hPrev = hOf[s - 1]!; }
            string lin = Fresh("Gemm");
            AddNode("Gemm", b is not null ? [hPrev, w!, b] : [hPrev, w!], lin, Int("transB", 1));
            string a = Binary("Add", xt, lin);
            // h = o · tanh(f · c + i · g): the walk reaches o first, then f · c, then i · g.
            string o = Unary("Sigmoid", Slice(a, 3 * hidden, hidden, 1));
            string f = Unary("Sigmoid", Slice(a, hidden, hidden, 1));
            string fc = Binary("Mul", f, s == 0 ? Name(ins[2]) : cOf[s - 1]!);
            string i = Unary("Sigmoid", Slice(a, 0, hidden, 1));
            string g = Unary("Tanh", Slice(a, 2 * hidden, hidden, 1));
            string c = Binary("Add", fc, Binary("Mul", i, g));
            string h = Binary("Mul", o, Unary("Tanh", c));
            hOf[s] = hAt[t] = h;
            cOf[s] = cAt[t] = c;
        }
        // The hidden states are concatenated in time order: the walk writes the steps a state needs, then its Reshape
        // (in the reverse direction the first time position needs every step).
        var hs = new string[seq];
        for (int t = 0; t < seq; t++)
        {
            int step = reverse ? seq - 1 - t : t;
            if (hOf[step] is null) Step(step);
            hs[t] = Binary("Reshape", hAt[t], Constant([1, -1, hidden]));
        }
        if (hiddenOnly)
        {
            if (batchMajor) AddNode("Transpose", [Multi("Concat", hs, Int("axis", 0))], output, Ints("perm", [1L, 0L, 2L]));
            else AddNode("Concat", hs, output, Int("axis", 0));
            return;
        }
        string allH = Binary("Reshape", Multi("Concat", hs, Int("axis", 0)), Constant([1, seq, -1, hidden]));
        var cs = new string[seq];
        for (int t = 0; t < seq; t++) cs[t] = Binary("Reshape", cAt[t], Constant([1, -1, hidden]));
        string allC = Binary("Reshape", Multi("Concat", cs, Int("axis", 0)), Constant([1, seq, -1, hidden]));
        AddNode("Concat", [allH, allC], output, Int("axis", 0));
    }

    /// <summary>A node of several inputs with a fresh output name.</summary>
    private string Multi(string op, string x, params string[] more) => Multi(op, [x, .. more]);

    private string Multi(string op, string[] inputs, params AttributeProto[] attributes)
    {
        string output = Fresh(op);
        AddNode(op, inputs, output, attributes);
        return output;
    }

    /// <summary>softmax(Q Kᵀ · scale + mask), the first half of attention.</summary>
    private string AttentionWeights(Node node, Tensor[] ins, string q, string k)
    {
        var a = Attrs<AttentionAttributes>(node);
        if (a.DropoutP > 0) throw NoMapping(node, "dropout on the attention weights (the exporter traces in evaluation mode; this call passed dropoutP > 0 itself)");
        var dtype = ins[0].DType;
        string scores = Binary("Mul", Binary("MatMul", q, SwapLast(k, ins[1].Rank)), Scalar(a.Scale, dtype));
        int lq = ins[0].Shape[^2], lk = ins[1].Shape[^2];
        // Masks are added (0 where a query attends a key, −∞ where not), Bool and causal ones too: an Add imports back as
        // an Add, where a Where's condition would not be on the tape of the imported model.
        Tensor? additive = null;
        if (a.Causal)
        {
            var m = new double[lq * lk];
            for (int i = 0; i < lq; i++) for (int j = i + 1; j < lk; j++) m[i * lk + j] = double.NegativeInfinity;
            additive = Tensor.FromArray(m, lq, lk).To(dtype);
        }
        else if (a.Mask is { } mask)
            additive = mask.DType == DType.Bool ? Tensor.Where(mask, Tensor.Scalar(0.0, dtype), Tensor.Scalar(double.NegativeInfinity, dtype)) : mask.To(dtype);
        if (additive is not null) scores = Binary("Add", scores, Name(additive));
        return Unary("Softmax", scores, Int("axis", ins[0].Rank - 1));
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
        else if (ins.Length == 3) AddNode("Add", [_products[node], inNames[2]], linear); // the product came before the bias
        else AddNode("MatMul", [inNames[0], SwapLast(inNames[1], 2)], linear);
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

    /// <summary>The first nodes of an op <see cref="FirstHalfInputs"/> splits: x·Wᵀ, or the attention weights.</summary>
    private void EmitFirstHalf(Tensor t)
    {
        var node = t.GradFn!;
        var ins = node.Inputs;
        if (node.Name == "ScaledDotProductAttentionBackward") { _products[node] = AttentionWeights(node, ins, Name(ins[0]), Name(ins[1])); return; }
        string wt = SwapLast(Name(ins[1]), 2);
        string product = Fresh("MatMul");
        AddNode("MatMul", [Name(ins[0]), wt], product);
        _products[node] = product;
    }

    /// <summary>
    /// Pooling from its window tables: ONNX's MaxPool/AveragePool when every dimension's windows are regular (one length,
    /// evenly spaced; adaptive pooling whose windows happen to be so too), with the end padding that covers the last
    /// window (ceil mode) and, for averages, count_include_pad chosen to give the divisors the op used.
    /// </summary>
    private void EmitPool(Node node, Tensor[] ins, string x, string output)
    {
        var a = Attrs<PoolAttributes>(node);
        bool max = node.Name.Contains("Max", StringComparison.Ordinal);
        int k = a.Axes.Length;
        long[] kernel = new long[k], strides = new long[k], pads = new long[2 * k], dilations = new long[k];
        bool? includePad = null;
        for (int i = 0; i < k; i++)
        {
            var ax = a.Axes[i];
            int n = ax.Out, len = ax.Length[0], step = n > 1 ? ax.Start[1] - ax.Start[0] : 1;
            for (int o = 0; o < n; o++)
                if (ax.Length[o] != len || ax.Start[o] != ax.Start[0] + o * step)
                    throw NoMapping(node, $"its windows along spatial dimension {i} are not evenly spaced windows of one size (adaptive pooling to a size that does not divide the input)");
            int begin = -ax.Start[0], last = ax.Start[n - 1] + ax.Dilation * (len - 1);
            kernel[i] = len; strides[i] = Math.Max(step, 1); dilations[i] = ax.Dilation;
            pads[i] = begin;
            pads[k + i] = Math.Max(0, last - (ax.In - 1));
            if (begin < 0) throw NoMapping(node, "a window starting inside the input's first position");
            if (max) continue;
            // The divisor the op used for each window: the whole window (count_include_pad = 1), or only the positions
            // inside the input (0). ONNX counts the padding on both sides; PyTorch stops at the input plus the left padding.
            for (int o = 0; o < n; o++)
            {
                int st = ax.Start[o];
                int inside = Math.Min(st + len, ax.In) - Math.Max(st, 0);
                bool whole = ax.Divisor[o] == len, counted = ax.Divisor[o] == inside;
                if (whole && counted) continue;
                bool include = whole;
                if (!whole && !counted || (includePad is { } prev && prev != include))
                    throw NoMapping(node, "its average divisors are neither the whole window nor the positions inside the input (ceil mode with padding counted)");
                includePad = include;
            }
        }
        if (a.DivisorOverride is not null) throw NoMapping(node, "a divisor override");
        var attributes = new List<AttributeProto> { Ints("kernel_shape", kernel), Ints("strides", strides), Ints("pads", pads) };
        if (max) attributes.Add(Ints("dilations", dilations));
        else
        {
            if (dilations.Any(d => d != 1)) throw NoMapping(node, "a dilated average");
            attributes.Add(Int("count_include_pad", includePad == true ? 1 : 0));
        }
        AddNode(max ? "MaxPool" : "AveragePool", [x], output, [.. attributes]);
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
