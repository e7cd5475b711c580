using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Batch normalisation over dimension 1 (PyTorch: <c>F.batch_norm</c>): in training, normalises with the batch's mean
        /// and biased variance and updates the running statistics (with the unbiased variance) by
        /// running = (1 − momentum)·running + momentum·batch; in evaluation, uses the running statistics. One fused op: its
        /// backward is first-order only, so a <c>createGraph</c> pass through it throws <see cref="NotSupportedException"/>
        /// (as for convolution and pooling).
        /// </summary>
        public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
            bool training = true, double momentum = 0.1, double eps = 1e-5)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.Rank < 2) throw new ArgumentException($"BatchNorm: expected input of shape [N, C, ...], got {Shapes.Format(input.ShapeRef)}.");
            return NormOps.BatchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps);
        }
    }
}

namespace SharpGrad
{
    /// <summary>
    /// Batch normalisation as one op (PyTorch: <c>batch_norm</c>; public as <see cref="NN.Functional.BatchNorm"/>): statistics, normalisation and the affine transform in two passes over the input, and
    /// a backward that needs two more — instead of a permute to channels-last and a dozen recorded element-wise ops, each
    /// with its own multi-megabyte output. Statistics are accumulated in double for float32 inputs too.
    /// </summary>
    internal static class NormOps
    {
        /// <summary>See <see cref="NN.Functional.BatchNorm"/>; the input is [N, C, *] and every other tensor [C].</summary>
        public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
            bool training, double momentum, double eps)
        {
            input.EnsureFloatingPoint("BatchNorm");
            int[] shape = input.ShapeRef;
            int n = shape[0], c = shape[1];
            int inner = n * c == 0 ? 0 : input.Numel / (n * c);
            CheckChannels(weight, c, "weight", input);
            CheckChannels(bias, c, "bias", input);
            CheckChannels(runningMean, c, "running mean", input);
            CheckChannels(runningVar, c, "running variance", input);
            long count = (long)n * inner;
            if (training && count < 2)
                throw new ArgumentException($"BatchNorm: training needs more than one value per channel; got input {Shapes.Format(shape)}.");
            if (!training && (runningMean is null || runningVar is null))
                throw new ArgumentException("BatchNorm: evaluation mode needs the running mean and variance.");
            if (weight is not null) weight = weight.To(input.DType);
            if (bias is not null) bias = bias.To(input.DType);

            var mean = new double[c];
            var invStd = new double[c];
            var y = Tensor.Uninitialized(shape, input.DType);
            DTypeDispatch.Float(input.DType, new ForwardKernel(input, weight, bias, runningMean, runningVar, momentum, eps, mean, invStd,
                training ? new double[c] : null, y, new Kernels.RangeWorkCache()), "BatchNorm");

            var inputs = new List<Tensor>(3) { input };
            if (weight is not null) inputs.Add(weight);
            if (bias is not null) inputs.Add(bias);
            Tensor x = input;
            Tensor? w = weight;
            bool hasBias = bias is not null;
            // The only rule: a fused two-pass kernel (the CNN epoch row of BENCHMARKS.md is built on it). It is first order;
            // differentiating it again is refused by the engine with a message naming BatchNormBackward.
            return Autograd.Record(y, "BatchNormBackward", inputs.ToArray(), gy =>
            {
                var gx = Tensor.Uninitialized(x.ShapeRef, x.DType);
                Tensor? gw = w is null ? null : Tensor.Uninitialized([c], x.DType);
                Tensor? gb = hasBias ? Tensor.Uninitialized([c], x.DType) : null;
                DTypeDispatch.Float(x.DType, new BackwardKernel(x, w, gy, training, n, c, inner, mean, invStd, gx, gw, gb, new Kernels.RangeWorkCache()), "BatchNorm");
                var grads = new List<Tensor?>(3) { gx };
                if (w is not null) grads.Add(gw);
                if (hasBias) grads.Add(gb);
                return grads.ToArray();
            }, differentiableBackward: false, attributes: new BatchNormAttributes(runningMean, runningVar, eps, training));
        }

