using System.Runtime.CompilerServices;

namespace SharpGrad;

public sealed partial class Tensor
{
    /// <summary>
    /// The same elements with a new shape (PyTorch: <c>reshape</c>/<c>view</c>); one dimension may be -1 and is then
    /// inferred. No copy is made: the result shares this tensor's storage. Works for every dtype.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return ReshapeOwned(shape.AsSpan().ToArray(), shape);
    }

    /// <summary>
    /// <see cref="Reshape"/> with a shape array the tensor may keep (the library's own, never written afterwards);
    /// <paramref name="given"/> is the shape as the caller wrote it, for messages. Squeeze, Unsqueeze and Flatten are
    /// this op with a computed shape, so they share its backward rule.
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
        return Autograd.ShouldRecord(this) ? RecordReshape(y, this) : y;
    }

    /// <summary>The gradient is g read in x's shape (a view again, so it differentiates again).</summary>
    private static Tensor RecordReshape(Tensor y, Tensor x) => Autograd.Record(y, "ReshapeBackward", [x], g => [g.ReshapeOwned(x._shape)]);
}

internal static partial class GradChecks
{
    internal static readonly int Reshape = Register(nameof(Reshape), static c =>
    {
        // Weighted by position, so a gradient landing on the wrong element is caught.
        foreach (var s in GradCheckBuilder.ElementwiseShapes)
            c.Add(x => x[0].Reshape(-1) * Tensor.Arange(0, x[0].Numel, 1, DType.Float64), c.Normal(s));
        c.Add("3-d", x => x[0].Reshape(4, -1, 2) * Tensor.Arange(0, 24, 1, DType.Float64).Reshape(4, 3, 2), c.Normal(2, 3, 4));
        c.Add("second order", x => Gradient(t => (t.Reshape(6) * t.Reshape(6)).Sum() * t.Sum(), x[0]), c.Normal(2, 3));
    });
}
