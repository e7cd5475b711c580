using System.Numerics;

namespace SharpGrad.Theory;

/// <summary>
/// Shape and parameter arithmetic of convolution and pooling layers (seed 001 Q7): the output size along one axis,
/// and a trace of a whole conv/pool stack.
/// </summary>
/// <remarks>
/// Along one axis of size n, a window of k taps spaced d apart (effective extent d·(k − 1) + 1), moved by stride s
/// over the input padded by p on both sides, fits
/// <c>o = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1</c> times (PyTorch's formula for <c>Conv2d</c> and <c>MaxPool2d</c>).
/// In ceil mode the floor becomes a ceiling, but, as in PyTorch, a last window that would start inside the right
/// padding is dropped.
/// </remarks>
/// <example>
/// <code>
/// var trace = ConvArithmetic.Trace((3, 256, 256), ConvArithmetic.ParseLayers("conv:64:k8:s2, maxpool:k5, conv:128:k4:s1:p1"));
/// // trace.Output == (128, 24, 24), trace.Output.Numel == 73728, trace.Layers[2].Weights == 131072
/// </code>
/// </example>
public static class ConvArithmetic
{
    /// <summary>The number of window positions along one axis, <c>⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1</c> (or PyTorch's ceil-mode variant).</summary>
    /// <param name="inputSize">Size n of the axis, at least 1.</param>
    /// <param name="kernel">Kernel size k, at least 1.</param>
    /// <param name="stride">Stride s, at least 1.</param>
    /// <param name="padding">Padding p on each side, at least 0.</param>
    /// <param name="dilation">Dilation d, at least 1.</param>
    /// <param name="ceilMode">Round up instead of down (pooling's <c>ceil_mode</c>).</param>
    /// <returns>The output size, at least 1.</returns>
    /// <exception cref="ArgumentException">An argument is out of range, or the window does not fit (the message shows the arithmetic).</exception>
    public static int OutputSize(int inputSize, int kernel, int stride = 1, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernel, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation, 1);
        long o = RawOutputSize(inputSize, kernel, stride, padding, dilation, ceilMode);
        if (o < 1) throw new ArgumentException($"The window does not fit: {Explain(inputSize, kernel, stride, padding, dilation, ceilMode)}.");
        return (int)o;
    }

    /// <summary>
    /// Reads a stack of layer specs separated by commas, semicolons, whitespace or <c>-&gt;</c>, e.g.
    /// <c>"conv:64:k8:s2, maxpool:k5, conv:128:k4:s1:p1"</c>. See <see cref="LayerSpec.Parse"/> for one spec.
    /// </summary>
    /// <param name="stack">The specs.</param>
    /// <returns>The layers in order.</returns>
    /// <exception cref="ArgumentException">A spec is malformed; the message gives its position and the bad token.</exception>
    public static IReadOnlyList<LayerSpec> ParseLayers(string stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        string[] specs = stack.Replace("->", ",", StringComparison.Ordinal)
            .Split([',', ';', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var layers = new List<LayerSpec>(specs.Length);
        for (int i = 0; i < specs.Length; i++)
        {
            try { layers.Add(LayerSpec.Parse(specs[i])); }
            catch (ArgumentException e) { throw new ArgumentException($"Layer {i + 1} of \"{stack}\": {e.Message}", nameof(stack), e); }
        }
        return layers;
    }

    /// <summary>
    /// Follows <paramref name="input"/> through <paramref name="layers"/>: the output shape (C, H, W) and the weight
    /// and bias counts of every layer. Convolutions set the channel count and have out·in·kh·kw weights (+ out biases);
    /// pooling keeps the channels and has no parameters.
    /// </summary>
    /// <param name="input">The input shape (C, H, W), e.g. (3, 256, 256) for a 256x256 RGB image.</param>
    /// <param name="layers">The layers in order.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="ArgumentException">
    /// A layer's window does not fit its input (output size below 1); the message names the layer (number and spec),
    /// the axis and the arithmetic. Or a count (values C·H·W of a shape, weights of a layer, or the stack's total of
    /// parameters) exceeds the 64-bit range, 9,223,372,036,854,775,807; the message names it and gives its size.
    /// </exception>
    public static ConvTrace Trace(FeatureShape input, IEnumerable<LayerSpec> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        input.Validate(nameof(input));
        CheckNumel("The input", input);
        var traces = new List<LayerTrace>();
        long total = 0;
        FeatureShape shape = input;
        int index = 0;
        foreach (var layer in layers)
        {
            ArgumentNullException.ThrowIfNull(layer, nameof(layers));
            int h = Axis(layer, index, shape, "height", shape.Height, layer.Kernel.H, layer.Stride.H, layer.Padding.H, layer.Dilation.H);
            int w = Axis(layer, index, shape, "width", shape.Width, layer.Kernel.W, layer.Stride.W, layer.Padding.W, layer.Dilation.W);
            int channels = layer.Kind == LayerKind.Conv ? layer.OutChannels : shape.Channels;
            var output = new FeatureShape(channels, h, w);
            string name = $"Layer {index + 1} ({layer})";
            CheckNumel(name, output);
            long weights = Checked(name, "weights", $"{layer.OutChannels}·{shape.Channels}·{layer.Kernel.H}·{layer.Kernel.W}",
                (BigInteger)layer.OutChannels * shape.Channels * layer.Kernel.H * layer.Kernel.W);
            long parameters = Checked(name, "parameters", "weights + biases", (BigInteger)weights + layer.BiasCount);
            total = Checked("The stack", "parameters in all", "the sum over its layers", (BigInteger)total + parameters);
            traces.Add(new LayerTrace(index, layer, shape, output, weights, layer.BiasCount));
            shape = output;
            index++;
        }
        return new ConvTrace(input, traces);
    }

    /// <summary><see cref="Trace(FeatureShape, IEnumerable{LayerSpec})"/> of a stack given as a string (see <see cref="ParseLayers"/>).</summary>
    /// <param name="input">The input shape (C, H, W).</param>
    /// <param name="stack">The layer specs.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="ArgumentException">A spec is malformed or a layer's window does not fit.</exception>
    public static ConvTrace Trace(FeatureShape input, string stack) => Trace(input, ParseLayers(stack));

    private static void CheckNumel(string what, FeatureShape s) =>
        Checked(what, "values", FormattableString.Invariant($"{s.Channels}·{s.Height}·{s.Width} for the shape {s}"), (BigInteger)s.Channels * s.Height * s.Width);

    /// <summary>The count as a long, or an error that says it exceeds the 64-bit range (computed exactly, in BigInteger).</summary>
    private static long Checked(string what, string quantity, string formula, BigInteger exact) =>
        exact <= long.MaxValue ? (long)exact : throw new ArgumentException(FormattableString.Invariant(
            $"{what} has {exact:N0} {quantity} ({formula}), more than a 64-bit count holds ({long.MaxValue:N0})."));

    private static int Axis(LayerSpec layer, int index, FeatureShape shape, string axis, int n, int k, int s, int p, int d)
    {
        long o = RawOutputSize(n, k, s, p, d, layer.CeilMode);
        if (o < 1)
            throw new ArgumentException(
                $"Layer {index + 1} ({layer}, index {index}) gets input {shape} but its window does not fit the {axis}: " +
                $"{Explain(n, k, s, p, d, layer.CeilMode)}; the effective kernel {(long)d * (k - 1) + 1} exceeds the padded {axis} {n + 2L * p}.");
        return (int)o;
    }

    /// <summary>
    /// The formula without the range check, in long so that nothing overflows; may be 0 or negative when the window does
    /// not fit. The floor is a true floor (C# division truncates toward zero, which would turn −1/2 into 0).
    /// </summary>
    internal static long RawOutputSize(long n, long k, long s, long p, long d, bool ceilMode)
    {
        long span = n + 2 * p - d * (k - 1) - 1;
        long o = (ceilMode ? FloorDiv(span + s - 1, s) : FloorDiv(span, s)) + 1;
        // PyTorch: in ceil mode the last window must start inside the input or the left padding.
        if (ceilMode && (o - 1) * s >= n + p) o--;
        return o;
    }

    internal static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>The arithmetic with the numbers filled in, for error messages.</summary>
    internal static string Explain(long n, long k, long s, long p, long d, bool ceilMode)
    {
        string round = ceilMode ? "ceil" : "floor";
        return FormattableString.Invariant(
            $"{round}(({n} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 = {round}({n + 2 * p - d * (k - 1) - 1}/{s}) + 1 = {RawOutputSize(n, k, s, p, d, ceilMode)}");
    }
}
