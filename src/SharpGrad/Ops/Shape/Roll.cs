namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// Shifts the elements along <paramref name="dims"/> by <paramref name="shifts"/> places, those that fall off the end
    /// coming back at the start: <c>y[(i + shift) mod n] = x[i]</c> (PyTorch: <c>roll</c>). Without a dimension the
    /// tensor is rolled as if flattened and then given its shape back. Works for every dtype; the gradient is g rolled
    /// back.
    /// </summary>
    public Tensor Roll(int shifts, int? dims = null)
    {
        if (dims is int d) return RollDim(shifts, Shapes.WrapDim(d, Rank, nameof(Roll)));
        if (Rank == 0) return RollDim(shifts, 0);
        return Reshape(-1).RollDim(shifts, 0).ReshapeOwned(_shape);
    }

    /// <summary>
    /// Rolls along several dimensions at once, <c>shifts[i]</c> places along <c>dims[i]</c> (PyTorch:
    /// <c>roll(x, (s0, s1), (d0, d1))</c>); a dimension may appear more than once, its shifts then add up.
    /// </summary>
    public Tensor Roll(int[] shifts, int[] dims)
    {
        ArgumentNullException.ThrowIfNull(shifts);
        ArgumentNullException.ThrowIfNull(dims);
        if (shifts.Length != dims.Length)
            throw new ArgumentException($"Roll: {shifts.Length} shifts {Shapes.Format(shifts)} but {dims.Length} dimensions {Shapes.Format(dims)}; give one shift per dimension.", nameof(shifts));
        if (dims.Length == 0) throw new ArgumentException("Roll: no dimensions given; use Roll(shift) to roll the flattened tensor.", nameof(dims));
        var y = this;
        for (int i = 0; i < dims.Length; i++) y = y.RollDim(shifts[i], Shapes.WrapDim(dims[i], Rank, nameof(Roll)));
        return y;
    }

    private Tensor RollDim(int shift, int d)
    {
        var y = Uninitialized(_shape, DType);
        var (outer, n, inner) = Shapes.Split(_shape, d);
        int s = n == 0 ? 0 : (int)(((long)shift % n + n) % n);
        DTypeDispatch.Any(DType, new RollKernel(this, y, outer, n, inner, s));
        if (!Autograd.ShouldRecord(this)) return y;
        return Autograd.Record(y, "RollBackward", [this], g => [g.RollDim(n - s, d)]);
    }

    /// <summary>Per outer block: the last <c>shift</c> rows go to the front, the rest after them (two contiguous copies).</summary>
    private readonly struct RollKernel(Tensor x, Tensor y, int outer, int n, int inner, int shift) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<T> ys = y.Span<T>();
            int block = n * inner, tail = shift * inner, head = block - tail;
            for (int o = 0; o < outer; o++)
            {
                var from = xs.Slice(o * block, block);
                var to = ys.Slice(o * block, block);
                from.Slice(head).CopyTo(to);
                from.Slice(0, head).CopyTo(to.Slice(tail));
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Roll = Register(nameof(Roll), static c =>
    {
        c.Add("flattened", x => x[0].Roll(5) * x[0], c.Normal(2, 3));
        c.Add("dim", x => x[0].Roll(-1, 1) * x[0], c.Normal(2, 4));
        c.Add("two dims", x => x[0].Roll([1, 7], [0, 2]) * x[0], c.Normal(3, 2, 4));
    });
}
