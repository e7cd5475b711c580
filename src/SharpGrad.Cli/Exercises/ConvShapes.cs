using System.Globalization;
using SharpGrad.Theory;

namespace SharpGrad.Cli.Exercises;

/// <summary>One layer of a <see cref="ShapeReport"/>: the spec as the user wrote it, and its trace.</summary>
/// <param name="Spec">The spec as given, e.g. <c>conv:128:k4:s1:p1</c>.</param>
/// <param name="Trace">Its input and output shapes and parameter counts.</param>
public sealed record ShapeStep(string Spec, LayerTrace Trace)
{
    /// <summary>The canonical spec (defaults dropped), e.g. <c>conv:128:k4:p1</c>.</summary>
    public string Canonical => Trace.Layer.ToString();

    /// <summary>The parameter arithmetic, e.g. <c>128·64·4·4 + 128</c>, or <c>0</c> for pooling.</summary>
    public string Formula
    {
        get
        {
            var l = Trace.Layer;
            if (l.Kind != LayerKind.Conv) return "0";
            string w = FormattableString.Invariant($"{l.OutChannels}·{Trace.Input.Channels}·{l.Kernel.H}·{l.Kernel.W}");
            return l.Bias ? FormattableString.Invariant($"{w} + {l.OutChannels}") : w;
        }
    }
}

/// <summary>The result of <see cref="ConvShapes.Shape"/>: the shape after every layer and the parameter counts.</summary>
/// <param name="Input">The input shape (C, H, W).</param>
/// <param name="Steps">One entry per layer, in order.</param>
/// <param name="Trace">The library's trace of the whole stack.</param>
public sealed record ShapeReport(FeatureShape Input, IReadOnlyList<ShapeStep> Steps, ConvTrace Trace);

/// <summary>The result of <see cref="ConvShapes.Solve"/>: how many configurations there are, and the first few of them.</summary>
/// <param name="Input">The input shape.</param>
/// <param name="Output">The wanted output shape.</param>
/// <param name="Constraints">What was fixed and how far the search went.</param>
/// <param name="Count">How many configurations meet the constraints (all of them, counted without listing).</param>
/// <param name="Solutions">The first configurations in (k, s, p, d) order, at most the limit asked for.</param>
public sealed record SolveReport(FeatureShape Input, FeatureShape Output, ConvConstraints Constraints, long Count, IReadOnlyList<ConvConfig> Solutions)
{
    /// <summary>True when fewer configurations are listed than there are.</summary>
    public bool Truncated => Solutions.Count < Count;
}

/// <summary>
/// One part of seed 001 Q8 with the sheet's worked answer checked against the solver: whether the sheet's configuration
/// really gives the wanted shape, what it gives instead, and the configurations that are right.
/// </summary>
/// <param name="Part">The part, e.g. <c>3(b)</c>.</param>
/// <param name="Question">What the part fixes, in words.</param>
/// <param name="Input">The layer's input shape.</param>
/// <param name="Target">The wanted output shape.</param>
/// <param name="Constraints">The part's constraints as solver constraints.</param>
/// <param name="Solutions">Every configuration meeting them.</param>
/// <param name="SheetAnswer">The sheet's answer.</param>
/// <param name="SheetOutput">The shape the sheet's answer actually produces.</param>
public sealed record Q8Part(string Part, string Question, FeatureShape Input, FeatureShape Target, ConvConstraints Constraints,
    IReadOnlyList<ConvConfig> Solutions, ConvConfig SheetAnswer, FeatureShape SheetOutput)
{
    /// <summary>True when the sheet's answer produces the wanted shape.</summary>
    public bool SheetIsRight => SheetOutput == Target;
}

/// <summary>Seed 001 Q7 checked: the trace of the sheet's network and the sheet's two answers.</summary>
/// <param name="Report">The trace of 3x256x256 through conv 64 8x8 s2, max pool 5x5, conv 128 4x4 s1 p1.</param>
/// <param name="SheetOutput">The sheet's output shape (24x24x128).</param>
/// <param name="SheetLastLayerWeights">The sheet's weight count of the last layer, biases excluded (131,072).</param>
public sealed record Q7Result(ShapeReport Report, FeatureShape SheetOutput, long SheetLastLayerWeights)
{
    /// <summary>The dimensionality of the last output, C·H·W.</summary>
    public long OutputNumel => Report.Trace.Output.Numel;

    /// <summary>Weights of the last layer.</summary>
    public long LastLayerWeights => Report.Trace.Layers[^1].Weights;

    /// <summary>Weights plus biases of the last layer.</summary>
    public long LastLayerParameters => Report.Trace.Layers[^1].Parameters;

    /// <summary>True when the sheet's shape and weight count both agree with the trace.</summary>
    public bool SheetIsRight => SheetOutput == Report.Trace.Output && SheetLastLayerWeights == LastLayerWeights;
}

/// <summary>Seed 001 Q7 and Q8: conv/pool shape and parameter arithmetic, and the configuration solver, with the sheet checked.</summary>
public static class ConvShapes
{
    /// <summary>Seed 001 Q7's network, as <c>conv shape</c> takes it.</summary>
    public static readonly IReadOnlyList<string> Q7Layers = ["conv:64:k8:s2", "maxpool:k5", "conv:128:k4:s1:p1"];

