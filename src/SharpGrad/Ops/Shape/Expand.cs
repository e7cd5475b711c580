using System.Runtime.CompilerServices;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Broadcasts to <paramref name="shape"/> by repeating size-1 (or missing leading) dimensions (PyTorch:
    /// <c>expand</c>; here a copy, for every dtype). The backward sums the gradient back to this tensor's shape.
    /// </summary>
    public Tensor Expand(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (Shapes.Equal(shape, _shape)) return this;
        int[] target = Shapes.Broadcast(_shape, shape, nameof(Expand));
        if (!Shapes.Equal(target, shape))
            throw new ArgumentException($"Expand: shape {Shapes.Format(_shape)} cannot be expanded to {Shapes.Format(shape)}.");
        return ExpandTo(target);
    }

    /// <summary>
    /// <see cref="Expand"/> to a shape the result may keep (the library's own, one this tensor's shape broadcasts to):
    /// the reductions broadcast their gradients back with it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Tensor ExpandTo(int[] target)
    {
        if (ReferenceEquals(_shape, target) || Shapes.Equal(_shape, target)) return this;
        var y = Uninitialized(target, DType);
        DTypeDispatch.Any(DType, new ExpandKernel(this, y));
        return Autograd.ShouldRecord(this) ? RecordExpand(y, this) : y;
    }

    private static Tensor RecordExpand(Tensor y, Tensor x) => Autograd.Record(y, "ExpandBackward", [x], g => [Autograd.SumTo(g, x._shape)]);

    /// <summary>
    /// The output as runs of its trailing dimensions that the input either holds contiguously (one block copy) or
    /// broadcasts entirely (one fill): those dimensions are merged so each run is as long as possible.
    /// </summary>
    private readonly struct ExpandKernel(Tensor x, Tensor y) : IAnyKernel, ICapturedKernel
    {
        public void Declare(Capture capture)
        {
            capture.Reads(x);
            capture.Writes(y);
        }

        public void Run<T>() where T : unmanaged
        {
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<T> ys = y.Span<T>();
            if (ys.Length == 0) return;
            if (xs.Length == 1) { ys.Fill(xs[0]); return; }
            int[] from = x.ShapeRef, target = y.ShapeRef;
            int rank = target.Length;
            // The input's stride along each output dimension: 0 where it broadcasts (size 1 or missing).
            Span<int> stride = stackalloc int[rank];
            for (int d = rank - 1, k = from.Length - 1, s = 1; d >= 0; d--, k--)
            {
                if (k >= 0 && from[k] != 1) { stride[d] = s; s *= from[k]; }
                else stride[d] = 0;
            }
            // rs is 1 (the input's innermost dimension is kept) or 0 (broadcast), since the input is contiguous.
            int run = target[rank - 1], rs = stride[rank - 1], split = rank - 1;
            while (split > 0 && stride[split - 1] == run * rs)
            {
                run *= target[split - 1];
                split--;
            }
            Span<int> index = stackalloc int[Math.Max(split, 1)];
            index.Clear();
            int outer = ys.Length / run;
            for (int o = 0, dst = 0; o < outer; o++, dst += run)
            {
                int src = 0;
                for (int k = 0; k < split; k++) src += index[k] * stride[k];
                if (rs == 0) ys.Slice(dst, run).Fill(xs[src]);
                else xs.Slice(src, run).CopyTo(ys.Slice(dst, run));
                for (int k = split - 1; k >= 0; k--)
                {
                    if (++index[k] < target[k]) break;
                    index[k] = 0;
                }
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Expand = Register(nameof(Expand), static c =>
    {
        c.Add(x => x[0].Expand(2, 3, 4), c.Normal(3, 1));
        c.Add("inner", x => x[0].Expand(3, 4) * Tensor.Arange(0, 12, 1, DType.Float64).Reshape(3, 4), c.Normal(4));
        c.Add("0-d", x => x[0].Expand(2, 2), c.Normal());
        c.Add("second order", x => Gradient(t => (t.Expand(2, 3, 4) * t.Expand(2, 3, 4)).Sum() * t.Sum(), x[0]), c.Normal(3, 1));
    });
}
