using SharpGrad.Kernels;
using Xunit.Abstractions;

namespace SharpGrad.Tests.Ops;

/// <summary>
/// Exact GELU in float32 runs a vectorised evaluation (<see cref="GeluOneExp"/>; <see cref="GeluTwoExp"/> before it, kept
/// for comparison); it must agree with a float64 reference to float32 precision, in relative terms, over the whole range
/// including the negative tail and the edge values.
/// </summary>
public class GeluFloat32Tests(ITestOutputHelper output)
{
    /// <summary>Φ in double, accurate in relative terms in both tails: erfc(|x|/√2)/2 by its continued fraction far out,
    /// by the Maclaurin series of erf near 0.</summary>
    private static double Phi(double x)
    {
        double a = Math.Abs(x) / Math.Sqrt(2), tail;
        if (a < 2.5)
        {
            double term = a, sum = a;
            for (int n = 1; n < 400 && term > sum * 1e-18; n++) { term *= 2 * a * a / (2 * n + 1); sum += term; }
            tail = 0.5 * (1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum);
        }
        else
        {
            double f = a;
            for (int k = 80; k >= 1; k--) f = a + k / 2.0 / f;
            tail = 0.5 * Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        }
        return x < 0 ? tail : 1 - tail;
    }
    private static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    /// <summary>2^-126, float32's smallest normal number, and 2^-23, its spacing at 1.</summary>
    private const float MinNormal = 1.17549435e-38f, Epsilon32 = 1.1920929e-7f;

    /// <summary>The spacing of float32 values at magnitude <paramref name="v"/> (2^-149 among subnormals).</summary>
    private static double Ulp(double v)
    {
        v = Math.Abs(v);
        if (v < MinNormal) return (double)float.Epsilon;
        return Math.Pow(2, Math.Floor(Math.Log2(v)) - 23);
    }

    private static (float[] Y, float[] D) Evaluate<TForm>(float[] x) where TForm : IGeluForm
    {
        var y = new float[x.Length];
        Map.Unary<float, GeluFunction<TForm>>(x, y);
        var ones = Enumerable.Repeat(1f, x.Length).ToArray();
        var d = new float[x.Length];
        Map.Ternary<float, GeluGradFunction<TForm>>(ones, x, x, d);
        return (y, d);
    }

    public static TheoryData<string> Forms => new() { nameof(GeluOneExp), nameof(GeluTwoExp) };

    private static (float[] Y, float[] D) Evaluate(string form, float[] x) =>
        form == nameof(GeluOneExp) ? Evaluate<GeluOneExp>(x) : Evaluate<GeluTwoExp>(x);

    [Theory]
    [MemberData(nameof(Forms))]
    public void Float32GeluAndGradientMatchFloat64AcrossTheRange(string form)
    {
        // Every length up to 70 (vector bodies and scalar tails), then a dense grid over [-10, 10]. (Further out the
        // output is below 1e-22 in magnitude; PyTorch's float32 GELU is already exactly 0 below about -5.9.)
        var grid = Enumerable.Range(0, 20001).Select(i => (float)(-10 + i * 0.001)).ToArray();
        for (int n = 1; n <= 70; n++) Check(form, grid.AsSpan(n * 250, n).ToArray(), 1e-6);
        Check(form, grid, 1e-6);
    }

    /// <summary>The largest errors of one evaluation over a sweep, against the float64 reference.</summary>
    private readonly record struct Errors(double GeluUlp, float GeluAt, double GeluRel, double DerivUlp, float DerivAt, double DerivRel)
    {
        public override string ToString() =>
            $"GELU max {GeluUlp:F2} ulp (x = {GeluAt:R}), relative {GeluRel:E2}; GELU' max {DerivUlp:F2} ulp of its scale (x = {DerivAt:R}), relative {DerivRel:E2}";
    }

