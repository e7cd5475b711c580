using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SharpGrad.NN
{
    public static partial class Functional
    {
        /// <summary>
        /// Cross-entropy of raw scores (logits) against class indices (Int64 [N], or a single index for unbatched [C] scores)
        /// or against class probabilities shaped like the input (PyTorch: <c>F.cross_entropy</c>).
        /// With class indices y and log-probabilities logp = log softmax(x), each sample's loss is
        /// (1 − ε)·(−w_y logp_y) + (ε / C)·(−Σ_c w_c logp_c), with class weights w (1 without <paramref name="weight"/>) and
        /// label smoothing ε; a sample whose target is <paramref name="ignoreIndex"/> contributes 0. The mean divides both parts
        /// by Σ w_y over the samples not ignored (their number without weights), as PyTorch 1.13 does. With probability targets q the loss is −Σ_c w_c q̃_c logp_c with q̃ = (1 − ε) q + ε / C, averaged over N.
        /// Class targets that are not Int64 are an <see cref="ArgumentException"/> saying so.
        /// </summary>
        /// <param name="input">Scores [N, C], or [C] for one sample.</param>
        /// <param name="target">Int64 class indices [N] (or one index), or probabilities shaped like the scores.</param>
        /// <param name="reduction">Mean (default), Sum or None (one loss per sample).</param>
        /// <param name="labelSmoothing">ε in [0, 1].</param>
        /// <param name="weight">Optional weight per class, [C], the scores' dtype (not differentiated, as in PyTorch).</param>
        /// <param name="ignoreIndex">A class-index target with this value is left out (default −100, PyTorch's).</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double labelSmoothing = 0.0,
            Tensor? weight = null, long ignoreIndex = -100)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(target);
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
                throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must be in [0, 1].");
            if (input.Rank == 0) throw new ArgumentException("CrossEntropy: the scores need a class dimension; got a 0-dimensional tensor.");
            if (reduction is not (Reduction.Mean or Reduction.Sum or Reduction.None))
                throw new ArgumentException($"CrossEntropy: reduction {reduction} is not supported here (BatchMean is for KlDiv).", nameof(reduction));
            int classDim = input.Rank == 1 ? 0 : 1;
            int classes = input.ShapeRef[classDim];
            if (target.DType.IsFloatingPoint())
            {
                if (!Shapes.Equal(input.ShapeRef, target.ShapeRef))
                    throw new ArgumentException($"CrossEntropy: class targets must be Int64; got {target.DType} with shape {Shapes.Format(target.ShapeRef)} for scores of shape {Shapes.Format(input.ShapeRef)}. Convert them with target.To(DType.Int64); probability targets (floating point) must have the scores' shape {Shapes.Format(input.ShapeRef)}.");
                if (ignoreIndex >= 0)
                    throw new ArgumentException($"CrossEntropy: ignoreIndex {ignoreIndex} applies to class-index targets only; these targets are probabilities.", nameof(ignoreIndex));
                input.EnsureFloatingPoint(nameof(CrossEntropy));
                CheckClassWeight(weight, input, nameof(CrossEntropy));
                var logp = input.LogSoftmax(classDim);
                var q = labelSmoothing > 0 ? target * (1 - labelSmoothing) + labelSmoothing / classes : target;
                var term = q * logp;
                if (weight is not null) term = term * (classDim == 1 ? weight.Reshape(1, classes) : weight);
                var perSample = -term.Sum(classDim);
                return reduction == Reduction.Mean && input.Rank > 1 ? perSample.Mean() : Reduce(perSample, reduction, nameof(CrossEntropy));
            }
            CheckClassTargets(input, target, nameof(CrossEntropy), ignoreIndex);
            CheckClassWeight(weight, input, nameof(CrossEntropy));
            return CrossEntropyOp(input, target, reduction, labelSmoothing, weight, ignoreIndex);
        }

        /// <summary>
        /// What the fused cross-entropy needs after the forward: the targets, the class weights, and the gradient written as
        /// dx[r, c] = s_r (softmax(x)[r, c] K0_r − Q[r, c]), where s is the incoming gradient (per row for None) and
        /// K0_r = A w_y + B W, Q[r, c] = A w_y [c = y] + B w_c for a kept row (both 0 for an ignored one), W = Σ_c w_c; A and
        /// B are the coefficients of the two parts of the loss after reduction.
        /// </summary>
        private sealed class CrossEntropyPlan
        {
            public required long[] Target;
            public required double[]? Weight;
            public required long IgnoreIndex;
            public required int Rows, Classes;
            public double A, B, WeightTotal;

            public double W(int c) => Weight is null ? 1 : Weight[c];
            public bool Ignored(int r) => Target[r] == IgnoreIndex;
            public double K0(int r) => Ignored(r) ? 0 : A * W((int)Target[r]) + B * WeightTotal;

            public Tensor K0Tensor(DType dtype)
            {
                var k = new double[Rows];
                for (int r = 0; r < Rows; r++) k[r] = K0(r);
                return Tensor.FromArray(k, Rows, 1).To(dtype);
            }

            public Tensor QTensor(DType dtype)
            {
                var q = new double[Rows * Classes];
                for (int r = 0; r < Rows; r++)
                {
                    if (Ignored(r)) continue;
                    int y = (int)Target[r];
                    for (int c = 0; c < Classes; c++) q[r * Classes + c] = B * W(c);
                    q[r * Classes + y] += A * W(y);
                }
                return Tensor.FromArray(q, Rows, Classes).To(dtype);
            }
        }

        /// <summary>
        /// Cross-entropy against class indices as one recorded op: a fused log-softmax / loss forward, and one backward rule,
        /// the fused gradient <see cref="CrossEntropyGradient"/>, which records itself as a differentiable op when the
        /// backward runs with createGraph (so Hessians through the loss work). Targets and weight are already checked.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static Tensor CrossEntropyOp(Tensor input, Tensor target, Reduction reduction, double smoothing, Tensor? weight, long ignoreIndex)
        {
            int classes = input.ShapeRef[^1];
            int rows = input.Rank == 1 ? 1 : input.ShapeRef[0];
            var plan = new CrossEntropyPlan
            {
                Target = target.Array<long>(), Weight = weight?.ToArray<double>(), IgnoreIndex = ignoreIndex, Rows = rows, Classes = classes,
            };
            plan.WeightTotal = plan.Weight?.Sum() ?? classes;
            var stats = Tensor.Uninitialized([rows, 2], input.DType);
            var y = Tensor.Uninitialized(reduction == Reduction.None ? (input.Rank == 1 ? [] : [rows]) : [], input.DType);
            DTypeDispatch.Float(input.DType, new CrossEntropyForward(input, plan, smoothing, reduction, stats, y), nameof(CrossEntropy));
            return Autograd.Record(y, "CrossEntropyBackward", [input], g => [CrossEntropyGradient(input, g, stats, plan, reduction)]);
        }

        /// <summary>
        /// The gradient of the fused cross-entropy with respect to its scores, s (softmax(x) K0 − Q), in one pass; recorded
        /// (inputs: the scores and s) when gradients are being recorded, with the composite rule
        /// ∂/∂x = s K0 p ⊙ (G − Σ_c G p) and ∂/∂s = Σ_c G (p K0 − Q), so the loss can be differentiated twice or more.
        /// </summary>
        private static Tensor CrossEntropyGradient(Tensor input, Tensor g, Tensor stats, CrossEntropyPlan plan, Reduction reduction)
        {
            var dx = Tensor.Uninitialized(input.ShapeRef, input.DType);
            DTypeDispatch.Float(input.DType, new CrossEntropyBackwardKernel(input, g, stats, plan, dx), nameof(CrossEntropy));
            if (!Autograd.ShouldRecord(input, g)) return dx;
            return Autograd.Record(dx, "CrossEntropyGradientBackward", [input, g], gOut =>
            {
                int rows = plan.Rows, classes = plan.Classes;
                var scores = input.Reshape(rows, classes);
                var go = gOut.Reshape(rows, classes);
                var p = scores.Softmax(1);
                var k0 = plan.K0Tensor(input.DType);
                var s = reduction == Reduction.None ? g.Reshape(rows, 1) : g;
                Tensor? gx = input.RequiresGrad ? (p * (go - (go * p).Sum(1, keepDim: true)) * (k0 * s)).Reshape(input.ShapeRef) : null;
                Tensor? gs = null;
                if (g.RequiresGrad)
                {
                    var perRow = (go * (p * k0 - plan.QTensor(input.DType))).Sum(1);
                    gs = (reduction == Reduction.None ? perRow : perRow.Sum()).Reshape(g.ShapeRef);
                }
                return [gx, gs];
            });
        }

        private readonly struct CrossEntropyForward(Tensor input, CrossEntropyPlan plan, double smoothing, Reduction reduction, Tensor stats, Tensor y)
            : IFloatKernel, ICapturedKernel
        {
            // The targets (plan.Target) are the target tensor's own array, read at every run; the weights were copied, which a capture refuses (ToArray).
            public void Declare(Capture capture)
            {
                capture.Reads(input);
                capture.Writes(stats);
                capture.Writes(y);
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int rows = plan.Rows, classes = plan.Classes;
                Span<T> outSpan = y.Span<T>();
                double keep = 1 - smoothing, spread = smoothing / classes;
                double nllTotal = 0, smoothTotal = 0, kept = 0;
                int parts = CrossEntropyRows<T>.Parts(rows, classes);
                if (parts > 1)
                {
                    // Every row's terms on the pool, then added over the rows in order: the sums the loop below makes.
                    var terms = CrossEntropyRows<T>.Forward(input, plan, smoothing, reduction, stats, y, parts);
                    for (int r = 0; r < rows; r++)
                    {
                        if (!plan.Ignored(r)) kept += plan.W((int)plan.Target[r]);
                        nllTotal += terms[2 * r];
                        smoothTotal += terms[2 * r + 1];
                    }
                }
                else
                {
                    ReadOnlySpan<T> x = input.Span<T>();
                    Span<T> st = stats.Span<T>();
                    for (int r = 0; r < rows; r++)
                    {
                        var (nll, smooth) = ForwardRow(x.Slice(r * classes, classes), r, plan, smoothing, reduction, st, outSpan);
                        if (!plan.Ignored(r)) kept += plan.W((int)plan.Target[r]);
                        nllTotal += nll;
                        smoothTotal += smooth;
                    }
                }
                double smoothDivisor = kept;
                (plan.A, plan.B) = reduction == Reduction.Mean ? (keep / kept, spread / smoothDivisor) : (keep, spread);
                if (reduction == Reduction.Sum) outSpan[0] = T.CreateTruncating(keep * nllTotal + spread * smoothTotal);
                else if (reduction == Reduction.Mean)
                    // 0 / 0 = NaN when every sample is ignored or the batch is empty, as in PyTorch
                    outSpan[0] = T.CreateTruncating(keep * nllTotal / kept + (smoothing > 0 ? spread * smoothTotal / smoothDivisor : 0));
            }
        }

        /// <summary>
        /// Row <paramref name="r"/> of the fused cross-entropy's forward: its maximum and log-sum-exp into
        /// <paramref name="st"/>, its loss into <paramref name="outSpan"/> for <see cref="Reduction.None"/>, and its two
        /// terms (the weighted negative log-likelihood and the smoothing term, both 0 for an ignored row) returned.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (double Nll, double Smooth) ForwardRow<T>(ReadOnlySpan<T> row, int r, CrossEntropyPlan plan, double smoothing, Reduction reduction,
            Span<T> st, Span<T> outSpan) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int classes = row.Length;
            T m = T.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                T v = row[c];
                if (v > m || T.IsNaN(v)) { m = v; if (T.IsNaN(v)) break; }
            }
            if (!T.IsFinite(m)) m = T.IsNaN(m) ? m : T.Zero; // all -inf or some +inf: no shift helps (as the softmax does)
            T s = T.Zero;
            for (int c = 0; c < classes; c++) s += T.Exp(row[c] - m);
            T logS = T.Log(s);
            st[2 * r] = m;
            st[2 * r + 1] = logS;
            double nll = 0, smooth = 0;
            if (!plan.Ignored(r))
            {
                int t = (int)plan.Target[r];
                double wy = plan.W(t);
                nll = -wy * double.CreateTruncating((row[t] - m) - logS);
                if (smoothing > 0)
                {
                    // −Σ_c w_c logp_c = W log S − Σ_c w_c (x_c − m)
                    T weighted = T.Zero;
                    if (plan.Weight is null) for (int c = 0; c < classes; c++) weighted += row[c] - m;
                    else for (int c = 0; c < classes; c++) weighted += T.CreateTruncating(plan.Weight[c]) * (row[c] - m);
                    smooth = plan.WeightTotal * double.CreateTruncating(logS) - double.CreateTruncating(weighted);
                }
            }
            if (reduction == Reduction.None) outSpan[r] = T.CreateTruncating((1 - smoothing) * nll + smoothing / classes * smooth);
            return (nll, smooth);
        }

        /// <summary>
        /// Row <paramref name="r"/> of the fused cross-entropy's gradient, s_r (softmax(x_r) K0_r − Q_r), into
        /// <paramref name="drow"/> (zeros for an ignored row).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void BackwardRow<T>(ReadOnlySpan<T> row, int r, CrossEntropyPlan plan, ReadOnlySpan<T> st, ReadOnlySpan<T> scale, Span<T> drow)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (plan.Ignored(r)) { drow.Clear(); return; }
            int classes = row.Length;
            T a = T.CreateTruncating(plan.A), b = T.CreateTruncating(plan.B);
            T sr = scale.Length == 1 ? scale[0] : scale[r];
            T m = st[2 * r], logS = st[2 * r + 1];
            int y = (int)plan.Target[r];
            T k0 = T.CreateTruncating(plan.K0(r)) * sr;
            if (plan.Weight is null)
            {
                T uniform = b * sr;
                for (int c = 0; c < classes; c++) drow[c] = T.Exp((row[c] - m) - logS) * k0 - uniform;
                drow[y] -= a * sr;
            }
            else
            {
                for (int c = 0; c < classes; c++) drow[c] = T.Exp((row[c] - m) - logS) * k0 - b * T.CreateTruncating(plan.Weight[c]) * sr;
                drow[y] -= a * T.CreateTruncating(plan.Weight[y]) * sr;
            }
        }

        /// <summary>
        /// The fused cross-entropy's rows shared with the worker pool (with <see cref="Kernels.StepPaths.SharedRows"/>):
        /// blocks of rows, each row computed by <see cref="ForwardRow{T}"/> or <see cref="BackwardRow{T}"/> as on one
        /// thread; the forward's per-row terms are kept for the caller to add in row order. One instance per thread and
        /// type, reused: a call allocates nothing once its term buffer is large enough.
        /// </summary>
        private sealed class CrossEntropyRows<T> : Kernels.ParallelWork where T : unmanaged, IFloatingPointIeee754<T>
        {
            /// <summary>Rows per part at least (a part's cost is a claim and a call).</summary>
            private const int MinRows = 16;

            /// <summary>Below this many scores the rows stay on the calling thread (each costs two exponentials, fwd and bwd).</summary>
            private const long MinElements = 1 << 14;

            [ThreadStatic] private static CrossEntropyRows<T>? t_job;

            private Tensor? _input, _stats, _y, _g, _dx;
            private CrossEntropyPlan? _plan;
            private double _smoothing;
            private Reduction _reduction;
            private bool _backward;
            private double[] _terms = [];

            /// <summary>Parts for <paramref name="rows"/> rows of <paramref name="classes"/> scores (1: the calling thread alone).</summary>
            public static int Parts(int rows, int classes) =>
                !Kernels.StepPaths.SharedRows || (long)rows * classes < MinElements ? 1 : ReplayParts.For(rows / MinRows);

            /// <summary>The forward over every row; returns each row's (nll, smooth) terms, interleaved, valid until the next call on this thread.</summary>
            public static double[] Forward(Tensor input, CrossEntropyPlan plan, double smoothing, Reduction reduction, Tensor stats, Tensor y, int parts)
            {
                var job = t_job ??= new CrossEntropyRows<T>();
                if (job._terms.Length < 2 * plan.Rows) job._terms = new double[2 * plan.Rows];
                (job._input, job._plan, job._smoothing, job._reduction, job._stats, job._y, job._backward) = (input, plan, smoothing, reduction, stats, y, false);
                job.Run(parts);
                return job._terms;
            }

            /// <summary>The gradient of every row into <paramref name="dx"/>.</summary>
            public static void Backward(Tensor input, Tensor g, Tensor stats, CrossEntropyPlan plan, Tensor dx, int parts)
            {
                var job = t_job ??= new CrossEntropyRows<T>();
                (job._input, job._g, job._stats, job._plan, job._dx, job._backward) = (input, g, stats, plan, dx, true);
                job.Run(parts);
            }

            private void Run(int parts)
            {
                try { Kernels.WorkerPool.Run(this, parts); }
                finally { _input = _stats = _y = _g = _dx = null; _plan = null; }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public override void Execute(int index, int count)
            {
                var plan = _plan!;
                int classes = plan.Classes;
                int first = (int)((long)plan.Rows * index / count), last = (int)((long)plan.Rows * (index + 1) / count);
                ReadOnlySpan<T> x = _input!.Span<T>();
                if (_backward)
                {
                    ReadOnlySpan<T> st = _stats!.Span<T>(), scale = _g!.Span<T>();
                    Span<T> d = _dx!.Span<T>();
                    for (int r = first; r < last; r++) BackwardRow(x.Slice(r * classes, classes), r, plan, st, scale, d.Slice(r * classes, classes));
                    return;
                }
                Span<T> stats = _stats!.Span<T>(), outSpan = _y!.Span<T>();
                for (int r = first; r < last; r++)
                    (_terms[2 * r], _terms[2 * r + 1]) = ForwardRow(x.Slice(r * classes, classes), r, plan, _smoothing, _reduction, stats, outSpan);
            }
        }

        private readonly struct CrossEntropyBackwardKernel(Tensor input, Tensor g, Tensor stats, CrossEntropyPlan plan, Tensor dx) : IFloatKernel, ICapturedKernel
        {
            public void Declare(Capture capture)
            {
                capture.Reads(input);
                capture.Reads(g);
                capture.Reads(stats);
                capture.Writes(dx);
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                int rows = plan.Rows, classes = plan.Classes;
                int parts = CrossEntropyRows<T>.Parts(rows, classes);
                if (parts > 1) { CrossEntropyRows<T>.Backward(input, g, stats, plan, dx, parts); return; }
                ReadOnlySpan<T> x = input.Span<T>(), st = stats.Span<T>(), scale = g.Span<T>();
                Span<T> d = dx.Span<T>();
                for (int r = 0; r < rows; r++) BackwardRow(x.Slice(r * classes, classes), r, plan, st, scale, d.Slice(r * classes, classes));
            }
        }
    }
}

