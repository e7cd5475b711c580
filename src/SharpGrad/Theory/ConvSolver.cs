namespace SharpGrad.Theory;

/// <summary>
/// Lists every square-window (kernel, stride, padding, dilation) that maps a given input shape to a given output shape
/// (seed 001 Q8), within the bounds of <see cref="ConvConstraints"/>.
/// </summary>
/// <remarks>
/// <para>
/// Search space, unless a quantity is fixed: k in 1 .. MaxKernel, d in 1 .. MaxDilation (only d = 1 for k = 1),
/// s in 1 .. MaxStride (each defaulting to the larger input side), and p in 0 .. the <see cref="PaddingRule"/> bound
/// (p ≤ d·(k − 1) for a convolution, p ≤ ⌊k / 2⌋ for pooling). The same configuration must produce the output height
/// from the input height and the output width from the input width.
/// </para>
/// <para>
/// For each (k, d, s) the paddings that work form an interval, because o = ⌊(n + 2p − e) / s⌋ + 1 (e = d·(k − 1) + 1)
/// equals T exactly when s·(T − 1) ≤ n + 2p − e ≤ s·T − 1; so the cost is O(MaxKernel · MaxDilation · MaxStride)
/// rather than a scan over p. Ceil mode scans p. Every candidate is re-checked with the output-size formula.
/// </para>
/// <para>
/// Results are ordered by kernel, then stride, padding and dilation. Unconstrained questions have many answers:
/// (3, 64, 64) → (C, 32, 32) has about 1.5 million under the default bounds; fix what the question fixes.
/// </para>
/// </remarks>
public static class ConvSolver
{
    /// <summary>Every configuration that maps <paramref name="input"/> to <paramref name="output"/> under <paramref name="constraints"/>.</summary>
    /// <param name="input">Input shape (C, H, W).</param>
    /// <param name="output">Wanted output shape (C, H, W). A convolution may set any channel count; pooling keeps it.</param>
    /// <param name="constraints">Fixed values and bounds; null for none.</param>
    /// <returns>The configurations, possibly none, ordered by (k, s, p, d).</returns>
    /// <exception cref="ArgumentException">A shape is not positive, pooling is asked to change the channel count, or a bound or fixed value is out of range.</exception>
    public static IReadOnlyList<ConvConfig> Solve(FeatureShape input, FeatureShape output, ConvConstraints? constraints = null)
    {
        var c = constraints ?? new ConvConstraints();
        input.Validate(nameof(input));
        output.Validate(nameof(output));
        if (c.Pool && input.Channels != output.Channels)
            throw new ArgumentException($"Pooling keeps the channel count, but the input {input} has {input.Channels} channels and the output {output} has {output.Channels}.", nameof(output));
        if (c.CeilMode && !c.Pool)
            throw new ArgumentException("CeilMode applies to pooling only; set Pool = true.", nameof(constraints));
        int side = Math.Max(input.Height, input.Width);
        int maxKernel = Positive(c.MaxKernel ?? side, nameof(c.MaxKernel));
        int maxStride = Positive(c.MaxStride ?? side, nameof(c.MaxStride));
        int maxDilation = Positive(c.MaxDilation ?? side, nameof(c.MaxDilation));
        if (c.Kernel is int fk) Positive(fk, nameof(c.Kernel));
        if (c.Stride is int fs) Positive(fs, nameof(c.Stride));
        if (c.Dilation is int fd) Positive(fd, nameof(c.Dilation));
        if (c.Padding is < 0) throw new ArgumentException($"Padding must be at least 0; got {c.Padding}.", nameof(constraints));
        PaddingRule rule = c.PaddingRule ?? (c.Pool ? PaddingRule.HalfKernel : PaddingRule.EffectiveKernel);

        var found = new List<ConvConfig>();
        var (kLo, kHi) = Span(c.Kernel, 1, maxKernel);
        var (sLo, sHi) = Span(c.Stride, 1, maxStride);
        for (int k = kLo; k <= kHi; k++)
        {
            // A 1-wide kernel has no gaps to dilate: list d = 1 only, unless the caller fixed d.
            var (dLo, dHi) = k == 1 && c.Dilation is null ? (1, 1) : Span(c.Dilation, 1, maxDilation);
            for (int s = sLo; s <= sHi; s++)
            {
                int first = found.Count;
                for (int d = dLo; d <= dHi; d++)
                {
                    int e = d * (k - 1) + 1;
                    if (c.NonOverlapping && s != e) continue;
                    int pMax = c.Padding ?? Bound(rule, k, d);
                    if (c.Pool) pMax = Math.Min(pMax, k / 2); // PyTorch's hard rule, even for a fixed padding
                    int pMin = c.Padding ?? 0;
                    var (lo, hi) = c.CeilMode ? (pMin, pMax) : PaddingInterval(input, output, e, s, pMin, pMax);
                    for (int p = lo; p <= hi; p++)
                    {
                        if (Maps(input.Height, output.Height, k, s, p, d, c.CeilMode) && Maps(input.Width, output.Width, k, s, p, d, c.CeilMode))
                            found.Add(new ConvConfig(k, s, p, d));
                    }
                }
                // The loops run k, s, d, p; order this (k, s) block by p, then d.
                if (found.Count - first > 1) found.Sort(first, found.Count - first, ByPaddingThenDilation);
            }
        }
        return found;
    }

