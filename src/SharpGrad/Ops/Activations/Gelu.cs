using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;
using static SharpGrad.GeluVector;
using F = SharpGrad.NN.Functional;

namespace SharpGrad
{
    /// <summary>Which form of GELU to compute (PyTorch: <c>approximate='none'|'tanh'</c>).</summary>
    public enum GeluApproximation
    {
        /// <summary>The exact <c>x · Φ(x)</c>, with Φ the standard normal distribution function.</summary>
        None,
        /// <summary>The tanh approximation <c>x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))</c> of GPT-2 and BERT.</summary>
        Tanh,
    }

    public sealed partial class Tensor
    {
        /// <summary>
        /// The Gaussian error linear unit, elementwise (PyTorch: <c>gelu</c>; Hendrycks and Gimpel, 2016):
        /// <c>GELU(x) = x · Φ(x) = x/2 · (1 + erf(x/√2))</c>, or its tanh approximation.
        /// The derivative is <c>Φ(x) + x · φ(x)</c> (exact form), φ the standard normal density.
        /// </summary>
        /// <remarks>
        /// The backward is one fused pass (<c>g · GELU'(x)</c>), first order only: a double backward through GELU is
        /// refused with a message rather than computed.
        /// </remarks>
        public Tensor Gelu(GeluApproximation approximate = GeluApproximation.None)
        {
            if (approximate == GeluApproximation.Tanh)
            {
                var yt = Map1<GeluTanhFunction>(this, nameof(Gelu));
                return Autograd.Record(yt, "GeluBackward", [this], g => [Map3<GeluTanhGradFunction>(g, this, this, nameof(Gelu))], differentiableBackward: false,
                    attributes: new GeluAttributes(GeluApproximation.Tanh));
            }
            return GeluVector.OneExponential ? GeluExact<GeluOneExp>(this) : GeluExact<GeluTwoExp>(this);
        }

        /// <summary>Exact GELU and its backward with the float32 evaluation <typeparamref name="TForm"/>.</summary>
        private static Tensor GeluExact<TForm>(Tensor x) where TForm : IGeluForm
        {
            var y = Map1Split<GeluFunction<TForm>>(x, nameof(Gelu));
            return Autograd.Record(y, "GeluBackward", [x], g => [Map3Split<GeluGradFunction<TForm>>(g, x, x, nameof(Gelu))], differentiableBackward: false,
                attributes: new GeluAttributes(GeluApproximation.None));
        }
    }

