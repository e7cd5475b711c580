namespace SharpGrad.Theory;

/// <summary>
/// One-dimensional true convolution and cross-correlation with the semantics of <c>numpy.convolve</c> and
/// <c>numpy.correlate</c>, on arrays and on 1-D tensors (seed 001 Q6).
/// </summary>
/// <remarks>
/// <para>
/// Convolution flips the kernel: <c>(a ∗ k)[t] = Σ_q a[t − q] k[q]</c>. Cross-correlation does not:
/// <c>c[ℓ] = Σ_j a[ℓ + j] v[j]</c>. The convolution layers of <c>SharpGrad.NN</c>, like PyTorch's, compute the
/// second one; the two agree only when the kernel is a palindrome, and <c>Convolve(a, k) == CrossCorrelate(a, reverse(k))</c>.
/// </para>
/// <para>
/// Example (seed 001 Q6): <c>Convolve([1, 2, 3, 4], [1, 0, 2], mode)</c> is <c>[1, 2, 5, 8, 6, 8]</c> (Full),
/// <c>[5, 8]</c> (Valid) and <c>[2, 5, 8, 6]</c> (Same).
/// </para>
/// </remarks>
public static class Signal
{
    /// <summary>
    /// The true (kernel-flipping) convolution of <paramref name="a"/> and <paramref name="k"/>
    /// (NumPy: <c>numpy.convolve(a, k, mode)</c>): <c>full[t] = Σ_q a[t − q] k[q]</c> for t = 0 .. n + m − 2,
    /// cut to the part <paramref name="mode"/> selects.
    /// </summary>
    /// <remarks>
    /// Like NumPy, the longer input plays the signal and the shorter the kernel (convolution is commutative, so only the
    /// Valid and Same windows depend on this choice): <c>Convolve([1, 0, 2], [1, 2, 3, 4], Valid)</c> is also <c>[5, 8]</c>.
    /// The sums are accumulated in double in order of increasing kernel index; when a product or partial sum would
    /// overflow, the inputs are scaled by powers of two first, so only a result beyond the double range is ±∞.
    /// </remarks>
    /// <param name="a">The first sequence; must not be empty.</param>
    /// <param name="k">The second sequence (the kernel); must not be empty.</param>
    /// <param name="mode">Which part of the full convolution to return; <see cref="ConvMode.Full"/> as in NumPy.</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(a.Length, k.Length, mode).</returns>
    /// <exception cref="ArgumentException">An input is empty.</exception>
    public static double[] Convolve(double[] a, double[] k, ConvMode mode = ConvMode.Full)
    {
        CheckArrays(a, k, nameof(Convolve));
        var (x, w) = k.Length > a.Length ? (k, a) : (a, k);
        var flipped = (double[])w.Clone();
        Array.Reverse(flipped);
        return Slide(x, flipped, -LeftPadding(w.Length, mode), OutputLength(a.Length, k.Length, mode));
    }

    /// <summary>
    /// The cross-correlation of <paramref name="a"/> and <paramref name="v"/> (NumPy: <c>numpy.correlate(a, v, mode)</c>):
    /// <c>c[ℓ] = Σ_j a[ℓ + j] v[j]</c> for the lags ℓ = −(m − 1) .. n − 1, cut to the part <paramref name="mode"/>
    /// selects. No flip: this is what a convolution layer computes.
    /// </summary>
    /// <remarks>
    /// When <paramref name="v"/> is longer than <paramref name="a"/>, NumPy correlates v with a and reverses the result,
    /// which gives the same lags in Full mode and decides where the Valid and Same windows sit; this does the same.
    /// </remarks>
    /// <param name="a">The signal; must not be empty.</param>
    /// <param name="v">The template slid along the signal; must not be empty.</param>
    /// <param name="mode">Which lags to return; <see cref="ConvMode.Valid"/> by default, as in NumPy.</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(a.Length, v.Length, mode).</returns>
    /// <exception cref="ArgumentException">An input is empty.</exception>
    public static double[] CrossCorrelate(double[] a, double[] v, ConvMode mode = ConvMode.Valid)
    {
        CheckArrays(a, v, nameof(CrossCorrelate));
        int length = OutputLength(a.Length, v.Length, mode);
        if (a.Length >= v.Length) return Slide(a, v, -LeftPadding(v.Length, mode), length);
        var swapped = Slide(v, a, -LeftPadding(a.Length, mode), length);
        Array.Reverse(swapped);
        return swapped;
    }

