using System.Numerics;
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

    /// <summary>Exact GELU, <c>x/2 · (1 + erf(x/√2))</c>; scalar only, as <see cref="ErfFunction"/> is.</summary>
    internal readonly struct GeluFunction : IUnaryFunction
    {
        public static bool Vectorizable => false;
        public static T Apply<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
        {
            double v = double.CreateTruncating(x);
            return T.CreateTruncating(0.5 * v * (1 + ErfFunction.Erf(v * 0.7071067811865476)));
        }
        public static TV Apply<TV, T>(TV x) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
    }

    /// <summary>Exact GELU's backward, <c>g · (Φ(x) + x · φ(x))</c>, from (g, x, x).</summary>
    internal readonly struct GeluGradFunction : ITernaryFunction
    {
        public static bool Vectorizable => false;
        public static T Apply<T>(T g, T x, T unused) where T : unmanaged, IFloatingPointIeee754<T>
        {
            double v = double.CreateTruncating(x);
            double cdf = 0.5 * (1 + ErfFunction.Erf(v * 0.7071067811865476));
            double pdf = 0.3989422804014327 * Math.Exp(-0.5 * v * v);
            return g * T.CreateTruncating(cdf + v * pdf);
        }
        public static TV Apply<TV, T>(TV g, TV x, TV u) where TV : struct, IVec<TV, T> where T : unmanaged, IFloatingPointIeee754<T> => throw new NotSupportedException();
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