        /// <summary>
        /// Statistics (in training, when <paramref name="variance"/> is given: the batch's, into it, which also update the running ones; in
        /// evaluation: the running ones), then y = (x − mean)·invStd·w + b; both passes split over channels. Recorded by a
        /// compiled step as it is: the running statistics are updated in place at every replay, and the parallel work of
        /// both passes is made once (in <paramref name="work"/>) so that a replay allocates nothing.
        /// </summary>
        private readonly struct ForwardKernel(Tensor x, Tensor? w, Tensor? b, Tensor? runningMean, Tensor? runningVar,
            double momentum, double eps, double[] mean, double[] invStd, double[]? variance, Tensor y, Kernels.RangeWorkCache work) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                capture.Reads(x);
                capture.Reads(w);
                capture.Reads(b);
                capture.Reads(runningMean);
                capture.Reads(runningVar);
                capture.Writes(y);
            }

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int n = x.ShapeRef[0], c = x.ShapeRef[1];
                int inner = n * c == 0 ? 0 : x.Numel / (n * c);
                if (work.First is null) (work.First, work.Second) = Passes<T>(x, w, b, y, n, c, inner, mean, invStd, variance);
                if (variance is not null) Kernels.RangeWork.Run(work.First, x.Numel);
                SetStatistics(mean, invStd, variance, runningMean, runningVar, momentum, eps, (long)n * inner);
                Kernels.RangeWork.Run(work.Second!, x.Numel);
            }

            // Outside Run, so that Run itself makes no closure object.
            private static (Kernels.RangeWork, Kernels.RangeWork) Passes<T>(Tensor xt, Tensor? wt, Tensor? bt, Tensor yt, int n, int c, int inner,
                double[] m, double[] s, double[]? variance) where T : unmanaged, IFloatingPointIeee754<T> =>
                (new(c, (c0, c1) => Statistics<T>(xt.Span<T>(), n, c, inner, m, variance!, c0, c1)),
                 new(c, (c0, c1) => Affine<T>(xt.Span<T>(), wt is null ? default : wt.Span<T>(), bt is null ? default : bt.Span<T>(), n, c, inner, m, s, yt.Span<T>(), c0, c1)));
        }

        /// <summary>
        /// invStd from the batch variance (and the running statistics updated with the unbiased one, as PyTorch does), or,
        /// without a batch variance (evaluation), mean and invStd from the running statistics.
        /// </summary>
        private static void SetStatistics(double[] mean, double[] invStd, double[]? variance, Tensor? runningMean, Tensor? runningVar,
            double momentum, double eps, long count)
        {
            for (int ch = 0; ch < mean.Length; ch++)
            {
                if (variance is null)
                {
                    mean[ch] = runningMean!.GetDouble(ch);
                    invStd[ch] = 1.0 / Math.Sqrt(runningVar!.GetDouble(ch) + eps);
                    continue;
                }
                invStd[ch] = 1.0 / Math.Sqrt(variance[ch] + eps);
                if (runningMean is null || runningVar is null) continue;
                SetDouble(runningMean, ch, runningMean.GetDouble(ch) * (1 - momentum) + mean[ch] * momentum);
                SetDouble(runningVar, ch, runningVar.GetDouble(ch) * (1 - momentum) + variance[ch] * momentum * count / (count - 1.0));
            }
        }

        private readonly struct BackwardKernel(Tensor x, Tensor? w, Tensor gy, bool training, int n, int c, int inner, double[] mean, double[] invStd,
            Tensor gx, Tensor? gw, Tensor? gb, Kernels.RangeWorkCache work) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                capture.Reads(x);
                capture.Reads(w);
                capture.Reads(gy);
                capture.Writes(gx);
                capture.Writes(gw);
                capture.Writes(gb);
            }

            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                work.First ??= Pass<T>(x, w, gy, training, n, c, inner, mean, invStd, gx, gw, gb);
                Kernels.RangeWork.Run(work.First, x.Numel);
            }

            private static Kernels.RangeWork Pass<T>(Tensor xt, Tensor? wt, Tensor g, bool tr, int nn, int cc, int ii, double[] m, double[] s,
                Tensor gxt, Tensor? gwt, Tensor? gbt) where T : unmanaged, IFloatingPointIeee754<T> =>
                new(cc, (c0, c1) => BackwardChannels<T>(xt, wt, g, tr, nn, cc, ii, m, s, gxt, gwt, gbt, c0, c1));
        }

        private static void CheckChannels(Tensor? t, int c, string what, Tensor input)
        {
            if (t is not null && (t.Rank != 1 || t.ShapeRef[0] != c))
                throw new ArgumentException($"BatchNorm: the {what} must have shape [{c}] for input {Shapes.Format(input.ShapeRef)}, got {Shapes.Format(t.ShapeRef)}.");
        }

        private static void SetDouble(Tensor t, int index, double value)
        {
            switch (t.Storage)
            {
                case float[] f: f[index] = (float)value; break;
                case double[] d: d[index] = value; break;
                default: throw new InvalidOperationException("BatchNorm: running statistics must be floating point.");
            }
        }

        /// <summary>Per-channel mean and biased variance (two passes, accumulated in double).</summary>
        private static void Statistics<T>(ReadOnlySpan<T> xs, int n, int c, int inner, double[] mean, double[] variance, int c0, int c1) where T : unmanaged, IFloatingPointIeee754<T>
        {
            long count = (long)n * inner;
            for (int ch = c0; ch < c1; ch++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += double.CreateTruncating(TensorPrimitives.Sum(xs.Slice((i * c + ch) * inner, inner)));
                double m = sum / count, squares = 0;
                T tm = T.CreateTruncating(m);
                for (int i = 0; i < n; i++) squares += SumSquaredDeviations(xs.Slice((i * c + ch) * inner, inner), tm);
                // The deviations were taken from m rounded to T; correct for the rounding (exact in real arithmetic).
                double shift = double.CreateTruncating(tm) - m;
                mean[ch] = m;
                variance[ch] = Math.Max(0, squares / count - shift * shift);
            }
        }

        /// <summary>y = (x − mean)·invStd·w + b, as one multiply-add per element.</summary>
        internal static void Affine<T>(ReadOnlySpan<T> xs, ReadOnlySpan<T> ws, ReadOnlySpan<T> bs, int n, int c, int inner,
            double[] mean, double[] invStd, Span<T> ys, int c0, int c1) where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (int ch = c0; ch < c1; ch++)
            {
                double scale = invStd[ch] * (ws.IsEmpty ? 1.0 : double.CreateTruncating(ws[ch]));
                double shift = (bs.IsEmpty ? 0.0 : double.CreateTruncating(bs[ch])) - mean[ch] * scale;
                T a = T.CreateTruncating(scale), b = T.CreateTruncating(shift);
                for (int i = 0; i < n; i++)
                {
                    int start = (i * c + ch) * inner;
                    ScaleShift(xs.Slice(start, inner), a, b, ys.Slice(start, inner));
                }
            }
        }

        private static void BackwardChannels<T>(Tensor x, Tensor? weight, Tensor gy, bool training, int n, int c, int inner,
            double[] mean, double[] invStd, Tensor gx, Tensor? gw, Tensor? gb, int c0, int c1) where T : unmanaged, IFloatingPointIeee754<T>
        {
            ReadOnlySpan<T> xs = x.Span<T>(), gys = gy.Span<T>();
            ReadOnlySpan<T> ws = weight is null ? default : weight.Span<T>();
            Span<T> gxs = gx.Span<T>();
            long count = (long)n * inner;
            for (int ch = c0; ch < c1; ch++)
            {
                // Σ gy and Σ gy·x̂ over the channel; x̂ = (x − mean)·invStd.
                double sumGy = 0, sumGyCentered = 0;
                T m = T.CreateTruncating(mean[ch]);
                for (int i = 0; i < n; i++)
                {
                    int start = (i * c + ch) * inner;
                    sumGy += double.CreateTruncating(TensorPrimitives.Sum(gys.Slice(start, inner)));
                    sumGyCentered += DotCentered(gys.Slice(start, inner), xs.Slice(start, inner), m);
                }
                double s = invStd[ch], w = ws.IsEmpty ? 1.0 : double.CreateTruncating(ws[ch]);
                double sumGyXhat = sumGyCentered * s;
                if (gw is not null) gw.Span<T>()[ch] = T.CreateTruncating(sumGyXhat);
                if (gb is not null) gb.Span<T>()[ch] = T.CreateTruncating(sumGy);
                // Training: gx = w·s·(gy − Σgy/M − x̂·Σgy·x̂/M) = A·gy + B·x + C. Evaluation (fixed statistics): gx = w·s·gy.
                double a = w * s;
                double b = training ? -w * s * s * sumGyXhat / count : 0;
                double cst = training ? -a * sumGy / count - b * mean[ch] : 0;
                T ta = T.CreateTruncating(a), tb = T.CreateTruncating(b), tc = T.CreateTruncating(cst);
                for (int i = 0; i < n; i++)
                {
                    int start = (i * c + ch) * inner;
                    LinearCombination(gys.Slice(start, inner), ta, xs.Slice(start, inner), tb, tc, gxs.Slice(start, inner));
                }
            }
        }

        /// <summary>Σ (x − m)², in double across vectors of T.</summary>
        private static double SumSquaredDeviations<T>(ReadOnlySpan<T> x, T m) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            double total = 0;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
            {
                var acc = Vector<T>.Zero;
                var vm = new Vector<T>(m);
                var v = MemoryMarshal.Cast<T, Vector<T>>(x);
                foreach (var block in v) { var d = block - vm; acc += d * d; }
                total = double.CreateTruncating(Vector.Sum(acc));
                i = v.Length * Vector<T>.Count;
            }
            for (; i < x.Length; i++) { double d = double.CreateTruncating(x[i] - m); total += d * d; }
            return total;
        }

        /// <summary>Σ g·(x − m).</summary>
        private static double DotCentered<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T m) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            double total = 0;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
            {
                var acc = Vector<T>.Zero;
                var vm = new Vector<T>(m);
                var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
                var vg = MemoryMarshal.Cast<T, Vector<T>>(g);
                for (int k = 0; k < vx.Length; k++) acc += vg[k] * (vx[k] - vm);
                total = double.CreateTruncating(Vector.Sum(acc));
                i = vx.Length * Vector<T>.Count;
            }
            for (; i < x.Length; i++) total += double.CreateTruncating(g[i] * (x[i] - m));
            return total;
        }

        /// <summary>d = a·x + b.</summary>
        private static void ScaleShift<T>(ReadOnlySpan<T> x, T a, T b, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
            {
                var va = new Vector<T>(a);
                var vb = new Vector<T>(b);
                var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
                var vd = MemoryMarshal.Cast<T, Vector<T>>(d);
                for (int k = 0; k < vx.Length; k++) vd[k] = va * vx[k] + vb;
                i = vx.Length * Vector<T>.Count;
            }
            for (; i < x.Length; i++) d[i] = a * x[i] + b;
        }

        /// <summary>d = a·g + b·x + c.</summary>
        private static void LinearCombination<T>(ReadOnlySpan<T> g, T a, ReadOnlySpan<T> x, T b, T c, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
            {
                var va = new Vector<T>(a);
                var vb = new Vector<T>(b);
                var vc = new Vector<T>(c);
                var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
                var vg = MemoryMarshal.Cast<T, Vector<T>>(g);
                var vd = MemoryMarshal.Cast<T, Vector<T>>(d);
                for (int k = 0; k < vx.Length; k++) vd[k] = va * vg[k] + vb * vx[k] + vc;
                i = vx.Length * Vector<T>.Count;
            }
            for (; i < x.Length; i++) d[i] = a * g[i] + b * x[i] + c;
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int BatchNorm = Register(nameof(BatchNorm), static c =>
        {
            c.Add("train, [N, C]", x => NN.Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true), c.Normal(6, 3), c.Normal(3), c.Normal(3));
            c.Add("train, [N, C, H, W]", x => NN.Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true), c.Normal(3, 2, 3, 2), c.Normal(2), c.Normal(2));
            c.Add("train, no affine, [N, C, L]", x => NN.Functional.BatchNorm(x[0], null, null, training: true), c.Normal(2, 3, 4));
            c.Add("eval", x => NN.Functional.BatchNorm(x[0], Tensor.FromArray(new[] { 0.1, -0.2 }), Tensor.FromArray(new[] { 1.5, 0.5 }), x[1], x[2], training: false),
                c.Normal(4, 2), c.Normal(2), c.Normal(2));
        });
    }
}
