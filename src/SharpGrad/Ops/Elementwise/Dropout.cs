using System.Numerics;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Inverted dropout (PyTorch: <c>F.dropout</c>): in training, zeroes each element with probability p and scales the rest
        /// by 1/(1 − p), so evaluation needs no rescaling; the identity when not training or p = 0.
        /// </summary>
        /// <remarks>
        /// The result is <c>input · mask</c> with the mask a constant (0 or 1/(1 − p)), so the gradient is the upstream
        /// gradient times the same mask, through the multiplication's rule (double backward included).
        /// </remarks>
        public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1].");
            if (!training || p == 0) return input;
            if (p == 1) return input * 0.0;
            var mask = Tensor.Uninitialized(input.ShapeRef, input.DType);
            DTypeDispatch.Float(input.DType, new DropoutMask(mask, p, generator ?? Generator.Default), "Dropout");
            return input * mask;
        }
    }
}

namespace SharpGrad
{
    /// <summary>
    /// Fills a dropout mask with 0 (probability p) or 1/(1 − p): one draw per element, in order, so the mask does not
    /// depend on the dtype. A compiled step replays it as it is: the replay draws the next numbers of the same
    /// generator into the same mask, exactly as the eager step would.
    /// </summary>
    internal readonly struct DropoutMask(Tensor mask, double p, Generator generator) : IFloatKernel, ICapturedKernel
    {
        public void Declare(Capture capture) => capture.Writes(mask);

        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            Span<T> m = mask.Span<T>();
            T keep = T.CreateTruncating(1 / (1 - p));
            for (int i = 0; i < m.Length; i++) m[i] = generator.NextDouble() >= p ? keep : T.Zero;
        }
    }

    internal static partial class GradChecks
    {
        // A fresh generator per call: every evaluation of the finite differences draws the same mask.
        internal static readonly int Dropout = Register(nameof(Dropout), static c =>
        {
            c.Add("p 0.3", x => NN.Functional.Dropout(x[0], 0.3, true, new Generator(7)), c.Normal(4, 5));
            c.Add("p 0.5, 0-d", x => NN.Functional.Dropout(x[0], 0.5, true, new Generator(3)), c.Normal());
            c.Add("eval", x => NN.Functional.Dropout(x[0], 0.5, false), c.Normal(3));
            c.Add("p 1", x => NN.Functional.Dropout(x[0], 1.0), c.Normal(2, 3));
        });
    }
}
