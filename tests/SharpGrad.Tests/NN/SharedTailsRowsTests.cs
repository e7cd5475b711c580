using SharpGrad.Kernels;
using SharpGrad.NN;
using SharpGrad.Tests.Kernels;

namespace SharpGrad.Tests.NN;

/// <summary>
/// The fused cross-entropy's rows, Narrow with its backward (PadInto) and Permute on the current paths (PadInto's zeros
/// only around the slice) and shared with the worker pool (<see cref="StepPaths.SharedRows"/>) against the former paths on
/// the calling thread alone (<see cref="StepPaths.OldPadInto"/>), bit for bit: values and gradients, float32 and
/// float64, one and two threads, odd shapes, and outputs rented from a pool of NaN-filled arrays (so an element a path
/// forgets to write shows); and the lstm-step bench's whole LSTM language model training steps. The shared paths are
/// checked to have run (parts published to the pool).
/// </summary>
[Collection(GemmCollection.Name)]
public class SharedTailsRowsTests
{
    /// <summary>Runs <paramref name="body"/> with the two switches and the thread limit set, then restores them.</summary>
    private static T With<T>(bool oldPadInto, bool shared, int threads, Func<T> body)
    {
        var saved = (StepPaths.OldPadInto, StepPaths.SharedRows);
        int savedThreads = Gemm.MaxThreads;
        (StepPaths.OldPadInto, StepPaths.SharedRows) = (oldPadInto, shared);
        Gemm.MaxThreads = threads;
        try { return body(); }
        finally
        {
            (StepPaths.OldPadInto, StepPaths.SharedRows) = saved;
            Gemm.MaxThreads = savedThreads;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> inside a tensor scope whose pool holds arrays of NaN (or, for Int64, a large
    /// constant) of each of <paramref name="lengths"/>, so that the outputs it makes are rented poisoned.
    /// </summary>
    private static List<long[]> Poisoned(DType dtype, int[] lengths, Func<List<long[]>> body)
    {
        using (new TensorScope())
            foreach (int n in lengths)
                for (int copy = 0; copy < 3; copy++)
                    Tensor.Full([n], dtype == DType.Int64 ? 123456789 : double.NaN, dtype);
        using var scope = new TensorScope();
        return body();
    }

    /// <summary>
    /// Compares the current paths (not shared, two threads; shared, one and two threads) with the old one, and checks the
    /// shared one used the pool on two threads.
    /// </summary>
    private static void Compare(string what, Func<List<long[]>> run, bool expectShared = true)
    {
        var expected = With(true, false, 2, run);
        foreach (var (shared, threads) in new[] { (false, 2), (true, 1), (true, 2) })
        {
            long published = WorkerPool.Counts.Published;
            var actual = With(false, shared, threads, run);
            if (shared && expectShared && threads == 2 && WorkerPool.MaxParallelism > 1)
                Assert.True(WorkerPool.Counts.Published > published, $"{what}: the shared path did not run");
            SharedTailsTests.AssertSame(expected, actual, $"{what} shared {shared} threads {threads}");
        }
    }

    [Theory]
    [InlineData(1024, 54, "mean", false)]   // the lstm-step's loss
    [InlineData(1001, 37, "mean", true)]    // odd rows
    [InlineData(333, 129, "sum", true)]
    [InlineData(257, 300, "none", true)]
    [InlineData(640, 31, "weighted", false)] // class weights, label smoothing, ignored rows
    [InlineData(517, 64, "weighted", true)]
    [InlineData(9, 20, "mean", false)]      // small: the calling thread alone either way
    public void CrossEntropyGivesTheSameBits(int rows, int classes, string kind, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        var g = new Generator(rows + classes);
        var x = Tensor.Randn([rows, classes], g, dtype) * 3.0;
        var scores = x.ToArray<double>();
        scores[classes + 5] = double.NegativeInfinity; // a -inf score in row 1
        for (int c = 0; c < classes; c++) scores[2 * classes + c] = double.NegativeInfinity; // row 2 all -inf: NaN loss terms
        if (kind == "none") scores[3 * classes + 1] = double.NaN; // a NaN row (only where no sum over the rows makes the loss NaN)
        var targets = Enumerable.Range(0, rows).Select(_ => (long)g.NextInt(classes)).ToArray();
        if (kind == "weighted") for (int r = 0; r < rows; r += 7) targets[r] = -100;
        targets[2] = -100; // the all -inf row left out (its terms are NaN)
        // One huge loss term (row 4): the small terms added after it are lost in float64, those added before it are not,
        // so a sum over the rows in another order than the old one gives other bits.
        scores[4 * classes + targets[4]] = -1e17;
        var target = Tensor.FromArray(targets, rows);
        var weight = Tensor.Rand([classes], g, dtype) + 0.5;
        var reduction = kind switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean };
        List<long[]> Run() => Poisoned(dtype, [rows * classes, 2 * rows], () =>
        {
            var input = Tensor.FromArray(scores, rows, classes).To(dtype).Detach();
            input.RequiresGrad = true;
            var loss = kind == "weighted"
                ? Functional.CrossEntropy(input, target, reduction, labelSmoothing: 0.1, weight: weight)
                : Functional.CrossEntropy(input, target, reduction);
            var upstream = reduction == Reduction.None ? Tensor.Randn([rows], new Generator(8), dtype) : Tensor.Full([], 0.75, dtype);
            loss.Backward(upstream);
            return [SharedTailsTests.Bits(loss), SharedTailsTests.Bits(input.Grad!)];
        });
        Compare($"cross-entropy {rows}x{classes} {kind} {dtype}", Run, expectShared: rows * classes >= 1 << 14);
    }

    [Theory]
    [InlineData(new[] { 2, 16, 64, 256 }, 0, 0, 1, false)]   // the h half of an LSTM layer's result
    [InlineData(new[] { 2, 16, 64, 256 }, 0, 1, 1, true)]
    [InlineData(new[] { 3, 257, 129 }, 1, 5, 100, false)]    // zeros before and after the slice, in every outer block
    [InlineData(new[] { 3, 257, 129 }, 1, 0, 256, true)]
    [InlineData(new[] { 5, 131, 211 }, -1, 128, 83, false)]  // the last dimension: runs shorter than a part
    [InlineData(new[] { 70001 }, 0, 3, 69001, true)]
    [InlineData(new[] { 40, 30 }, 0, 7, 11, false)]          // small: the calling thread alone either way
    public void NarrowGivesTheSameBits(int[] shape, int dim, int start, int length, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        int numel = shape.Aggregate(1, (a, b) => a * b);
        var values = Tensor.Randn(shape, new Generator(numel), dtype);
        var outShape = (int[])shape.Clone();
        outShape[dim < 0 ? dim + shape.Length : dim] = length;
        var upstream = Tensor.Randn(outShape, new Generator(5), dtype);
        List<long[]> Run() => Poisoned(dtype, [numel, upstream.Numel], () =>
        {
            var x = values.Detach();
            x.RequiresGrad = true;
            var y = x.Narrow(dim, start, length);
            y.Backward(upstream);
            return [SharedTailsTests.Bits(y), SharedTailsTests.Bits(x.Grad!)];
        });
        Compare($"narrow {string.Join('x', shape)} dim {dim} [{start}, {start + length}) {dtype}", Run, expectShared: numel >= 1 << 16);
    }

    [Fact]
    public void NarrowOfIntegersGivesTheSameValues()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 3 * 300 * 101).Select(i => (long)i * 7919).ToArray(), 3, 300, 101);
        List<long[]> Run() => Poisoned(DType.Int64, [3 * 250 * 101], () => [x.Narrow(1, 17, 250).ToArray<long>()]);
        Compare("narrow int64", Run);
    }

    [Theory]
    [InlineData(new[] { 64, 16, 256 }, new[] { 1, 0, 2 }, false)] // batch first <-> time major, the lstm-step's
    [InlineData(new[] { 16, 64, 64 }, new[] { 1, 0, 2 }, true)]
    [InlineData(new[] { 3, 50, 71, 7 }, new[] { 2, 0, 3, 1 }, false)] // a strided gather (the last dimension moves)
    [InlineData(new[] { 301, 257 }, new[] { 1, 0 }, true)]
    [InlineData(new[] { 5, 7, 9 }, new[] { 2, 1, 0 }, false)] // small: the calling thread alone either way
    public void PermuteGivesTheSameBits(int[] shape, int[] perm, bool float64)
    {
        var dtype = float64 ? DType.Float64 : DType.Float32;
        int numel = shape.Aggregate(1, (a, b) => a * b);
        var values = Tensor.Randn(shape, new Generator(numel + 1), dtype);
        var upstream = Tensor.Randn(perm.Select(d => shape[d]).ToArray(), new Generator(6), dtype);
        List<long[]> Run() => Poisoned(dtype, [numel], () =>
        {
            var x = values.Detach();
            x.RequiresGrad = true;
            var y = x.Permute(perm);
            y.Backward(upstream);
            return [SharedTailsTests.Bits(y), SharedTailsTests.Bits(x.Grad!)];
        });
        Compare($"permute {string.Join('x', shape)} by {string.Join(',', perm)} {dtype}", Run, expectShared: numel >= 1 << 16);
    }

    /// <summary>The lstm-step bench's model and batch (54 tokens, 16 positions, 64 chunks, 64-d embedding, hidden 256): two whole training steps.</summary>
    [Fact]
    public void LstmLanguageModelStepsGiveTheSameBits() => Compare("LSTM LM", () => SharedTailsTests.RunLm(54, 16, 64, 64, 256));
}