    /// <summary>The padding bound of a <see cref="PaddingRule"/> for kernel k and dilation d.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="kernel">Kernel size k.</param>
    /// <param name="dilation">Dilation d.</param>
    /// <returns>d·(k − 1), k − 1 or ⌊k / 2⌋.</returns>
    public static int Bound(PaddingRule rule, int kernel, int dilation) => rule switch
    {
        PaddingRule.EffectiveKernel => dilation * (kernel - 1),
        PaddingRule.Kernel => kernel - 1,
        PaddingRule.HalfKernel => kernel / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown PaddingRule."),
    };

    /// <summary>
    /// The paddings p in [pMin, pMax] for which both axes give the wanted size in floor mode:
    /// s·(T − 1) + e − n ≤ 2p ≤ s·T − 1 + e − n on each axis.
    /// </summary>
    private static (int Lo, int Hi) PaddingInterval(FeatureShape input, FeatureShape output, int e, int s, int pMin, int pMax)
    {
        long lo = Math.Max(pMin, Math.Max(LowestPadding(input.Height, output.Height, e, s), LowestPadding(input.Width, output.Width, e, s)));
        long hi = Math.Min(pMax, Math.Min(HighestPadding(input.Height, output.Height, e, s), HighestPadding(input.Width, output.Width, e, s)));
        return ((int)lo, (int)Math.Min(hi, int.MaxValue));
    }

    private static long LowestPadding(long n, long t, long e, long s) => -ConvArithmetic.FloorDiv(-(s * (t - 1) + e - n), 2); // ceil of half

    private static long HighestPadding(long n, long t, long e, long s) => ConvArithmetic.FloorDiv(s * t - 1 + e - n, 2);

    private static bool Maps(int n, int t, int k, int s, int p, int d, bool ceilMode) =>
        ConvArithmetic.RawOutputSize(n, k, s, p, d, ceilMode) == t;

    private static (int Lo, int Hi) Span(int? fixedValue, int from, int to) => fixedValue is int v ? (v, v) : (from, to);

    private static readonly Comparer<ConvConfig> ByPaddingThenDilation = Comparer<ConvConfig>.Create((a, b) =>
        a.Padding != b.Padding ? a.Padding.CompareTo(b.Padding) : a.Dilation.CompareTo(b.Dilation));

    private static int Positive(int value, string name) =>
        value >= 1 ? value : throw new ArgumentException($"{name} must be at least 1; got {value}.", name);
}