    /// <summary>
    /// Reads a shape C x H x W such as <c>3x64x64</c> (also <c>3,64,64</c> or <c>3*64*64</c>): three positive integers.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="option">The option name for the error message.</param>
    /// <returns>The shape.</returns>
    /// <exception cref="ArgumentException">Not three positive integers; the message quotes the text and gives an example.</exception>
    public static FeatureShape ParseShape(string? text, string option = "--input")
    {
        string shown = text ?? "";
        string[] parts = shown.Trim().Split(['x', 'X', ',', '*', '×'], StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
            throw new ArgumentException($"{option}: '{shown}' is not a shape CxHxW; expected three positive integers (channels x height x width), e.g. 3x64x64, but found {parts.Length} field{(parts.Length == 1 ? "" : "s")}.");
        var v = new int[3];
        for (int i = 0; i < 3; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out v[i]) || v[i] < 1)
                throw new ArgumentException($"{option}: in '{shown}', the {(i == 0 ? "channel count" : i == 1 ? "height" : "width")} '{parts[i]}' is not a positive integer (expected e.g. 3x64x64).");
        return new FeatureShape(v[0], v[1], v[2]);
    }

    /// <summary>
    /// Traces <paramref name="input"/> through layer specs (see <see cref="LayerSpec.Parse"/>). A string may hold several
    /// specs separated by commas, semicolons or whitespace.
    /// </summary>
    /// <param name="input">The input shape.</param>
    /// <param name="specs">The specs, in order.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">No layer, a malformed spec, or a window that does not fit (the message names the layer).</exception>
    public static ShapeReport Shape(FeatureShape input, IEnumerable<string> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var tokens = specs.SelectMany(s => (s ?? "").Split([',', ';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (tokens.Count == 0) throw new ArgumentException("--layer: give at least one layer, e.g. --layer conv:64:k8:s2 --layer maxpool:k5.");
        var layers = new List<LayerSpec>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            try { layers.Add(LayerSpec.Parse(tokens[i])); }
            catch (ArgumentException e) { throw new ArgumentException($"--layer {i + 1}: {e.Message}", e); }
        }
        var trace = ConvArithmetic.Trace(input, layers);
        return new ShapeReport(input, trace.Layers.Select((t, i) => new ShapeStep(tokens[i], t)).ToList(), trace);
    }

    /// <summary>
    /// The number of configurations mapping <paramref name="input"/> to <paramref name="output"/> and the first
    /// <paramref name="limit"/> of them (see <see cref="ConvSolver.Count"/> and <see cref="ConvSolver.Enumerate"/>):
    /// memory grows with the limit, never with the count.
    /// </summary>
    /// <param name="input">The input shape.</param>
    /// <param name="output">The wanted output shape.</param>
    /// <param name="constraints">Fixed values and bounds.</param>
    /// <param name="limit">The most configurations to list, at least 0.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">A contradiction (pooling changing channels, ceil without pooling) or a value out of range.</exception>
    public static SolveReport Solve(FeatureShape input, FeatureShape output, ConvConstraints constraints, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        long count = ConvSolver.Count(input, output, constraints);
        var shown = ConvSolver.Enumerate(input, output, constraints).Take((int)Math.Min(limit, count)).ToList();
        return new(input, output, constraints, count, shown);
    }

    /// <summary>Seed 001 Q7: 256x256 RGB through the sheet's three layers, and the sheet's answers (24x24x128, 131,072 weights).</summary>
    /// <returns>The trace and the comparison.</returns>
    public static Q7Result Seed001Q7() =>
        new(Shape((3, 256, 256), Q7Layers), new FeatureShape(128, 24, 24), 131_072);

    /// <summary>
    /// Seed 001 Q8, every part that asks for a configuration, with the sheet's answer checked. The sheet is right on
    /// 1(a), 1(b), 2(a) and 3(a) and wrong on 3(b) (k1 s1 p2 d2 gives 12x12) and 3(c) (k3 s1 p1 d1 keeps 8x8).
    /// Part 2(b) asks for a shape, not a configuration; see <see cref="Seed001Q8PartB"/>.
    /// </summary>
    /// <returns>The parts in the sheet's order.</returns>
    public static IReadOnlyList<Q8Part> Seed001Q8()
    {
        FeatureShape data = (3, 64, 64), first = (64, 32, 32), second = (64, 8, 8), last = (128, 4, 4);
        return
        [
            Part("1(a)", "k = 8, no dilation", data, first, new() { Kernel = 8, Dilation = 1 }, new(8, 2, 3, 1)),
            Part("1(b)", "d = 7, s = 2", data, first, new() { Dilation = 7, Stride = 2 }, new(1, 2, 0, 7)),
            Part("2(a)", "pooling, non-overlapping windows, p = 0, d = 1", first, second,
                new() { Pool = true, Padding = 0, Dilation = 1, NonOverlapping = true }, new(4, 4, 0, 1)),
            Part("3(a)", "no padding, no dilation", second, last, new() { Padding = 0, Dilation = 1 }, new(2, 2, 0, 1)),
            Part("3(b)", "d = 2, p = 2", second, last, new() { Dilation = 2, Padding = 2 }, new(1, 1, 2, 2)),
            Part("3(c)", "p = 1, d = 1", second, last, new() { Padding = 1, Dilation = 1 }, new(3, 1, 1, 1)),
        ];
    }

    /// <summary>Seed 001 Q8 2(b): max pooling with k = 8, s = 4 on 64x32x32 gives 64x7x7 (the sheet's answer, which is right).</summary>
    /// <returns>The trace of that one layer.</returns>
    public static ShapeReport Seed001Q8PartB() => Shape((64, 32, 32), ["maxpool:k8:s4"]);

    private static Q8Part Part(string part, string question, FeatureShape input, FeatureShape target, ConvConstraints c, ConvConfig sheet)
    {
        var solutions = ConvSolver.Solve(input, target, c);
        var layer = c.Pool ? sheet.ToMaxPool() : sheet.ToConv(target.Channels);
        var sheetOutput = ConvArithmetic.Trace(input, [layer]).Output;
        return new Q8Part(part, question, input, target, c, solutions, sheet, sheetOutput);
    }
}
