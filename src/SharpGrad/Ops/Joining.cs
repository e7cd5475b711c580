using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Joins tensors along an existing dimension; all other dimensions must match (PyTorch: <c>torch.cat</c>).
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Concat: no tensors given.", nameof(tensors));
        var first = tensors[0];
        DType dtype = first.DType;
        foreach (var t in tensors)
            if (t.DType != dtype) dtype = t.DType == DType.Float64 || dtype == DType.Float64 ? DType.Float64 : DType.Float32;
        var inputs = tensors.Select(t => t.To(dtype)).ToArray();
        int d = Shapes.WrapDim(dim, first.Rank, nameof(Concat));
        if (first.Rank == 0) throw new ArgumentException("Concat: zero-dimensional tensors cannot be concatenated; use Stack.");
        int total = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var s = inputs[i]._shape;
            if (s.Length != first.Rank || !Enumerable.Range(0, s.Length).All(j => j == d || s[j] == first._shape[j]))
                throw new ArgumentException($"Concat: tensor {i} has shape {Shapes.Format(s)}, which does not match {Shapes.Format(first._shape)} outside dimension {d}.");
            total += s[d];
        }
        var outShape = Shapes.WithDim(first._shape, d, total);
        var y = Empty(outShape, dtype);
        var (outer, _, inner) = Shapes.Split(outShape, d);
        var offsets = new int[inputs.Length];
        for (int i = 0, start = 0; i < inputs.Length; i++)
        {
            offsets[i] = start;
            int size = inputs[i]._shape[d];
            switch (y.Storage)
            {
                case float[] f: Layout.Place<float>(inputs[i].Span<float>(), outer, size, inner, f, total, start); break;
                case double[] db: Layout.Place<double>(inputs[i].Span<double>(), outer, size, inner, db, total, start); break;
                case long[] l: Layout.Place<long>(inputs[i].Span<long>(), outer, size, inner, l, total, start); break;
                case bool[] b: Layout.Place<bool>(inputs[i].Span<bool>(), outer, size, inner, b, total, start); break;
            }
            start += size;
        }
        return Autograd.Record(y, "ConcatBackward", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int i = 0; i < inputs.Length; i++) grads[i] = g.Narrow(d, offsets[i], inputs[i]._shape[d]);
            return grads;
        }, attributes: new DimAttributes(d));
    }

    /// <summary>Joins tensors of equal shape along a new dimension (PyTorch: <c>torch.stack</c>).</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack: no tensors given.", nameof(tensors));
        var shape = tensors[0]._shape;
        for (int i = 1; i < tensors.Count; i++)
            if (!Shapes.Equal(tensors[i]._shape, shape))
                throw new ArgumentException($"Stack: tensor {i} has shape {Shapes.Format(tensors[i]._shape)} but tensor 0 has {Shapes.Format(shape)}.");
        int d = Shapes.WrapDim(dim, shape.Length + 1, nameof(Stack));
        return Concat(tensors.Select(t => t.Unsqueeze(d)).ToArray(), d);
    }

    /// <summary>
    /// The slice [start, start + length) of dimension <paramref name="dim"/> (PyTorch: <c>narrow</c>; here a copy).
    /// </summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(Narrow));
        int size = _shape[d];
        if (start < 0) start += size;
        if (start < 0 || length < 0 || start + length > size)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: [{start}, {start + length}) is outside dimension {d} of size {size} (shape {Shapes.Format(_shape)}).");
        var outShape = Shapes.WithDim(_shape, d, length);
        var y = Empty(outShape, DType);
        var (outer, _, inner) = Shapes.Split(_shape, d);
        switch (Storage)
        {
            case float[] f: Layout.Slice<float>(f, outer, size, inner, start, length, y.Span<float>()); break;
            case double[] db: Layout.Slice<double>(db, outer, size, inner, start, length, y.Span<double>()); break;
            case long[] l: Layout.Slice<long>(l, outer, size, inner, start, length, y.Span<long>()); break;
            case bool[] b: Layout.Slice<bool>(b, outer, size, inner, start, length, y.Span<bool>()); break;
        }
        int[] full = _shape;
        int s0 = start;
        return Autograd.Record(y, "NarrowBackward", [this], g => [g.PadInto(full, d, s0)], attributes: new NarrowAttributes(d, s0, length));
    }

    /// <summary>The backward of <see cref="Narrow"/>: zeros of <paramref name="fullShape"/> with this tensor placed at <paramref name="start"/> along <paramref name="dim"/>.</summary>
    internal Tensor PadInto(int[] fullShape, int dim, int start)
    {
        var y = Empty(fullShape, DType);
        var (outer, _, inner) = Shapes.Split(fullShape, dim);
        int size = _shape[dim], total = fullShape[dim];
        if (DType == DType.Float32) Layout.Place<float>(Span<float>(), outer, size, inner, y.Span<float>(), total, start);
        else Layout.Place<double>(Span<double>(), outer, size, inner, y.Span<double>(), total, start);
        return Autograd.Record(y, "PadBackward", [this], g => [g.Narrow(dim, start, size)]);
    }
}
