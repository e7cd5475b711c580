using SharpGrad.Theory;

namespace SharpGrad.Tests.Theory;

/// <summary>Seed 001 Q8, and the solver against an exhaustive search with window counting.</summary>
public class ConvSolverTests
{
    private static readonly FeatureShape Data = (3, 64, 64);

    [Fact]
    public void Seed001Q8_1a_Kernel8NoDilation()
    {
        var all = ConvSolver.Solve(Data, (64, 32, 32), new ConvConstraints { Kernel = 8, Dilation = 1 });
        Assert.Equal([new ConvConfig(8, 2, 3, 1)], all); // the sheet's answer, and the only one
    }

    [Fact]
    public void Seed001Q8_1b_Dilation7Stride2()
    {
        var all = ConvSolver.Solve(Data, (64, 32, 32), new ConvConstraints { Dilation = 7, Stride = 2 });
        Assert.Contains(new ConvConfig(1, 2, 0, 7), all); // the sheet's answer (a 1x1 kernel, where dilation is moot)
        Assert.Contains(new ConvConfig(2, 2, 3, 7), all); // a kernel that actually dilates
        Assert.Contains(new ConvConfig(3, 2, 7, 7), all);
        // Under the default bound p <= d(k-1) the question has exactly one answer per kernel size 1..64 (2p = 7(k-1) or
        // 7(k-1) - 1, whichever is even): it is under-determined.
        Assert.Equal(Enumerable.Range(1, 64), all.Select(c => c.Kernel));
        // With padding limited to k - 1 the sheet's answer is the only one.
        var strict = ConvSolver.Solve(Data, (64, 32, 32), new ConvConstraints { Dilation = 7, Stride = 2, PaddingRule = PaddingRule.Kernel });
        Assert.Equal([new ConvConfig(1, 2, 0, 7)], strict);
    }

    [Fact]
    public void Seed001Q8_2_NonOverlappingPooling()
    {
        var all = ConvSolver.Solve((64, 32, 32), (64, 8, 8), new ConvConstraints { Pool = true, Padding = 0, Dilation = 1, NonOverlapping = true });
        Assert.Equal([new ConvConfig(4, 4, 0, 1)], all);
        // (b) k = 8, s = 4 instead gives 64x7x7.
        var b = ConvArithmetic.Trace((64, 32, 32), [LayerSpec.MaxPool(8, 4)]);
        Assert.Equal(new FeatureShape(64, 7, 7), b.Output);
    }

    [Fact]
    public void Seed001Q8_3a_NoPaddingNoDilation()
    {
        var all = ConvSolver.Solve((64, 8, 8), (128, 4, 4), new ConvConstraints { Padding = 0, Dilation = 1 });
        Assert.Equal([new ConvConfig(1, 2, 0, 1), new ConvConfig(2, 2, 0, 1), new ConvConfig(5, 1, 0, 1)], all);
    }

    [Fact]
    public void Seed001Q8_3b_TheSheetsAnswerIsWrong()
    {
        // The sheet answers k = 1, s = 1, p = 2, d = 2, which gives 12x12, not 4x4.
        Assert.Equal(new FeatureShape(128, 12, 12), ConvArithmetic.Trace((64, 8, 8), [new ConvConfig(1, 1, 2, 2).ToConv(128)]).Output);
        var all = ConvSolver.Solve((64, 8, 8), (128, 4, 4), new ConvConstraints { Dilation = 2, Padding = 2 });
        Assert.DoesNotContain(new ConvConfig(1, 1, 2, 2), all);
        Assert.Equal([new ConvConfig(1, 3, 2, 2), new ConvConfig(2, 3, 2, 2), new ConvConfig(3, 2, 2, 2), new ConvConfig(5, 1, 2, 2)], all);
    }

    [Fact]
    public void Seed001Q8_3c_TheSheetsAnswerIsWrong()
    {
        // The sheet answers k = 3, s = 1, p = 1, d = 1, which keeps 8x8; with s = 2 it would be right.
        Assert.Equal(new FeatureShape(128, 8, 8), ConvArithmetic.Trace((64, 8, 8), [new ConvConfig(3, 1, 1, 1).ToConv(128)]).Output);
        var all = ConvSolver.Solve((64, 8, 8), (128, 4, 4), new ConvConstraints { Padding = 1, Dilation = 1 });
        Assert.DoesNotContain(new ConvConfig(3, 1, 1, 1), all);
        Assert.Equal([new ConvConfig(1, 3, 1, 1), new ConvConfig(3, 2, 1, 1), new ConvConfig(4, 2, 1, 1), new ConvConfig(7, 1, 1, 1)], all);
    }