    /// <summary>
    /// <see cref="Convolve(double[], double[], ConvMode)"/> on two 1-D tensors of the same floating-point dtype, recorded
    /// for autograd (every order: the backward is built from the same differentiable primitive).
    /// </summary>
    /// <remarks>Float32 inputs are accumulated in double and the result rounded once to float32.</remarks>
    /// <param name="a">A non-empty 1-D Float32 or Float64 tensor.</param>
    /// <param name="k">A non-empty 1-D tensor of the same dtype.</param>
    /// <param name="mode">Which part of the full convolution to return.</param>
    /// <returns>A 1-D tensor of <paramref name="a"/>'s dtype and length <see cref="OutputLength"/>.</returns>
    /// <exception cref="ArgumentException">A tensor is not 1-D, is empty, or the dtypes differ or are not floating point.</exception>
    public static Tensor Convolve(Tensor a, Tensor k, ConvMode mode = ConvMode.Full)
    {
        CheckTensors(a, k, nameof(Convolve));
        var (x, w) = k.Numel > a.Numel ? (k, a) : (a, k);
        return SlideTensor(x, Reverse(w), -LeftPadding(w.Numel, mode), OutputLength(a.Numel, k.Numel, mode));
    }

    /// <summary>
    /// <see cref="CrossCorrelate(double[], double[], ConvMode)"/> on two 1-D tensors of the same floating-point dtype,
    /// recorded for autograd.
    /// </summary>
    /// <param name="a">A non-empty 1-D Float32 or Float64 tensor.</param>
    /// <param name="v">A non-empty 1-D tensor of the same dtype.</param>
    /// <param name="mode">Which lags to return.</param>
    /// <returns>A 1-D tensor of <paramref name="a"/>'s dtype and length <see cref="OutputLength"/>.</returns>
    /// <exception cref="ArgumentException">A tensor is not 1-D, is empty, or the dtypes differ or are not floating point.</exception>
    public static Tensor CrossCorrelate(Tensor a, Tensor v, ConvMode mode = ConvMode.Valid)
    {
        CheckTensors(a, v, nameof(CrossCorrelate));
        int length = OutputLength(a.Numel, v.Numel, mode);
        if (a.Numel >= v.Numel) return SlideTensor(a, v, -LeftPadding(v.Numel, mode), length);
        return Reverse(SlideTensor(v, a, -LeftPadding(a.Numel, mode), length));
    }

    /// <summary>
    /// Length of the result for inputs of lengths <paramref name="n"/> and <paramref name="m"/>: n + m − 1 (Full),
    /// max − min + 1 (Valid), max(n, m) (Same).
    /// </summary>
    /// <param name="n">Length of the first input, at least 1.</param>
    /// <param name="m">Length of the second input, at least 1.</param>
    /// <param name="mode">The mode.</param>
    /// <returns>The output length, at least 1.</returns>
    public static int OutputLength(int n, int m, ConvMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        return mode switch
        {
            ConvMode.Full => n + m - 1,
            ConvMode.Valid => Math.Max(n, m) - Math.Min(n, m) + 1,
            ConvMode.Same => Math.Max(n, m),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown ConvMode."),
        };
    }

    /// <summary>
    /// How many zeros the mode puts before the longer sequence when the shorter (length m) slides along it: Full sees
    /// every partial overlap, Valid none, and Same keeps ⌊m / 2⌋ on the left so the output has the longer length.
    /// </summary>
    private static int LeftPadding(int m, ConvMode mode) => mode switch
    {
        ConvMode.Full => m - 1,
        ConvMode.Valid => 0,
        ConvMode.Same => m / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown ConvMode."),
    };