    /// <summary>
    /// Exact GELU, <c>x/2 · (1 + erf(x/√2))</c>. Float64 is computed element by element with <see cref="ErfFunction.Erf"/>
    /// (also in the vector bodies, lane by lane), so float64 results and gradient checks keep full precision. Float32
    /// is vectorised with <typeparamref name="TForm"/> (<see cref="GeluOneExp"/> unless switched off for comparison),
    /// relative error a few units in the last place, float32's own precision.
    /// </summary>
    internal readonly struct GeluFunction<TForm> : IUnaryFunction where TForm : IGeluForm
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) // the vector formula in one lane, so a span's tail agrees with its body
                return GeluVector.FirstLane<T, GeluFunction<TForm>>(x);
            double v = double.CreateTruncating(x);
            return T.CreateTruncating(0.5 * v * (1 + ErfFunction.Erf(v * 0.7071067811865476)));
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<TV, T, GeluFunction<TForm>>(x);
            return TForm.Value<TV, T>(x);
        }
    }

    /// <summary>Exact GELU's backward, <c>g · (Φ(x) + x · φ(x))</c>, from (g, x, x); vectorised as <see cref="GeluFunction{TForm}"/>.</summary>
    internal readonly struct GeluGradFunction<TForm> : ITernaryFunction where TForm : IGeluForm
    {
        public static T Apply<T>(T g, T x, T unused) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float))
                return g * GeluVector.FirstLane<T, GeluDerivative<TForm>>(x);
            double v = double.CreateTruncating(x);
            double cdf = 0.5 * (1 + ErfFunction.Erf(v * 0.7071067811865476));
            double pdf = 0.3989422804014327 * Math.Exp(-0.5 * v * v);
            return g * T.CreateTruncating(cdf + v * pdf);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<TV, T>(TV g, TV x, TV u) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return g * GeluVector.PerLane<TV, T, GeluDerivative<TForm>>(x);
            return g * TForm.Derivative<TV, T>(x);
        }
    }

    /// <summary>
    /// GELU'(x) = Φ(x) + x · φ(x): in double, lane by lane, for the float64 path of <see cref="GeluGradFunction{TForm}"/>;
    /// for float32 with <typeparamref name="TForm"/> (its scalar form, one vector lane, so tails agree with bodies).
    /// </summary>
    internal readonly struct GeluDerivative<TForm> : IUnaryFunction where TForm : IGeluForm
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) return GeluVector.FirstLane<T, GeluDerivative<TForm>>(x);
            return GeluGradFunction<TForm>.Apply(T.One, x, x);
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<TV, T, GeluDerivative<TForm>>(x);
            return TForm.Derivative<TV, T>(x);
        }
    }

    /// <summary>
    /// One float32 vector evaluation of exact GELU and GELU' (called with T = float only; float64 keeps the exact scalar
    /// erf). <see cref="Value{TV, T}"/>, <see cref="Derivative{TV, T}"/> and the fused forms give the same bits for the
    /// same input, so a GEMM epilogue that keeps GELU' agrees with the elementwise op and its backward.
    /// </summary>
    internal interface IGeluForm
    {
        /// <summary>GELU(x).</summary>
        static abstract TV Value<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
        /// <summary>GELU'(x).</summary>
        static abstract TV Derivative<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
        /// <summary>GELU(x), with GELU'(x) in <paramref name="derivative"/>, sharing their common part.</summary>
        static abstract TV ValueAndDerivative<TV, T>(TV x, out TV derivative) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
        /// <summary><see cref="ValueAndDerivative{TV, T}"/> of two vectors with their steps interleaved (the same values).</summary>
        static abstract (TV Y0, TV Y1) ValueAndDerivative2<TV, T>(TV x0, TV x1, out TV derivative0, out TV derivative1)
            where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>;
    }

    /// <summary>
    /// Exact GELU and GELU' on float32 vectors with one exponential for both. With u = |x|, the density
    /// φ(u) = e^(−u²/2)/√(2π) and Mills' ratio M(u) = Φ(−u)/φ(u), the lower tail is Φ(−u) = φ(u) · M(u), so
    /// <c>GELU(x) = x − x·φ·M</c> (x ≥ 0) or <c>x·φ·M</c> (x &lt; 0) and <c>GELU'(x) = 1 + φ·(x − M)</c> or <c>φ·(x + M)</c>:
    /// φ is the exponential both need, and GELU' is then one multiply-add more. M is a polynomial S of degree 10 in
    /// t = 1/(1 + u/2), M ≈ t·S(t), fitted (tools/gelu/fit_mills.py) for minimax relative error over u in
    /// [0, <see cref="Clip"/>]: 6e-8 from the fit with float32 coefficients, 2.3e-7 with float32's rounding of t and of
    /// Horner's steps; one division, no second exponential, no erf. The tail is formed as x·φ times M, never as Φ alone,
    /// so GELU stays accurate in relative terms down to float32's smallest normal number (Φ itself is subnormal from
    /// x ≈ −12.94). x is clipped to ±<see cref="Clip"/> inside (e^(−u²/2) stays normal). +∞ gives +∞ with GELU' 1; below
    /// −Clip (−∞ included) both stay at their values at −Clip, GELU ≈ −5.8e-39 (subnormal) and GELU' ≈ −7.6e-38, where the
    /// exact ones are smaller still; ±0 give ±0 with GELU' 1/2; NaN gives NaN.
    /// </summary>
    internal readonly struct GeluOneExp : IGeluForm
    {
        /// <summary>|x| beyond which nothing changes in float32 but the tail's last subnormal bits: GELU(−13.2) is
        /// subnormal, GELU(13.2) is 13.2, and (13.2)²/2 is within <see cref="FloatExp.ExpInRange{TV, T}"/>'s range.</summary>
        internal const float Clip = 13.2f;
        private const float InvSqrt2Pi = 0.39894228f;
        // tools/gelu/fit_mills.py 0.5 10
        private const float P = 0.5f,
            S0 = 0.5000298f, S1 = 0.4991016f, S2 = 0.38645104f, S3 = 0.044473693f, S4 = 0.18376812f, S5 = -1.144741f,
            S6 = 1.0859778f, S7 = 0.0075376183f, S8 = -0.63245994f, S9 = 0.41081733f, S10 = -0.08764188f;

        /// <summary>
        /// x raised to −<see cref="Clip"/> (xl: still x for every x ≥ −Clip, +∞ and NaN included), xc = xl lowered to
        /// +Clip, the density φ(xc) and ±M(|xc|): +M for x ≥ +0, −M for x ≤ −0 (the sign bit decides, as in
        /// <see cref="Upper{TV, T}"/>, so −0 takes the lower-tail form, where it is exact too). Four vectors: a tuple of
        /// five was not kept in registers.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (TV Xl, TV Xc, TV Pdf, TV SignedM) Parts<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var xl = TV.Max(x, K<TV, T>(-Clip));
            var xc = TV.Min(xl, K<TV, T>(Clip));
            // e^(−x²/2) with x² = hi + lo split exactly (rounding x², up to 174 here, would be a relative error of up
            // to 4e-6): e^(−hi/2) · (1 − lo/2), the second factor folded into 1/√(2π).
            var hi = xc * xc;
            var lo = TV.FusedMultiplyAdd(xc, xc, -hi);
            var pdf = FloatExp.ExpInRange<TV, T>(hi * K<TV, T>(-0.5f)) * TV.FusedMultiplyAdd(lo, K<TV, T>(-0.5f * InvSqrt2Pi), K<TV, T>(InvSqrt2Pi));
            var t = TV.One / TV.FusedMultiplyAdd(TV.Abs(xc), K<TV, T>(P), TV.One);
            var s = TV.FusedMultiplyAdd(t, K<TV, T>(S10), K<TV, T>(S9));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S8));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S7));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S6));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S5));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S4));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S3));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S2));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S1));
            s = TV.FusedMultiplyAdd(t, s, K<TV, T>(S0));
            return (xl, xc, pdf, TV.CopySign(t * s, xc));
        }

        /// <summary>1 for x ≥ +0 (the upper half, where Φ = 1 − φ·M), 0 for x ≤ −0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV Upper<TV, T>(TV xc) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var half = K<TV, T>(0.5f);
            return half + TV.CopySign(half, xc);
        }

        /// <summary>GELU from the parts: <c>x − (xc·φ)·M</c> or <c>(xc·φ)·M</c>, the first term xl·u: x, or a zero of x's
        /// sign (xl, not xc: +∞ stays +∞; not x: −∞ · 0 would be NaN).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV ValueOf<TV, T>(TV xl, TV xc, TV pdf, TV signedM, TV upper) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
            TV.FusedMultiplyAdd(-(xc * pdf), signedM, xl * upper);

        /// <summary>GELU' from the parts: <c>φ·(xc − M) + 1</c> or <c>φ·(xc + M) + 0</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV DerivativeOf<TV, T>(TV xc, TV pdf, TV signedM, TV upper) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
            TV.FusedMultiplyAdd(pdf, xc - signedM, upper);

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Value<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (xl, xc, pdf, m) = Parts<TV, T>(x);
            return ValueOf<TV, T>(xl, xc, pdf, m, Upper<TV, T>(xc));
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Derivative<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (_, xc, pdf, m) = Parts<TV, T>(x);
            return DerivativeOf<TV, T>(xc, pdf, m, Upper<TV, T>(xc));
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV ValueAndDerivative<TV, T>(TV x, out TV derivative) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (xl, xc, pdf, m) = Parts<TV, T>(x);
            var u = Upper<TV, T>(xc);
            derivative = DerivativeOf<TV, T>(xc, pdf, m, u);
            return ValueOf<TV, T>(xl, xc, pdf, m, u);
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (TV Y0, TV Y1) ValueAndDerivative2<TV, T>(TV x0, TV x1, out TV derivative0, out TV derivative1)
            where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (xl0, xc0, pdf0, m0) = Parts<TV, T>(x0);
            var (xl1, xc1, pdf1, m1) = Parts<TV, T>(x1);
            var (u0, u1) = (Upper<TV, T>(xc0), Upper<TV, T>(xc1));
            derivative0 = DerivativeOf<TV, T>(xc0, pdf0, m0, u0);
            derivative1 = DerivativeOf<TV, T>(xc1, pdf1, m1, u1);
            return (ValueOf<TV, T>(xl0, xc0, pdf0, m0, u0), ValueOf<TV, T>(xl1, xc1, pdf1, m1, u1));
        }
    }

    /// <summary>
    /// The float32 GELU of sessions before 17, kept for comparison (<see cref="GeluVector.OneExponential"/> off): Φ(x) =
    /// erfc(−x/√2)/2 with erfc from the Chebyshev-fitted form <c>erfc(a) ≈ t · exp(−a² + P(t))</c>, <c>t = 1/(1 + a/2)</c>,
    /// a ≥ 0, whose fractional error is below 1.2e-7 for every a (Press et al., Numerical Recipes, §6.2, "erfcc"), and
    /// GELU' = Φ + x·φ with φ from a second exponential: two exponentials where both are needed.
    /// </summary>
    internal readonly struct GeluTwoExp : IGeluForm
    {
        private const float InvSqrt2 = 0.70710678f, InvSqrt2Pi = 0.39894228f;
        private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
            C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        public static TV Value<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            return x * PhiOfParts<TV, T>(x, t, p, hi, lo);
        }

        /// <summary>
        /// GELU'(x) = Φ(x) + x · φ(x), Φ as GELU itself computes it and φ from e^(−x²/2) with x² split exactly. Not
        /// inlined: with its two exponentials the body is large enough that, inlined into a map driver's loop, it ran out
        /// of the JIT's inlining budget and its small helpers became calls (8x slower).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static TV Derivative<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            return DerivativeOf<TV, T>(x, PhiOfParts<TV, T>(x, t, p, hi, lo), hi, lo);
        }

        /// <summary>
        /// GELU and GELU' sharing Φ(x): two exponentials for both. Inlined into its one caller's loop (the GEMM's GELU
        /// epilogue): as a call, its argument and both results went through unaligned 64-byte stack slots, and the
        /// epilogue ran at 4 ns an element against 1 ns for GELU alone.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV ValueAndDerivative<TV, T>(TV x, out TV derivative) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            var cdf = PhiOfParts<TV, T>(x, t, p, hi, lo);
            derivative = DerivativeOf<TV, T>(x, cdf, hi, lo);
            return x * cdf;
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (TV Y0, TV Y1) ValueAndDerivative2<TV, T>(TV x0, TV x1, out TV derivative0, out TV derivative1)
            where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t0, p0, hi0, lo0) = Parts<TV, T>(x0);
            var (t1, p1, hi1, lo1) = Parts<TV, T>(x1);
            var cdf0 = PhiOfParts<TV, T>(x0, t0, p0, hi0, lo0);
            var cdf1 = PhiOfParts<TV, T>(x1, t1, p1, hi1, lo1);
            derivative0 = DerivativeOf<TV, T>(x0, cdf0, hi0, lo0);
            derivative1 = DerivativeOf<TV, T>(x1, cdf1, hi1, lo1);
            return (x0 * cdf0, x1 * cdf1);
        }

        /// <summary>Φ(x) + x · φ(x) from Φ(x) and the split x² = hi + lo; one exponential.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        private static TV DerivativeOf<TV, T>(TV x, TV cdf, TV hi, TV lo) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var pdf = FloatExp.Exp<TV, T>(hi * K<TV, T>(-0.5f)) * (TV.One - lo * K<TV, T>(0.5f)) * K<TV, T>(InvSqrt2Pi); // e^(−x²/2)/√(2π)
            return cdf + x * pdf;
        }

        /// <summary>Φ from <see cref="Parts{TV, T}"/>, with one exponential.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        private static TV PhiOfParts<TV, T>(TV x, TV t, TV p, TV hi, TV lo) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            // p − x²/2 as s + err exactly (Knuth's two-sum), so its rounding (ulp of up to 85) is not an error of e^(…).
            var h = hi * K<TV, T>(-0.5f);
            var sum = p + h;
            var hb = sum - p;
            var err = (p - (sum - hb)) + (h - hb) - lo * K<TV, T>(0.5f);
            var half = K<TV, T>(0.5f) * t * FloatExp.Exp<TV, T>(sum) * (TV.One + err);
            return TV.ConditionalSelect(TV.LessThan(x, TV.Zero), half, TV.One - half);
        }

        /// <summary>t = 1/(1 + a/2) with a = |x|/√2, the erfc polynomial P(t), and x² split exactly as hi + lo (so that
        /// rounding x², up to 170 here, does not become a relative error of the tail).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        private static (TV T, TV P, TV Hi, TV Lo) Parts<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var a = TV.Abs(x) * K<TV, T>(InvSqrt2);
            var t = TV.One / (TV.One + a * K<TV, T>(0.5f));
            var p = TV.FusedMultiplyAdd(t, K<TV, T>(C9), K<TV, T>(C8));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C7));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C6));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C5));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C4));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C3));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C2));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C1));
            p = TV.FusedMultiplyAdd(t, p, K<TV, T>(C0));
            var hi = x * x;
            return (t, p, hi, TV.FusedMultiplyAdd(x, x, -hi));
        }
    }

    /// <summary>The choice of float32 GELU evaluation, and the lane helpers the exact GELU structs share.</summary>
    internal static class GeluVector
    {
        /// <summary>A constant in every lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        internal static TV K<TV, T>(float c) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
            TV.Create(T.CreateTruncating(c));

        /// <summary>
        /// Whether float32 exact GELU (the elementwise op, its backward and the GEMM's GELU epilogues alike) runs
        /// <see cref="GeluOneExp"/> (true, the default) or the earlier <see cref="GeluTwoExp"/>; the bench runner's
        /// <c>--gelu-one-exp 0|1</c> sets it, for comparison. The two differ in the last bits. Read when an op or a
        /// product starts, so a forward and its backward should run under one setting.
        /// </summary>
        internal static bool OneExponential = true;

        /// <summary>A scalar function applied lane by lane (the float64 path, which keeps the exact scalar erf).</summary>
        public static TV PerLane<TV, T, TOp>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
        {
            Span<T> lanes = stackalloc T[TV.Count];
            ref T first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(lanes);
            x.Store(ref first, 0);
            for (int i = 0; i < lanes.Length; i++) lanes[i] = TOp.Apply(lanes[i]);
            return TV.Load(ref first, 0);
        }

        /// <summary>The vector body of <typeparamref name="TOp"/> applied to one value (a span's scalar tail).</summary>
        public static T FirstLane<T, TOp>(T x) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
        {
            Span<T> lanes = stackalloc T[Vec128<T>.Count];
            lanes[0] = x;
            ref T first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(lanes);
            TOp.Apply<Vec128<T>, T>(Vec128<T>.Load(ref first, 0)).Store(ref first, 0);
            return lanes[0];
        }
    }

    /// <summary>
    /// Tanh-approximated GELU, vectorised. With <c>u = √(2/π)(x + 0.044715 x³)</c>, <c>x/2 (1 + tanh u)</c> is written
    /// <c>x · σ(2u) = x / (1 + e^(−2u))</c>, which needs one exponential and no tanh.
    /// </summary>
    internal readonly struct GeluTanhFunction : IUnaryFunction
    {
        internal const double K = 0.7978845608028654, C = 0.044715;

        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T u = T.CreateTruncating(K) * (x + T.CreateTruncating(C) * x * x * x);
            return x / (T.One + T.Exp(-(u + u)));
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var u = TV.Create(T.CreateTruncating(K)) * (x + TV.Create(T.CreateTruncating(C)) * x * x * x);
            return x / (TV.One + TV.Exp(-(u + u)));
        }
    }

    /// <summary>
    /// The tanh form's backward. With <c>s = σ(2u)</c> the output is <c>x · s</c> and its derivative
    /// <c>s + x · 2 s (1 − s) · u'</c>, <c>u' = √(2/π)(1 + 3 · 0.044715 x²)</c>.
    /// </summary>
    internal readonly struct GeluTanhGradFunction : ITernaryFunction
    {
        public static bool Vectorizable => false;
        public static T Apply<T>(T g, T x, T unused) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T k = T.CreateTruncating(GeluTanhFunction.K), c = T.CreateTruncating(GeluTanhFunction.C);
            T u = k * (x + c * x * x * x);
            T s = T.One / (T.One + T.Exp(-(u + u)));
            T du = k * (T.One + T.CreateTruncating(3) * c * x * x);
            return g * (s + x * (s + s) * (T.One - s) * du);
        }
        public static TV Apply<TV, T>(TV g, TV x, TV u) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
    }

    internal static partial class GradChecks
    {
        internal static readonly int Gelu = Register(nameof(Gelu), static c =>
        {
            foreach (var s in GradCheckBuilder.ElementwiseShapes)
            {
                c.Add(x => x[0].Gelu(), c.Normal(s));
                c.Add("tanh", x => x[0].Gelu(GeluApproximation.Tanh), c.Normal(s));
            }
            c.Add("functional", x => F.Gelu(x[0]), c.Normal(3, 4));
        });
    }
}

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>GELU, <see cref="Tensor.Gelu"/> (PyTorch: <c>torch.nn.functional.gelu</c>).</summary>
        public static Tensor Gelu(Tensor input, GeluApproximation approximate = GeluApproximation.None)
        {
            ArgumentNullException.ThrowIfNull(input);
            return input.Gelu(approximate);
        }
    }
}
