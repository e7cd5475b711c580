namespace SharpGrad.NN;

/// <summary>Gradient utilities (PyTorch: <c>torch.nn.utils</c>).</summary>
public static partial class Utils
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> in place so that their joint p-norm is at most
    /// <paramref name="maxNorm"/> (PyTorch: <c>clip_grad_norm_</c>): with <c>total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p</c> every
    /// gradient is multiplied by <c>maxNorm / (total + 1e-6)</c> when that is below 1. Parameters without a gradient are
    /// skipped. Returns the total norm before clipping (∞-norm: the largest |element|).
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipGradNorm: maxNorm must be a non-negative number.");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: normType must be positive (or +∞).");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        // The norm is returned as a C# value and decides whether to scale: a compiled step cannot replay that.
        Capture.Active?.DataRead("ClipGradNorm (returns the norm as a value)");
        if (grads.Count == 0) return 0;
        double total = 0;
        foreach (var g in grads)
        {
            double n = GradNorm(g, normType);
            total = double.IsPositiveInfinity(normType) ? Math.Max(total, n) : total + Math.Pow(n, normType);
        }
        if (!double.IsPositiveInfinity(normType)) total = Math.Pow(total, 1 / normType);
        double coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1)
            foreach (var g in grads) Scale(g, coefficient);
        return total;
    }

    /// <summary>Clamps every gradient element of <paramref name="parameters"/> to [−clipValue, clipValue] in place (PyTorch: <c>clip_grad_value_</c>).</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "ClipGradValue: clipValue must be a non-negative number.");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        foreach (var g in grads)
        {
            switch (g.Storage)
            {
                case float[] f: Clamp(f, (float)clipValue); break;
                case double[] d: Clamp(d, clipValue); break;
            }
        }
        Capture.Active?.ClampGradients(grads, clipValue);
    }

    /// <summary>Clamps every element of <paramref name="values"/> to [−<paramref name="limit"/>, <paramref name="limit"/>] in place.</summary>
    internal static void Clamp(float[] values, float limit)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -limit, limit);
    }

    /// <summary>Clamps every element of <paramref name="values"/> to [−<paramref name="limit"/>, <paramref name="limit"/>] in place.</summary>
    internal static void Clamp(double[] values, double limit)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -limit, limit);
    }

    private static double GradNorm(Tensor g, double p)
    {
        if (p == 2)
        {
            // The common case, vectorised: the sum of squares in double (a float32 sum of a million squares would lose digits).
            return g.Storage switch
            {
                float[] f => Math.Sqrt(SumOfSquaresInDouble(f)),
                double[] d => System.Numerics.Tensors.TensorPrimitives.Norm(d),
                _ => 0,
            };
        }
        double sum = 0, max = 0;
        int n = g.Numel;
        for (int i = 0; i < n; i++)
        {
            double a = Math.Abs(g.GetDouble(i));
            if (double.IsPositiveInfinity(p)) max = Math.Max(max, double.IsNaN(a) ? double.NaN : a);
            else sum += p == 2 ? a * a : p == 1 ? a : Math.Pow(a, p);
        }
        return double.IsPositiveInfinity(p) ? max : p == 1 ? sum : Math.Pow(sum, 1 / p);
    }

    private static double SumOfSquaresInDouble(float[] f)
    {
        const int Block = 4096; // float partial sums over short blocks, added in double
        double total = 0;
        for (int i = 0; i < f.Length; i += Block)
            total += System.Numerics.Tensors.TensorPrimitives.SumOfSquares(f.AsSpan(i, Math.Min(Block, f.Length - i)));
        return total;
    }

    private static void Scale(Tensor g, double c)
    {
        switch (g.Storage)
        {
            case float[] f: System.Numerics.Tensors.TensorPrimitives.Multiply(f, (float)c, f); break;
            case double[] d: System.Numerics.Tensors.TensorPrimitives.Multiply(d, c, d); break;
        }
    }
}
