using System.Numerics;
using System.Runtime.CompilerServices;
using SharpGrad.Kernels;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>y = x Wᵀ + b with W of shape [out, in]; x is [..., in] (PyTorch: <c>F.linear</c>). Wᵀ is read in place.</summary>
        /// <remarks>
        /// When x, W and b share a floating-point dtype and b is [out] (or absent), the layer is one recorded op: the
        /// forward is one GEMM with the bias added in its epilogue. Its backward is dX = g W, dW = gᵀ x (two GEMMs, only
        /// for the operands that need a gradient) and db = Σ_rows g, written with recorded ops, so it can be
        /// differentiated again.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(weight);
            if (weight.Rank != 2) throw new ArgumentException($"Linear: the weight must be [out, in]; got {Shapes.Format(weight.ShapeRef)}.");
            if (input.Rank == 0 || input.ShapeRef[^1] != weight.ShapeRef[1])
                throw new ArgumentException($"Linear: the input's last dimension must be {weight.ShapeRef[1]} (weight {Shapes.Format(weight.ShapeRef)}); got input {Shapes.Format(input.ShapeRef)}.");
            if (FusesWith(input, weight, bias)) return LinearFused(input, weight, bias);
            var (x, w) = Tensor.Promote(input, weight, nameof(Linear));
            Tensor y = x.Rank == 1 ? Tensor.MatMulCore(x.Unsqueeze(0), w, false, true).Squeeze(0) : Tensor.MatMulCore(x, w, false, true);
            return bias is null ? y : y + bias;
        }

        /// <summary>
        /// <c>Relu(Linear(input, weight, bias))</c> as one op where the operands allow it, the ReLU applied in the GEMM's
        /// epilogue while each tile of the output is still in cache: what <see cref="Sequential"/> runs for a Linear layer
        /// followed by a ReLU layer. Same values as the two ops (NaN included); the pre-activation is never materialised.
        /// </summary>
        internal static Tensor LinearRelu(Tensor input, Tensor weight, Tensor? bias)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(weight);
            if (weight.Rank == 2 && input.Rank > 0 && input.ShapeRef[^1] == weight.ShapeRef[1] && FusesWith(input, weight, bias))
                return LinearFused(input, weight, bias, relu: true);
            return Linear(input, weight, bias).Relu();
        }

        private static bool FusesWith(Tensor x, Tensor w, Tensor? b) =>
            x.DType == w.DType && x.DType.IsFloatingPoint()
            && (b is null || (b.DType == x.DType && b.Rank == 1 && b.ShapeRef[0] == w.ShapeRef[0]));

        /// <summary>The one-op Linear for same-dtype operands and a bias of shape [out] (or none), optionally with the ReLU after it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static Tensor LinearFused(Tensor x, Tensor w, Tensor? b, bool relu = false)
        {
            int inF = w.ShapeRef[1], outF = w.ShapeRef[0];
            int rows = inF == 0 ? x.Numel == 0 ? 0 : Shapes.Numel(x.ShapeRef[..^1]) : x.Numel / inF;
            int[] outShape = [.. x.ShapeRef[..^1], outF];
            OpProfile.Mark("Linear forward: before");
            var y = Tensor.Uninitialized(outShape, x.DType);
            var act = relu ? GemmActivation.Relu : GemmActivation.None;
            if (x.DType == DType.Float32)
                LinearForward<float>(x.Span<float>(), w.Span<float>(), b is null ? default : b.Span<float>(), y.Span<float>(), rows, inF, outF, act);
            else
                LinearForward<double>(x.Span<double>(), w.Span<double>(), b is null ? default : b.Span<double>(), y.Span<double>(), rows, inF, outF, act);
            OpProfile.Mark("Linear forward: product, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (rows > 0 && outF > 0) Capture.Active?.Gemm(false, true, rows, outF, inF, x, w, y, b, act, nameof(Linear));
            if (!SharpGrad.Autograd.ShouldRecord(x, w) && (b is null || !SharpGrad.Autograd.ShouldRecord(b))) return y;
            Tensor[] inputs = b is null ? [x, w] : [x, w, b];
            if (!relu) return SharpGrad.Autograd.Record(y, "LinearBackward", inputs, g => LinearGrads(g, x, w, b, rows, inF, outF));
            // The ReLU's gradient mask comes from the output: y > 0 exactly where x Wᵀ + b > 0 (NaN in neither).
            return SharpGrad.Autograd.Record(y, "LinearReluBackward", inputs, g => LinearGrads(Tensor.ReluGrad(g, y), x, w, b, rows, inF, outF));
        }

        /// <summary><c>y = act(x Wᵀ + b)</c> on row-major spans, x [rows, in], W [out, in] (bias may be empty); every element of y is written.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void LinearForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int rows, int inF, int outF,
            GemmActivation activation) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (rows == 0 || outF == 0) return;
            Gemm.Multiply(false, true, rows, outF, inF, T.One, x, Math.Max(1, inF), w, Math.Max(1, inF), T.Zero, y, outF, bias, activation);
        }

        /// <summary>
        /// The layer's one backward rule: dX = g W, dW = gᵀ x and db = Σ_rows g, for the operands that need them. dX and
        /// dW are ops of their own (<see cref="LinearInputGrad"/>, <see cref="LinearWeightGrad"/>): one GEMM each,
        /// straight into the new gradient, and recorded, so the rule differentiates again.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static Tensor?[] LinearGrads(Tensor g, Tensor x, Tensor w, Tensor? b, int rows, int inF, int outF, Tensor? dx = null)
        {
            var grads = new Tensor?[b is null ? 2 : 3];
            // An LSTM layer's gate gradients come with their row sum (its db_hh): taken before anything else may read g.
            Tensor? db = b is not null && b.RequiresGrad ? SharedBiasGrad(g, b) : null;
            if (g.DType != x.DType) g = g.To(x.DType);
            var g2 = g.Rank == 2 ? g : g.Reshape(rows, outF);
            OpProfile.Mark("Linear backward: before");
            if (x.RequiresGrad)
            {
                grads[0] = dx ?? (x.Rank == 2 ? LinearInputGrad(g2, w, x.ShapeRef) : LinearInputGrad(g2, w).Reshape(x.ShapeRef));
            }
            OpProfile.Mark("Linear backward: dX, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (w.RequiresGrad) grads[1] = LinearWeightGrad(g2, x.Rank == 2 ? x : x.Reshape(rows, inF), w.ShapeRef);
            OpProfile.Mark("Linear backward: dW, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (b is not null && b.RequiresGrad) grads[2] = db ?? g2.Sum(0);
            OpProfile.Mark("Linear backward: db, out ", outF.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return grads;
        }

        /// <summary>
        /// <c>g W</c> for g [rows, out] and W [out, in]: Linear's input gradient, as an op. Its backward is
        /// <c>∂/∂g = gg Wᵀ</c> (a <see cref="Linear"/>) and <c>∂/∂W = gᵀ gg</c> (a <see cref="LinearWeightGrad"/>).
        /// <paramref name="shape"/>, when given, is [rows, in] (a caller's array, to allocate none).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static Tensor LinearInputGrad(Tensor g, Tensor w, int[]? shape = null)
        {
            int rows = g.ShapeRef[0], outF = w.ShapeRef[0], inF = w.ShapeRef[1];
            var dx = Tensor.Uninitialized(shape ?? [rows, inF], g.DType);
            if (rows > 0 && inF > 0)
            {
                if (g.DType == DType.Float32) Gemm.Multiply(false, false, rows, inF, outF, g.Span<float>(), w.Span<float>(), dx.Span<float>(), accumulate: false);
                else Gemm.Multiply(false, false, rows, inF, outF, g.Span<double>(), w.Span<double>(), dx.Span<double>(), accumulate: false);
                Capture.Active?.Gemm(false, false, rows, inF, outF, g, w, dx, null, GemmActivation.None, "LinearBackward");
            }
            return SharpGrad.Autograd.ShouldRecord(g, w) ? RecordLinearInputGrad(dx, g, w) : dx;
        }

        private static Tensor RecordLinearInputGrad(Tensor dx, Tensor g, Tensor w) =>
            SharpGrad.Autograd.Record(dx, "LinearInputGradBackward", [g, w], gg => [g.RequiresGrad ? Linear(gg, w) : null, w.RequiresGrad ? LinearWeightGrad(g, gg) : null]);

        /// <summary>
        /// <c>gᵀ x</c> for g [rows, out] and x [rows, in]: Linear's weight gradient, as an op. Its backward is
        /// <c>∂/∂g = x ggᵀ</c> (a <see cref="Linear"/> with gg as the weight) and <c>∂/∂x = g gg</c> (a
        /// <see cref="LinearInputGrad"/>). <paramref name="shape"/>, when given, is [out, in].
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static Tensor LinearWeightGrad(Tensor g, Tensor x, int[]? shape = null)
        {
            int rows = g.ShapeRef[0], outF = g.ShapeRef[1], inF = x.ShapeRef[1];
            var dw = Tensor.Uninitialized(shape ?? [outF, inF], g.DType);
            if (outF > 0 && inF > 0)
            {
                // rows = 0 is a GEMM with an empty inner dimension, which writes zeros.
                if (g.DType == DType.Float32) Gemm.Multiply(true, false, outF, inF, rows, g.Span<float>(), x.Span<float>(), dw.Span<float>(), accumulate: false);
                else Gemm.Multiply(true, false, outF, inF, rows, g.Span<double>(), x.Span<double>(), dw.Span<double>(), accumulate: false);
                Capture.Active?.Gemm(true, false, outF, inF, rows, g, x, dw, null, GemmActivation.None, "LinearBackward");
            }
            return SharpGrad.Autograd.ShouldRecord(g, x) ? RecordLinearWeightGrad(dw, g, x) : dw;
        }

        private static Tensor RecordLinearWeightGrad(Tensor dw, Tensor g, Tensor x) =>
            SharpGrad.Autograd.Record(dw, "LinearWeightGradBackward", [g, x], gg => [g.RequiresGrad ? Linear(x, gg) : null, x.RequiresGrad ? LinearInputGrad(g, gg) : null]);
    }
}

namespace SharpGrad
{
    using F = SharpGrad.NN.Functional;

    internal static partial class GradChecks
    {
        internal static readonly int Linear = Register(nameof(Linear), static c =>
        {
            foreach (var (xs, outF) in new[] { (new[] { 5 }, 3), (new[] { 1, 7 }, 4), (new[] { 4, 6 }, 5), (new[] { 2, 3, 4 }, 3) })
            {
                int inF = xs[^1];
                c.Add((Func<Tensor[], Tensor>)(x => F.Linear(x[0], x[1], x[2])), c.Normal(xs), c.Normal(outF, inF), c.Normal(outF));
                c.Add("no bias", x => F.Linear(x[0], x[1]), c.Normal(xs), c.Normal(outF, inF));
                c.Add("relu", x => F.LinearRelu(x[0], x[1], x[2]), c.Normal(xs), c.Normal(outF, inF), c.Normal(outF));
            }
            c.Add("bias [1, out]", x => F.Linear(x[0], x[1], x[2]), c.Normal(4, 6), c.Normal(5, 6), c.Normal(1, 5));
            // The gradient ops the rule is made of (what a double backward runs).
            c.Add("input grad", x => F.LinearInputGrad(x[0], x[1]), c.Normal(4, 3), c.Normal(3, 5));
            c.Add("weight grad", x => F.LinearWeightGrad(x[0], x[1]), c.Normal(4, 3), c.Normal(4, 5));
            // d/dW Σ (x Wᵀ + b)², recorded, then checked itself: the Hessian of a least-squares layer.
            c.Add("second order", x =>
            {
                using var _ = Autograd.EnableGrad(); // the finite differences call this under NoGrad
                var y = F.Linear(x[1], x[0], x[2]);
                return Autograd.Grad((y * y).Sum(), [x[0]], createGraph: true)[0];
            }, c.Normal(3, 4), c.Normal(5, 4), c.Normal(3));
        });
    }
}
