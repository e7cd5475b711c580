namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Reorders the dimensions: result.Shape[i] = Shape[dims[i]] (PyTorch: <c>permute</c>); a contiguous copy, for every
    /// dtype. The gradient is g permuted back by the inverse permutation.
    /// </summary>
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
        var y = Uninitialized(outShape, DType);
        DTypeDispatch.Any(DType, new PermuteKernel(this, perm, y));
        return Autograd.ShouldRecord(this) ? RecordPermute(y, this, perm) : y;
    }

    private static Tensor RecordPermute(Tensor y, Tensor x, int[] perm)
    {
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return Autograd.Record(y, "PermuteBackward", [x], g => [g.Permute(inverse)], attributes: new PermuteAttributes([.. perm]));
    }

    /// <summary>
    /// Walks the output in order, one run of its last dimension at a time: a block copy when that dimension is also the
    /// input's innermost, else a strided gather (<see cref="Kernels.Layout.Permute{T}"/>; large outputs shared with the
    /// worker pool with <see cref="Kernels.StepPaths.SharedRows"/>).
    /// </summary>
    private readonly struct PermuteKernel(Tensor x, int[] perm, Tensor y) : IAnyKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => Capture.Buffers(capture, [x], [y]);

        public void Run<T>() where T : unmanaged
        {
            if (y.Numel == 0) return;
            if (x.Rank == 0) { y.Span<T>()[0] = x.Span<T>()[0]; return; }
            Kernels.Layout.Permute<T>(x, x.ShapeRef, perm, y, shared: Kernels.StepPaths.SharedRows);
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Permute = Register(nameof(Permute), static c =>
    {
        c.Add(x => x[0].Permute(2, 0, 1), c.Normal(2, 3, 4));
        c.Add("inner kept", x => x[0].Permute(1, 0, 2), c.Normal(2, 3, 4));
        c.Add("second order", x => Gradient(t => (t.Permute(1, 0) * t.Permute(1, 0)).Sum() * t.Sum(), x[0]), c.Normal(2, 3));
    });
}
