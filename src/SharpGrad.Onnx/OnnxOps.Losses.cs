namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    private static void AddLosses(Dictionary<string, Op> t)
    {
        t["NegativeLogLikelihoodLoss"] = n => [Nll(n, n.In(0))];
        t["SoftmaxCrossEntropyLoss"] = n =>
        {
            n.RequireFloat(0);
            var logProb = n.In(0).LogSoftmax(1);
            return [Nll(n, logProb), logProb];
        };
        t["Hardmax"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            int[] shape = x.Shape;
            int axis;
            if (n.Opset >= 13) axis = n.Axis(n.Int("axis", -1), x.Rank);
            else
            {
                int a = n.Axis(n.Int("axis", 1), x.Rank);
                x = x.Reshape(shape.Take(a).Aggregate(1, (p, d) => p * d), -1);
                axis = 1;
            }
            // One-hot of the first maximum along the axis (not differentiable, as in ONNX).
            var moved = MoveLast(x, axis);
            var hot = NN.Functional.OneHot(moved.ArgMax(-1), moved.Shape[^1], x.DType);
            return [MoveBack(hot, axis).Reshape(shape)];
        };
        t["Shrink"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            double lambd = n.Float("lambd", 0.5f), bias = n.Float("bias", 0f);
            return [(x - bias) * (x - lambd).Heaviside(0) + (x + bias) * (-x - lambd).Heaviside(0)];
        };
    }

    private static Tensor MoveLast(Tensor x, int axis)
    {
        if (axis == x.Rank - 1) return x;
        var perm = Enumerable.Range(0, x.Rank).Where(d => d != axis).Append(axis).ToArray();
        return x.Permute(perm);
    }

    private static Tensor MoveBack(Tensor x, int axis)
    {
        if (axis == x.Rank - 1) return x;
        var perm = Enumerable.Range(0, x.Rank - 1).ToList();
        perm.Insert(axis, x.Rank - 1);
        return x.Permute([.. perm]);
    }

    /// <summary>
    /// −w[t]·input[n, t, d…] per element, with ignore_index entries weighted 0, reduced by none, sum or the weighted mean
    /// (sum divided by the sum of the weights used), as ONNX defines NegativeLogLikelihoodLoss.
    /// </summary>
    private static Tensor Nll(OnnxNode n, Tensor input)
    {
        n.RequireFloat(0, 2);
        var target = n.In(1);
        if (target.DType != DType.Int64) throw n.UnsupportedType(target, 1);
        if (input.Rank < 2) throw n.Bad("input must be [N, C, d1, ...]");
        int classes = input.Shape[1];
        long? ignore = n.Has("ignore_index") ? n.Int("ignore_index", 0) : null;
        long[] labels = target.ToArray<long>();
        var picked = new long[labels.Length];
        var keep = new double[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            bool ignored = labels[i] == ignore;
            if (!ignored && (labels[i] < 0 || labels[i] >= classes)) throw n.Bad($"target {labels[i]} is out of range for {classes} classes");
            picked[i] = ignored ? 0 : labels[i];
            keep[i] = ignored ? 0 : 1;
        }
        var flat = MoveLast(input, 1).Reshape(-1, classes);
        var index = OnnxTensors.Make(picked, [labels.Length, 1]);
        var chosen = flat.Gather(1, index).Reshape(-1);
        var w = OnnxTensors.Make(keep, [labels.Length]).To(input.DType);
        if (n.Opt(2) is { } weight) w *= weight.IndexSelect(0, OnnxTensors.Make(picked, [labels.Length]));
        var loss = -(chosen * w);
        return n.Str("reduction", "mean") switch
        {
            "none" => loss.Reshape(target.Shape),
            "sum" => loss.Sum(),
            "mean" => loss.Sum() / w.Sum(),
            var r => throw n.Unsupported($"reduction '{r}'"),
        };
    }
}
