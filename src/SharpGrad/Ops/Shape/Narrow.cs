using SharpGrad.Kernels;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The slice [start, start + length) of dimension <paramref name="dim"/> (PyTorch: <c>narrow</c>; here a copy, for
    /// every dtype); a negative start counts from the end. The gradient is g placed into zeros of this tensor's shape.
    /// </summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = Shapes.WrapDim(dim, Rank, nameof(Narrow));
        int size = _shape[d];
        if (start < 0) start += size;
        if (start < 0 || length < 0 || start + length > size)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: [{start}, {start + length}) is outside dimension {d} of size {size} (shape {Shapes.Format(_shape)}).");
        var y = Uninitialized(Shapes.WithDim(_shape, d, length), DType);
        var (outer, _, inner) = Shapes.Split(_shape, d);
        DTypeDispatch.Any(DType, new RowsKernel(this, y, outer, size, length, inner, start, place: false));
        return Autograd.ShouldRecord(this) ? RecordNarrow(y, this, d, start, length) : y;
    }

    private static Tensor RecordNarrow(Tensor y, Tensor x, int d, int start, int length) =>
        Autograd.Record(y, "NarrowBackward", [x], g => [g.PadInto(x._shape, d, start)], attributes: new NarrowAttributes(d, start, length));

    /// <summary>
    /// The backward of <see cref="Narrow"/> as an op of its own: zeros of <paramref name="fullShape"/> with this tensor
    /// placed at <paramref name="start"/> along <paramref name="dim"/>. Its gradient is Narrow again, so Narrow (and
    /// Concat, whose backward is Narrow) differentiate any number of times.
    /// </summary>
    internal Tensor PadInto(int[] fullShape, int dim, int start)
    {
        // The former path clears the whole output and then copies the slice in; the other writes each element once.
        var y = StepPaths.OldPadInto ? Empty(fullShape, DType) : Uninitialized(fullShape, DType);
        var (outer, _, inner) = Shapes.Split(fullShape, dim);
        int size = _shape[dim];
        DTypeDispatch.Any(DType, new RowsKernel(this, y, outer, size, fullShape[dim], inner, start, place: true));
        return Autograd.ShouldRecord(this) ? RecordPadInto(y, this, dim, start) : y;
    }

    private static Tensor RecordPadInto(Tensor y, Tensor x, int dim, int start) =>
        Autograd.Record(y, "PadBackward", [x], g => [g.Narrow(dim, start, x._shape[dim])]);

    /// <summary>
    /// x is (outer, xRows, inner) and y (outer, yRows, inner): rows [start, start + yRows) of x copied to y (Narrow), or
    /// with <paramref name="place"/> all of x copied to rows [start, start + xRows) of y (PadInto). A replay rewrites the
    /// same rows: PadInto's other rows stay the zeros its output was made with (a plan's buffers belong to it alone). Unless
    /// <see cref="StepPaths.OldPadInto"/>, both are <see cref="Layout.Shift{T}"/> (shared with the worker pool when large and <see cref="StepPaths.SharedRows"/>),
    /// and PadInto writes the zeros around the slice itself, into an output made uninitialized.
    /// </summary>
    private readonly struct RowsKernel(Tensor x, Tensor y, int outer, int xRows, int yRows, int inner, int start, bool place) : IAnyKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => Capture.Buffers(capture, [x], [y]);

        public void Run<T>() where T : unmanaged
        {
            if (!StepPaths.OldPadInto) Layout.Shift<T>(x, xRows, y, yRows, outer, inner, place ? -start : start);
            else if (place) Layout.Place<T>(x.Span<T>(), outer, xRows, inner, y.Span<T>(), yRows, start);
            else Layout.Slice<T>(x.Span<T>(), outer, xRows, inner, start, yRows, y.Span<T>());
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Narrow = Register(nameof(Narrow), static c =>
    {
        foreach (var (s, dim) in ReductionDims) c.Add($"dim {dim}", x => x[0].Narrow(dim, x[0].Size(dim) - 1, 1), c.Normal(s));
        c.Add("middle", x => x[0].Narrow(1, 1, 2), c.Normal(2, 4, 3));
        c.Add("second order", x => Gradient(t => (t.Narrow(1, 1, 2) * t.Narrow(1, 0, 2)).Sum(), x[0]) * x[0], c.Normal(3, 4));
    });
}
