using SharpGrad.NN;

namespace SharpGrad.Onnx;

internal static partial class OnnxOps
{
    private static void AddShape(Dictionary<string, Op> t)
    {
        t["Reshape"] = Reshape;
        t["Flatten"] = n =>
        {
            var x = n.In(0);
            int axis = (int)n.Int("axis", 1);
            if (axis < 0) axis += x.Rank;
            if (axis < 0 || axis > x.Rank) throw n.Bad($"axis {n.Int("axis", 1)} is out of range for rank {x.Rank}");
            int outer = 1;
            for (int i = 0; i < axis; i++) outer *= x.Shape[i];
            int inner = 1;
            for (int i = axis; i < x.Rank; i++) inner *= x.Shape[i];
            return [x.Reshape(outer, inner)];
        };
        t["Transpose"] = n =>
        {
            var x = n.In(0);
            long[] perm = n.Ints("perm") ?? [.. Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i)];
            if (perm.Length != x.Rank) throw n.Bad($"perm has {perm.Length} entries for rank {x.Rank}");
            return [x.Permute([.. perm.Select(p => n.Axis(p, x.Rank))])];
        };
        t["Squeeze"] = n =>
        {
            var x = n.In(0);
            long[]? axes = n.Opset >= 13 ? n.OptIntValues(1) : n.Ints("axes");
            if (axes is null) return [x.Reshape([.. x.Shape.Where(d => d != 1)])];
            int[] dims = NormalizeAxes(n, axes, x.Rank);
            foreach (int d in dims)
                if (x.Shape[d] != 1) throw n.Bad($"cannot squeeze axis {d} of size {x.Shape[d]}");
            return [x.Reshape([.. x.Shape.Where((_, i) => !dims.Contains(i))])];
        };
        t["Unsqueeze"] = n =>
        {
            var x = n.In(0);
            long[] axes = (n.Opset >= 13 ? n.OptIntValues(1) : n.Ints("axes")) ?? throw n.Bad("axes are required");
            int rank = x.Rank + axes.Length;
            int[] dims = NormalizeAxes(n, axes, rank);
            if (dims.Length != axes.Length) throw n.Bad("axes repeat an axis");
            var shape = new List<int>(x.Shape);
            foreach (int d in dims) shape.Insert(d, 1);
            return [x.Reshape([.. shape])];
        };
        t["Concat"] = n =>
        {
            var parts = Enumerable.Range(0, n.InputCount).Select(n.In).ToArray();
            int axis = n.Axis(n.Int("axis", 0), parts[0].Rank);
            return [Tensor.Concat(parts, axis)];
        };
        t["Split"] = Split;
        t["Slice"] = Slice;
        t["Gather"] = Gather;
        t["GatherElements"] = n =>
        {
            var x = n.In(0);
            int axis = n.Axis(n.Int("axis", 0), x.Rank);
            var index = NonNegativeIndices(n, 1, x.Shape[axis]);
            return [x.Gather(axis, index)];
        };
        t["Expand"] = n =>
        {
            var x = n.In(0);
            long[] shape = n.IntValues(1);
            // ONNX Expand broadcasts both ways: a 1 in the target keeps the input's size.
            int rank = Math.Max(x.Rank, shape.Length);
            var target = new int[rank];
            for (int i = 0; i < rank; i++)
            {
                int xi = i - (rank - x.Rank), si = i - (rank - shape.Length);
                long a = xi >= 0 ? x.Shape[xi] : 1, b = si >= 0 ? shape[si] : 1;
                if (a != b && a != 1 && b != 1) throw n.Bad($"cannot broadcast shape [{string.Join(", ", x.Shape)}] to [{string.Join(", ", shape)}]");
                target[i] = (int)(a == 1 ? b : a);
            }
            return [x.Reshape([.. Enumerable.Repeat(1, rank - x.Rank), .. x.Shape]).Expand(target)];
        };
        t["Tile"] = n =>
        {
            var x = n.In(0);
            long[] repeats = n.IntValues(1);
            if (repeats.Length != x.Rank) throw n.Bad($"repeats has {repeats.Length} entries for rank {x.Rank}");
            for (int d = 0; d < x.Rank; d++)
            {
                if (repeats[d] < 0) throw n.Bad($"repeat {repeats[d]} is negative");
                if (repeats[d] != 1) x = Tensor.Concat(Enumerable.Repeat(x, (int)repeats[d]).ToArray(), d);
            }
            return [x];
        };
        t["Shape"] = n =>
        {
            var x = n.In(0);
            int rank = x.Rank;
            int start = (int)Math.Clamp(Wrap(n.Int("start", 0), rank), 0, rank);
            int end = (int)Math.Clamp(Wrap(n.Int("end", rank), rank), 0, rank);
            long[] dims = [.. x.Shape.Skip(start).Take(Math.Max(0, end - start)).Select(d => (long)d)];
            return [OnnxTensors.Make(dims, [dims.Length])];
        };
        t["Size"] = n => [OnnxTensors.Make([(long)n.In(0).Numel], [])];
        t["Cast"] = n => [Cast(n, n.In(0), (int)n.Int("to", 0))];
        t["CastLike"] = n => [Cast(n, n.In(0), OnnxTensors.ElemType(n.In(1).DType))];
        t["Constant"] = Constant;
        t["ConstantOfShape"] = n =>
        {
            long[] dims = n.IntValues(0);
            int[] shape = OnnxTensors.CheckedShape(dims, n.Describe(), out _);
            var value = n.TensorAttr("value") is { } v ? OnnxTensors.ToTensor(v, n.Describe() + " value") : Tensor.Zeros([1]);
            if (value.Numel != 1) throw n.Bad("value must hold one element");
            double fill = value.Reshape(1).To(DType.Float64).ToArray<double>()[0];
            return [Tensor.Full(shape, fill, value.DType)];
        };
        t["Range"] = n =>
        {
            var dtype = n.In(0).DType;
            double start = n.ScalarValue(0)!.Value, limit = n.ScalarValue(1)!.Value, delta = n.ScalarValue(2)!.Value;
            if (delta == 0) throw n.Bad("delta is 0");
            return [Tensor.Arange(start, limit, delta, dtype)];
        };
        t["OneHot"] = OneHot;
        t["DepthToSpace"] = n =>
        {
            n.RequireFloat(0);
            var x = n.In(0);
            if (x.Rank != 4) throw n.Bad("input must be [N, C, H, W]");
            int b = (int)n.Int("blocksize", 0);
            int[] s = x.Shape;
            if (b <= 0 || s[1] % (b * b) != 0) throw n.Bad($"blocksize {b} does not divide the {s[1]} channels into b*b groups");
            int c = s[1] / (b * b);
            var y = n.Str("mode", "DCR") == "CRD"
                ? x.Reshape(s[0], c, b, b, s[2], s[3]).Permute(0, 1, 4, 2, 5, 3)
                : x.Reshape(s[0], b, b, c, s[2], s[3]).Permute(0, 3, 4, 1, 5, 2);
            return [y.Reshape(s[0], c, s[2] * b, s[3] * b)];
        };
        t["SpaceToDepth"] = n =>
        {
            var x = n.In(0);
            if (x.Rank != 4) throw n.Bad("input must be [N, C, H, W]");
            int b = (int)n.Int("blocksize", 0);
            int[] s = x.Shape;
            if (b <= 0 || s[2] % b != 0 || s[3] % b != 0) throw n.Bad($"blocksize {b} does not divide H={s[2]}, W={s[3]}");
            var y = x.Reshape(s[0], s[1], s[2] / b, b, s[3] / b, b).Permute(0, 3, 5, 1, 2, 4);
            return [y.Reshape(s[0], s[1] * b * b, s[2] / b, s[3] / b)];
        };
    }

    private static long Wrap(long axis, int rank) => axis < 0 ? axis + rank : axis;

    private static Tensor[] Reshape(OnnxNode n)
    {
        var x = n.In(0);
        long[] shape = n.Opset >= 5 ? n.IntValues(1) : n.Ints("shape") ?? throw n.Bad("shape is required");
        bool allowZero = n.Int("allowzero", 0) != 0;
        var target = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            long d = shape[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank) throw n.Bad($"shape entry {i} is 0 (copy) but the input has rank {x.Rank}");
                d = x.Shape[i];
            }
            if (d < -1 || d > int.MaxValue) throw n.Bad($"shape entry {i} is {shape[i]}");
            target[i] = (int)d;
        }
        return [x.Reshape(target)];
    }

    private static Tensor Cast(OnnxNode n, Tensor x, int to)
    {
        var dtype = OnnxTensors.ToDType(to)
            ?? throw new OnnxNotSupportedException(OnnxUnsupportedKind.DataType, n.OpType, $"{n.Describe()}: cast to {OnnxTensors.ElemTypeName(to)} is not supported ({OnnxTensors.SupportedTypes}).");
        return x.To(dtype);
    }

    private static Tensor[] Constant(OnnxNode n)
    {
        if (n.TensorAttr("value") is { } v) return [OnnxTensors.ToTensor(v, n.Describe() + " value")];
        if (n.Has("value_float")) return [OnnxTensors.Make([n.Float("value_float", 0)], [])];
        if (n.Floats("value_floats") is { } fs) return [OnnxTensors.Make(fs, [fs.Length])];
        if (n.Has("value_int")) return [OnnxTensors.Make([n.Int("value_int", 0)], [])];
        if (n.Ints("value_ints") is { } ls) return [OnnxTensors.Make(ls, [ls.Length])];
        throw n.Unsupported("a Constant without a tensor, float or int value");
    }

    private static Tensor[] Split(OnnxNode n)
    {
        var x = n.In(0);
        int axis = n.Axis(n.Int("axis", 0), x.Rank);
        long[]? sizes = n.Opset >= 13 ? n.OptIntValues(1) : n.Ints("split");
        int size = x.Shape[axis];
        int parts = n.OutputCount;
        if (sizes is null)
        {
            if (parts == 0 || size % parts != 0) throw n.Bad($"cannot split size {size} into {parts} equal parts");
            sizes = [.. Enumerable.Repeat((long)(size / parts), parts)];
        }
        if (sizes.Length != parts || sizes.Sum() != size || sizes.Any(s => s < 0))
            throw n.Bad($"split sizes [{string.Join(", ", sizes)}] do not cover size {size} in {parts} outputs");
        var outputs = new Tensor[parts];
        int start = 0;
        for (int i = 0; i < parts; i++)
        {
            outputs[i] = x.Narrow(axis, start, (int)sizes[i]);
            start += (int)sizes[i];
        }
        return outputs;
    }

    private static Tensor[] Slice(OnnxNode n)
    {
        var x = n.In(0);
        long[] starts, ends;
        long[]? axes, steps;
        if (n.Opset >= 10)
        {
            starts = n.IntValues(1); ends = n.IntValues(2); axes = n.OptIntValues(3); steps = n.OptIntValues(4);
        }
        else
        {
            starts = n.Ints("starts") ?? throw n.Bad("starts is required");
            ends = n.Ints("ends") ?? throw n.Bad("ends is required");
            axes = n.Ints("axes"); steps = null;
        }
        if (ends.Length != starts.Length) throw n.Bad("starts and ends differ in length");
        axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        for (int i = 0; i < starts.Length; i++)
        {
            long step = steps is null ? 1 : steps[i];
            if (step == 0) throw n.Bad("a slice step is 0");
            int axis = n.Axis(axes[i], x.Rank);
            long dim = x.Shape[axis];
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (step > 0)
            {
                s = Math.Clamp(s, 0, dim);
                e = Math.Clamp(e, 0, dim);
            }
            else
            {
                s = Math.Clamp(s, 0, dim - 1);
                e = Math.Clamp(e, -1, dim - 1);
            }
            if (step == 1)
            {
                x = x.Narrow(axis, (int)s, (int)Math.Max(0, e - s));
                continue;
            }
            // Other steps (negative included) pick the indices start, start + step, … before end.
            var picked = new List<long>();
            for (long k = s; step > 0 ? k < e : k > e; k += step) picked.Add(k);
            x = x.IndexSelect(axis, OnnxTensors.Make([.. picked], [picked.Count]));
        }
        return [x];
    }

    /// <summary>Integer input <paramref name="i"/> with negative indices wrapped by <paramref name="size"/> and bounds checked.</summary>
    private static Tensor NonNegativeIndices(OnnxNode n, int i, int size)
    {
        var index = n.In(i);
        if (index.DType != DType.Int64) throw n.UnsupportedType(index, i);
        long[] v = index.ToArray<long>();
        bool changed = false;
        for (int k = 0; k < v.Length; k++)
        {
            if (v[k] < -size || v[k] >= size) throw n.Bad($"index {v[k]} is out of range for size {size}");
            if (v[k] < 0) { v[k] += size; changed = true; }
        }
        return changed ? OnnxTensors.Make(v, index.Shape) : index;
    }

    private static Tensor[] Gather(OnnxNode n)
    {
        var x = n.In(0);
        int axis = n.Axis(n.Int("axis", 0), x.Rank);
        var index = NonNegativeIndices(n, 1, x.Shape[axis]);
        var picked = x.IndexSelect(axis, index.Reshape(-1));
        int[] shape = [.. x.Shape.Take(axis), .. index.Shape, .. x.Shape.Skip(axis + 1)];
        return [picked.Reshape(shape)];
    }

    private static Tensor[] OneHot(OnnxNode n)
    {
        var indices = n.In(0);
        double depth = n.ScalarValue(1)!.Value;
        var values = n.In(2);
        if (values.Numel != 2) throw n.Bad("values must hold [off, on]");
        if (!values.DType.IsFloatingPoint()) throw n.UnsupportedType(values, 2);
        double[] offOn = values.To(DType.Float64).ToArray<double>();
        int classes = (int)depth;
        // Negative indices count from the end (ONNX); the reference leaves out-of-range ones all "off".
        double[] idx = indices.To(DType.Float64).ToArray<double>();
        var wrapped = new long[idx.Length];
        var valid = new double[idx.Length];
        for (int i = 0; i < idx.Length; i++)
        {
            long k = (long)idx[i];
            if (k < 0) k += classes;
            valid[i] = k >= 0 && k < classes ? 1 : 0;
            wrapped[i] = k >= 0 && k < classes ? k : 0;
        }
        var oh = Functional.OneHot(OnnxTensors.Make(wrapped, indices.Shape), classes, values.DType)
            * OnnxTensors.Make(valid, [.. indices.Shape, 1]).To(values.DType);
        var y = oh * (offOn[1] - offOn[0]) + offOn[0];
        int rank = y.Rank;
        int axis = n.Axis(n.Int("axis", -1), rank);
        if (axis != rank - 1)
        {
            var perm = Enumerable.Range(0, rank - 1).ToList();
            perm.Insert(axis, rank - 1);
            y = y.Permute([.. perm]);
        }
        return [y];
    }
}
