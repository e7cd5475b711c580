using System.Text.Json;
using SharpGrad.Cli.Exercises;
using SharpGrad.Tests.Theory;
using SharpGrad.Theory;
using Spectre.Console;

namespace SharpGrad.Tests.Exercises;


/// <summary>Seed 001 Q7 and Q8 through <c>sharpgrad conv shape|solve</c> and <see cref="ConvShapes"/>, against window counting.</summary>
[Collection(CliConsoleCollection.Name)]
public class ConvCommandTests
{
    /// <summary>Output size along one axis by sliding the window (tests/Theory/WindowCount), not by the formula.</summary>
    private static int Slide(int n, int k, int s = 1, int p = 0, int d = 1) => WindowCount.Count(n, k, s, p, d);

    [Fact]
    public void Seed001Q7_ShapesAndParameters()
    {
        int h1 = Slide(256, 8, 2), h2 = Slide(h1, 5, 5), h3 = Slide(h2, 4, 1, 1);
        Assert.Equal((125, 25, 24), (h1, h2, h3));
        var q7 = ConvShapes.Seed001Q7();
        Assert.Equal(new FeatureShape(128, h3, h3), q7.Report.Trace.Output);
        Assert.Equal(24L * 24 * 128, q7.OutputNumel);              // 73,728
        Assert.Equal(128L * 64 * 4 * 4, q7.LastLayerWeights);      // 131,072, the sheet's answer
        Assert.Equal(131_200, q7.LastLayerParameters);
        Assert.True(q7.SheetIsRight);
        Assert.Equal("128·64·4·4 + 128", q7.Report.Steps[2].Formula);
    }

    [Fact]
    public void ShapeJson_HasEveryLayerAndTheTotals()
    {
        var j = CliRunner.Json("conv", "shape", "--input", "3x256x256", "--layer", "conv:64:k8:s2", "--layer", "maxpool:k5", "--layer", "conv:128:k4:s1:p1");
        Assert.Equal([3, 256, 256], CliRunner.Ints(j.GetProperty("input")));
        var layers = j.GetProperty("layers").EnumerateArray().ToArray();
        Assert.Equal(3, layers.Length);
        Assert.Equal(["conv:64:k8:s2", "maxpool:k5", "conv:128:k4:s1:p1"], layers.Select(l => l.GetProperty("spec").GetString()));
        Assert.Equal([64, 125, 125], CliRunner.Ints(layers[0].GetProperty("output")));
        Assert.Equal([64, 25, 25], CliRunner.Ints(layers[1].GetProperty("output")));
        Assert.Equal([128, 24, 24], CliRunner.Ints(layers[2].GetProperty("output")));
        Assert.Equal(64 * 3 * 8 * 8 + 64, layers[0].GetProperty("params").GetInt64());
        Assert.Equal(0, layers[1].GetProperty("params").GetInt64());
        Assert.Equal(131_072, layers[2].GetProperty("weights").GetInt64());
        Assert.Equal(128, layers[2].GetProperty("biases").GetInt64());
        Assert.Equal(131_200, layers[2].GetProperty("params").GetInt64());
        Assert.Equal(64 * 3 * 8 * 8 + 64 + 131_200, j.GetProperty("params").GetInt64());
        Assert.Equal(73_728, j.GetProperty("output_numel").GetInt64());
    }

    [Fact]
    public void ShapeWithoutLayersIsSeed001Q7_AndTheTableRuns()
    {
        var j = CliRunner.Json("conv", "shape");
        Assert.Equal([128, 24, 24], CliRunner.Ints(j.GetProperty("output")));
        var (code, stdout, _) = CliRunner.Run("conv", "shape", "--layer", "conv:64:k8:s2, maxpool:k5", "--layer", "conv:128:k4:s1:p1");
        Assert.Equal(0, code);
        Assert.Contains("(128, 24, 24)", stdout);
        Assert.Contains("131,200 = 128·64·4·4 + 128", stdout);
    }

