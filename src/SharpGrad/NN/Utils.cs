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
        var shared = normType == 2 ? SharedGradientBlocks.For(grads) : null;
        double[]? norms = shared?.Norms();
        double total = 0;
        for (int i = 0; i < grads.Count; i++)
        {
            double n = norms is null ? GradNorm(grads[i], normType) : norms[i];
            total = double.IsPositiveInfinity(normType) ? Math.Max(total, n) : total + Math.Pow(n, normType);
        }
        if (!double.IsPositiveInfinity(normType)) total = Math.Pow(total, 1 / normType);
        double coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1)
        {
            if (shared is not null) shared.Scale(coefficient);
            else foreach (var g in grads) Scale(g, coefficient);
        }
        return total;
    }

    /// <summary>
    /// <see cref="ClipGradNorm"/>'s two passes over the gradients (the 2-norms, the scaling) as jobs on the worker pool,
    /// when two threads are allowed, <see cref="Kernels.StepPaths.SerialTails"/> is off and the gradients are large
    /// enough. The items are the float32 gradients' blocks of <see cref="NormBlock"/> elements (whose float sums of squares
    /// the norm adds in double, in order, as <see cref="SumOfSquaresInDouble"/> does) and the other gradients whole
    /// (a float64 norm is one call over the whole array): each norm is the value <see cref="GradNorm"/> gives, and the
    /// scaling is elementwise, so the results are the same bits as on one thread.
    /// </summary>
    private sealed class SharedGradientBlocks : Kernels.ParallelWork
    {
        private const int NormBlock = 4096;

        private readonly List<Tensor> _grads;
        private readonly (int Grad, int Start, int Length)[] _items;
        private readonly double[] _sums;
        private bool _scaling;
        private double _coefficient;

        private SharedGradientBlocks(List<Tensor> grads, (int, int, int)[] items)
        {
            _grads = grads;
            _items = items;
            _sums = new double[items.Length];
        }

        /// <summary>The shared passes over <paramref name="grads"/>, or null when they run on the calling thread.</summary>
        public static SharedGradientBlocks? For(List<Tensor> grads)
        {
            if (Kernels.StepPaths.SerialTails || Math.Min(Kernels.Gemm.MaxThreads, Kernels.WorkerPool.MaxParallelism) < 2) return null;
            long elements = 0;
            int count = 0;
            foreach (var g in grads)
            {
                elements += g.Numel;
                count += g.Storage is float[] f ? (f.Length + NormBlock - 1) / NormBlock : 1;
            }
            if (elements < Kernels.RangeWork.ParallelThreshold) return null;
            var items = new (int, int, int)[count];
            int at = 0;
            for (int i = 0; i < grads.Count; i++)
            {
                int n = grads[i].Storage.Length;
                if (grads[i].Storage is float[])
                    for (int s = 0; s < n; s += NormBlock) items[at++] = (i, s, Math.Min(NormBlock, n - s));
                else items[at++] = (i, 0, n);
            }
            return new SharedGradientBlocks(grads, items);
        }

        /// <summary>Every gradient's 2-norm, as <see cref="GradNorm"/> computes it.</summary>
        public double[] Norms()
        {
            _scaling = false;
            Run();
            var norms = new double[_grads.Count];
            for (int k = 0; k < _items.Length; k++)
            {
                int i = _items[k].Grad;
                norms[i] += _sums[k]; // float32: the blocks' sums in order from 0, as SumOfSquaresInDouble; else the one norm
            }
            for (int i = 0; i < norms.Length; i++)
                if (_grads[i].Storage is float[]) norms[i] = Math.Sqrt(norms[i]);
            return norms;
        }

        /// <summary>Every gradient multiplied by <paramref name="coefficient"/> in place, as <see cref="Utils.Scale"/>.</summary>
        public void Scale(double coefficient)
        {
            (_scaling, _coefficient) = (true, coefficient);
            Run();
        }

        private void Run() => Kernels.WorkerPool.Run(this, ReplayParts.For(_items.Length));

        public override void Execute(int index, int count)
        {
            int k0 = (int)((long)_items.Length * index / count), k1 = (int)((long)_items.Length * (index + 1) / count);
            for (int k = k0; k < k1; k++)
            {
                var (i, start, length) = _items[k];
                switch (_grads[i].Storage)
                {
                    case float[] f when _scaling:
                        System.Numerics.Tensors.TensorPrimitives.Multiply(f.AsSpan(start, length), (float)_coefficient, f.AsSpan(start, length));
                        break;
                    case float[] f:
                        _sums[k] = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(f.AsSpan(start, length));
                        break;
                    case double[] d when _scaling:
                        System.Numerics.Tensors.TensorPrimitives.Multiply(d, _coefficient, d);
                        break;
                    case double[] d:
                        _sums[k] = System.Numerics.Tensors.TensorPrimitives.Norm(d);
                        break;
                }
            }
        }
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
