namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The lower triangle of the last two dimensions (each matrix of a batch): element (i, j) is kept where
    /// <c>j − i ≤ diagonal</c> and zeroed elsewhere (PyTorch: <c>tril</c>). diagonal 0 is the main diagonal, positive
    /// values reach above it, negative below. Works for every dtype (false for Bool); the gradient is g's lower triangle.
    /// </summary>
    public Tensor Tril(int diagonal = 0) => Triangle(diagonal, lower: true, nameof(Tril));

    private Tensor Triangle(int diagonal, bool lower, string op)
    {
        if (Rank < 2)
            throw new ArgumentException($"{op}: needs a matrix or a batch of matrices (rank 2 or more); got shape {Shapes.Format(_shape)}.");
        var y = Uninitialized(_shape, DType);
        DTypeDispatch.Any(DType, new TriangleKernel(this, y, diagonal, lower));
        if (!Autograd.ShouldRecord(this)) return y;
        return Autograd.Record(y, lower ? "TrilBackward" : "TriuBackward", [this], g => [g.Triangle(diagonal, lower, op)], attributes: new TriangleAttributes(diagonal));
    }

    /// <summary>Row i keeps columns [0, i + diagonal] (lower) or [i + diagonal, cols) (upper): one copy and one clear per row.</summary>
    private readonly struct TriangleKernel(Tensor x, Tensor y, int diagonal, bool lower) : IAnyKernel
    {
        public void Run<T>() where T : unmanaged
        {
            ReadOnlySpan<T> xs = x.Span<T>();
            Span<T> ys = y.Span<T>();
            int[] shape = x.ShapeRef;
            int rows = shape[^2], cols = shape[^1];
            int rowCount = rows == 0 || cols == 0 ? 0 : xs.Length / cols;
            for (int r = 0; r < rowCount; r++)
            {
                long i = r % rows;
                // Lower: keep j ≤ i + diagonal; upper: keep j ≥ i + diagonal.
                int split = (int)Math.Clamp(lower ? i + diagonal + 1 : i + diagonal, 0, cols);
                var from = xs.Slice(r * cols, cols);
                var to = ys.Slice(r * cols, cols);
                if (lower) { from.Slice(0, split).CopyTo(to); to.Slice(split).Clear(); }
                else { to.Slice(0, split).Clear(); from.Slice(split).CopyTo(to.Slice(split)); }
            }
        }
    }
}

internal static partial class GradChecks
{
    internal static readonly int Tril = Register(nameof(Tril), static c =>
    {
        c.Add(x => x[0].Tril(), c.Normal(4, 4));
        c.Add("diagonal 1, batched", x => x[0].Tril(1), c.Normal(2, 3, 5));
        c.Add("diagonal -2, tall", x => x[0].Tril(-2), c.Normal(5, 3));
    });
}