    [Fact]
    public void Seed001Q8_SheetChecked()
    {
        var parts = ConvShapes.Seed001Q8().ToDictionary(p => p.Part);
        foreach (var part in parts.Values)
            foreach (var c in part.Solutions) // every solution really gives the target, by sliding windows
            {
                Assert.Equal(part.Target.Height, WindowCount.Count(part.Input.Height, c.Kernel, c.Stride, c.Padding, c.Dilation));
                Assert.Equal(part.Target.Width, WindowCount.Count(part.Input.Width, c.Kernel, c.Stride, c.Padding, c.Dilation));
            }
        Assert.Equal([new ConvConfig(8, 2, 3, 1)], parts["1(a)"].Solutions);
        Assert.Contains(new ConvConfig(1, 2, 0, 7), parts["1(b)"].Solutions);
        Assert.Equal([new ConvConfig(4, 4, 0, 1)], parts["2(a)"].Solutions);
        Assert.Contains(new ConvConfig(2, 2, 0, 1), parts["3(a)"].Solutions);
        foreach (var ok in new[] { "1(a)", "1(b)", "2(a)", "3(a)" }) Assert.True(parts[ok].SheetIsRight, ok);

        // 3(b): k1 s1 p2 d2 gives 8 + 4 - 1 + 1 = 12, not 4; 3(c): k3 s1 p1 keeps 8.
        Assert.False(parts["3(b)"].SheetIsRight);
        Assert.Equal(new FeatureShape(128, 12, 12), parts["3(b)"].SheetOutput);
        Assert.Equal(12, Slide(8, 1, 1, 2, 2));
        Assert.DoesNotContain(new ConvConfig(1, 1, 2, 2), parts["3(b)"].Solutions);
        Assert.Contains(new ConvConfig(3, 2, 2, 2), parts["3(b)"].Solutions);
        Assert.False(parts["3(c)"].SheetIsRight);
        Assert.Equal(new FeatureShape(128, 8, 8), parts["3(c)"].SheetOutput);
        Assert.DoesNotContain(new ConvConfig(3, 1, 1, 1), parts["3(c)"].Solutions);
        Assert.Contains(new ConvConfig(3, 2, 1, 1), parts["3(c)"].Solutions);
        Assert.Equal(7, Slide(32, 8, 4));
        Assert.Equal(new FeatureShape(64, 7, 7), ConvShapes.Seed001Q8PartB().Trace.Output); // 2(b)
    }

    [Fact]
    public void SolveJson_Seed001Q8_1a()
    {
        var j = CliRunner.Json("conv", "solve", "--input", "3x64x64", "--output", "64x32x32", "--kernel", "8", "--dilation", "1");
        Assert.Equal(1, j.GetProperty("count").GetInt32());
        var s = j.GetProperty("solutions")[0];
        Assert.Equal((8, 2, 3, 1), (s.GetProperty("kernel").GetInt32(), s.GetProperty("stride").GetInt32(), s.GetProperty("padding").GetInt32(), s.GetProperty("dilation").GetInt32()));
    }

    [Fact]
    public void SolveJson_3cListsTheRightAnswersNotTheSheets()
    {
        var j = CliRunner.Json("conv", "solve", "--input", "64x8x8", "--output", "128x4x4", "--padding", "1", "--dilation", "1");
        var found = j.GetProperty("solutions").EnumerateArray()
            .Select(s => (s.GetProperty("kernel").GetInt32(), s.GetProperty("stride").GetInt32())).ToList();
        Assert.Contains((3, 2), found);
        Assert.DoesNotContain((3, 1), found);
    }

    [Fact]
    public void SolveLimitCapsTheListButNotTheCount()
    {
        var j = CliRunner.Json("conv", "solve", "--input", "3x64x64", "--output", "64x32x32", "--dilation", "7", "--stride", "2", "--limit", "5");
        Assert.Equal(64, j.GetProperty("count").GetInt32()); // one padding per kernel size 1..64
        Assert.Equal(5, j.GetProperty("solutions").GetArrayLength());
        Assert.True(j.GetProperty("truncated").GetBoolean());
    }

