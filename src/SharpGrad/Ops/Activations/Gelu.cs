using System.Numerics;
using System.Runtime.CompilerServices;
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
            var y = Map1Split<GeluFunction>(this, nameof(Gelu));
            return Autograd.Record(y, "GeluBackward", [this], g => [Map3Split<GeluGradFunction>(g, this, this, nameof(Gelu))], differentiableBackward: false,
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
                return GeluVector.FirstLane<T, GeluFunction>(x);
            double v = double.CreateTruncating(x);
            return T.CreateTruncating(0.5 * v * (1 + ErfFunction.Erf(v * 0.7071067811865476)));
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<TV, T, GeluFunction>(x);
            return x * GeluVector.Phi<TV, T>(x);
        }
    }

    /// <summary>Exact GELU's backward, <c>g · (Φ(x) + x · φ(x))</c>, from (g, x, x); vectorised as <see cref="GeluFunction"/>.</summary>
    internal readonly struct GeluGradFunction : ITernaryFunction
    {
        public static T Apply<T>(T g, T x, T unused) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float))
                return g * GeluVector.FirstLane<T, GeluDerivative>(x);
            double v = double.CreateTruncating(x);
            double cdf = 0.5 * (1 + ErfFunction.Erf(v * 0.7071067811865476));
            double pdf = 0.3989422804014327 * Math.Exp(-0.5 * v * v);
            return g * T.CreateTruncating(cdf + v * pdf);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply<TV, T>(TV g, TV x, TV u) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return g * GeluVector.PerLane<TV, T, GeluDerivative>(x);
            return g * GeluVector.Derivative<TV, T>(x);
        }
    }

    /// <summary>
    /// GELU'(x) = Φ(x) + x · φ(x): in double, lane by lane, for the float64 path of <see cref="GeluGradFunction"/>; for
    /// float32 with <see cref="GeluVector"/>'s Φ and φ (its scalar form, one vector lane, so tails agree with bodies).
    /// </summary>
    internal readonly struct GeluDerivative : IUnaryFunction
    {
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) return GeluVector.FirstLane<T, GeluDerivative>(x);
            return GeluGradFunction.Apply(T.One, x, x);
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) != typeof(float)) return GeluVector.PerLane<TV, T, GeluDerivative>(x);
            return GeluVector.Derivative<TV, T>(x);
        }
    }

    /// <summary>
    /// The standard normal distribution function Φ and density φ on float32 vectors, for exact GELU. Φ(x) = erfc(−x/√2)/2
    /// with erfc from the Chebyshev-fitted form <c>erfc(a) ≈ t · exp(−a² + P(t))</c>, <c>t = 1/(1 + a/2)</c>, a ≥ 0, whose
    /// fractional error is below 1.2e-7 for every a (Press et al., Numerical Recipes, §6.2, "erfcc"), so Φ stays
    /// accurate in relative terms deep in the negative tail, where GELU's output is tiny; Φ(x) for x ≥ 0 is 1 − Φ(−x).
    /// Written once over <see cref="IVec{TSelf, T}"/>; called with T = float only (float64 keeps the exact scalar erf).
    /// </summary>
    internal static class GeluVector
    {
        private const float InvSqrt2 = 0.70710678f, InvSqrt2Pi = 0.39894228f;
        private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
            C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        private static TV K<TV, T>(float c) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> =>
            TV.Create(T.CreateTruncating(c));

        /// <summary>
        /// GELU'(x) = Φ(x) + x · φ(x), Φ as GELU itself computes it (<see cref="Phi{TV, T}"/>) and φ from e^(−x²/2) with x² split
        /// exactly. Not inlined: with its two exponentials the body is large enough that, inlined into a
        /// map driver's loop, it ran out of the JIT's inlining budget and its small helpers became calls (8x slower).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static TV Derivative<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            return DerivativeOf<TV, T>(x, PhiOfParts<TV, T>(x, t, p, hi, lo), hi, lo);
        }

        /// <summary>
        /// GELU(x) = x · Φ(x), with GELU'(x) in <paramref name="derivative"/>: the values <see cref="GeluFunction"/> and
        /// <see cref="Derivative{TV, T}"/> give (the same operations, bit for bit), sharing Φ(x): two exponentials for
        /// both. For a forward that keeps GELU' for its backward instead of x. Inlined into its one caller's loop
        /// (the GEMM's GELU epilogue): as a call, its argument and both results went through unaligned 64-byte stack
        /// slots, and the epilogue ran at 4 ns an element against 1 ns for GELU alone.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV ValueAndDerivative<TV, T>(TV x, out TV derivative) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            var cdf = PhiOfParts<TV, T>(x, t, p, hi, lo);
            derivative = DerivativeOf<TV, T>(x, cdf, hi, lo);
            return x * cdf;
        }

        /// <summary>
        /// <see cref="ValueAndDerivative{TV, T}"/> of two vectors, each step written for both before the next, so that
        /// the two chains of dependent operations overlap (the same operations per lane, the same values).
        /// </summary>
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

        /// <summary>Φ alone, with one exponential.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // one vector expression: a call would pass every vector through memory
        public static TV Phi<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (t, p, hi, lo) = Parts<TV, T>(x);
            return PhiOfParts<TV, T>(x, t, p, hi, lo);
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
