namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    private static void AddMath(Dictionary<string, Op> t)
    {
        t["Identity"] = n => [n.In(0)];
        t["Abs"] = Unary(x => x.Abs());
        t["Neg"] = Unary(x => x.Neg());
        t["Exp"] = Unary(x => x.Exp());
        t["Log"] = Unary(x => x.Log());
        t["Sqrt"] = Unary(x => x.Sqrt());
        t["Relu"] = Unary(x => x.Relu());
        t["Sigmoid"] = Unary(x => x.Sigmoid());
        t["Tanh"] = Unary(x => x.Tanh());
        t["Sign"] = Unary(x => x.Sign());
        t["Reciprocal"] = Unary(x => x.Reciprocal());
        t["Sin"] = Unary(x => x.Sin());
        t["Cos"] = Unary(x => x.Cos());
        t["Tan"] = Unary(x => x.Tan());
        t["Floor"] = Unary(x => x.Floor());
        t["Ceil"] = Unary(x => x.Ceil());
        t["Round"] = Unary(x => x.Round());
        t["Softplus"] = Unary(x => x.Softplus());
        t["Softsign"] = Unary(x => x.Softsign());
        t["LeakyRelu"] = n => { n.RequireFloat(0); return [n.In(0).LeakyRelu(n.Float("alpha", 0.01f))]; };
        // ELU family from Relu and Exp: for x > 0 the exp term is exp(0) - 1 = 0, for x < 0 the relu term is 0.
        t["Elu"] = n => { n.RequireFloat(0); return [n.In(0).Elu(n.Float("alpha", 1f))]; };
        t["Selu"] = n =>
        {
            n.RequireFloat(0);
            float alpha = n.Float("alpha", 1.67326319217681884765625f), gamma = n.Float("gamma", 1.05070102214813232421875f);
            // ONNX's defaults are SELU's constants rounded to float32: SharpGrad's Selu (which exports back as this node).
            if (alpha == 1.67326319217681884765625f && gamma == 1.05070102214813232421875f) return [n.In(0).Selu()];
            return [Elu(n.In(0), alpha, 1) * gamma];
        };
        t["Celu"] = n => { n.RequireFloat(0); double alpha = n.Float("alpha", 1f); return [Elu(n.In(0), alpha, alpha)]; };
        t["HardSigmoid"] = n =>
        {
            n.RequireFloat(0);
            float alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
            // PyTorch's hardsigmoid (what the exporter writes it as) is this with α = 1/6, β = 1/2.
            if (alpha == (float)(1.0 / 6) && beta == 0.5f) return [n.In(0).HardSigmoid()];
            return [(n.In(0) * alpha + beta).Clamp(0, 1)];
        };
        t["HardSwish"] = n => { n.RequireFloat(0); return [n.In(0).HardSwish()]; };
        t["ThresholdedRelu"] = n => { n.RequireFloat(0); var x = n.In(0); return [x * (x - n.Float("alpha", 1f)).Heaviside(0)]; };
        t["PRelu"] = n => { n.RequireFloat(0, 1); var x = n.In(0); return [x.Relu() - n.In(1) * (-x).Relu()]; };
        t["Clip"] = Clip;

        t["Add"] = Binary((a, b) => a + b);
        t["Sub"] = Binary((a, b) => a - b);
        t["Mul"] = Binary((a, b) => a * b);
        t["Div"] = Binary((a, b) => a / b, truncate: true);
        t["Pow"] = n =>
        {
            // The exponent may have another type than the base; the result has the base's.
            var (x, y) = (n.In(0), n.In(1));
            if (x.DType == DType.Int64 && y.DType.IsFloatingPoint())
            {
                var r = x.To(DType.Float64).Pow(y.To(DType.Float64));
                double[] v = r.ToArray<double>();
                if (v.Any(e => double.IsNaN(e) || Math.Abs(e) > MaxExactInteger)) throw n.Unsupported("an int64 power beyond 2^53");
                return [OnnxTensors.Make([.. v.Select(e => (long)Math.Truncate(e))], r.Shape)];
            }
            if (x.DType.IsFloatingPoint() && y.DType == DType.Int64) return [x.Pow(y.To(x.DType))];
            return [Elementwise(n, ts => ts[0].Pow(ts[1].DType == ts[0].DType ? ts[1] : ts[1].To(ts[0].DType)), 2)];
        };
        t["Max"] = Fold(Tensor.Maximum);
        t["Min"] = Fold(Tensor.Minimum);
        t["Sum"] = Fold((a, b) => a + b);
        t["Mean"] = Fold((a, b) => a + b, mean: true);

        t["MatMul"] = Binary((a, b) => a.MatMul(b));
        t["CumSum"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            var axisValues = n.IntValues(1);
            if (axisValues.Length != 1) throw n.Bad("axis must hold one value");
            int d = n.Axis(axisValues[0], Math.Max(x.Rank, 1));
            bool reverse = n.Int("reverse", 0) != 0, exclusive = n.Int("exclusive", 0) != 0;
            var y = reverse ? x.Flip(d).CumSum(d).Flip(d) : x.CumSum(d);
            return [exclusive ? y - x : y]; // the sum before each element rather than up to it
        };
        // Mod: fmod = 0 is Python's remainder (the divisor's sign), SharpGrad's Remainder; fmod = 1 is C's fmod (the
        // dividend's sign), sign(a) · remainder(|a|, |b|), which is exact as Remainder is.
        t["Mod"] = n => n.Int("fmod", 0) != 0
            ? [Elementwise(n, ts => ts[0].Sign() * ts[0].Abs().Remainder(ts[1].Abs()), 2)]
            : [Elementwise(n, ts => ts[0].Remainder(ts[1]), 2)];
        t["Gemm"] = Gemm;

        t["Softmax"] = n => SoftmaxLike(n, (x, d) => x.Softmax(d));
        t["LogSoftmax"] = n => SoftmaxLike(n, (x, d) => x.LogSoftmax(d));

        t["ReduceSum"] = n => Reduce(n, (x, d, k) => x.Sum(d, k), axesFromInput: n.Opset >= 13);
        t["ReduceMean"] = n => Reduce(n, (x, d, k) => x.Mean(d, k));
        t["ReduceMax"] = n => Reduce(n, (x, d, k) => x.Max(d, k));
        t["ReduceMin"] = n => Reduce(n, (x, d, k) => x.Min(d, k));
        t["ReduceSumSquare"] = n => Reduce(n, (x, d, k) => x.Sum(d, k), pre: x => x * x);
        t["ReduceL1"] = n => Reduce(n, (x, d, k) => x.Sum(d, k), pre: x => x.Abs());
        t["ReduceL2"] = n => Reduce(n, (x, d, k) => x.Sum(d, k), pre: x => x * x, post: x => x.Sqrt());
        t["ReduceLogSum"] = n => Reduce(n, (x, d, k) => x.Sum(d, k), post: x => x.Log());
        t["ReduceProd"] = n => Reduce(n, (x, d, k) => x.Prod(d, k));
        t["ReduceLogSumExp"] = n => Reduce(n, (x, d, k) => x.LogSumExp(d, k));
        t["ArgMax"] = n => ArgExtreme(n, x => x);
        // The first minimum of x is the first maximum of -x.
        t["ArgMin"] = n => ArgExtreme(n, x => -x);
    }

    private static Tensor Elu(Tensor x, double alpha, double scale) =>
        x.Relu() + ((-(-x).Relu() / scale).Exp() - 1.0) * alpha;

    private static Tensor[] Clip(OnnxNode n)
    {
        n.RequireFloat(0);
        double? min, max;
        if (n.Opset < 11)
        {
            min = n.Has("min") ? n.Float("min", 0) : null;
            max = n.Has("max") ? n.Float("max", 0) : null;
        }
        else
        {
            min = n.ScalarValue(1);
            max = n.ScalarValue(2);
        }
        var x = n.In(0);
        // ONNX defines Clip as min(max(x, lo), hi), so with lo > hi every element becomes hi.
        if (min is { } lo && max is { } hi && lo > hi) return [x.Clamp(hi, hi)];
        if (min is null && max is null) return [x];
        return [x.Clamp(min, max)];
    }

    private static Tensor[] Gemm(OnnxNode n)
    {
        n.RequireFloat(0, 1, 2);
        var a = n.In(0);
        var b = n.In(1);
        double alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        // A fully connected layer (what torch.onnx.export and SharpGrad's exporter write for Linear): one fused op, whose
        // parameters stay the initializers, and which exports back as this Gemm.
        if (n.Int("transA", 0) == 0 && n.Int("transB", 0) != 0 && alpha == 1 && beta == 1 && a.Rank == 2 && b.Rank == 2
            && a.DType == b.DType && (n.Opt(2) is not { } bias || (bias.Rank == 1 && bias.Shape[0] == b.Shape[0] && bias.DType == a.DType)))
            return [NN.Functional.Linear(a, b, n.Opt(2))];
        if (n.Int("transA", 0) != 0) a = a.Transpose(0, 1);
        if (n.Int("transB", 0) != 0) b = b.Transpose(0, 1);
        var y = a.MatMul(b);
        if (alpha != 1) y *= alpha;
        if (n.Opt(2) is { } c) y += beta == 1 ? c : c * beta;
        return [y];
    }

    private static Tensor[] SoftmaxLike(OnnxNode n, Func<Tensor, int, Tensor> f)
    {
        n.RequireFloat(0);
        var x = n.In(0);
        if (n.Opset >= 13) return [f(x, n.Axis(n.Int("axis", -1), x.Rank))];
        // Before opset 13 the input is coerced to 2-D at axis: [prod(dims before), prod(dims from axis on)].
        int axis = n.Axis(n.Int("axis", 1), Math.Max(x.Rank, 1));
        int[] s = x.Shape;
        int outer = 1;
        for (int i = 0; i < axis; i++) outer *= s[i];
        return [f(x.Reshape(outer, -1), 1).Reshape(s)];
    }

    /// <summary>A reduction over the given axes; <paramref name="reduce"/> takes the input, one dimension and keepdim.</summary>
    private static Tensor[] Reduce(OnnxNode n, Func<Tensor, int, bool, Tensor> reduce, Func<Tensor, Tensor>? pre = null, Func<Tensor, Tensor>? post = null, bool axesFromInput = false)
    {
        n.RequireFloat(0);
        var x = n.In(0);
        bool keep = n.Int("keepdims", 1) != 0;
        long[]? axes = axesFromInput || n.Opset >= 18 ? n.OptIntValues(1) : n.Ints("axes");
        if (axes is { Length: 0 }) axes = null;
        if (axes is null && n.Int("noop_with_empty_axes", 0) != 0) return [x];
        int[] dims = axes is null ? [.. Enumerable.Range(0, x.Rank)] : NormalizeAxes(n, axes, x.Rank);
        var y = pre is null ? x : pre(x);
        // One axis without keepdims is one op (what the exporter writes a reduction over one dimension from).
        if (dims.Length == 1 && !keep && post is null) return [reduce(y, dims[0], false)];
        foreach (int d in dims) y = reduce(y, d, true);
        if (post is not null) y = post(y);
        if (!keep)
        {
            var shape = y.Shape.Where((_, i) => !dims.Contains(i)).ToArray();
            y = y.Reshape(shape);
        }
        return [y];
    }

    private static Tensor[] ArgExtreme(OnnxNode n, Func<Tensor, Tensor> transform)
    {
        n.RequireFloat(0);
        var x = n.In(0);
        int axis = n.Axis(n.Int("axis", 0), x.Rank);
        bool keep = n.Int("keepdims", 1) != 0;
        if (n.Int("select_last_index", 0) == 0) return [transform(x).ArgMax(axis, keep)];
        // The last extreme is the first one of the reversed axis, counted from the end.
        int size = x.Shape[axis];
        var reversed = x.IndexSelect(axis, OnnxTensors.Make([.. Enumerable.Range(0, size).Reverse().Select(i => (long)i)], [size]));
        var first = transform(reversed).ArgMax(axis, keep);
        return [OnnxTensors.Make([.. first.ToArray<long>().Select(i => size - 1 - i)], first.Shape)];
    }
}
