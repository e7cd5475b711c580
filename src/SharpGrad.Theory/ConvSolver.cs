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
/// (3, 64, 64) → (C, 32, 32) has about 1.5 million under the default bounds, (3, 128, 128) → (C, 64, 64) about 23
/// million; <see cref="Count"/> counts them in constant memory and <see cref="Enumerate"/> lists them lazily.
/// </para>
/// </remarks>
public static class ConvSolver
{
    /// <summary>
    /// Every configuration that maps <paramref name="input"/> to <paramref name="output"/> under <paramref name="constraints"/>,
    /// in one list. Unconstrained questions can have millions of answers; use <see cref="Enumerate"/> (lazy) with
    /// <see cref="Count"/> when the size is not known to be small.
    /// </summary>
    /// <param name="input">Input shape (C, H, W).</param>
    /// <param name="output">Wanted output shape (C, H, W). A convolution may set any channel count; pooling keeps it.</param>
    /// <param name="constraints">Fixed values and bounds; null for none.</param>
    /// <returns>The configurations, possibly none, ordered by (k, s, p, d).</returns>
    /// <exception cref="ArgumentException">A shape is not positive, pooling is asked to change the channel count, or a bound or fixed value is out of range.</exception>
    public static IReadOnlyList<ConvConfig> Solve(FeatureShape input, FeatureShape output, ConvConstraints? constraints = null) =>
        Enumerate(input, output, constraints).ToList();

    /// <summary>
    /// The configurations of <see cref="Solve"/>, produced one at a time in the same (k, s, p, d) order: memory stays
    /// bounded by one (k, s) block (at most MaxDilation · (s / 2 + 1) configurations in floor mode) however many there
    /// are, and taking the first few stops the search early. Arguments are checked when this is called, not when the
    /// sequence is first read.
    /// </summary>
    /// <param name="input">Input shape (C, H, W).</param>
    /// <param name="output">Wanted output shape (C, H, W).</param>
    /// <param name="constraints">Fixed values and bounds; null for none.</param>
    /// <returns>The configurations, lazily.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Solve"/>.</exception>
    public static IEnumerable<ConvConfig> Enumerate(FeatureShape input, FeatureShape output, ConvConstraints? constraints = null)
    {
        var search = Prepare(input, output, constraints);
        return Walk(search);
    }

    /// <summary>
    /// How many configurations <see cref="Solve"/> would list, without listing them: in floor mode each (k, s, d)
    /// contributes the length of its padding interval, so the cost is O(MaxKernel · MaxStride · MaxDilation) time and
    /// O(1) memory whatever the count.
    /// </summary>
    /// <param name="input">Input shape (C, H, W).</param>
    /// <param name="output">Wanted output shape (C, H, W).</param>
    /// <param name="constraints">Fixed values and bounds; null for none.</param>
    /// <returns>The number of configurations.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Solve"/>.</exception>
    public static long Count(FeatureShape input, FeatureShape output, ConvConstraints? constraints = null)
    {
        var q = Prepare(input, output, constraints);
        long total = 0;
        for (int k = q.KLo; k <= q.KHi; k++)
        {
            var (dLo, dHi) = q.Dilations(k);
            for (int s = q.SLo; s <= q.SHi; s++)
                for (int d = dLo; d <= dHi; d++)
                {
                    if (!q.Candidates(k, s, d, out int lo, out int hi)) continue;
                    if (!q.C.CeilMode) { total += hi - lo + 1L; continue; } // floor mode: the interval is exact
                    for (int p = lo; p <= hi; p++)
                        if (q.Fits(k, s, p, d)) total++;
                }
        }
        return total;
    }

    private static IEnumerable<ConvConfig> Walk(Search q)
    {
        var block = new List<ConvConfig>();
        for (int k = q.KLo; k <= q.KHi; k++)
        {
            var (dLo, dHi) = q.Dilations(k);
            for (int s = q.SLo; s <= q.SHi; s++)
            {
                block.Clear();
                for (int d = dLo; d <= dHi; d++)
                {
                    if (!q.Candidates(k, s, d, out int lo, out int hi)) continue;
                    for (int p = lo; p <= hi; p++)
                        if (q.Fits(k, s, p, d)) block.Add(new ConvConfig(k, s, p, d)); // every candidate re-checked by the formula
                }
                // The loops run k, s, d, p; order this (k, s) block by p, then d.
                if (block.Count > 1) block.Sort(ByPaddingThenDilation);
                foreach (var c in block) yield return c;
            }
        }
    }

    private static Search Prepare(FeatureShape input, FeatureShape output, ConvConstraints? constraints)
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
        var (kLo, kHi) = Span(c.Kernel, 1, maxKernel);
        var (sLo, sHi) = Span(c.Stride, 1, maxStride);
        return new Search(input, output, c, rule, kLo, kHi, sLo, sHi, maxDilation);
    }

    /// <summary>The checked search space of one question, shared by <see cref="Count"/> and <see cref="Enumerate"/>.</summary>
    private sealed record Search(FeatureShape Input, FeatureShape Output, ConvConstraints C, PaddingRule Rule,
        int KLo, int KHi, int SLo, int SHi, int MaxDilation)
    {
        /// <summary>A 1-wide kernel has no gaps to dilate: d = 1 only, unless the caller fixed d.</summary>
        public (int Lo, int Hi) Dilations(int k) => k == 1 && C.Dilation is null ? (1, 1) : Span(C.Dilation, 1, MaxDilation);

        /// <summary>
        /// The paddings worth trying for (k, s, d): in floor mode exactly those that give the wanted size on both axes,
        /// in ceil mode every allowed padding. False when there are none.
        /// </summary>
        public bool Candidates(int k, int s, int d, out int lo, out int hi)
        {
            long e = (long)d * (k - 1) + 1;
            lo = 0; hi = -1;
            if (C.NonOverlapping && s != e) return false;
            long pMax = C.Padding ?? BoundLong(Rule, k, d);
            if (C.Pool) pMax = Math.Min(pMax, k / 2); // PyTorch's hard rule, even for a fixed padding
            long pMin = C.Padding ?? 0;
            if (!C.CeilMode)
            {
                pMin = Math.Max(pMin, Math.Max(LowestPadding(Input.Height, Output.Height, e, s), LowestPadding(Input.Width, Output.Width, e, s)));
                pMax = Math.Min(pMax, Math.Min(HighestPadding(Input.Height, Output.Height, e, s), HighestPadding(Input.Width, Output.Width, e, s)));
            }
            if (pMin > pMax) return false;
            lo = (int)pMin;
            hi = (int)Math.Min(pMax, int.MaxValue);
            return true;
        }

        public bool Fits(int k, int s, int p, int d) =>
            Maps(Input.Height, Output.Height, k, s, p, d, C.CeilMode) && Maps(Input.Width, Output.Width, k, s, p, d, C.CeilMode);
    }

    /// <summary>The padding bound of a <see cref="PaddingRule"/> for kernel k and dilation d.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="kernel">Kernel size k.</param>
    /// <param name="dilation">Dilation d.</param>
    /// <returns>d·(k − 1), k − 1 or ⌊k / 2⌋.</returns>
    public static int Bound(PaddingRule rule, int kernel, int dilation) => (int)Math.Min(BoundLong(rule, kernel, dilation), int.MaxValue);

    private static long BoundLong(PaddingRule rule, int kernel, int dilation) => rule switch
    {
        PaddingRule.EffectiveKernel => (long)dilation * (kernel - 1),
        PaddingRule.Kernel => kernel - 1,
        PaddingRule.HalfKernel => kernel / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown PaddingRule."),
    };

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
