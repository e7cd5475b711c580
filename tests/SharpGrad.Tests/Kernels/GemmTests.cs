using System.Numerics;
using System.Runtime.Intrinsics;
using SharpGrad.Kernels;

namespace SharpGrad.Tests.Kernels;

/// <summary>
/// The GEMM against a naive triple loop in double precision: awkward sizes (every edge-tile case of the 8 x 32 and
/// 6 x 16 register tiles), every transpose combination, overwrite and accumulate, float and double, one and two threads;
/// bit-identical results for any thread count; the alpha/beta/leading-dimension/epilogue overload; the fallback
/// micro-kernels; argument checks.
/// </summary>
[Collection(GemmCollection.Name)]
public class GemmTests
{
    // (m, n, k): C is m x n, the sum runs over k.
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 7, 7, 7 }, { 17, 31, 33 }, { 31, 33, 17 }, { 33, 17, 31 }, { 255, 33, 7 }, { 7, 257, 33 },
        { 257, 33, 1 }, { 3, 5, 1000 }, { 64, 256, 784 }, { 64, 10, 128 }, { 1, 300, 257 }, { 130, 70, 300 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesNaiveProduct(int m, int n, int k)
    {
        var rng = new Random(m * 1_000_003 + n * 1009 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                double[] a = RandomArray(rng, m * k), b = RandomArray(rng, k * n), c0 = RandomArray(rng, m * n);
                var (product, magnitude) = Reference(transA, transB, m, n, k, a, b);
                foreach (bool accumulate in new[] { false, true })
                    foreach (int threads in new[] { 1, 2 })
                    {
                        string what = $"{m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate} threads={threads}";
                        Check<float>(what, transA, transB, m, n, k, a, b, c0, accumulate, threads, product, magnitude);
                        Check<double>(what, transA, transB, m, n, k, a, b, c0, accumulate, threads, product, magnitude);
                    }
            }
    }

    [Theory]
    [InlineData(64, 256, 784)]
    [InlineData(784, 256, 64)]
    [InlineData(200, 300, 515)]
    [InlineData(13, 1000, 40)]
    public void OneAndTwoThreadsAreBitIdentical(int m, int n, int k)
    {
        var rng = new Random(7);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                float[] a = RandomArray(rng, m * k).Select(x => (float)x).ToArray();
                float[] b = RandomArray(rng, k * n).Select(x => (float)x).ToArray();
                float[] c1 = new float[m * n], c2 = new float[m * n];
                WithThreads(1, () => Gemm.Multiply<float>(transA, transB, m, n, k, a, b, c1, false));
                WithThreads(2, () => Gemm.Multiply<float>(transA, transB, m, n, k, a, b, c2, false));
                Assert.True(c1.AsSpan().SequenceEqual(c2), $"{m}x{n}x{k} transA={transA} transB={transB}: 1 and 2 threads differ");

                double[] ad = RandomArray(rng, m * k), bd = RandomArray(rng, k * n);
                double[] d1 = new double[m * n], d2 = new double[m * n];
                WithThreads(1, () => Gemm.Multiply<double>(transA, transB, m, n, k, ad, bd, d1, false));
                WithThreads(2, () => Gemm.Multiply<double>(transA, transB, m, n, k, ad, bd, d2, false));
                Assert.True(d1.AsSpan().SequenceEqual(d2), $"{m}x{n}x{k} transA={transA} transB={transB} (double): 1 and 2 threads differ");
            }
    }

    /// <summary>
    /// <c>act(A Bᵀ + bias)</c> with few rows (a Linear layer's forward at a training batch) is computed as <c>B Aᵀ</c> with B
    /// read in place (<see cref="SmallRowsNT{T}"/>): against the definition in double, with the bias and the ReLU, rows and
    /// columns that fill no whole strip, and bit-identical for one and two threads.
    /// </summary>
    [Theory]
    [InlineData(64, 256, 784)]
    [InlineData(13, 21, 100)]
    [InlineData(1, 8, 16)]
    [InlineData(40, 130, 33)]
    public void FewRowsTimesTransposedBMatchesDefinition(int m, int n, int k)
    {
        Assert.True(SmallRowsNT<float>.Applies(false, true, m, n, k, 1f, 0f), "the shape should take SmallRowsNT");
        var rng = new Random(m * 7 + n * 13 + k);
        double[] a = RandomArray(rng, m * k), b = RandomArray(rng, n * k), bias = RandomArray(rng, n);
        var (product, magnitude) = Reference(false, true, m, n, k, a, b);
        float[] af = ToFloat(a), bf = ToFloat(b), biasf = ToFloat(bias);
        foreach (var activation in new[] { GemmActivation.None, GemmActivation.Relu })
        {
            float[] c1 = Enumerable.Repeat(float.NaN, m * n).ToArray(), c2 = new float[m * n];
            WithThreads(1, () => Gemm.Multiply<float>(false, true, m, n, k, 1f, af, k, bf, k, 0f, c1, n, biasf, activation));
            WithThreads(2, () => Gemm.Multiply<float>(false, true, m, n, k, 1f, af, k, bf, k, 0f, c2, n, biasf, activation));
            Assert.True(c1.AsSpan().SequenceEqual(c2), $"{m}x{n}x{k} {activation}: 1 and 2 threads differ");
            for (int i = 0; i < m * n; i++)
            {
                double pre = product[i] + biasf[i % n];
                double expected = activation == GemmActivation.Relu ? Math.Max(pre, 0) : pre;
                double tolerance = 4 * 6e-8 * (k + 2) * (magnitude[i] + Math.Abs(biasf[i % n]) + Math.Abs(pre));
                Assert.True(Math.Abs(c1[i] - expected) <= tolerance, $"{m}x{n}x{k} {activation}: C[{i / n},{i % n}] = {c1[i]}, expected {expected}");
            }
        }
    }

    /// <summary>
    /// Full strips of a non-transposed B used for one block of rows are read where they are instead of packed
    /// (<see cref="GemmTuning.BInPlace"/>): the kernel then reads the same values, so the product is bit-identical to the
    /// packed one, with partial strips (n not a multiple of NR), several k blocks, a 4 KB row stride (packed unless
    /// forced) and rows split or columns split over two threads.
    /// </summary>
    [Theory]
    [InlineData(64, 256, 128)]
    [InlineData(128, 256, 64)]
    [InlineData(40, 100, 515)]
    [InlineData(64, 1024, 300)]
    [InlineData(200, 784, 64)]
    public void ReadingBInPlaceMatchesPackingIt(int m, int n, int k)
    {
        var rng = new Random(m + 31 * n + 977 * k);
        int saved = GemmTuning.BInPlace;
        try
        {
            foreach (bool transA in new[] { false, true })
            {
                double[] ad = RandomArray(rng, m * k), bd = RandomArray(rng, k * n);
                float[] a = ad.Select(x => (float)x).ToArray(), b = bd.Select(x => (float)x).ToArray();
                var (product, magnitude) = Reference(transA, false, m, n, k, ad, bd);
                foreach (int threads in new[] { 1, 2 })
                {
                    float[] packed = new float[m * n];
                    double[] packedD = new double[m * n];
                    GemmTuning.BInPlace = 0;
                    WithThreads(threads, () => Gemm.Multiply<float>(transA, false, m, n, k, a, b, packed, false));
                    WithThreads(threads, () => Gemm.Multiply<double>(transA, false, m, n, k, ad, bd, packedD, false));
                    for (int i = 0; i < product.Length; i++)
                    {
                        double tolerance = 4 * 6e-8 * (k + 2) * (magnitude[i] + Math.Abs(product[i]));
                        Assert.True(Math.Abs(packed[i] - product[i]) <= tolerance, $"{m}x{n}x{k} transA={transA}: C[{i}] = {packed[i]}, expected {product[i]}");
                    }
                    foreach (int mode in new[] { 1, 2 })
                    {
                        float[] inPlace = new float[m * n];
                        double[] inPlaceD = new double[m * n];
                        GemmTuning.BInPlace = mode;
                        WithThreads(threads, () => Gemm.Multiply<float>(transA, false, m, n, k, a, b, inPlace, false));
                        WithThreads(threads, () => Gemm.Multiply<double>(transA, false, m, n, k, ad, bd, inPlaceD, false));
                        string what = $"{m}x{n}x{k} transA={transA} threads={threads} mode={mode}";
                        Assert.True(packed.AsSpan().SequenceEqual(inPlace), what + ": B read in place differs from B packed (float)");
                        Assert.True(packedD.AsSpan().SequenceEqual(inPlaceD), what + ": B read in place differs from B packed (double)");
                    }
                }
            }
        }
        finally { GemmTuning.BInPlace = saved; }
    }

    /// <summary>
    /// A last column strip at most half full (n = 784 = 24 x 32 + 16 in float32, 10 columns, 8 of 16 in float64) is
    /// computed by the half-width AVX-512 tile (<see cref="GemmTuning.HalfEdge"/>): against the definition in double, and
    /// bit-identical to the full tile, for every transpose, overwrite and accumulate, rows not a multiple of 8, one and
    /// several k blocks, one and two threads, float and double.
    /// </summary>
    [Theory]
    [InlineData(256, 784, 64)]
    [InlineData(37, 784, 33)]
    [InlineData(17, 10, 300)]
    [InlineData(130, 1048, 515)]
    [InlineData(130, 784, 515)]
    [InlineData(64, 200, 32)]
    public void HalfEdgeTileMatchesFullTile(int m, int n, int k)
    {
        bool saved = GemmTuning.HalfEdge;
        try { SwitchKeepsBits(m, n, k, on => GemmTuning.HalfEdge = on, "the half-width edge tile"); }
        finally { GemmTuning.HalfEdge = saved; }
    }

    /// <summary>
    /// The full strips of a non-transposed A read in place against few strips of B (<see cref="GemmTuning.AInPlace"/>,
    /// here up to 4 strips, so float64 is taken up to 64 columns as float32 is), against packing them: the LM head's
    /// forward (1024 x 54 x 256), rows not a multiple of 8 (a packed last strip), a last column strip of exactly half
    /// (48 columns in float32, 24 in float64: the half-width tile stored directly), of less than half or more than half,
    /// one to three k blocks of uneven depth, rows split over two threads in one or several blocks; against the definition
    /// in double and bit-identical, float and double, one and two threads, every transpose, overwrite and accumulate.
    /// </summary>
    [Theory]
    [InlineData(1024, 54, 256)]
    [InlineData(37, 10, 33)]
    [InlineData(130, 64, 515)]
    [InlineData(517, 33, 70)]
    [InlineData(300, 17, 1100)]
    [InlineData(66, 100, 40)]
    [InlineData(9, 50, 300)]
    [InlineData(200, 48, 70)]
    [InlineData(200, 24, 70)]
    public void ReadingAInPlaceMatchesPackingIt(int m, int n, int k)
    {
        var saved = (GemmTuning.AInPlace, GemmTuning.AInPlaceMaxStrips);
        GemmTuning.AInPlaceTaken = false;
        try
        {
            GemmTuning.AInPlaceMaxStrips = 4;
            SwitchKeepsBits(m, n, k, on => GemmTuning.AInPlace = on, "reading A in place");
            Assert.True(GemmTuning.AInPlaceTaken, "A was never read in place");
        }
        finally { (GemmTuning.AInPlace, GemmTuning.AInPlaceMaxStrips) = saved; }
    }

    /// <summary>
    /// <see cref="GemmTuning.AInPlace"/> in the general form: alpha 0.75, beta 0 and 1.5, a padded row stride of A (its
    /// leading dimension k + 3), a bias and ReLU in the epilogue, the shared-panel plan allowed (taken on two threads where
    /// the rows exceed two blocks) and the per-thread plan; the same bits as packing A, float and double, one and two
    /// threads. The default strip limit (2) is taken by float32 up to 64 columns, by float64 up to 32.
    /// </summary>
    [Theory]
    [InlineData(1024, 54, 256)]
    [InlineData(1031, 30, 515)]
    [InlineData(45, 64, 77)]
    [InlineData(250, 7, 600)]
    public void ReadingAInPlaceKeepsBitsWithStridesBiasAndScaling(int m, int n, int k)
    {
        var rng = new Random(m * 5 + n * 23 + k * 7);
        var saved = (GemmTuning.AInPlace, GemmTuning.SharedPanel, GemmTuning.SharedPanelMinMultiplyAdds);
        GemmTuning.AInPlaceTaken = false;
        try
        {
            GemmTuning.SharedPanelMinMultiplyAdds = 0;
            int lda = k + 3;
            double[] ad = RandomArray(rng, m * lda), bd = RandomArray(rng, n * k), c0 = RandomArray(rng, m * n), biasd = RandomArray(rng, n);
            float[] a = ToFloat(ad), b = ToFloat(bd), biasf = ToFloat(biasd);
            foreach (bool transB in new[] { false, true })
            foreach (bool shared in new[] { false, true })
            foreach (double beta in new[] { 0.0, 1.5 })
            foreach (int threads in new[] { 1, 2 })
            {
                int ldb = transB ? k : n;
                GemmTuning.SharedPanel = shared;
                float[] offF = ToFloat(c0), onF = ToFloat(c0);
                double[] offD = (double[])c0.Clone(), onD = (double[])c0.Clone();
                GemmTuning.AInPlace = false;
                WithThreads(threads, () => Gemm.Multiply<float>(false, transB, m, n, k, 0.75f, a, lda, b, ldb, (float)beta, offF, n, biasf, GemmActivation.Relu));
                WithThreads(threads, () => Gemm.Multiply<double>(false, transB, m, n, k, 0.75, ad, lda, bd, ldb, beta, offD, n, biasd, GemmActivation.Relu));
                GemmTuning.AInPlace = true;
                WithThreads(threads, () => Gemm.Multiply<float>(false, transB, m, n, k, 0.75f, a, lda, b, ldb, (float)beta, onF, n, biasf, GemmActivation.Relu));
                WithThreads(threads, () => Gemm.Multiply<double>(false, transB, m, n, k, 0.75, ad, lda, bd, ldb, beta, onD, n, biasd, GemmActivation.Relu));
                string what = $"{m}x{n}x{k} transB={transB} shared={shared} beta={beta} threads={threads}";
                Assert.True(offF.AsSpan().SequenceEqual(onF), what + ": reading A in place changed the float product");
                Assert.True(offD.AsSpan().SequenceEqual(onD), what + ": reading A in place changed the double product");
                for (int i = 0; i < m * n; i++)
                {
                    int r = i / n, j = i % n;
                    double sum = 0, magnitude = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double term = ad[r * lda + p] * (transB ? bd[j * k + p] : bd[p * n + j]);
                        sum += term;
                        magnitude += Math.Abs(term);
                    }
                    double expected = Math.Max(0.75 * sum + beta * c0[i] + biasd[j], 0);
                    double tolerance = 1e-12 * (k + 3) * (magnitude + Math.Abs(c0[i]) + Math.Abs(biasd[j]) + 1);
                    Assert.True(Math.Abs(onD[i] - expected) <= tolerance, $"{what}: C[{r},{j}] = {onD[i]}, expected {expected}");
                }
            }
            Assert.True(GemmTuning.AInPlaceTaken, "A was never read in place");
        }
        finally { (GemmTuning.AInPlace, GemmTuning.SharedPanel, GemmTuning.SharedPanelMinMultiplyAdds) = saved; }
    }

    /// <summary>
    /// A part's last block of packed A takes up to a quarter more rows than MC instead of leaving a thin block
    /// (<see cref="GemmTuning.MergeLastBlock"/>): 256 rows as one block (B then read in place strip by strip), 1000 rows
    /// as 240 + 240 + 240 + 280, parts of 250 rows on two threads, two k blocks; against the definition in double and
    /// bit-identical to the blocks of MC rows, every transpose, overwrite and accumulate, float and double.
    /// </summary>
    [Theory]
    [InlineData(256, 784, 64)]
    [InlineData(500, 70, 100)]
    [InlineData(290, 33, 515)]
    [InlineData(1000, 64, 70)]
    public void MergedLastRowBlockMatchesBlocksOfMc(int m, int n, int k)
    {
        bool saved = GemmTuning.MergeLastBlock;
        try { SwitchKeepsBits(m, n, k, on => GemmTuning.MergeLastBlock = on, "the merged last block of rows"); }
        finally { GemmTuning.MergeLastBlock = saved; }
    }

    /// <summary>
    /// MC and NC only cut the rows and columns into blocks, never k (<see cref="GemmTuning.Mc"/>,
    /// <see cref="GemmTuning.NcBytes"/>): the MC derived from this machine's L2 with 2 MB panels against 64 rows with
    /// 128 KB panels (several column panels); the shared-panel plan allowed from any size (so taken on two threads where
    /// the rows exceed two blocks), odd m and n, one to three k blocks; against the definition in double and the same
    /// bits both ways, float and double, one and two threads, every transpose, overwrite and accumulate.
    /// </summary>
    [Theory]
    [InlineData(517, 301, 515)]
    [InlineData(1031, 97, 33)]
    [InlineData(261, 301, 1100)]
    [InlineData(256, 784, 64)]
    [InlineData(130, 1100, 70)]
    public void BlockingOfRowsAndColumnsKeepsBits(int m, int n, int k)
    {
        var (mc, ncBytes, minShared) = (GemmTuning.Mc, GemmTuning.NcBytes, GemmTuning.SharedPanelMinMultiplyAdds);
        try
        {
            GemmTuning.SharedPanelMinMultiplyAdds = 0;
            SwitchKeepsBits(m, n, k, derived => (GemmTuning.Mc, GemmTuning.NcBytes) =
                derived ? (GemmTuning.McFor(CacheSizes.L2), 2 * 1024 * 1024) : (64, 128 * 1024), "the blocking of rows and columns");
        }
        finally { (GemmTuning.Mc, GemmTuning.NcBytes, GemmTuning.SharedPanelMinMultiplyAdds) = (mc, ncBytes, minShared); }
    }

    /// <summary>
    /// MC from the L2 size (<see cref="GemmTuning.McFor"/>): the float32 block of A at KC = 512 takes half of what a
    /// 64 KB strip of B leaves, in 16-row steps, 64 to 240 rows (larger L2s keep the measured 240); unknown (0) keeps 240. On Linux the L2 size read at
    /// start-up is the one sysfs gives for the first core, and MC is the rule's.
    /// </summary>
    [Fact]
    public void McFollowsTheL2Size()
    {
        Assert.Equal(240, GemmTuning.McFor(0));
        Assert.Equal(240, GemmTuning.McFor(1L << 20)); // (1024 - 64) KB / 2 = 480 KB = 240 rows of 2 KB
        Assert.Equal(240, GemmTuning.McFor(2L << 20)); // 992 KB = 496 rows, at most 240 (taller blocks not measured)
        Assert.Equal(112, GemmTuning.McFor(512L << 10)); // 224 KB
        Assert.Equal(176, GemmTuning.McFor(800L << 10)); // 368 KB = 184 rows, down to a multiple of 16
        Assert.Equal(64, GemmTuning.McFor(128L << 10));
        Assert.Equal(240, GemmTuning.McFor(32L << 20));
        string dir = "/sys/devices/system/cpu/cpu0/cache/index2";
        if (OperatingSystem.IsLinux() && File.Exists(dir + "/size") && File.ReadAllText(dir + "/level").Trim() == "2"
            && File.ReadAllText(dir + "/size").Trim() is var size && size.EndsWith('K'))
        {
            Assert.Equal(1024L * long.Parse(size[..^1]), CacheSizes.L2);
            Assert.Equal(GemmTuning.McFor(CacheSizes.L2), GemmTuning.Mc);
        }
    }

    /// <summary>sysfs cache sizes: a number with an optional K/M/G suffix; anything else is unknown (0).</summary>
    [Theory]
    [InlineData("48K", 48L << 10)]
    [InlineData("1024K\n", 1L << 20)]
    [InlineData("2M", 2L << 20)]
    [InlineData("32768K", 32L << 20)]
    [InlineData("512", 512L)]
    [InlineData("", 0L)]
    [InlineData("K", 0L)]
    [InlineData("-1K", 0L)]
    [InlineData("1.5M", 0L)]
    [InlineData("12345678901K", 0L)]
    public void CacheSizeTextIsParsed(string text, long expected) => Assert.Equal(expected, CacheSizes.ParseSize(text));

    /// <summary>
    /// The product with a tuning switch off and on, float and double, one and two threads, every transpose, overwrite and
    /// accumulate: within the bound of the definition in double, and the same bits both ways.
    /// </summary>
    private static void SwitchKeepsBits(int m, int n, int k, Action<bool> setSwitch, string what)
    {
        var rng = new Random(m + 37 * n + 1009 * k);
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        {
            double[] ad = RandomArray(rng, m * k), bd = RandomArray(rng, k * n), cd = RandomArray(rng, m * n);
            float[] a = ad.Select(x => (float)x).ToArray(), b = bd.Select(x => (float)x).ToArray(), c0 = cd.Select(x => (float)x).ToArray();
            var (product, magnitude) = Reference(transA, transB, m, n, k, ad, bd);
            foreach (bool accumulate in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
            {
                float[] off = (float[])c0.Clone(), on = (float[])c0.Clone();
                double[] offD = (double[])cd.Clone(), onD = (double[])cd.Clone();
                setSwitch(false);
                WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, a, b, off, accumulate));
                WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, ad, bd, offD, accumulate));
                setSwitch(true);
                WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, a, b, on, accumulate));
                WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, ad, bd, onD, accumulate));
                string where = $"{m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate} threads={threads}";
                for (int i = 0; i < product.Length; i++)
                {
                    double expected = product[i] + (accumulate ? c0[i] : 0);
                    double tolerance = 4 * 6e-8 * (k + 2) * (magnitude[i] + Math.Abs(expected) + 1);
                    Assert.True(Math.Abs(on[i] - expected) <= tolerance, $"{where}: C[{i}] = {on[i]}, expected {expected}");
                }
                for (int i = 0; i < off.Length; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(off[i]) == BitConverter.SingleToInt32Bits(on[i]), $"{where}: {what} changes C[{i}] (float)");
                    Assert.True(BitConverter.DoubleToInt64Bits(offD[i]) == BitConverter.DoubleToInt64Bits(onD[i]), $"{where}: {what} changes C[{i}] (double)");
                }
            }
        }
    }

    /// <summary>
    /// Products with more rows than one MC block per thread pack op(B) once for both threads and split the rows into
    /// blocks claimed one at a time (<see cref="GemmTuning.SharedPanel"/>): against the definition in double, and
    /// bit-identical to the per-thread plan and to one thread, for every transpose, overwrite and accumulate with a bias
    /// and ReLU, m not a multiple of MR, n not a multiple of NR, several k blocks of uneven depth, float and double.
    /// </summary>
    [Theory]
    [InlineData(517, 45, 300)]
    [InlineData(977, 301, 515)]
    [InlineData(1000, 64, 70)]
    public void SharedPanelMatchesDefinitionAndPerThreadPanels(int m, int n, int k)
    {
        var rng = new Random(m * 3 + n * 17 + k * 101);
        ForEachTransposeWithSharedPlanAllowed((transA, transB) =>
                {
                    var (ad, bd, c0, biasd, product, magnitude, a, b, biasf, lda, ldb) = RandomProduct.Make(rng, transA, transB, m, n, k);
                    foreach (bool accumulate in new[] { false, true })
                    {
                        string what = $"{m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate}";
                        float beta = accumulate ? 1f : 0f;
                        float[] shared = ToFloat(c0), perThread = ToFloat(c0), single = ToFloat(c0);
                        GemmTuning.SharedPanel = true;
                        WithThreads(2, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, shared, n, biasf, GemmActivation.Relu));
                        WithThreads(1, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, single, n, biasf, GemmActivation.Relu));
                        GemmTuning.SharedPanel = false;
                        WithThreads(2, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, perThread, n, biasf, GemmActivation.Relu));
                        Assert.True(shared.AsSpan().SequenceEqual(perThread), what + ": the shared panel differs from per-thread panels");
                        Assert.True(shared.AsSpan().SequenceEqual(single), what + ": the shared panel differs from one thread");
                        for (int i = 0; i < m * n; i++)
                        {
                            double pre = product[i] + biasf[i % n] + (accumulate ? (float)c0[i] : 0);
                            double expected = Math.Max(pre, 0);
                            double tolerance = 4 * 6e-8 * (k + 3) * (magnitude[i] + Math.Abs(biasf[i % n]) + Math.Abs(c0[i]) + Math.Abs(pre));
                            Assert.True(Math.Abs(shared[i] - expected) <= tolerance, $"{what}: C[{i / n},{i % n}] = {shared[i]}, expected {expected}");
                        }

                        double[] sharedD = (double[])c0.Clone(), perThreadD = (double[])c0.Clone();
                        double betaD = accumulate ? 1 : 0;
                        GemmTuning.SharedPanel = true;
                        WithThreads(2, () => Gemm.Multiply<double>(transA, transB, m, n, k, 1.0, ad, lda, bd, ldb, betaD, sharedD, n));
                        GemmTuning.SharedPanel = false;
                        WithThreads(2, () => Gemm.Multiply<double>(transA, transB, m, n, k, 1.0, ad, lda, bd, ldb, betaD, perThreadD, n));
                        Assert.True(sharedD.AsSpan().SequenceEqual(perThreadD), what + " (double): the shared panel differs from per-thread panels");
                        for (int i = 0; i < m * n; i++)
                        {
                            double expected = product[i] + (accumulate ? c0[i] : 0);
                            double tolerance = 4 * 1.2e-16 * (k + 2) * (magnitude[i] + Math.Abs(c0[i]) + Math.Abs(expected));
                            Assert.True(Math.Abs(sharedD[i] - expected) <= tolerance, $"{what} (double): C[{i / n},{i % n}] = {sharedD[i]}, expected {expected}");
                        }
                    }
                });
    }

    /// <summary>
    /// The kernels prefetch the next packed strip of B (<see cref="GemmTuning.PrefetchNextStrip"/>), a hint that must
    /// leave every bit of C as it was: with and without it, for every transpose, float and double, one and two threads,
    /// the shared and the per-thread plans, accumulating into C with a bias, odd m and n (edge tiles, whose kernel calls
    /// prefetch too), several k blocks, and row blocks of fewer kernel calls than a strip needs to be prefetched whole.
    /// Against the definition in double as well.
    /// </summary>
    [Theory]
    [InlineData(517, 45, 300)]
    [InlineData(1031, 97, 33)]
    [InlineData(261, 301, 1100)]
    [InlineData(64, 1024, 300)]
    public void PrefetchingTheNextStripLeavesResultsBitIdentical(int m, int n, int k)
    {
        var rng = new Random(m * 7 + n * 13 + k * 29);
        bool savedPrefetch = GemmTuning.PrefetchNextStrip;
        try
        {
            ForEachTransposeWithSharedPlanAllowed((transA, transB) =>
                {
                    var (ad, bd, c0, biasd, product, magnitude, a, b, biasf, lda, ldb) = RandomProduct.Make(rng, transA, transB, m, n, k);
                    foreach (bool shared in new[] { true, false })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            string what = $"{m}x{n}x{k} transA={transA} transB={transB} shared={shared} threads={threads}";
                            GemmTuning.SharedPanel = shared;
                            float[] with = ToFloat(c0), without = ToFloat(c0);
                            double[] withD = (double[])c0.Clone(), withoutD = (double[])c0.Clone();
                            GemmTuning.PrefetchNextStrip = true;
                            WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, 1f, with, n, biasf, GemmActivation.None));
                            WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, 1.0, ad, lda, bd, ldb, 1.0, withD, n, biasd, GemmActivation.None));
                            GemmTuning.PrefetchNextStrip = false;
                            WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, b, ldb, 1f, without, n, biasf, GemmActivation.None));
                            WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, 1.0, ad, lda, bd, ldb, 1.0, withoutD, n, biasd, GemmActivation.None));
                            Assert.True(with.AsSpan().SequenceEqual(without), what + ": prefetching changed the float product");
                            Assert.True(withD.AsSpan().SequenceEqual(withoutD), what + ": prefetching changed the double product");
                            for (int i = 0; i < m * n; i++)
                            {
                                double expected = product[i] + biasf[i % n] + (float)c0[i];
                                double tolerance = 4 * 6e-8 * (k + 3) * (magnitude[i] + Math.Abs(biasf[i % n]) + Math.Abs(c0[i]) + Math.Abs(expected));
                                Assert.True(Math.Abs(with[i] - expected) <= tolerance, $"{what}: C[{i / n},{i % n}] = {with[i]}, expected {expected}");
                            }
                        }
                });
        }
        finally { GemmTuning.PrefetchNextStrip = savedPrefetch; }
    }

    /// <summary>
    /// The shared-panel plan packing each strip of op(B) when a row block first needs it (<see
    /// cref="GemmTuning.PackSharedOnDemand"/>), the second thread's blocks walking the strips backwards, and running each
    /// thread's last row block as two halves of the strips (<see cref="GemmTuning.SplitLastBlocks"/>), each alone and
    /// both, against the packing run before whole blocks: the same bits for every transpose, float and double, one and two threads, the
    /// shared and the per-thread plans, accumulating into C with a bias and ReLU, odd m and n (an edge strip), one to
    /// three k blocks of uneven depth, and a second call of the same shape with another B (whose strips must be packed
    /// again, not taken as already packed by the first call). Against the definition in double as well.
    /// </summary>
    [Theory]
    [InlineData(517, 45, 300)]
    [InlineData(1031, 97, 33)]
    [InlineData(700, 301, 1100)]
    [InlineData(977, 301, 515)]
    public void SharedPlanOnDemandPackingAndSplitLastBlocksKeepBits(int m, int n, int k)
    {
        var rng = new Random(m * 11 + n * 19 + k * 31);
        var saved = (GemmTuning.PackSharedOnDemand, GemmTuning.SplitLastBlocks);
        try
        {
            ForEachTransposeWithSharedPlanAllowed((transA, transB) =>
                {
                    var (ad, bd, c0, biasd, product, magnitude, a, b, biasf, lda, ldb) = RandomProduct.Make(rng, transA, transB, m, n, k);
                    double[] bd2 = bd.Select(x => -0.5 * x + 0.25).ToArray();
                    float[] b2 = bd2.Select(x => (float)x).ToArray();
                    foreach (bool shared in new[] { true, false })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            string what = $"{m}x{n}x{k} transA={transA} transB={transB} shared={shared} threads={threads}";
                            GemmTuning.SharedPanel = shared;
                            var results = new List<(float[] F, double[] D)>();
                            foreach (var (onDemand, split) in new[] { (false, false), (true, false), (false, true), (true, true) })
                            {
                                (GemmTuning.PackSharedOnDemand, GemmTuning.SplitLastBlocks) = (onDemand, split);
                                foreach (var (bf, bdd) in new[] { (b, bd), (b2, bd2) })
                                {
                                    float[] f = ToFloat(c0);
                                    double[] d = (double[])c0.Clone();
                                    WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, 1f, a, lda, bf, ldb, 1f, f, n, biasf, GemmActivation.Relu));
                                    WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, 1.0, ad, lda, bdd, ldb, 1.0, d, n, biasd, GemmActivation.None));
                                    results.Add((f, d));
                                }
                            }
                            for (int config = 1; config < 4; config++)
                                for (int call = 0; call < 2; call++)
                                {
                                    string change = $"{what} call {call}: on demand {(config & 1) == 1}, split {config >= 2} changed the";
                                    Assert.True(results[call].F.AsSpan().SequenceEqual(results[2 * config + call].F), change + " float product");
                                    Assert.True(results[call].D.AsSpan().SequenceEqual(results[2 * config + call].D), change + " double product");
                                }
                            Assert.False(results[2].F.AsSpan().SequenceEqual(results[3].F), what + ": the second B gave the first B's product");
                            for (int i = 0; i < m * n; i++)
                            {
                                double pre = product[i] + biasf[i % n] + (float)c0[i];
                                double expected = Math.Max(pre, 0);
                                double tolerance = 4 * 6e-8 * (k + 3) * (magnitude[i] + Math.Abs(biasf[i % n]) + Math.Abs(c0[i]) + Math.Abs(pre));
                                Assert.True(Math.Abs(results[2].F[i] - expected) <= tolerance, $"{what}: C[{i / n},{i % n}] = {results[2].F[i]}, expected {expected}");
                            }
                        }
                });
        }
        finally { (GemmTuning.PackSharedOnDemand, GemmTuning.SplitLastBlocks) = saved; }
    }

    /// <summary>
    /// Runs <paramref name="body"/> for the four transpose pairs with the shared-panel plan allowed from any size (the
    /// tests' shapes are below the size from which it is taken); restores the plan's settings afterwards.
    /// </summary>
    private static void ForEachTransposeWithSharedPlanAllowed(Action<bool, bool> body)
    {
        bool saved = GemmTuning.SharedPanel;
        long savedMin = GemmTuning.SharedPanelMinMultiplyAdds;
        GemmTuning.SharedPanelMinMultiplyAdds = 0;
        try
        {
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    body(transA, transB);
        }
        finally
        {
            GemmTuning.SharedPanel = saved;
            GemmTuning.SharedPanelMinMultiplyAdds = savedMin;
        }
    }

    /// <summary>
    /// A random product <c>C = op(A) op(B) + C0 + bias</c>: the operands in double and their float copies, the leading
    /// dimensions of op's storage, and the definition's sum of op(A) op(B) with the magnitude of its terms.
    /// </summary>
    private sealed record RandomProduct(double[] Ad, double[] Bd, double[] C0, double[] BiasD, double[] Product, double[] Magnitude,
        float[] A, float[] B, float[] BiasF, int Lda, int Ldb)
    {
        public static RandomProduct Make(Random rng, bool transA, bool transB, int m, int n, int k)
        {
            double[] ad = RandomArray(rng, m * k), bd = RandomArray(rng, k * n), c0 = RandomArray(rng, m * n), biasd = RandomArray(rng, n);
            var (product, magnitude) = Reference(transA, transB, m, n, k, ad, bd);
            return new RandomProduct(ad, bd, c0, biasd, product, magnitude, ToFloat(ad), ToFloat(bd), ToFloat(biasd), transA ? m : k, transB ? k : n);
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void GeneralFormWithLeadingDimensionsBiasAndRelu(bool transA, bool transB)
    {
        // Operands embedded in wider buffers; C = relu(alpha op(A) op(B) + beta C + bias) on a 37 x 45 window.
        const int m = 37, n = 45, k = 29, pad = 5;
        double alpha = 0.75, beta = -0.5;
        var rng = new Random(3);
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        double[] a = RandomArray(rng, aRows * lda), b = RandomArray(rng, bRows * ldb), c = RandomArray(rng, m * ldc), bias = RandomArray(rng, n);
        double[] expected = (double[])c.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                double v = alpha * s + beta * c[i * ldc + j] + bias[j];
                expected[i * ldc + j] = Math.Max(v, 0);
            }
        foreach (int threads in new[] { 1, 2 })
        {
            float[] cf = c.Select(x => (float)x).ToArray();
            WithThreads(threads, () => Gemm.Multiply<float>(transA, transB, m, n, k, (float)alpha, ToFloat(a), lda, ToFloat(b), ldb,
                (float)beta, cf, ldc, ToFloat(bias), GemmActivation.Relu));
            double[] cd = (double[])c.Clone();
            WithThreads(threads, () => Gemm.Multiply<double>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cd, ldc, bias, GemmActivation.Relu));
            for (int i = 0; i < c.Length; i++)
            {
                Assert.True(Math.Abs(cf[i] - expected[i]) <= 1e-4, $"float C[{i}] = {cf[i]}, expected {expected[i]} (threads={threads})");
                Assert.True(Math.Abs(cd[i] - expected[i]) <= 1e-12, $"double C[{i}] = {cd[i]}, expected {expected[i]} (threads={threads})");
            }
        }
    }

    [Fact]
    public void BetaZeroDoesNotReadC()
    {
        float[] a = [1, 2, 3, 4], b = [1, 0, 0, 1];
        float[] c = [float.NaN, float.NaN, float.NaN, float.NaN];
        Gemm.Multiply<float>(false, false, 2, 2, 2, a, b, c, accumulate: false);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c);

        // k = 0: C = beta C (+ bias), A and B are empty.
        float[] c2 = [1, 2, 3, 4];
        Gemm.Multiply<float>(false, false, 2, 2, 0, a: [], b: [], c: c2, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c2);
        Gemm.Multiply<float>(false, false, 2, 2, 0, a: [], b: [], c: c2, accumulate: false);
        Assert.Equal(new float[] { 0, 0, 0, 0 }, c2);
    }

    [Fact]
    public unsafe void FallbackKernelsMatch()
    {
        // The AVX2 and scalar micro-kernels, driven directly (this machine would pick AVX-512).
        const int m = 23, n = 37, k = 301;
        var rng = new Random(11);
        double[] a = RandomArray(rng, m * k), b = RandomArray(rng, k * n);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                var (product, magnitude) = Reference(transA, transB, m, n, k, a, b);
                foreach (int threads in new[] { 1, 2 })
                {
                    double[] c1 = new double[m * n], c2 = new double[m * n];
                    fixed (double* pa = a, pb = b, pc1 = c1, pc2 = c2)
                    {
                        GemmJob<double, GemmKernel256<double>>.Run(transA, transB, m, n, k, 1.0, pa, transA ? m : k, pb, transB ? k : n, 0.0, pc1, n, null, GemmActivation.None, threads);
                        GemmJob<double, GemmKernelScalar<double>>.Run(transA, transB, m, n, k, 1.0, pa, transA ? m : k, pb, transB ? k : n, 0.0, pc2, n, null, GemmActivation.None, threads);
                    }
                    for (int i = 0; i < m * n; i++)
                    {
                        Assert.True(Math.Abs(c1[i] - product[i]) <= 1e-14 * magnitude[i] * k, $"AVX2 kernel C[{i}] (transA={transA}, transB={transB})");
                        Assert.True(Math.Abs(c2[i] - product[i]) <= 1e-14 * magnitude[i] * k, $"scalar kernel C[{i}] (transA={transA}, transB={transB})");
                    }
                }
            }
    }

    [Fact]
    public async Task ConcurrentCallersGetCorrectResults()
    {
        // Two user threads share one worker pool: whoever finds it busy runs alone, with the same result.
        const int m = 96, n = 80, k = 200;
        var rng = new Random(5);
        float[] a = RandomArray(rng, m * k).Select(x => (float)x).ToArray(), b = RandomArray(rng, k * n).Select(x => (float)x).ToArray();
        float[] expected = new float[m * n];
        Gemm.Multiply<float>(false, false, m, n, k, a, b, expected, false);
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int rep = 0; rep < 50; rep++)
            {
                float[] c = new float[m * n];
                Gemm.Multiply<float>(false, false, m, n, k, a, b, c, false);
                if (!c.AsSpan().SequenceEqual(expected)) return false;
            }
            return true;
        })).ToArray();
        bool[] results = await Task.WhenAll(tasks);
        Assert.All(results, Assert.True);
    }

    [Fact]
    public void WorkerPoolRunsEveryPartExactlyOnce()
    {
        for (int count = 1; count <= 7; count++)
        {
            var work = new CountingWork(count);
            for (int rep = 0; rep < 200; rep++) WorkerPool.Run(work, count);
            Assert.All(work.Runs, runs => Assert.Equal(200, runs));
        }
    }

    /// <summary>
    /// With a thread limit, every part still runs exactly once, and no more distinct threads than the limit run them (the
    /// shared-panel GEMM publishes more row blocks than threads and caps the threads at the GEMM's own limit).
    /// </summary>
    [Fact]
    public void WorkerPoolHonoursTheThreadLimit()
    {
        const int count = 9;
        var work = new ThreadRecordingWork(count);
        for (int rep = 0; rep < 100; rep++)
        {
            WorkerPool.Run(work, count, 2); // the pool's workers now spin, ready for the next job
            Assert.InRange(work.TakeThreads().Length, 1, 2);
            WorkerPool.Run(work, count, 1);
            Assert.Single(work.TakeThreads());
        }
        Assert.All(work.Runs, runs => Assert.Equal(200, runs));
    }

    private sealed class ThreadRecordingWork(int count) : ParallelWork
    {
        public readonly int[] Runs = new int[count];
        private readonly HashSet<int> _threads = [];

        public override void Execute(int index, int count)
        {
            Interlocked.Increment(ref Runs[index]);
            lock (_threads) _threads.Add(Environment.CurrentManagedThreadId);
        }

        public int[] TakeThreads()
        {
            lock (_threads)
            {
                int[] ids = [.. _threads];
                _threads.Clear();
                return ids;
            }
        }
    }

    private sealed class CountingWork(int count) : ParallelWork
    {
        public readonly int[] Runs = new int[count];

        public override void Execute(int index, int count) => Interlocked.Increment(ref Runs[index]);
    }

    /// <summary>
    /// Rows of C outside the 4 x 4 blocks of <c>A Bᵀ</c> (a batch of one, or the last m mod 4 rows) compute four dot
    /// products at a time sharing A's loads; each element must still be the single dot product's chain: the same bits as
    /// the element computed on its own (a one-column product), and the definition within rounding. Widths with 1-3
    /// leftover columns, k below one vector and with scalar tails, overwrite and accumulate.
    /// </summary>
    [Theory]
    [InlineData(1, 10, 784)]
    [InlineData(1, 7, 5)]
    [InlineData(2, 13, 37)]
    [InlineData(3, 258, 100)]
    [InlineData(5, 6, 67)]
    [InlineData(1, 256, 2100)]
    [InlineData(1, 15, 100)]
    [InlineData(1, 11, 43)]
    public void DotRowsInFoursMatchSingleDots(int m, int n, int k)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        double[] a = RandomArray(rng, m * k), b = RandomArray(rng, n * k), c0 = RandomArray(rng, m * n);
        var (product, magnitude) = Reference(false, true, m, n, k, a, b);
        float[] af = ToFloat(a), bf = ToFloat(b);
        foreach (bool accumulate in new[] { false, true })
        {
            float beta = accumulate ? 1f : 0f;
            float[] c = ToFloat(c0);
            Gemm.Multiply<float>(false, true, m, n, k, 1f, af, k, bf, k, beta, c, n);
            // Rows below the last multiple of 4 are the ones taking the four-column dots (the others, 4 x 4 blocks).
            for (int i = m / 4 * 4; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float[] single = [(float)c0[i * n + j]];
                    Gemm.Multiply<float>(false, true, 1, 1, k, 1f, af.AsSpan(i * k, k).ToArray(), k, bf.AsSpan(j * k, k).ToArray(), k, beta, single, 1);
                    Assert.True(BitConverter.SingleToInt32Bits(single[0]) == BitConverter.SingleToInt32Bits(c[i * n + j]),
                        $"{m}x{n}x{k} accumulate={accumulate}: C[{i},{j}] = {c[i * n + j]}, alone {single[0]}");
                    // And the order written out: k in blocks of SmallGemm.DotBlock, each block's dot added to C.
                    float chain = accumulate ? (float)c0[i * n + j] : 0f;
                    for (int p0 = 0; p0 < k; p0 += SmallGemm.DotBlock)
                    {
                        int kb = Math.Min(SmallGemm.DotBlock, k - p0);
                        chain += DotInSingleDotOrder(af.AsSpan(i * k + p0, kb), bf.AsSpan(j * k + p0, kb));
                    }
                    Assert.True(BitConverter.SingleToInt32Bits(chain) == BitConverter.SingleToInt32Bits(c[i * n + j]),
                        $"{m}x{n}x{k} accumulate={accumulate}: C[{i},{j}] = {c[i * n + j]}, in the single dot's order {chain}");
                }
            for (int i = 0; i < m * n; i++)
            {
                double expected = product[i] + (accumulate ? (float)c0[i] : 0);
                double tolerance = 4 * 6e-8 * (k + 2) * (magnitude[i] + Math.Abs(expected) + 1);
                Assert.True(Math.Abs(c[i] - expected) <= tolerance, $"{m}x{n}x{k} accumulate={accumulate}: C[{i / n},{i % n}] = {c[i]}, expected {expected}");
            }
        }
    }

    /// <summary>
    /// A single dot product's order, written out: four Vector256 accumulators over blocks of four vectors, single vector
    /// steps into the first, the sum (s0 + s1) + (s2 + s3), then the scalar tail.
    /// </summary>
    private static float DotInSingleDotOrder(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int k = x.Length, w = Vector256<float>.Count, p = 0;
        float s = 0;
        if (k >= w)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (; p <= k - 4 * w; p += 4 * w)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(p, w)), Vector256.Create(y.Slice(p, w)), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(p + w, w)), Vector256.Create(y.Slice(p + w, w)), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(p + 2 * w, w)), Vector256.Create(y.Slice(p + 2 * w, w)), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(p + 3 * w, w)), Vector256.Create(y.Slice(p + 3 * w, w)), s3);
            }
            for (; p <= k - w; p += w) s0 = Vector256.FusedMultiplyAdd(Vector256.Create(x.Slice(p, w)), Vector256.Create(y.Slice(p, w)), s0);
            s = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; p < k; p++) s = MathF.FusedMultiplyAdd(x[p], y[p], s);
        return s;
    }

    [Fact]
    public void RejectsBadArguments()
    {
        float[] small = new float[5], four = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(false, false, 2, 2, 3, small, four, four, false));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(false, false, 2, 2, 2, four, four, new float[3], false));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(false, false, 2, 2, 2, 1f, four, 1, four, 2, 0f, four, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(false, false, 2, 2, 2, 1f, four, 2, four, 2, 0f, four, 2, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply<float>(false, false, -1, 2, 2, four, four, four, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => { Gemm.MaxThreads = 0; });
    }

    private static void Check<T>(string what, bool transA, bool transB, int m, int n, int k, double[] a, double[] b, double[] c0,
        bool accumulate, int threads, double[] product, double[] magnitude)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] at = a.Select(T.CreateTruncating).ToArray(), bt = b.Select(T.CreateTruncating).ToArray();
        T[] ct = accumulate ? c0.Select(T.CreateTruncating).ToArray() : Enumerable.Repeat(T.NaN, m * n).ToArray();
        WithThreads(threads, () => Gemm.Multiply<T>(transA, transB, m, n, k, at, bt, ct, accumulate));
        // Error bound of a k-term sum of products in precision eps (the inputs are exact in T for double; rounded to
        // float they add eps * |a||b| per term), with room to spare.
        double eps = typeof(T) == typeof(float) ? 6e-8 : 1.2e-16; // unit roundoff
        for (int i = 0; i < m * n; i++)
        {
            double expected = product[i] + (accumulate ? double.CreateTruncating(T.CreateTruncating(c0[i])) : 0);
            double got = double.CreateTruncating(ct[i]);
            double tolerance = 4 * eps * (k + 2) * (magnitude[i] + Math.Abs(expected)) + 1e-300;
            Assert.True(Math.Abs(got - expected) <= tolerance,
                $"{typeof(T).Name} {what}: C[{i / n},{i % n}] = {got}, expected {expected} (tolerance {tolerance})");
        }
    }

    /// <summary>op(A) op(B) and sum |op(A)| |op(B)| per element, in double, by the definition.</summary>
    private static (double[] Product, double[] Magnitude) Reference(bool transA, bool transB, int m, int n, int k, double[] a, double[] b)
    {
        var product = new double[m * n];
        var magnitude = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, s2 = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transA ? a[p * m + i] : a[i * k + p];
                    double y = transB ? b[j * k + p] : b[p * n + j];
                    s += x * y;
                    s2 += Math.Abs(x * y);
                }
                product[i * n + j] = s;
                magnitude[i * n + j] = s2;
            }
        return (product, magnitude);
    }

    private static double[] RandomArray(Random rng, int length)
    {
        var x = new double[length];
        for (int i = 0; i < length; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }

    private static float[] ToFloat(double[] x) => x.Select(v => (float)v).ToArray();

    /// <summary>
    /// The GELU epilogue that keeps GELU' gives the same bits two vectors at a time (<see cref="GemmTuning.GeluPairs"/>)
    /// as one at a time, for widths with an odd vector and a scalar tail, on one and two threads, over values from deep in
    /// the negative tail (where GELU is tiny and GELU' near zero) to large positive ones; and the same bits as GELU and its
    /// backward computed elementwise from the product; for both float32 evaluations (<see cref="GeluVector.OneExponential"/>).
    /// </summary>
    [Theory]
    [InlineData(40, 96, 24)]   // three full pairs of 16-lane vectors
    [InlineData(70, 47, 33)]   // a pair, then the scalar tail
    [InlineData(64, 80, 16)]   // a pair and an odd vector
    [InlineData(256, 512, 128)] // the LM's feed-forward shape, blocks of rows
    public void GeluEpilogueInPairsIsBitIdenticalToOneVectorAtATime(int m, int n, int k)
    {
        var rng = new Random(m * 7 + n);
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] b = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Biases from −12 to +12: pre-activations across GELU's tail, its bend and its linear part.
        float[] bias = Enumerable.Range(0, n).Select(j => -12f + 24f * j / Math.Max(1, n - 1)).ToArray();
        bool saved = GemmTuning.GeluPairs, savedForm = GeluVector.OneExponential;
        try
        {
            foreach (bool oneExp in new[] { true, false })
            foreach (int threads in new[] { 1, 2 })
            {
                GeluVector.OneExponential = oneExp;
                var results = new List<(float[] C, float[] Aux)>();
                foreach (bool pairs in new[] { false, true })
                {
                    GemmTuning.GeluPairs = pairs;
                    float[] c = Enumerable.Repeat(float.NaN, m * n).ToArray(), aux = Enumerable.Repeat(float.NaN, m * n).ToArray();
                    WithThreads(threads, () => Gemm.MultiplyGelu<float>(false, true, m, n, k, a, k, b, k, c, n, bias, GemmActivation.GeluKeepDerivative, aux));
                    results.Add((c, aux));
                }
                string what = $"{m}x{n}x{k} threads={threads} one exponential={oneExp}";
                Assert.True(results[0].C.AsSpan().SequenceEqual(results[1].C), what + ": GELU differs in pairs");
                Assert.True(results[0].Aux.AsSpan().SequenceEqual(results[1].Aux), what + ": GELU' differs in pairs");

                float[] pre = new float[m * n];
                WithThreads(threads, () => Gemm.Multiply<float>(false, true, m, n, k, 1f, a, k, b, k, 0f, pre, n, bias));
                var input = Tensor.FromArray(pre, m, n);
                input.RequiresGrad = true;
                Assert.Equal(input.Gelu().ToArray<float>(), results[1].C);
                Assert.Equal(SharpGrad.Autograd.Grad(input.Gelu(), [input], Tensor.Ones([m, n]))[0].ToArray<float>(), results[1].Aux);
            }
        }
        finally { (GemmTuning.GeluPairs, GeluVector.OneExponential) = (saved, savedForm); }
    }

    private static void WithThreads(int threads, Action action)
    {
        int saved = Gemm.MaxThreads;
        Gemm.MaxThreads = threads;
        try { action(); }
        finally { Gemm.MaxThreads = saved; }
    }
}

/// <summary>Tests that set <see cref="Gemm.MaxThreads"/> run one at a time (other tests only ever see a valid value).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class GemmCollection
{
    public const string Name = "Gemm thread setting";
}