    [Fact]
    public void EverySolutionTracesToTheTargetInOrder()
    {
        FeatureShape input = (3, 16, 16), output = (8, 8, 8);
        var all = ConvSolver.Solve(input, output);
        Assert.True(all.Count > 100, $"only {all.Count} solutions");
        foreach (var c in all)
            Assert.Equal(output, ConvArithmetic.Trace(input, [c.ToConv(8)]).Output);
        for (int i = 1; i < all.Count; i++)
        {
            var (a, b) = (all[i - 1], all[i]);
            int order = a.Kernel != b.Kernel ? a.Kernel.CompareTo(b.Kernel) : a.Stride != b.Stride ? a.Stride.CompareTo(b.Stride)
                : a.Padding != b.Padding ? a.Padding.CompareTo(b.Padding) : a.Dilation.CompareTo(b.Dilation);
            Assert.True(order < 0, $"{a} does not come before {b}");
        }
        Assert.Equal(all, ConvSolver.Solve(input, output)); // deterministic
    }

    public static IEnumerable<object[]> SmallProblems()
    {
        foreach (var (h, w) in new[] { (5, 5), (7, 9), (12, 12), (9, 6) })
            foreach (bool pool in new[] { false, true })
                foreach (bool ceil in pool ? new[] { false, true } : [false])
                    yield return [h, w, pool, ceil];
    }

    [Theory]
    [MemberData(nameof(SmallProblems))]
    public void MatchesExhaustiveSearch(int h, int w, bool pool, bool ceil)
    {
        var input = new FeatureShape(4, h, w);
        int side = Math.Max(h, w);
        for (int th = 1; th <= h + 2; th++)
            for (int tw = 1; tw <= w + 2; tw++)
            {
                var output = new FeatureShape(pool ? 4 : 6, th, tw);
                var expected = new List<ConvConfig>();
                for (int k = 1; k <= side; k++)
                    for (int s = 1; s <= side; s++)
                        for (int p = 0; p <= (pool ? k / 2 : side * (k - 1)); p++)
                            for (int d = 1; d <= (k == 1 ? 1 : side); d++)
                            {
                                if (!pool && p > d * (k - 1)) continue;
                                if (WindowCount.Count(h, k, s, p, d, ceil) == th && WindowCount.Count(w, k, s, p, d, ceil) == tw)
                                    expected.Add(new ConvConfig(k, s, p, d));
                            }
                var constraints = new ConvConstraints { Pool = pool, CeilMode = ceil };
                var actual = ConvSolver.Solve(input, output, constraints);
                Assert.True(expected.SequenceEqual(actual), $"{input} -> {output} pool={pool} ceil={ceil}: expected {expected.Count} configs, got {actual.Count}");
                Assert.Equal(expected.Count, ConvSolver.Count(input, output, constraints));
            }
    }

    [Fact]
    public void CountAgreesWithTheFormulaCheckedListOnTheSheetsUnconstrainedQuestion()
    {
        // Count adds up padding intervals; Enumerate re-checks every candidate with the output-size formula.
        long count = ConvSolver.Count(Data, (64, 32, 32));
        Assert.Equal(count, ConvSolver.Enumerate(Data, (64, 32, 32)).LongCount());
        Assert.InRange(count, 1_490_000, 1_500_000); // "1.49 M rows" (issue 18)
    }

    [Theory]
    [InlineData(128, 64)] // took 20 GB and aborted when every solution was listed
    [InlineData(224, 112)] // ran past 5 minutes
    [InlineData(224, 224)]
    public void LargeQuestionsAreCountedAndListedInBoundedMemory(int side, int target)
    {
        FeatureShape input = (3, side, side), output = (64, target, target);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long count = ConvSolver.Count(input, output);
        var first = ConvSolver.Enumerate(input, output).Take(50).ToList();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(count > 1_000_000, $"count {count}");
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes to count {count:N0} and list 50");

        // The first 50 in (k, s, p, d) order have k <= 2 here; search k in 1..2 exhaustively.
        var expected = new List<ConvConfig>();
        for (int k = 1; k <= 2; k++)
            for (int s = 1; s <= side; s++)
                for (int p = 0; p <= side * (k - 1); p++)
                    for (int d = 1; d <= (k == 1 ? 1 : side); d++)
                        if (p <= d * (k - 1) && WindowCount.Count(side, k, s, p, d, false) == target)
                            expected.Add(new ConvConfig(k, s, p, d));
        Assert.True(expected.Count >= 50, $"only {expected.Count} with k <= 2");
        Assert.Equal(expected.Take(50), first);
    }

    [Fact]
    public void EnumerateChecksItsArgumentsAtOnce()
    {
        Assert.Throws<ArgumentException>(() => ConvSolver.Enumerate((64, 32, 32), (128, 8, 8), new ConvConstraints { Pool = true }));
        Assert.Throws<ArgumentException>(() => ConvSolver.Count((64, 32, 32), (64, 0, 8)));
    }

    [Fact]
    public void ContradictionsAreErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvSolver.Solve((64, 32, 32), (128, 8, 8), new ConvConstraints { Pool = true }));
        Assert.Contains("channel", e.Message);
        Assert.Throws<ArgumentException>(() => ConvSolver.Solve((64, 32, 32), (64, 8, 8), new ConvConstraints { CeilMode = true }));
        Assert.Throws<ArgumentException>(() => ConvSolver.Solve((64, 32, 32), (64, 0, 8)));
    }
}
