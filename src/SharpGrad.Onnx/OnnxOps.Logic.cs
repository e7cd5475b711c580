namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    private static void AddLogic(Dictionary<string, Op> t)
    {
        t["Equal"] = n => [n.In(0).Eq(n.In(1))];
        t["Greater"] = n => [n.In(0).Gt(n.In(1))];
        t["Less"] = n => [n.In(0).Lt(n.In(1))];
        t["GreaterOrEqual"] = n => [n.In(0).Ge(n.In(1))];
        t["LessOrEqual"] = n => [n.In(0).Le(n.In(1))];
        t["Not"] = n => [n.In(0).LogicalNot()];
        t["And"] = n => [n.In(0).LogicalAnd(n.In(1))];
        t["Or"] = n => [n.In(0).LogicalOr(n.In(1))];
        t["Xor"] = n => [n.In(0).LogicalXor(n.In(1))];
        t["Where"] = n => [Tensor.Where(n.In(0), n.In(1), n.In(2))];
        t["IsNaN"] = n => [n.In(0).IsNan()];
        t["IsInf"] = n =>
        {
            var x = n.In(0);
            bool negative = n.Int("detect_negative", 1) != 0, positive = n.Int("detect_positive", 1) != 0;
            var inf = x.IsInf();
            if (negative && positive) return [inf];
            if (positive) return [inf.LogicalAnd(x.Gt(0))];
            if (negative) return [inf.LogicalAnd(x.Lt(0))];
            return [OnnxTensors.Make(new bool[x.Numel], x.Shape)];
        };
        t["Erf"] = Unary(x => x.Erf());
    }
}