    /// <summary>
    /// The one primitive both operations reduce to: y[i] = Σ_j x[i + offset + j] w[j] for i = 0 .. length − 1, with x
    /// read as zero outside its range (that zero extension is the padding).
    /// </summary>
    private static double[] Slide(double[] x, double[] w, int offset, int length)
    {
        var y = SlideUnscaled(x, w, offset, length, 0, 0);
        foreach (double v in y)
        {
            if (double.IsFinite(v)) continue;
            // A product or partial sum overflowed (or the inputs are not finite). Redo it with x and w scaled by powers
            // of two to a largest magnitude near 1, so no product exceeds 4 and no sum exceeds 4·m, then scale each
            // result back once: only a result whose true value is beyond ±1.8e308 ends as ±∞. Powers of two scale
            // exactly, and the ordinary case above is left bit for bit as it was.
            int ex = Exponent(x), ew = Exponent(w);
            if (ex == int.MinValue || ew == int.MinValue) return y; // a NaN or ∞ among the inputs: nothing to rescue
            return SlideUnscaled(x, w, offset, length, ex, ew);
        }
        return y;
    }

    private static double[] SlideUnscaled(double[] x, double[] w, int offset, int length, int ex, int ew)
    {
        var y = new double[length];
        for (int i = 0; i < length; i++)
        {
            int start = i + offset;
            int jFrom = Math.Max(0, -start), jTo = Math.Min(w.Length, x.Length - start);
            double sum = 0;
            if (ex == 0 && ew == 0)
                for (int j = jFrom; j < jTo; j++) sum += x[start + j] * w[j];
            else
                for (int j = jFrom; j < jTo; j++) sum += Math.ScaleB(x[start + j], -ex) * Math.ScaleB(w[j], -ew);
            y[i] = ex == 0 && ew == 0 ? sum : Math.ScaleB(sum, ex + ew);
        }
        return y;
    }

    /// <summary>The binary exponent of the largest magnitude (0 for all zeros), or int.MinValue when a value is not finite.</summary>
    private static int Exponent(double[] v)
    {
        double max = 0;
        foreach (double d in v)
        {
            if (!double.IsFinite(d)) return int.MinValue;
            max = Math.Max(max, Math.Abs(d));
        }
        return max == 0 ? 0 : Math.ILogB(max);
    }

    /// <summary>
    /// <see cref="Slide"/> on tensors. Its gradients are again slides, so every order of derivative is available:
    /// dL/dx[p] = Σ_i g[i] w[p − offset − i], a slide of g over the reversed w; dL/dw[j] = Σ_i g[i] x[i + offset + j], a
    /// slide of x against g.
    /// </summary>
    private static Tensor SlideTensor(Tensor x, Tensor w, int offset, int length)
    {
        double[] values = Slide(x.ToArray<double>(), w.ToArray<double>(), offset, length);
        Tensor y = x.DType == DType.Float64 ? Tensor.FromArray(values) : Tensor.FromArray(Array.ConvertAll(values, v => (float)v));
        int xLength = x.Numel, wLength = w.Numel;
        return Autograd.Record(y, "SlidingDotBackward", [x, w], g =>
        [
            SlideTensor(g, Reverse(w), -offset - (wLength - 1), xLength),
            SlideTensor(x, g, offset, wLength),
        ]);
    }

    /// <summary>The elements in reverse order, through IndexSelect so that gradients flow.</summary>
    private static Tensor Reverse(Tensor t)
    {
        int n = t.Numel;
        var index = new long[n];
        for (int i = 0; i < n; i++) index[i] = n - 1 - i;
        return t.IndexSelect(0, Tensor.FromArray(index));
    }

    private static void CheckArrays(double[] a, double[] b, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length == 0) throw new ArgumentException($"{op}: the first sequence is empty; both need at least one element (NumPy rejects empty inputs too).", nameof(a));
        if (b.Length == 0) throw new ArgumentException($"{op}: the second sequence is empty; both need at least one element (NumPy rejects empty inputs too).", nameof(b));
    }

    private static void CheckTensors(Tensor a, Tensor b, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank != 1 || b.Rank != 1)
            throw new ArgumentException($"{op}: both tensors must be 1-D; got shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)}.");
        if (a.DType != b.DType || !a.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: both tensors must have the same floating-point dtype; got {a.DType.ToTorchName()} and {b.DType.ToTorchName()}.");
        if (a.Numel == 0 || b.Numel == 0)
            throw new ArgumentException($"{op}: both tensors need at least one element; got shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)}.");
    }
}
