using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;
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
            var y = Map1<GeluFunction>(this, nameof(Gelu));
            return Autograd.Record(y, "GeluBackward", [this], g => [Map3<GeluGradFunction>(g, this, this, nameof(Gelu))], differentiableBackward: false,
                attributes: new GeluAttributes(GeluApproximation.None));
        }
    }

    /// <summary>
    /// Exact GELU, <c>x/2 · (1 + erf(x/√2))</c>. Float64 is computed element by element with <see cref="ErfFunction.Erf"/>
    /// (also in the vector bodies, lane by lane), so float64 results and gradient checks keep full precision. Float32
    /// is vectorised with <see cref="GeluVector"/>'s normal distribution function, relative error about 1e-7, float32's
    /// own precision (PyTorch's vectorised float erf is of the same order).
    /// </summary>
    internal readonly struct GeluFunction : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) // the vector formula in one lane, so a span's tail agrees with its body
                return T.CreateTruncating(Apply(Vector128.Create(float.CreateTruncating(x))).ToScalar());
            double v = double.CreateTruncating(x);
            return T.CreateTruncating(0.5 * v * (1 + ErfFunction.Erf(v * 0.7071067811865476)));
        }
        public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<T, GeluFunction>(x);
            var v = x.AsSingle();
            return (v * GeluVector.Phi(v)).As<float, T>();
        }
        public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<T, GeluFunction>(x);
            var v = x.AsSingle();
            return (v * GeluVector.Phi(v)).As<float, T>();
        }
        public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<T, GeluFunction>(x);
            var v = x.AsSingle();
            return (v * GeluVector.Phi(v)).As<float, T>();
        }
    }

    /// <summary>Exact GELU's backward, <c>g · (Φ(x) + x · φ(x))</c>, from (g, x, x); vectorised as <see cref="GeluFunction"/>.</summary>
    internal readonly struct GeluGradFunction : ITernaryFunction
    {
        public static T Apply<T>(T g, T x, T unused) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float))
                return T.CreateTruncating(Apply(Vector128.Create(float.CreateTruncating(g)), Vector128.Create(float.CreateTruncating(x)), default).ToScalar());
            double v = double.CreateTruncating(x);
            double cdf = 0.5 * (1 + ErfFunction.Erf(v * 0.7071067811865476));
            double pdf = 0.3989422804014327 * Math.Exp(-0.5 * v * v);
            return g * T.CreateTruncating(cdf + v * pdf);
        }
        public static Vector128<T> Apply<T>(Vector128<T> g, Vector128<T> x, Vector128<T> u) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return g * GeluVector.PerLane<T, GeluDerivative>(x);
            var v = x.AsSingle();
            var cdf = GeluVector.Phi(v, out var pdf);
            return (g.AsSingle() * (cdf + v * pdf)).As<float, T>();
        }
        public static Vector256<T> Apply<T>(Vector256<T> g, Vector256<T> x, Vector256<T> u) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return g * GeluVector.PerLane<T, GeluDerivative>(x);
            var v = x.AsSingle();
            var cdf = GeluVector.Phi(v, out var pdf);
            return (g.AsSingle() * (cdf + v * pdf)).As<float, T>();
        }
        public static Vector512<T> Apply<T>(Vector512<T> g, Vector512<T> x, Vector512<T> u) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return g * GeluVector.PerLane<T, GeluDerivative>(x);
            var v = x.AsSingle();
            var cdf = GeluVector.Phi(v, out var pdf);
            return (g.AsSingle() * (cdf + v * pdf)).As<float, T>();
        }
    }

    /// <summary>GELU'(x) = Φ(x) + x · φ(x), scalar, in double: the per-lane float64 path of <see cref="GeluGradFunction"/>.</summary>
    internal readonly struct GeluDerivative : IUnaryFunction
    {
        public static bool Vectorizable => false;
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => GeluGradFunction.Apply(T.One, x, x);
        public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
    }

    /// <summary>
    /// The standard normal distribution function Φ and density φ on float32 vectors, for exact GELU. Φ(x) = erfc(−x/√2)/2
    /// with erfc from the Chebyshev-fitted form <c>erfc(a) ≈ t · exp(−a² + P(t))</c>, <c>t = 1/(1 + a/2)</c>, a ≥ 0, whose
    /// fractional error is below 1.2e-7 for every a (Press et al., Numerical Recipes, §6.2, "erfcc"), so Φ stays
    /// accurate in relative terms deep in the negative tail, where GELU's output is tiny; Φ(x) for x ≥ 0 is 1 − Φ(−x).
    /// </summary>
    internal static class GeluVector
    {
        private const float InvSqrt2 = 0.70710678f, InvSqrt2Pi = 0.39894228f;
        private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
            C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

        public static Vector512<float> Phi(Vector512<float> x, out Vector512<float> pdf)
        {
            var (t, p, hi, lo) = Parts(x);
            var g = Exp(hi * -0.5f) * (Vector512<float>.One - lo * 0.5f); // e^(−x²/2), x² = hi + lo exactly
            pdf = g * InvSqrt2Pi;
            var half = 0.5f * t * g * Exp(p); // erfc(|x|/√2)/2 = Φ(−|x|)
            return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), half, Vector512<float>.One - half);
        }

        /// <summary>Φ alone, with one exponential.</summary>
        public static Vector512<float> Phi(Vector512<float> x)
        {
            var (t, p, hi, lo) = Parts(x);
            // p − x²/2 as s + err exactly (Knuth's two-sum), so its rounding (ulp of up to 85) is not an error of e^(…).
            var h = hi * -0.5f;
            var sum = p + h;
            var hb = sum - p;
            var err = (p - (sum - hb)) + (h - hb) - lo * 0.5f;
            var half = 0.5f * t * Exp(sum) * (Vector512<float>.One + err);
            return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), half, Vector512<float>.One - half);
        }

        /// <summary>t = 1/(1 + a/2) with a = |x|/√2, the erfc polynomial P(t), and x² split exactly as hi + lo (so that
        /// rounding x², up to 170 here, does not become a relative error of the tail).</summary>
        private static (Vector512<float> T, Vector512<float> P, Vector512<float> Hi, Vector512<float> Lo) Parts(Vector512<float> x)
        {
            var a = Vector512.Abs(x) * InvSqrt2;
            var t = Vector512<float>.One / (Vector512<float>.One + a * 0.5f);
            var p = Vector512.FusedMultiplyAdd(t, Vector512.Create(C9), Vector512.Create(C8));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C7));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C6));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C5));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C4));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C3));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C2));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C1));
            p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(C0));
            var hi = x * x;
            return (t, p, hi, Vector512.FusedMultiplyAdd(x, x, -hi));
        }

        /// <summary>
        /// e^x for x ≤ 0 (all GELU needs), relative error about 1e-7: x = n ln 2 + r with |r| ≤ ln2/2 (ln 2 split in
        /// two for an exact n ln 2), e^r by its Taylor polynomial to degree 7, times 2^n built in the exponent bits.
        /// Arguments below −87.3 are clamped there (e^x below float32's smallest normal number is not needed).
        /// </summary>
        private static Vector512<float> Exp(Vector512<float> x)
        {
            x = Vector512.Max(x, Vector512.Create(-87.3f));
            var n = Vector512.Round(x * 1.44269504f);
            var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693145752f), x);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.42860677e-6f), r);
            var e = Vector512.FusedMultiplyAdd(r, Vector512.Create(1f / 5040), Vector512.Create(1f / 720));
            e = Vector512.FusedMultiplyAdd(r, e, Vector512.Create(1f / 120));
            e = Vector512.FusedMultiplyAdd(r, e, Vector512.Create(1f / 24));
            e = Vector512.FusedMultiplyAdd(r, e, Vector512.Create(1f / 6));
            e = Vector512.FusedMultiplyAdd(r, e, Vector512.Create(0.5f));
            e = Vector512.FusedMultiplyAdd(r, e, Vector512<float>.One);
            e = Vector512.FusedMultiplyAdd(r, e, Vector512<float>.One);
            var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
            return e * scale;
        }

        public static Vector256<float> Phi(Vector256<float> x, out Vector256<float> pdf)
        {
            var (t, p, hi, lo) = Parts(x);
            var g = Exp(hi * -0.5f) * (Vector256<float>.One - lo * 0.5f); // e^(−x²/2), x² = hi + lo exactly
            pdf = g * InvSqrt2Pi;
            var half = 0.5f * t * g * Exp(p); // erfc(|x|/√2)/2 = Φ(−|x|)
            return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), half, Vector256<float>.One - half);
        }

        /// <summary>Φ alone, with one exponential.</summary>
        public static Vector256<float> Phi(Vector256<float> x)
        {
            var (t, p, hi, lo) = Parts(x);
            // p − x²/2 as s + err exactly (Knuth's two-sum), so its rounding (ulp of up to 85) is not an error of e^(…).
            var h = hi * -0.5f;
            var sum = p + h;
            var hb = sum - p;
            var err = (p - (sum - hb)) + (h - hb) - lo * 0.5f;
            var half = 0.5f * t * Exp(sum) * (Vector256<float>.One + err);
            return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), half, Vector256<float>.One - half);
        }

        /// <summary>t = 1/(1 + a/2) with a = |x|/√2, the erfc polynomial P(t), and x² split exactly as hi + lo (so that
        /// rounding x², up to 170 here, does not become a relative error of the tail).</summary>
        private static (Vector256<float> T, Vector256<float> P, Vector256<float> Hi, Vector256<float> Lo) Parts(Vector256<float> x)
        {
            var a = Vector256.Abs(x) * InvSqrt2;
            var t = Vector256<float>.One / (Vector256<float>.One + a * 0.5f);
            var p = Vector256.FusedMultiplyAdd(t, Vector256.Create(C9), Vector256.Create(C8));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C7));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C6));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C5));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C4));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C3));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C2));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C1));
            p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(C0));
            var hi = x * x;
            return (t, p, hi, Vector256.FusedMultiplyAdd(x, x, -hi));
        }

        /// <summary>
        /// e^x for x ≤ 0 (all GELU needs), relative error about 1e-7: x = n ln 2 + r with |r| ≤ ln2/2 (ln 2 split in
        /// two for an exact n ln 2), e^r by its Taylor polynomial to degree 7, times 2^n built in the exponent bits.
        /// Arguments below −87.3 are clamped there (e^x below float32's smallest normal number is not needed).
        /// </summary>
        private static Vector256<float> Exp(Vector256<float> x)
        {
            x = Vector256.Max(x, Vector256.Create(-87.3f));
            var n = Vector256.Round(x * 1.44269504f);
            var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693145752f), x);
            r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-1.42860677e-6f), r);
            var e = Vector256.FusedMultiplyAdd(r, Vector256.Create(1f / 5040), Vector256.Create(1f / 720));
            e = Vector256.FusedMultiplyAdd(r, e, Vector256.Create(1f / 120));
            e = Vector256.FusedMultiplyAdd(r, e, Vector256.Create(1f / 24));
            e = Vector256.FusedMultiplyAdd(r, e, Vector256.Create(1f / 6));
            e = Vector256.FusedMultiplyAdd(r, e, Vector256.Create(0.5f));
            e = Vector256.FusedMultiplyAdd(r, e, Vector256<float>.One);
            e = Vector256.FusedMultiplyAdd(r, e, Vector256<float>.One);
            var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
            return e * scale;
        }

        public static Vector128<float> Phi(Vector128<float> x, out Vector128<float> pdf)
        {
            var (t, p, hi, lo) = Parts(x);
            var g = Exp(hi * -0.5f) * (Vector128<float>.One - lo * 0.5f); // e^(−x²/2), x² = hi + lo exactly
            pdf = g * InvSqrt2Pi;
            var half = 0.5f * t * g * Exp(p); // erfc(|x|/√2)/2 = Φ(−|x|)
            return Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), half, Vector128<float>.One - half);
        }

        /// <summary>Φ alone, with one exponential.</summary>
        public static Vector128<float> Phi(Vector128<float> x)
        {
            var (t, p, hi, lo) = Parts(x);
            // p − x²/2 as s + err exactly (Knuth's two-sum), so its rounding (ulp of up to 85) is not an error of e^(…).
            var h = hi * -0.5f;
            var sum = p + h;
            var hb = sum - p;
            var err = (p - (sum - hb)) + (h - hb) - lo * 0.5f;
            var half = 0.5f * t * Exp(sum) * (Vector128<float>.One + err);
            return Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), half, Vector128<float>.One - half);
        }

        /// <summary>t = 1/(1 + a/2) with a = |x|/√2, the erfc polynomial P(t), and x² split exactly as hi + lo (so that
        /// rounding x², up to 170 here, does not become a relative error of the tail).</summary>
        private static (Vector128<float> T, Vector128<float> P, Vector128<float> Hi, Vector128<float> Lo) Parts(Vector128<float> x)
        {
            var a = Vector128.Abs(x) * InvSqrt2;
            var t = Vector128<float>.One / (Vector128<float>.One + a * 0.5f);
            var p = Vector128.FusedMultiplyAdd(t, Vector128.Create(C9), Vector128.Create(C8));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C7));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C6));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C5));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C4));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C3));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C2));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C1));
            p = Vector128.FusedMultiplyAdd(t, p, Vector128.Create(C0));
            var hi = x * x;
            return (t, p, hi, Vector128.FusedMultiplyAdd(x, x, -hi));
        }

        /// <summary>
        /// e^x for x ≤ 0 (all GELU needs), relative error about 1e-7: x = n ln 2 + r with |r| ≤ ln2/2 (ln 2 split in
        /// two for an exact n ln 2), e^r by its Taylor polynomial to degree 7, times 2^n built in the exponent bits.
        /// Arguments below −87.3 are clamped there (e^x below float32's smallest normal number is not needed).
        /// </summary>
        private static Vector128<float> Exp(Vector128<float> x)
        {
            x = Vector128.Max(x, Vector128.Create(-87.3f));
            var n = Vector128.Round(x * 1.44269504f);
            var r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-0.693145752f), x);
            r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-1.42860677e-6f), r);
            var e = Vector128.FusedMultiplyAdd(r, Vector128.Create(1f / 5040), Vector128.Create(1f / 720));
            e = Vector128.FusedMultiplyAdd(r, e, Vector128.Create(1f / 120));
            e = Vector128.FusedMultiplyAdd(r, e, Vector128.Create(1f / 24));
            e = Vector128.FusedMultiplyAdd(r, e, Vector128.Create(1f / 6));
            e = Vector128.FusedMultiplyAdd(r, e, Vector128.Create(0.5f));
            e = Vector128.FusedMultiplyAdd(r, e, Vector128<float>.One);
            e = Vector128.FusedMultiplyAdd(r, e, Vector128<float>.One);
            var scale = Vector128.ShiftLeft(Vector128.ConvertToInt32(n) + Vector128.Create(127), 23).AsSingle();
            return e * scale;
        }

        /// <summary>A scalar function applied lane by lane (the float64 path, which keeps the exact scalar erf).</summary>
        public static Vector512<T> PerLane<T, TOp>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
        {
            Span<T> lanes = stackalloc T[Vector512<T>.Count];
            x.CopyTo(lanes);
            for (int i = 0; i < lanes.Length; i++) lanes[i] = TOp.Apply(lanes[i]);
            return Vector512.Create<T>(lanes);
        }

        /// <inheritdoc cref="PerLane{T, TOp}(Vector512{T})"/>
        public static Vector256<T> PerLane<T, TOp>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
        {
            Span<T> lanes = stackalloc T[Vector256<T>.Count];
            x.CopyTo(lanes);
            for (int i = 0; i < lanes.Length; i++) lanes[i] = TOp.Apply(lanes[i]);
            return Vector256.Create<T>(lanes);
        }

        /// <inheritdoc cref="PerLane{T, TOp}(Vector512{T})"/>
        public static Vector128<T> PerLane<T, TOp>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryFunction
        {
            Span<T> lanes = stackalloc T[Vector128<T>.Count];
            x.CopyTo(lanes);
            for (int i = 0; i < lanes.Length; i++) lanes[i] = TOp.Apply(lanes[i]);
            return Vector128.Create<T>(lanes);
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
        public static Vector128<T> Apply<T>(Vector128<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var u = Vector128.Create(T.CreateTruncating(K)) * (x + Vector128.Create(T.CreateTruncating(C)) * x * x * x);
            return x / (Vector128<T>.One + VMath.Exp(-(u + u)));
        }
        public static Vector256<T> Apply<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var u = Vector256.Create(T.CreateTruncating(K)) * (x + Vector256.Create(T.CreateTruncating(C)) * x * x * x);
            return x / (Vector256<T>.One + VMath.Exp(-(u + u)));
        }
        public static Vector512<T> Apply<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var u = Vector512.Create(T.CreateTruncating(K)) * (x + Vector512.Create(T.CreateTruncating(C)) * x * x * x);
            return x / (Vector512<T>.One + VMath.Exp(-(u + u)));
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
        public static Vector128<T> Apply<T>(Vector128<T> g, Vector128<T> x, Vector128<T> u) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static Vector256<T> Apply<T>(Vector256<T> g, Vector256<T> x, Vector256<T> u) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static Vector512<T> Apply<T>(Vector512<T> g, Vector512<T> x, Vector512<T> u) where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
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
