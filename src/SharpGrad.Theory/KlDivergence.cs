using SharpGrad.NN;

namespace SharpGrad.Theory;

/// <summary>KL divergence between two count vectors (seed 004 Q3), differentiable in both through the normalisation.</summary>
public static class KlDivergence
{
    /// <summary>
    /// KL(p‖q) = Σ p_i log(p_i / q_i) for two count (or weight) vectors, each normalised to sum to 1 first, natural log.
    /// Terms with p_i = 0 are 0 (the convention 0 · log 0 = 0); a q_i of 0 where p_i &gt; 0 gives +∞. Counts as large as
    /// 1e308 are normalised without overflow.
    /// </summary>
    /// <param name="pCounts">The counts P, 1-D, non-negative.</param>
    /// <param name="qCounts">The counts Q, the same shape.</param>
    /// <returns>The scalar KL(p‖q), recorded for autograd.</returns>
    /// <exception cref="ArgumentException">The shapes differ or are not 1-D.</exception>
    public static Tensor FromCounts(Tensor pCounts, Tensor qCounts)
    {
        ArgumentNullException.ThrowIfNull(pCounts);
        ArgumentNullException.ThrowIfNull(qCounts);
        if (pCounts.Rank != 1 || qCounts.Rank != 1 || pCounts.ShapeRef[0] != qCounts.ShapeRef[0])
            throw new ArgumentException($"KlDivergence.FromCounts: expected two 1-D count vectors of the same length; got {Shapes.Format(pCounts.ShapeRef)} and {Shapes.Format(qCounts.ShapeRef)}.");
        var p = Normalise(pCounts);
        var q = Normalise(qCounts);
        // 0 · log 0 = 0: where p_i = 0 the term is 0 whatever q_i is, even 0 (log q_i would be −∞ and 0 · ∞ NaN), so
        // log q_i is read there as log(q_i + 1), finite and multiplied by 0; its gradient −p_i / (q_i + 1) is 0 as well.
        return Functional.KlDiv((q + p.Eq(0)).Log(), p, Reduction.Sum);
    }

    /// <summary>c / Σ c, computed as (c / max c) / Σ (c / max c) so that a sum beyond the double range cannot turn every share into 0.</summary>
    private static Tensor Normalise(Tensor counts)
    {
        var scaled = counts / counts.Max().Detach(); // the same function of c (max is a positive constant here), no overflow in the sum
        return scaled / scaled.Sum();
    }
}

/// <summary>The float64 gradient checks of the differentiable constructions here, for the test suite and <c>sharpgrad gradcheck</c>.</summary>
public static class TheoryGradCheckSuite
{
    /// <summary>The cases, with fixed seeded inputs.</summary>
    /// <returns>One case per construction and configuration.</returns>
    public static IReadOnlyList<GradCheckCase> Cases()
    {
        var g = new Generator(2718UL);
        Tensor Between(double lo, double hi, params int[] s) => Tensor.Uniform(s, lo, hi, g, DType.Float64);
        Tensor N(params int[] s) => Tensor.Randn(s, g, DType.Float64);
        return
        [
            new("KlDivergence.FromCounts", "[4] · [4]", x => KlDivergence.FromCounts(x[0], x[1]), [Between(1, 5, 4), Between(1, 5, 4)]),
            new("Signal.Convolve (full)", "[5] · [3]", x => Signal.Convolve(x[0], x[1], ConvMode.Full), [N(5), N(3)]),
            new("Signal.Convolve (same, kernel longer)", "[3] · [5]", x => Signal.Convolve(x[0], x[1], ConvMode.Same), [N(3), N(5)]),
        ];
    }
}
