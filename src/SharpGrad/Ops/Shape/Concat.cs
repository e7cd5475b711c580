using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Joins tensors along an existing dimension; all other dimensions must match (PyTorch: <c>torch.cat</c>). Works for
    /// every dtype; mixed dtypes are promoted as PyTorch does (Bool &lt; Int64 &lt; Float32 &lt; Float64). The gradient of
    /// each input is its slice of g.
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Concat: no tensors given.", nameof(tensors));
        var first = tensors[0];
        DType dtype = first.DType;
        foreach (var t in tensors) dtype = JoinedDType(dtype, t.DType);
        var inputs = new Tensor[tensors.Count];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = tensors[i].DType == dtype ? tensors[i] : tensors[i].To(dtype);
        int d = Shapes.WrapDim(dim, first.Rank, nameof(Concat));
        if (first.Rank == 0) throw new ArgumentException("Concat: zero-dimensional tensors cannot be concatenated; use Stack.");
        int total = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var s = inputs[i]._shape;
            bool match = s.Length == first.Rank;
            for (int j = 0; match && j < s.Length; j++) match = j == d || s[j] == first._shape[j];
            if (!match)
                throw new ArgumentException($"Concat: tensor {i} has shape {Shapes.Format(s)}, which does not match {Shapes.Format(first._shape)} outside dimension {d}.");
            total += s[d];
        }
        var outShape = Shapes.WithDim(first._shape, d, total);
        var y = Uninitialized(outShape, dtype);
        var (outer, _, inner) = Shapes.Split(outShape, d);
        DTypeDispatch.Any(dtype, new ConcatKernel(inputs, y, outer, total, inner, d));
        return Autograd.Record(y, "ConcatBackward", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int i = 0, start = 0; i < inputs.Length; start += inputs[i]._shape[d], i++)
                if (inputs[i].RequiresGrad) grads[i] = g.Narrow(d, start, inputs[i]._shape[d]);
            return grads;
        }, attributes: new DimAttributes(d));
    }

    /// <summary>The dtype two joined tensors share: the later of Bool, Int64, Float32, Float64.</summary>
    private static DType JoinedDType(DType a, DType b)
    {
        static int Rank(DType t) => t switch { DType.Bool => 0, DType.Int64 => 1, DType.Float32 => 2, _ => 3 };
        return Rank(a) >= Rank(b) ? a : b;
    }

    private readonly struct ConcatKernel(Tensor[] inputs, Tensor y, int outer, int total, int inner, int d) : IAnyKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            foreach (var t in inputs) capture.Reads(t);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged
        {
            Span<T> ys = y.Span<T>();
            for (int i = 0, start = 0; i < inputs.Length; i++)
            {
                int size = inputs[i].ShapeRef[d];
                Layout.Place<T>(inputs[i].Span<T>(), outer, size, inner, ys, total, start);
                start += size;
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Concat = Register(nameof(Concat), static c =>
    {
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => Tensor.Concat([x[0], x[1] * 2.0], dim), c.Normal(s), c.Normal(s));
        c.Add("unequal", x => Tensor.Concat([x[0], x[1], x[0]], 1), c.Normal(2, 1), c.Normal(2, 3));
        c.Add("second order", x => Gradient(t => (Tensor.Concat([t, t * t], 0) * Tensor.Concat([t, t], 0)).Sum(), x[0]), c.Normal(2, 3));
    });
}
