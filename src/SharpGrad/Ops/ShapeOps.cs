using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The same elements with a new shape (PyTorch: <c>reshape</c>/<c>view</c>); one dimension may be -1 and is then
    /// inferred. No copy is made: the result shares this tensor's storage.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return ReshapeOwned(shape.AsSpan().ToArray(), shape);
    }

    /// <summary>
    /// <see cref="Reshape"/> with a shape array the tensor may keep (the library's own, never written afterwards);
    /// <paramref name="given"/> is the shape as the caller wrote it, for messages.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Tensor ReshapeOwned(int[] s, int[]? given = null)
    {
        int[] shape = given ?? s;
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"Reshape: only one dimension can be -1 in {Shapes.Format(shape)}.");
                infer = i;
            }
            else if (s[i] < 0) throw new ArgumentException($"Reshape: invalid dimension {s[i]} in {Shapes.Format(shape)}.");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"Reshape: shape {Shapes.Format(shape)} is invalid for a tensor of shape {Shapes.Format(_shape)} ({Numel} elements).");
            s[infer] = (int)(Numel / known);
        }
        else if (known != Numel)
            throw new ArgumentException($"Reshape: shape {Shapes.Format(shape)} ({known} elements) is invalid for a tensor of shape {Shapes.Format(_shape)} ({Numel} elements).");
        var y = View(s);
        return Autograd.ShouldRecord(this) && DType.IsFloatingPoint() ? RecordReshape(y, this) : y;
    }

    private static Tensor RecordReshape(Tensor y, Tensor x) => Autograd.Record(y, "ReshapeBackward", [x], g => [g.ReshapeOwned(x._shape)]);

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (PyTorch: <c>flatten</c>).</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shapes.WrapDim(startDim, Rank, nameof(Flatten)), e = Shapes.WrapDim(endDim, Rank, nameof(Flatten));
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for rank {Rank}.");
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= _shape[i];
        var shape = new int[Rank - (e - s)];
        for (int i = 0; i < s; i++) shape[i] = _shape[i];
        shape[s] = merged;
        for (int i = e + 1; i < Rank; i++) shape[i - (e - s)] = _shape[i];
        return ReshapeOwned(shape);
    }

    /// <summary>Removes every dimension of size 1 (PyTorch: <c>squeeze()</c>).</summary>
    public Tensor Squeeze() => ReshapeOwned(_shape.Where(d => d != 1).ToArray());

    /// <summary>Removes dimension <paramref name="dim"/> if its size is 1; otherwise returns the tensor unchanged, as PyTorch does.</summary>
    public Tensor Squeeze(int dim)
    {
        if (Rank == 0) return this;
        int d = Shapes.WrapDim(dim, Rank, nameof(Squeeze));
        return _shape[d] == 1 ? ReshapeOwned(Shapes.RemoveDim(_shape, d)) : this;
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (−Rank−1 ≤ dim ≤ Rank) (PyTorch: <c>unsqueeze</c>).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = Shapes.WrapDim(dim, Rank + 1, nameof(Unsqueeze));
        var shape = new int[Rank + 1];
        for (int i = 0; i < d; i++) shape[i] = _shape[i];
        shape[d] = 1;
        for (int i = d; i < Rank; i++) shape[i + 1] = _shape[i];
        return ReshapeOwned(shape);
    }

    /// <summary>Swaps two dimensions (PyTorch: <c>transpose</c>); the result is a contiguous copy.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        if (Rank < 2 && dim0 is 0 or -1 && dim1 is 0 or -1) return this;
        int a = Shapes.WrapDim(dim0, Rank, nameof(Transpose)), b = Shapes.WrapDim(dim1, Rank, nameof(Transpose));
        var perm = Enumerable.Range(0, Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>Reorders the dimensions: result.Shape[i] = Shape[dims[i]] (PyTorch: <c>permute</c>); a contiguous copy.</summary>
    public Tensor Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != Rank)
            throw new ArgumentException($"Permute: {dims.Length} dimensions given for a tensor of rank {Rank} (shape {Shapes.Format(_shape)}).");
        var perm = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = Shapes.WrapDim(dims[i], Rank, nameof(Permute));
            if (seen[d]) throw new ArgumentException($"Permute: dimension {d} appears twice in {Shapes.Format(dims)}.");
            seen[d] = true;
            perm[i] = d;
        }
        var outShape = new int[Rank];
        for (int i = 0; i < Rank; i++) outShape[i] = _shape[perm[i]];
        var y = Empty(outShape, DType);
        switch (Storage)
        {
            case float[] f: Layout.Permute<float>(f, _shape, perm, y.Span<float>()); break;
            case double[] d: Layout.Permute<double>(d, _shape, perm, y.Span<double>()); break;
            case long[] l: Layout.Permute<long>(l, _shape, perm, y.Span<long>()); break;
            case bool[] b: Layout.Permute<bool>(b, _shape, perm, y.Span<bool>()); break;
        }
        return Autograd.ShouldRecord(this) ? RecordPermute(y, this, perm) : y;
    }

    private static Tensor RecordPermute(Tensor y, Tensor x, int[] perm)
    {
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return Autograd.Record(y, "PermuteBackward", [x], g => [g.Permute(inverse)], attributes: new PermuteAttributes([.. perm]));
    }

    /// <summary>
    /// Broadcasts to <paramref name="shape"/> by repeating size-1 (or missing leading) dimensions (PyTorch:
    /// <c>expand</c>; here a copy). The backward sums the gradient back to this tensor's shape.
    /// </summary>
    public Tensor Expand(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        EnsureFloatingPoint(nameof(Expand));
        if (Shapes.Equal(shape, _shape)) return this;
        int[] target = Shapes.Broadcast(_shape, shape, nameof(Expand));
        if (!Shapes.Equal(target, shape))
            throw new ArgumentException($"Expand: shape {Shapes.Format(_shape)} cannot be expanded to {Shapes.Format(shape)}.");
        return ExpandTo(target);
    }

    /// <summary>
    /// <see cref="Expand"/> to a shape the result may keep (the library's own, valid for broadcasting), reading this
    /// tensor's elements as shaped <paramref name="view"/> (same element count; by default its own shape) — so a
    /// reduction's gradient can be broadcast back without an unsqueezed copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Tensor ExpandTo(int[] target, int[]? view = null)
    {
        int[] from = view ?? _shape;
        if (ReferenceEquals(from, target) || Shapes.Equal(from, target)) return view is null ? this : ReshapeOwned(target);
        var y = Uninitialized(target, DType);
        if (Numel == 1)
        {
            if (DType == DType.Float32) y.Span<float>().Fill(Span<float>()[0]);
            else y.Span<double>().Fill(Span<double>()[0]);
        }
        else if (DType == DType.Float32) Elementwise.Binary<float, FirstOp>(Span<float>(), from, [0f], [], y.Span<float>(), target);
        else Elementwise.Binary<double, FirstOp>(Span<double>(), from, [0d], [], y.Span<double>(), target);
        return Autograd.ShouldRecord(this) ? RecordExpand(y, this) : y;
    }

    private static Tensor RecordExpand(Tensor y, Tensor x) => Autograd.Record(y, "ExpandBackward", [x], g => [Autograd.SumTo(g, x._shape)]);

    /// <summary>Copies the first operand; broadcasting it through the binary driver is how Expand fills its output.</summary>
    private readonly struct FirstOp : IBinaryOperator
    {
        public static void Invoke<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => x.CopyTo(d);
        public static void Invoke<T>(ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => x.CopyTo(d);
        public static void Invoke<T>(T x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => d.Fill(x);
    }
}
