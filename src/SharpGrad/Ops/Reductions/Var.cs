using System.Numerics;
using System.Numerics.Tensors;

namespace SharpGrad
{
    public sealed partial class Tensor
    {
        /// <summary>
        /// Variance over <paramref name="dim"/> (all elements when null), <c>Σ (x − x̄)² / (N − correction)</c> (PyTorch:
        /// <c>var(dim, correction=1, keepdim)</c>): correction 1 is the unbiased sample variance, 0 the population one.
        /// N ≤ correction divides by 0 (∞ or NaN), as in PyTorch. <c>d/dx = 2 (x − x̄) / (N − correction)</c>.
        /// </summary>
        public Tensor Var(int? dim = null, int correction = 1, bool keepDim = false)
        {
            EnsureFloatingPoint(nameof(Var));
            if (correction < 0) throw new ArgumentOutOfRangeException(nameof(correction), correction, "Var: the correction must be 0 or more.");
            int d = dim is int k ? Shapes.WrapDim(k, Rank, nameof(Var)) : -1;
            if (Rank == 0) d = -1; // a 0-d tensor's one dimension is all of it
            var (outer, size, inner) = d < 0 ? (1, Numel, 1) : Shapes.Split(_shape, d);
            int[] shape = ReducedShape(d, keepDim);
            var y = Uninitialized(shape, DType);
            DTypeDispatch.Float(DType, new VarianceKernel(this, y, outer, size, inner, correction), nameof(Var));
            if (!Autograd.ShouldRecord(this)) return y;
            double scale = 2.0 / (size - correction);
            return Autograd.Record(y, "VarBackward", [this], g =>
            {
                var mean = d < 0 ? Mean() : Mean(d, keepDim: true);
                return [ReducedGradient(g, d, keepDim) * (this - mean) * scale];
            });
        }

        /// <summary>The shape of a reduction over <paramref name="d"/> (all dimensions when d is −1).</summary>
        internal int[] ReducedShape(int d, bool keepDim)
        {
            if (d >= 0) return keepDim ? Shapes.WithDim(_shape, d, 1) : Shapes.RemoveDim(_shape, d);
            if (!keepDim) return ScalarShape;
            var ones = new int[Rank];
            System.Array.Fill(ones, 1);
            return ones;
        }

        /// <summary>A reduction's upstream gradient shaped to broadcast against its input (the reduced dimension kept as 1).</summary>
        internal static Tensor ReducedGradient(Tensor g, int d, bool keepDim) => d >= 0 && !keepDim ? g.Unsqueeze(d) : g;

        /// <summary>
        /// Two passes per reduced line: the mean (a vector sum), then the sum of squared deviations, which is exact where
        /// the one-pass <c>Σx² − N x̄²</c> would cancel. Along the last dimension each line is contiguous and both passes
        /// are vector loops; otherwise whole rows of length <c>inner</c> are combined with vector row operations.
        /// </summary>
        private readonly struct VarianceKernel(Tensor x, Tensor y, int outer, int size, int inner, int correction) : IFloatKernel
        {
            public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            {
                ReadOnlySpan<T> xs = x.Span<T>();
                Span<T> ys = y.Span<T>();
                T n = T.CreateTruncating(size), divisor = T.CreateTruncating(size - correction);
                if (inner == 1)
                {
                    for (int o = 0; o < outer; o++)
                    {
                        var line = xs.Slice(o * size, size);
                        T m = TensorPrimitives.Sum(line) / n;
                        ys[o] = SumOfSquaredDeviations(line, m) / divisor;
                    }
                    return;
                }
                var mean = new T[inner];
                var dev = new T[inner];
                for (int o = 0; o < outer; o++)
                {
                    var block = xs.Slice(o * size * inner, size * inner);
                    var acc = ys.Slice(o * inner, inner);
                    mean.AsSpan().Clear();
                    for (int j = 0; j < size; j++) TensorPrimitives.Add(mean, block.Slice(j * inner, inner), mean);
                    TensorPrimitives.Divide(mean, n, mean);
                    acc.Clear();
                    for (int j = 0; j < size; j++)
                    {
                        TensorPrimitives.Subtract(block.Slice(j * inner, inner), mean, dev);
                        TensorPrimitives.MultiplyAdd(dev, dev, acc, acc);
                    }
                    TensorPrimitives.Divide(acc, divisor, acc);
                }
            }
        }

        /// <summary><c>Σ (x − m)²</c> in one vector loop.</summary>
        internal static T SumOfSquaredDeviations<T>(ReadOnlySpan<T> x, T m) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            T s = T.Zero;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
            {
                var vm = new Vector<T>(m);
                var acc = Vector<T>.Zero;
                for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                {
                    var dv = new Vector<T>(x.Slice(i)) - vm;
                    acc += dv * dv;
                }
                s = Vector.Sum(acc);
            }
            for (; i < x.Length; i++)
            {
                T dv = x[i] - m;
                s += dv * dv;
            }
            return s;
        }
    }

    internal static partial class GradChecks
    {
        internal static readonly int Var = Register(nameof(Var), static c =>
        {
            c.Add("all", x => x[0].Var(), c.Normal(3, 4));
            c.Add("dim 0", x => x[0].Var(0), c.Normal(3, 4));
            c.Add("dim -1, keepDim", x => x[0].Var(-1, keepDim: true), c.Normal(2, 3, 5));
            c.Add("dim 1, correction 0", x => x[0].Var(1, correction: 0), c.Normal(2, 3, 4));
            c.Add("long rows", x => x[0].Var(1), c.Normal(2, 37));
            c.Add("vector", x => x[0].Var(0, correction: 2), c.Normal(6));
        });
    }
}
