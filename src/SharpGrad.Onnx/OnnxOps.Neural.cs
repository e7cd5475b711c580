using F = SharpGrad.NN.Functional;

namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    private static void AddNeural(Dictionary<string, Op> t)
    {
        t["Conv"] = Conv;
        t["ConvTranspose"] = ConvTranspose;
        t["MaxPool"] = n => Pool(n, max: true);
        t["AveragePool"] = n => Pool(n, max: false);
        t["GlobalAveragePool"] = n => GlobalPool(n, (x, d) => x.Mean(d, true));
        t["GlobalMaxPool"] = n => GlobalPool(n, (x, d) => x.Max(d, true));
        t["BatchNormalization"] = BatchNorm;
        t["InstanceNormalization"] = n =>
        {
            n.RequireFloat(0, 1, 2);
            var x = n.In(0);
            if (x.Rank < 3) throw n.Bad("input must be [N, C, D1, ...]");
            int[] dims = [.. Enumerable.Range(2, x.Rank - 2)];
            var (y, _, _) = Normalize(x, dims, n.Float("epsilon", 1e-5f));
            int[] channel = [1, x.Shape[1], .. Enumerable.Repeat(1, x.Rank - 2)];
            return [y * n.In(1).Reshape(channel) + n.In(2).Reshape(channel)];
        };
        t["LayerNormalization"] = n =>
        {
            n.RequireFloat(0, 1, 2);
            var x = n.In(0);
            int axis = n.Axis(n.Int("axis", -1), x.Rank);
            int[] dims = [.. Enumerable.Range(axis, x.Rank - axis)];
            int[] normalized = x.Shape[axis..];
            var scale = n.In(1);
            var bias = n.Opt(2);
            // SharpGrad's LayerNorm op when only the result is wanted and scale and bias have the normalized shape:
            // one fused op, which exports back as LayerNormalization.
            if (!n.WantsOutput(1) && !n.WantsOutput(2) && scale.DType == x.DType && scale.Shape.SequenceEqual(normalized)
                && (bias is null || (bias.DType == x.DType && bias.Shape.SequenceEqual(normalized))))
                return [NN.Functional.LayerNorm(x, normalized, scale, bias, n.Float("epsilon", 1e-5f))];
            var (y, mean, invStd) = Normalize(x, dims, n.Float("epsilon", 1e-5f));
            y *= n.In(1);
            if (n.Opt(2) is { } b) y += b;
            return [y, mean, invStd];
        };
        t["LpNormalization"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            int axis = n.Axis(n.Int("axis", -1), x.Rank);
            long p = n.Int("p", 2);
            var norm = p switch
            {
                1 => x.Abs().Sum(axis, true),
                2 => (x * x).Sum(axis, true).Sqrt(),
                _ => throw n.Unsupported($"p = {p}"),
            };
            return [x / norm];
        };
        t["MeanVarianceNormalization"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            long[] axes = n.Ints("axes") ?? [0, 2, 3];
            int[] dims = NormalizeAxes(n, axes, x.Rank);
            var mean = ReduceKeep(x, dims, (v, d) => v.Mean(d, true));
            var centered = x - mean;
            var std = ReduceKeep(centered * centered, dims, (v, d) => v.Mean(d, true)).Sqrt();
            return [centered / (std + 1e-9)];
        };
        t["Dropout"] = n =>
        {
            if (n.Opset >= 12 && n.Opt(2) is { } training && training.Numel == 1 && training.To(DType.Float64).Reshape(1).ToArray<double>()[0] != 0)
                throw n.Unsupported("training_mode = true (random masks are not reproducible across runtimes)");
            var x = n.In(0);
            // Inference: the output is the input and the mask keeps everything.
            return [x, OnnxTensors.Make(Enumerable.Repeat(true, x.Numel).ToArray(), x.Shape)];
        };
        t["Pad"] = Pad;
    }

    private static Tensor ReduceKeep(Tensor x, int[] dims, Func<Tensor, int, Tensor> reduce)
    {
        foreach (int d in dims) x = reduce(x, d);
        return x;
    }

    /// <summary>(x − mean) / √(var + eps) over <paramref name="dims"/> (biased variance), with the mean and 1/√(var + eps).</summary>
    private static (Tensor Y, Tensor Mean, Tensor InvStd) Normalize(Tensor x, int[] dims, double eps)
    {
        var mean = ReduceKeep(x, dims, (v, d) => v.Mean(d, true));
        var centered = x - mean;
        var variance = ReduceKeep(centered * centered, dims, (v, d) => v.Mean(d, true));
        var invStd = 1.0 / (variance + eps).Sqrt();
        return (centered * invStd, mean, invStd);
    }

    private static Tensor[] GlobalPool(OnnxNode n, Func<Tensor, int, Tensor> reduce)
    {
        n.RequireFloat(0);
        var x = n.In(0);
        return [ReduceKeep(x, [.. Enumerable.Range(2, Math.Max(0, x.Rank - 2))], reduce)];
    }

    private static Tensor[] BatchNorm(OnnxNode n)
    {
        n.RequireFloat(0, 1, 2, 3, 4);
        if (n.Int("training_mode", 0) != 0 || n.WantsOutput(1)) throw n.Unsupported("training mode (running-statistics outputs)");
        if (n.Opset < 9 && n.Int("spatial", 1) == 0) throw n.Unsupported("spatial = 0");
        return [F.BatchNorm(n.In(0), n.In(3), n.In(4), n.In(1), n.In(2), training: false, eps: n.Float("epsilon", 1e-5f))];
    }

    /// <summary>Per spatial axis: (begin, end) padding, from explicit pads or auto_pad, for a kernel of the given extent.</summary>
    private static (int Begin, int End)[] Pads(OnnxNode n, int[] spatial, int[] kernel, int[] stride, int[] dilation)
    {
        int k = spatial.Length;
        var result = new (int, int)[k];
        string auto = n.Str("auto_pad", "NOTSET");
        if (auto is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < k; i++)
            {
                int output = (spatial[i] + stride[i] - 1) / stride[i];
                int total = Math.Max(0, (output - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - spatial[i]);
                int small = total / 2;
                result[i] = auto == "SAME_UPPER" ? (small, total - small) : (total - small, small);
            }
            return result;
        }
        if (auto is not ("NOTSET" or "VALID")) throw n.Unsupported($"auto_pad = {auto}");
        long[] pads = auto == "VALID" ? new long[2 * k] : n.Ints("pads") ?? new long[2 * k];
        if (pads.Length != 2 * k) throw n.Bad($"pads has {pads.Length} entries for {k} spatial axes");
        for (int i = 0; i < k; i++)
        {
            if (pads[i] < 0 || pads[i + k] < 0) throw n.Unsupported("negative pads");
            result[i] = ((int)pads[i], (int)pads[i + k]);
        }
        return result;
    }

    private static int[] PerAxis(OnnxNode n, string name, int k, int fallback)
    {
        long[]? v = n.Ints(name);
        if (v is null) return [.. Enumerable.Repeat(fallback, k)];
        if (v.Length != k) throw n.Bad($"{name} has {v.Length} entries for {k} spatial axes");
        if (v.Any(e => e <= 0 || e > int.MaxValue)) throw n.Bad($"{name} [{string.Join(", ", v)}] must be positive");
        return [.. v.Select(e => (int)e)];
    }

    /// <summary>Pads the trailing spatial axes of <paramref name="x"/> with a constant (zero for conv, −∞ for max pooling).</summary>
    private static Tensor PadSpatial(Tensor x, (int Begin, int End)[] pads, double value)
    {
        int first = x.Rank - pads.Length;
        for (int i = 0; i < pads.Length; i++)
            x = PadAxis(x, first + i, pads[i].Begin, pads[i].End, value);
        return x;
    }

    private static Tensor PadAxis(Tensor x, int axis, int begin, int end, double value)
    {
        if (begin < 0) { x = x.Narrow(axis, -begin, x.Shape[axis] + begin); begin = 0; }
        if (end < 0) { x = x.Narrow(axis, 0, x.Shape[axis] + end); end = 0; }
        if (begin == 0 && end == 0) return x;
        var parts = new List<Tensor>(3);
        if (begin > 0) parts.Add(Tensor.Full(WithDim(x.Shape, axis, begin), value, x.DType));
        parts.Add(x);
        if (end > 0) parts.Add(Tensor.Full(WithDim(x.Shape, axis, end), value, x.DType));
        return Tensor.Concat(parts, axis);
    }

    private static int[] WithDim(int[] shape, int axis, int size)
    {
        shape[axis] = size;
        return shape;
    }

    private static Tensor[] Conv(OnnxNode n)
    {
        n.RequireFloat(0, 1, 2);
        var x = n.In(0);
        var w = n.In(1);
        var b = n.Opt(2);
        if (x.Rank is not (3 or 4 or 5)) throw n.Unsupported($"a {x.Rank - 2}-D convolution (SharpGrad has 1-D, 2-D and 3-D)");
        int k = x.Rank - 2;
        int[] kernel = w.Shape[2..];
        int[] stride = PerAxis(n, "strides", k, 1), dilation = PerAxis(n, "dilations", k, 1);
        var pads = Pads(n, x.Shape[2..], kernel, stride, dilation);
        int groups = (int)n.Int("group", 1);
        int cin = x.Shape[1], cout = w.Shape[0];
        if (groups <= 0 || cin % groups != 0 || cout % groups != 0 || w.Shape[1] != cin / groups)
            throw n.Bad($"group {groups} does not fit input channels {cin} and weight shape [{string.Join(", ", w.Shape)}]");
        // SharpGrad pads symmetrically; unequal begin/end pads are applied to the input first.
        bool symmetric = pads.All(p => p.Begin == p.End);
        if (!symmetric) x = PadSpatial(x, pads, 0);
        int[] padding = [.. pads.Select(p => symmetric ? p.Begin : 0)];
        return [ConvCore.Convolution($"Conv{k}d", k, x, w, b, stride, padding, dilation, groups)];
    }

    /// <summary>
    /// ConvTranspose: strides, dilations, group, output_padding, and pads given or derived from output_shape / auto_pad
    /// (ONNX's total padding rule). Symmetric pads map to SharpGrad's op directly; otherwise the unpadded result is
    /// cropped (or extended with zeros) per axis and the bias added after.
    /// </summary>
    private static Tensor[] ConvTranspose(OnnxNode n)
    {
        n.RequireFloat(0, 1, 2);
        var x = n.In(0);
        var w = n.In(1);
        var b = n.Opt(2);
        if (x.Rank is not (3 or 4 or 5)) throw n.Unsupported($"a {x.Rank - 2}-D transposed convolution (SharpGrad has 1-D, 2-D and 3-D)");
        int k = x.Rank - 2;
        int[] size = x.Shape[2..], kernel = w.Shape[2..];
        int[] stride = PerAxis(n, "strides", k, 1), dilation = PerAxis(n, "dilations", k, 1);
        int groups = (int)n.Int("group", 1);
        if (groups <= 0 || x.Shape[1] != w.Shape[0] || x.Shape[1] % groups != 0)
            throw n.Bad($"group {groups} does not fit input channels {x.Shape[1]} and weight shape [{string.Join(", ", w.Shape)}]");
        long[] outPad = n.Ints("output_padding") ?? new long[k];
        if (outPad.Length != k || outPad.Any(v => v < 0)) throw n.Bad($"output_padding [{string.Join(", ", outPad)}] must have {k} non-negative entries");
        string auto = n.Str("auto_pad", "NOTSET");
        long[]? outputShape = n.Ints("output_shape");
        if (outputShape is null && auto is "SAME_UPPER" or "SAME_LOWER") outputShape = [.. size.Select((v, i) => (long)v * stride[i])];
        if (auto is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")) throw n.Unsupported($"auto_pad = {auto}");
        if (outputShape is not null && outputShape.Length == k + 2) outputShape = outputShape[2..];
        if (outputShape is not null && outputShape.Length != k) throw n.Bad($"output_shape [{string.Join(", ", outputShape)}] does not have {k} spatial entries");
        var pads = new (int Begin, int End)[k];
        long[] given = auto == "VALID" || outputShape is not null ? new long[2 * k] : n.Ints("pads") ?? new long[2 * k];
        if (given.Length != 2 * k) throw n.Bad($"pads has {given.Length} entries for {k} spatial axes");
        var full = new int[k];
        for (int i = 0; i < k; i++)
        {
            full[i] = (size[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1;
            if (outputShape is null) { pads[i] = ((int)given[i], (int)given[i + k]); continue; }
            int total = full[i] + (int)outPad[i] - (int)outputShape[i];
            int half = (int)Math.Floor(total / 2.0);
            pads[i] = auto == "SAME_UPPER" ? (half, total - half) : (total - half, half);
        }
        int[] op = [.. outPad.Select(v => (int)v)];
        bool direct = pads.All(p => p.Begin == p.End && p.Begin >= 0) && op.Select((v, i) => v < Math.Max(stride[i], dilation[i])).All(ok => ok)
            && pads.Select((p, i) => full[i] - 2 * p.Begin + op[i] >= 1).All(ok => ok);
        if (direct)
            return [ConvCore.Transposed($"ConvTranspose{k}d", k, x, w, b, stride, [.. pads.Select(p => p.Begin)], op, groups, dilation)];
        var y = ConvCore.Transposed($"ConvTranspose{k}d", k, x, w, null, stride, null, null, groups, dilation);
        for (int i = 0; i < k; i++)
        {
            int outSize = full[i] + op[i] - pads[i].Begin - pads[i].End;
            if (outSize < 1) throw n.Bad($"the output of spatial axis {i} would have size {outSize}");
            y = PadAxis(y, 2 + i, -pads[i].Begin, op[i] - pads[i].End, 0);
        }
        if (b is not null) y = y + b.Reshape([1, b.Shape[0], .. Enumerable.Repeat(1, k)]);
        return [y];
    }

    private static Tensor[] Pool(OnnxNode n, bool max)
    {
        n.RequireFloat(0);
        var x = n.In(0);
        if (n.WantsOutput(1)) throw n.Unsupported("the Indices output");
        if (x.Rank is 3 or 4 or 5 && n.Int("ceil_mode", 0) == 0)
        {
            // Equal pads of at most half the window: SharpGrad's 1-d, 2-d or 3-d pooling op with per-dimension arguments.
            int k = x.Rank - 2;
            int[] kk = PerAxis(n, "kernel_shape", k, 0), ss = PerAxis(n, "strides", k, 1), dd = PerAxis(n, "dilations", k, 1);
            if (kk.All(v => v > 0))
            {
                var pp = Pads(n, x.Shape[2..], kk, ss, dd);
                if (pp.Select((p, i) => p.Begin == p.End && 2 * p.Begin <= kk[i]).All(ok => ok) && (max || dd.All(v => v == 1)))
                {
                    int[] padding = [.. pp.Select(p => p.Begin)];
                    bool include = n.Int("count_include_pad", 0) != 0;
                    return [(k, max) switch
                    {
                        (1, true) => F.MaxPool1d(x, kk, ss, padding, dd),
                        (2, true) => F.MaxPool2d(x, kk, ss, padding, dd),
                        (3, true) => F.MaxPool3d(x, kk, ss, padding, dd),
                        (1, false) => F.AvgPool1d(x, kk, ss, padding, countIncludePad: include),
                        (2, false) => F.AvgPool2d(x, kk, ss, padding, countIncludePad: include),
                        _ => F.AvgPool3d(x, kk, ss, padding, countIncludePad: include),
                    }];
                }
            }
        }
        if (x.Rank != 4) throw n.Unsupported($"{x.Rank - 2}-D pooling with unequal pads or ceil_mode (SharpGrad's own pooling takes equal pads up to half the window)");
        int[] kernel = PerAxis(n, "kernel_shape", 2, 0);
        if (kernel[0] <= 0) throw n.Bad("kernel_shape is required");
        int[] stride = PerAxis(n, "strides", 2, 1), dilation = PerAxis(n, "dilations", 2, 1);
        if (n.Int("ceil_mode", 0) != 0) throw n.Unsupported("ceil_mode = 1");
        if (kernel[0] != kernel[1] || stride[0] != stride[1] || dilation[0] != dilation[1])
            throw n.Unsupported($"a non-square window (kernel [{string.Join(", ", kernel)}], strides [{string.Join(", ", stride)}], dilations [{string.Join(", ", dilation)}])");
        if (!max && dilation[0] != 1) throw n.Unsupported("dilated average pooling");
        var pads = Pads(n, x.Shape[2..], kernel, stride, dilation);
        bool padded = pads.Any(p => p.Begin != 0 || p.End != 0);
        if (max)
        {
            if (padded) x = PadSpatial(x, pads, double.NegativeInfinity);
            return [F.MaxPool2d(x, kernel[0], stride[0], 0, dilation[0])];
        }
        if (!padded) return [F.AvgPool2d(x, kernel[0], stride[0], 0)];
        var sum = F.AvgPool2d(PadSpatial(x, pads, 0), kernel[0], stride[0], 0);
        if (n.Int("count_include_pad", 0) != 0) return [sum];
        // Excluding the padding: divide by the fraction of each window that lies inside the input.
        var inside = F.AvgPool2d(PadSpatial(Tensor.Ones([1, 1, x.Shape[2], x.Shape[3]], x.DType), pads, 0), kernel[0], stride[0], 0);
        return [sum / inside];
    }

    private static Tensor[] Pad(OnnxNode n)
    {
        var x = n.In(0);
        string mode = n.Str("mode", "constant");
        long[] pads = (n.Opset >= 11 ? n.IntValues(1) : n.Ints("pads")) ?? throw n.Bad("pads are required");
        double value = n.Opset >= 11 ? n.ScalarValue(2) ?? 0 : n.Float("value", 0);
        long[]? axes = n.Opset >= 18 ? n.OptIntValues(3) : null;
        int[] dims = axes is null ? [.. Enumerable.Range(0, x.Rank)] : [.. axes.Select(a => n.Axis(a, x.Rank))];
        if (pads.Length != 2 * dims.Length) throw n.Bad($"pads has {pads.Length} entries for {dims.Length} axes");
        if (mode == "constant" && x.DType.IsFloatingPoint() && axes is null && pads.All(p => Math.Abs(p) <= int.MaxValue))
        {
            // SharpGrad's constant pad in one op (what the exporter writes a Pad from): PyTorch's order, last dimension
            // first, up to the first dimension with a non-zero pad.
            int last = Enumerable.Range(0, x.Rank).FirstOrDefault(d => pads[d] != 0 || pads[d + x.Rank] != 0, x.Rank);
            var torch = new List<int>();
            for (int d = x.Rank - 1; d >= last; d--) { torch.Add((int)pads[d]); torch.Add((int)pads[d + x.Rank]); }
            return [torch.Count == 0 ? x : NN.Functional.Pad(x, [.. torch], PadMode.Constant, value)];
        }
        for (int i = 0; i < dims.Length; i++)
        {
            int begin = (int)pads[i], end = (int)pads[i + dims.Length];
            x = mode switch
            {
                "constant" => PadAxis(x, dims[i], begin, end, value),
                "edge" => PadCopies(x, dims[i], begin, end, (size, j) => 0, (size, j) => size - 1),
                "reflect" => PadCopies(x, dims[i], begin, end, (size, j) => begin - j, (size, j) => size - 2 - j),
                _ => throw n.Unsupported($"mode '{mode}'"),
            };
        }
        return [x];
    }

    /// <summary>Edge and reflect padding: the j-th padded slice on each side copies the slice the mode names.</summary>
    private static Tensor PadCopies(Tensor x, int axis, int begin, int end, Func<int, int, int> before, Func<int, int, int> after)
    {
        if (begin < 0 || end < 0) throw new ArgumentException("negative pads are supported in constant mode only");
        int size = x.Shape[axis];
        var parts = new List<Tensor>();
        for (int j = 0; j < begin; j++) parts.Add(x.Narrow(axis, CheckIndex(before(size, j), size), 1));
        parts.Add(x);
        for (int j = 0; j < end; j++) parts.Add(x.Narrow(axis, CheckIndex(after(size, j), size), 1));
        return parts.Count == 1 ? x : Tensor.Concat(parts, axis);
    }

    private static int CheckIndex(int i, int size) =>
        i >= 0 && i < size ? i : throw new ArgumentException($"padding reaches index {i} of an axis of size {size}");
}