namespace SharpGrad
{
    internal static partial class GradChecks
    {
        internal static readonly int CrossEntropy = Register(nameof(CrossEntropy), static c =>
        {
            var target = Tensor.FromArray(new long[] { 2, 0, 3, 1, 3 });
            var withIgnored = Tensor.FromArray(new long[] { 2, -100, 3, 1, -100 });
            var weight = Tensor.FromArray(new[] { 0.5, 2.0, 1.0, 1.5 });
            foreach (var r in new[] { NN.Reduction.Mean, NN.Reduction.Sum, NN.Reduction.None })
            {
                c.Add($"classes {r}", x => NN.Functional.CrossEntropy(x[0], target, r), c.Normal(5, 4));
                c.Add($"weight, ignored, smoothing {r}", x => NN.Functional.CrossEntropy(x[0], withIgnored, r, 0.2, weight), c.Normal(5, 4));
                c.Add($"probabilities {r}", x => NN.Functional.CrossEntropy(x[0], x[1].Softmax(1), r), c.Normal(5, 4), c.Normal(5, 4));
            }
            c.Add("unbatched", x => NN.Functional.CrossEntropy(x[0], Tensor.FromArray(new long[] { 1 }).Reshape(), NN.Reduction.Mean, 0.1), c.Normal(4));
            c.Add("weight, smoothing", x => NN.Functional.CrossEntropy(x[0], target, NN.Reduction.Mean, 0.3, weight), c.Normal(5, 4));
            c.Add("probabilities, weight", x => NN.Functional.CrossEntropy(x[0], x[1].Softmax(1), NN.Reduction.Mean, 0.1, weight), c.Normal(3, 4), c.Normal(3, 4));
            // The gradient is itself differentiable: check it (a Hessian-vector product) against finite differences.
            var v = Tensor.FromArray(new[] { 0.3, -1.2, 0.7, 0.1, 0.5, -0.4, 0.9, -0.8, 0.2, 0.6, -0.3, 1.1 }, 3, 4);
            c.Add("gradient", x =>
            {
                using var _ = Autograd.EnableGrad(); // the finite differences run under NoGrad; the gradient needs the tape
                var loss = NN.Functional.CrossEntropy(x[0], Tensor.FromArray(new long[] { 1, 3, 0 }), NN.Reduction.Mean, 0.2, Tensor.FromArray(new[] { 1.0, 0.5, 2.0, 1.5 }));
                return (Autograd.Grad(loss, [x[0]], createGraph: true)[0] * v).Sum();
            }, c.Normal(3, 4));
        });
    }
}
