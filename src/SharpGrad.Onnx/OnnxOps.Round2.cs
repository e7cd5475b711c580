namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    /// <summary>ONNX operators that map onto the shape, indexing and reduction ops added for issue 13.</summary>
    private static void AddRound2(Dictionary<string, Op> t)
    {
        // Trilu(x, k = 0), upper = 1: the triangle on and above (below) the k-th diagonal of the last two dimensions.
        t["Trilu"] = n =>
        {
            var x = n.In(0);
            long k = n.OptIntValues(1) is { } kv ? (kv.Length == 1 ? kv[0] : throw n.Bad("k must hold one value")) : 0;
            if (k > int.MaxValue || k < int.MinValue) throw n.Bad($"k = {k} is out of range");
            return [n.Int("upper", 1) != 0 ? x.Triu((int)k) : x.Tril((int)k)];
        };
        t["Einsum"] = n =>
        {
            var operands = Enumerable.Range(0, n.InputCount).Select(n.In).ToArray();
            foreach (var (o, i) in operands.Select((o, i) => (o, i))) if (!o.DType.IsFloatingPoint()) throw n.UnsupportedType(o, i);
            return [Tensor.Einsum(n.Str("equation", ""), operands)];
        };
        // TopK(X, K): values and int64 indices along axis; equal values keep the lower index first, as ONNX asks.
        t["TopK"] = n =>
        {
            var x = n.In(0);
            if (!x.DType.IsFloatingPoint()) throw n.UnsupportedType(x, 0);
            var kv = n.IntValues(1);
            if (kv.Length != 1 || kv[0] < 0 || kv[0] > int.MaxValue) throw n.Bad("K must hold one non-negative value");
            // sorted = 0 leaves the order free; sorted output is one valid answer.
            var (values, indices) = x.TopK((int)kv[0], n.Axis(n.Int("axis", -1), x.Rank), n.Int("largest", 1) != 0);
            return [values, indices];
        };
        // ScatterElements(data, indices, updates): negative indices count from the end of the axis.
        t["ScatterElements"] = n =>
        {
            var (data, indices, updates) = (n.In(0), n.In(1), n.In(2));
            int axis = n.Axis(n.Int("axis", 0), data.Rank);
            long size = data.Shape[axis];
            var idx = n.IntValues(1).Select(i => i < 0 ? i + size : i).ToArray();
            var index = Tensor.FromArray(idx, indices.Shape);
            return n.Str("reduction", "none") switch
            {
                "none" => [data.Scatter(axis, index, updates)],
                "add" => [data.ScatterAdd(axis, index, updates)],
                var r => throw n.Unsupported($"ScatterElements with reduction '{r}'"),
            };
        };
    }
}