    [Theory]
    [InlineData("3x64x64", "64x32x32")]   // the sheet's own question: 1.49 M rows, 1.6 GB of JSON when all were listed
    [InlineData("3x128x128", "64x64x64")] // took 20 GB and aborted
    public void SolveListsAtMost50ByDefaultWithTheTrueCount(string input, string output)
    {
        var j = CliRunner.Json("conv", "solve", "--input", input, "--output", output);
        long count = ConvSolver.Count(ConvShapes.ParseShape(input), ConvShapes.ParseShape(output, "--output"));
        Assert.Equal(count, j.GetProperty("count").GetInt64());
        Assert.True(count > 1_000_000);
        Assert.Equal(50, j.GetProperty("shown").GetInt32());
        Assert.Equal(50, j.GetProperty("solutions").GetArrayLength());
        Assert.True(j.GetProperty("truncated").GetBoolean());
        var (code, table, _) = CliRunner.Run("conv", "solve", "--input", input, "--output", output);
        Assert.Equal(0, code);
        Assert.Contains($"showing the first 50 of {count:N0}", table);
        var none = CliRunner.Json("conv", "solve", "--input", input, "--output", output, "--limit", "0");
        Assert.Equal(0, none.GetProperty("solutions").GetArrayLength());
        Assert.Equal(count, none.GetProperty("count").GetInt64());
    }

    [Theory]
    [InlineData(9, 7, 4, 3, false)]
    [InlineData(8, 8, 4, 4, true)]
    public void SolveMatchesBruteForce(int h, int w, int th, int tw, bool pool)
    {
        var args = new List<string> { "conv", "solve", "--input", $"4x{h}x{w}", "--output", $"{(pool ? 4 : 6)}x{th}x{tw}", "--limit", "100000" };
        if (pool) args.Add("--pool");
        var j = CliRunner.Json([.. args]);
        var got = j.GetProperty("solutions").EnumerateArray().Select(s => new ConvConfig(s.GetProperty("kernel").GetInt32(),
            s.GetProperty("stride").GetInt32(), s.GetProperty("padding").GetInt32(), s.GetProperty("dilation").GetInt32())).ToHashSet();
        int side = Math.Max(h, w);
        var expected = new HashSet<ConvConfig>();
        for (int k = 1; k <= side; k++)
            for (int s = 1; s <= side; s++)
                for (int d = 1; d <= (k == 1 ? 1 : side); d++)
                    for (int p = 0; p <= (pool ? k / 2 : d * (k - 1)); p++)
                        if (Slide(h, k, s, p, d) == th && Slide(w, k, s, p, d) == tw) expected.Add(new ConvConfig(k, s, p, d));
        Assert.True(expected.Count > 0);
        Assert.True(expected.SetEquals(got), $"expected {expected.Count}, got {got.Count}");
        Assert.Equal(expected.Count, j.GetProperty("count").GetInt32());
    }

    [Theory]
    [InlineData("3x64", "3x64")]
    [InlineData("axbxc", "'a'")]
    [InlineData("3x0x64", "height")]
    [InlineData("3x64x64x1", "3x64x64x1")]
    public void MalformedShapesAreUserErrors(string shape, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ConvShapes.ParseShape(shape));
        Assert.Contains(expected, e.Message);
        string stderr = CliRunner.FailsWith(expected, "conv", "solve", "--input", shape, "--output", "64x32x32");
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        CliRunner.FailsWith(expected, "conv", "shape", "--input", shape, "--layer", "maxpool:k2");
    }

    [Fact]
    public void OtherUserErrors()
    {
        CliRunner.FailsWith("more than a 64-bit count holds", "conv", "shape", "--input", "3x2000000000x2000000000", "--layer", "conv:4:k3");
        CliRunner.FailsWith("kernel", "conv", "shape", "--layer", "conv:64");                          // no kernel size
        CliRunner.FailsWith("does not fit", "conv", "shape", "--input", "3x4x4", "--layer", "conv:8:k5");
        CliRunner.FailsWith("channel", "conv", "solve", "--input", "3x64x64", "--output", "64x32x32", "--pool");
        CliRunner.FailsWith("--pool", "conv", "solve", "--input", "3x64x64", "--output", "3x32x32", "--ceil");
        CliRunner.FailsWith("--stride", "conv", "solve", "--input", "3x64x64", "--output", "3x32x32", "--stride", "0");
        Assert.Equal(1, CliRunner.Run("conv", "solve", "--input", "3x64x64").Code);             // --output is required
    }
}
