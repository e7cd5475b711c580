using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>Mean squared error (PyTorch: <c>F.mse_loss</c>): (x − y)² reduced. Shapes must match exactly.</summary>
        public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
        {
            SameShape(input, target, nameof(MseLoss));
            if (reduction is Reduction.Mean or Reduction.Sum && input.DType == target.DType && input.DType.IsFloatingPoint())
                return FusedMse(input, target, reduction == Reduction.Mean);
            var d = input - target;
            return Reduce(d * d, reduction, nameof(MseLoss));
        }

        /// <summary>
        /// Σ(x − y)² (divided by n for the mean) as one recorded op: the forward in one pass, and one backward rule, the
        /// fused gradient <see cref="MseGradient"/>, which records itself as a differentiable op under createGraph.
        /// </summary>
        private static Tensor FusedMse(Tensor input, Tensor target, bool mean)
        {
            double scale = mean ? 1.0 / input.Numel : 1.0;
            var loss = Tensor.Empty([], input.DType);
            DTypeDispatch.Float(input.DType, new MseForward(input, target, scale, loss), nameof(MseLoss));
            if (!Autograd.ShouldRecord(input, target)) return loss;
            return Autograd.Record(loss, "MseLossBackward", [input, target], g => MseGradient(input, target, g, 2 * scale));
        }

        /// <summary>
        /// c·g·(x − y) and its negative for the target, in one pass each; recorded (inputs x, y, g) when gradients are being
        /// recorded, with the rule ∂/∂x = c g G, ∂/∂y = −c g G, ∂/∂g = c Σ G (x − y).
        /// </summary>
        private static Tensor?[] MseGradient(Tensor input, Tensor target, Tensor g, double c)
        {
            Tensor? gx = input.RequiresGrad ? Tensor.Uninitialized(input.ShapeRef, input.DType) : null;
            Tensor? gt = target.RequiresGrad ? Tensor.Uninitialized(input.ShapeRef, input.DType) : null;
            DTypeDispatch.Float(input.DType, new MseBackward(input, target, g, c, gx, gt), nameof(MseLoss));
            Tensor? Recorded(Tensor? d, double sign) => d is null || !Autograd.IsGradEnabled ? d
                : Autograd.Record(d, "MseLossGradientBackward", [input, target, g], go =>
                [
                    input.RequiresGrad ? go * g * (sign * c) : null,
                    target.RequiresGrad ? go * g * (-sign * c) : null,
                    g.RequiresGrad ? ((input - target) * go).Sum().Reshape(g.ShapeRef) * (sign * c) : null,
                ]);
            return [Recorded(gx, 1), Recorded(gt, -1)];
        }

        private readonly struct MseForward(Tensor input, Tensor target, double scale, Tensor loss) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                capture.Reads(input);
                capture.Reads(target);
                capture.Writes(loss);
            }

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> x = input.Span<T>(), y = target.Span<T>();
                double s = 0; // accumulated in double
                for (int i = 0; i < x.Length; i++)
                {
                    double d = double.CreateTruncating(x[i] - y[i]);
                    s += d * d;
                }
                loss.Span<T>()[0] = T.CreateTruncating(s * scale);
            }
        }

        private readonly struct MseBackward(Tensor input, Tensor target, Tensor g, double c, Tensor? gx, Tensor? gt) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                capture.Reads(input);
                capture.Reads(target);
                capture.Reads(g);
                capture.Writes(gx);
                capture.Writes(gt);
            }

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> x = input.Span<T>(), y = target.Span<T>();
                T k = T.CreateTruncating(c * double.CreateTruncating(g.Span<T>()[0]));
                if (gx is not null)
                {
                    Span<T> dx = gx.Span<T>();
                    TensorPrimitives.Subtract(x, y, dx);
                    TensorPrimitives.Multiply(dx, k, dx);
                    if (gt is not null) TensorPrimitives.Negate(dx, gt.Span<T>());
                }
                else if (gt is not null)
                {
                    Span<T> dt = gt.Span<T>();
                    TensorPrimitives.Subtract(y, x, dt);
                    TensorPrimitives.Multiply(dt, k, dt);
                }
            }
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int MseLoss = Register(nameof(MseLoss), static c =>
        {
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
                c.Add($"{r}", x => NN.Functional.MseLoss(x[0], x[1], r), c.Normal(3, 4), c.Normal(3, 4));
            c.Add("0-d", x => NN.Functional.MseLoss(x[0], x[1]), c.Normal(), c.Normal());
            c.Add("gradient", x =>
            {
                using var _ = Autograd.EnableGrad(); // the finite differences run under NoGrad; the gradient needs the tape
                return (Autograd.Grad(NN.Functional.MseLoss(x[0] * x[0], x[1]), [x[0], x[1]], createGraph: true)[0] * x[1]).Sum();
            },
                c.Normal(2, 3), c.Normal(2, 3));
        });
    }
}