    /// <summary>
    /// The largest errors over inputs at or above <paramref name="from"/>: for GELU where its exact value is normal
    /// (|GELU| ≥ 2^-126), relative to it and in its ulps; for GELU' where Φ + |x·φ| ≥ 1e-36, relative to that scale
    /// and in its ulps (GELU' crosses zero at x ≈ −0.75, where its terms cancel).
    /// </summary>
    private static Errors Measure(float[] x, float[] y, float[] d, double[] phi, double[] pdf, float from)
    {
        double worstY = 0, worstD = 0, relY = 0, relD = 0;
        float atY = float.NaN, atD = float.NaN;
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] < from) continue;
            double v = x[i], ey = v * phi[i], ed = phi[i] + v * pdf[i], scale = phi[i] + Math.Abs(v * pdf[i]);
            if (Math.Abs(ey) >= MinNormal)
            {
                double e = Math.Abs(y[i] - ey), u = e / Ulp(ey);
                relY = Math.Max(relY, e / Math.Abs(ey));
                if (u > worstY) (worstY, atY) = (u, x[i]);
            }
            if (scale >= 1e-36)
            {
                double e = Math.Abs(d[i] - ed), u = e / Ulp(scale);
                relD = Math.Max(relD, e / scale);
                if (u > worstD) (worstD, atD) = (u, x[i]);
            }
        }
        return new(worstY, atY, relY, worstD, atD, relD);
    }

    /// <summary>
    /// Every 293rd float32 from −14 to 14, both signs (about 7.5 million values: every exponent, the whole negative tail
    /// down to subnormal outputs, and past the clip at ±13.2): both evaluations within <see cref="Check"/>'s bound
    /// (relative 1e-6, plus 1e-37 absolute, float32's underflow), and the one-exponential form no worse than the
    /// two-exponential one in its largest relative error of GELU and of GELU' where the older form is meant to hold
    /// (x ≥ −12.9: below that its Φ, a factor of GELU, is subnormal and GELU loses relative precision; the new form
    /// keeps it to GELU's own underflow, checked separately). The figures are written to the test output.
    /// </summary>
    [Fact]
    public void DenseSweepOneExponentialIsNoWorseThanTwo()
    {
        var xs = new List<float>();
        for (int b = BitConverter.SingleToInt32Bits(14f); b >= 0; b -= 293) { xs.Add(BitConverter.Int32BitsToSingle(b)); xs.Add(-BitConverter.Int32BitsToSingle(b)); }
        var x = xs.ToArray();
        var phi = x.Select(v => Phi(v)).ToArray();
        var pdf = x.Select(v => Pdf(v)).ToArray();
        var (y1, d1) = Evaluate<GeluOneExp>(x);
        var (y2, d2) = Evaluate<GeluTwoExp>(x);
        foreach (var (form, y, d) in new[] { ("one exponential", y1, d1), ("two exponentials", y2, d2) })
            for (int i = 0; i < x.Length; i++)
            {
                double v = x[i], expected = v * phi[i], dExpected = phi[i] + v * pdf[i];
                Assert.True(Math.Abs(y[i] - expected) <= 1e-6 * Math.Abs(expected) + 1e-37, $"{form}: GELU({v:R}) = {y[i]:R}, expected {expected:R}");
                Assert.True(Math.Abs(d[i] - dExpected) <= 1e-6 * (phi[i] + Math.Abs(v * pdf[i])) + 1e-37, $"{form}: GELU'({v:R}) = {d[i]:R}, expected {dExpected:R}");
            }
        var one = Measure(x, y1, d1, phi, pdf, -12.9f);
        var two = Measure(x, y2, d2, phi, pdf, -12.9f);
        var oneAll = Measure(x, y1, d1, phi, pdf, float.NegativeInfinity);
        output.WriteLine($"{x.Length} inputs, x >= -12.9:");
        output.WriteLine($"  one exponential:  {one}");
        output.WriteLine($"  two exponentials: {two}");
        output.WriteLine($"all normal outputs, one exponential: {oneAll}");
        Assert.True(one.GeluRel <= two.GeluRel && one.DerivRel <= two.DerivRel, $"one exponential {one}; two {two}");
        // Down to GELU's own underflow at x ≈ −13.15, the new form holds its relative accuracy.
        Assert.True(oneAll.GeluRel <= 1e-6 && oneAll.DerivRel <= 1e-6, oneAll.ToString());
    }

    /// <summary>
    /// At every vector width, each evaluation's fused forms (GELU with GELU', one vector or two interleaved, as the GEMM
    /// epilogue runs them) give the same bits as <c>Value</c> and <c>Derivative</c> alone (what the elementwise op and
    /// its backward run), over values from beyond the negative clip to large positive ones and the edge values.
    /// </summary>
    [Fact]
    public void FusedFormsGiveTheBitsOfTheSeparateOnes()
    {
        var rng = new Random(7);
        var x = Enumerable.Range(0, 4096).Select(_ => (float)(rng.NextDouble() * 30 - 15))
            .Concat([0f, -0f, 1e-40f, -1e-40f, 13.2f, -13.2f, float.PositiveInfinity, float.NegativeInfinity, float.NaN]).ToArray();
        Compare<GeluOneExp, Vec128<float>>(x);
        Compare<GeluTwoExp, Vec128<float>>(x);
        if (Vec256<float>.IsAccelerated) { Compare<GeluOneExp, Vec256<float>>(x); Compare<GeluTwoExp, Vec256<float>>(x); }
        if (Vec512<float>.IsAccelerated) { Compare<GeluOneExp, Vec512<float>>(x); Compare<GeluTwoExp, Vec512<float>>(x); }
    }

    /// <summary>The bits of each value, every NaN as one (a NaN's sign and payload are not part of the result).</summary>
    private static int[] Bits(Span<float> v)
    {
        var bits = new int[v.Length];
        for (int i = 0; i < v.Length; i++) bits[i] = float.IsNaN(v[i]) ? int.MaxValue : BitConverter.SingleToInt32Bits(v[i]);
        return bits;
    }

    private static void Compare<TForm, TV>(float[] x) where TForm : IGeluForm where TV : struct, IVec<TV, float>
    {
        int w = TV.Count;
        var padded = x.Concat(new float[2 * w - x.Length % (2 * w)]).ToArray();
        for (int j = 0; j < padded.Length; j += 2 * w)
        {
            TV v0 = TV.Load(ref padded[j], 0), v1 = TV.Load(ref padded[j + w], 0);
            var y = new float[4 * w];
            TForm.Value<TV, float>(v0).Store(ref y[0], 0);
            TForm.Derivative<TV, float>(v0).Store(ref y[w], 0);
            TForm.ValueAndDerivative<TV, float>(v0, out var d).Store(ref y[2 * w], 0);
            d.Store(ref y[3 * w], 0);
            var (p0, p1) = TForm.ValueAndDerivative2<TV, float>(v0, v1, out var q0, out var q1);
            var z = new float[4 * w];
            p0.Store(ref z[0], 0);
            q0.Store(ref z[w], 0);
            p1.Store(ref z[2 * w], 0);
            q1.Store(ref z[3 * w], 0);
            var y1 = new float[2 * w];
            TForm.Value<TV, float>(v1).Store(ref y1[0], 0);
            TForm.Derivative<TV, float>(v1).Store(ref y1[w], 0);
            string what = $"{typeof(TForm).Name} width {w} at {j}";
            Assert.True(Bits(y.AsSpan(0, 2 * w)).AsSpan().SequenceEqual(Bits(y.AsSpan(2 * w, 2 * w))), what + ": ValueAndDerivative");
            Assert.True(Bits(y.AsSpan(0, 2 * w)).AsSpan().SequenceEqual(Bits(z.AsSpan(0, 2 * w))), what + ": ValueAndDerivative2, first vector");
            Assert.True(Bits(y1).AsSpan().SequenceEqual(Bits(z.AsSpan(2 * w, 2 * w))), what + ": ValueAndDerivative2, second vector");
        }
    }

    /// <summary>The edge values: signed zeros, subnormals, the clip and beyond, the largest floats, infinities, NaN.</summary>
    [Fact]
    public void EdgeValuesGiveTheLimits()
    {
        float tiny = float.Epsilon, sub = 1e-40f;
        float[] x = [0f, -0f, tiny, -tiny, sub, -sub, MinNormal, -MinNormal, 13.2f, -13.2f, 13.3f, -13.3f, 20f, -20f, 1e10f, -1e10f,
            float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN];
        var (y, d) = Evaluate<GeluOneExp>(x);
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            string at = $"x = {v:R}: GELU {y[i]:R}, GELU' {d[i]:R}";
            if (float.IsNaN(v)) { Assert.True(float.IsNaN(y[i]) && float.IsNaN(d[i]), at); continue; }
            if (v > 6) { Assert.True(y[i] == v && d[i] == 1f, at); continue; } // Φ rounds to 1, and x·φ is below 2^-24
            // Beyond −13.15 GELU is below 2^-126 in magnitude (its sign kept), GELU' below 1e-37 (see the sweep's bound).
            if (v < -13.1f) { Assert.True(Math.Abs(y[i]) <= MinNormal && y[i] <= 0 && Math.Abs(d[i]) <= 1e-37, at); continue; }
            // Around zero: GELU(x) = x/2 (the next term, x²/√(2π), is below half an ulp of x/2 here; a few subnormal
            // steps of rounding in the product x·φ), GELU'(x) = 1/2.
            Assert.True(Math.Abs(y[i] - v / 2) <= Math.Max(4.0 * float.Epsilon, Math.Abs(v) * Epsilon32), at);
            Assert.True(Math.Abs(d[i] - 0.5f) <= Epsilon32, at);
        }
        // Signed zeros keep their sign (x·Φ(x) with Φ(0) = 1/2).
        Assert.True(BitConverter.SingleToInt32Bits(y[0]) == 0 && BitConverter.SingleToInt32Bits(y[1]) == int.MinValue, $"GELU(±0) = {y[0]:R}, {y[1]:R}");
    }

    private static void Check(string form, float[] x, double bound)
    {
        var (y, d) = Evaluate(form, x);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i], phi = Phi(v), pdf = Pdf(v);
            // Independent reference in double: x·Φ(x) with Φ from the erf series/continued fraction, and Φ + x·φ.
            double expected = v * phi, dExpected = phi + v * pdf;
            Assert.True(Math.Abs(y[i] - expected) <= bound * Math.Abs(expected) + 1e-37, $"{form}: GELU({v:R}) = {y[i]:R}, expected {expected:R}");
            Assert.True(Math.Abs(d[i] - dExpected) <= bound * (phi + Math.Abs(v * pdf)) + 1e-37, $"{form}: GELU'({v:R}) = {d[i]:R}, expected {dExpected:R}");
        }
    }
}
