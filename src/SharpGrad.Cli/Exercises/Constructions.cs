using SharpGrad.Data;
using SharpGrad.Theory;

namespace SharpGrad.Cli.Exercises;

/// <summary>The fit of the sigmoid-step construction at one steepness: measured error and proven bound.</summary>
/// <param name="Steepness">The steepness k.</param>
/// <param name="MaxAbsError">max_i |net(x_i) − y_i|, measured.</param>
/// <param name="ErrorBound">Σ_j |Δy_j| σ(−k·gap_j/2), the bound in exact arithmetic.</param>
public sealed record SteepnessPoint(double Steepness, double MaxAbsError, double ErrorBound);

/// <summary>Seed 001 Q5: both interpolating networks through the same points, and how the sigmoid one converges as k grows.</summary>
/// <param name="X">The abscissae as given.</param>
/// <param name="Y">The values as given.</param>
/// <param name="Relu">The ReLU-hinge network (exact).</param>
/// <param name="Sigmoid">The sigmoid-step network at the chosen steepness.</param>
/// <param name="Sweep">The sigmoid construction at steepness 1/g, 2/g, 4/g, … (g the smallest gap): the limit at work.</param>
public sealed record InterpolationResult(double[] X, double[] Y, Interpolant Relu, Interpolant Sigmoid, IReadOnlyList<SteepnessPoint> Sweep)
{
    /// <summary>Number of points given.</summary>
    public int Points => X.Length;

    /// <summary>Hidden units of both networks: one fewer than the distinct points.</summary>
    public int HiddenUnits => Relu.Network.HiddenSize;
}

/// <summary>
/// Seed 001 Q5 in R^D: the interpolating networks through N points of R^D (the 1-D constructions on the projections
/// u · x_i), with the fit measured on the points themselves.
/// </summary>
/// <param name="X">The points, one per row [N, D].</param>
/// <param name="Y">The values.</param>
/// <param name="Relu">The ReLU-hinge network, or null when only the sigmoid one was asked for.</param>
/// <param name="Sigmoid">The sigmoid-step network, or null when only the ReLU one was asked for.</param>
/// <param name="Sweep">The sigmoid construction at steepness 1/g, 2/g, … (g the smallest gap between projections); empty without it.</param>
public sealed record InterpolationNdResult(double[,] X, double[] Y, ProjectedInterpolant? Relu, ProjectedInterpolant? Sigmoid, IReadOnlyList<SteepnessPoint> Sweep)
{
    /// <summary>Number of points given.</summary>
    public int Points => Y.Length;

    /// <summary>The dimension D of the input space.</summary>
    public int Dim => X.GetLength(1);

    /// <summary>The direction the points are projected on.</summary>
    public IReadOnlyList<double> Direction => (Relu ?? Sigmoid)!.Direction;

    /// <summary>Hidden units: one fewer than the distinct points.</summary>
    public int HiddenUnits => (Relu ?? Sigmoid)!.Network.HiddenSize;
}

/// <summary>Seed 001 Q4 / 002 Q4: a network, its exact conversion, and how far apart they are on random inputs.</summary>
/// <param name="Source">The network converted.</param>
/// <param name="Converted">The equivalent network with the other activation.</param>
/// <param name="Samples">How many random inputs were compared.</param>
/// <param name="MaxAbsDifference">max |source(x) − converted(x)| over those inputs and every output.</param>
/// <param name="MaxAbsOutput">max |source(x)|, the scale the difference is measured against.</param>
public sealed record ConversionResult(TwoLayerNet Source, TwoLayerNet Converted, int Samples, double MaxAbsDifference, double MaxAbsOutput);

/// <summary>Seed 002 Q6: a linear stack, its collapse to one layer, the ranks, and the check on random inputs.</summary>
/// <param name="Layers">The stack, first layer first.</param>
/// <param name="Collapsed">The single layer and its ranks.</param>
/// <param name="Samples">How many random inputs were compared.</param>
/// <param name="MaxAbsDifference">max |stack(x) − collapsed(x)| over those inputs.</param>
public sealed record CollapseResult(IReadOnlyList<LinearLayer> Layers, CollapsedStack Collapsed, int Samples, double MaxAbsDifference)
{
    /// <summary>The widths in → … → out, e.g. [10, 3, 8, 6].</summary>
    public int[] Widths => [Layers[0].InFeatures, .. Layers.Select(l => l.OutFeatures)];
}

/// <summary>
/// The constructions of seed 001 Q4–Q5 and seed 002 Q4/Q6 as runnable exercises: data in (given, read from files, or
/// random with a seed), the construction, and the evidence that it is exact. Everything is Float64.
/// </summary>
public static class Constructions
{
    /// <summary>
    /// N random points: x_i = i + U(0, 0.8) (so neighbouring abscissae are at least 0.2 apart and the sigmoid steps need
    /// only a moderate steepness), y_i ~ N(0, 1).
    /// </summary>
    /// <param name="n">Number of points, at least 1.</param>
    /// <param name="seed">Random seed.</param>
    /// <returns>The points, in increasing x.</returns>
    public static (double[] X, double[] Y) RandomPoints(int n, ulong seed)
    {
        if (n < 1) throw new ArgumentException($"--points must be at least 1; got {n}.");
        var g = new Generator(seed);
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = i + 0.8 * g.NextDouble();
            y[i] = g.NextNormal();
        }
        return (x, y);
    }

    /// <summary>Reads points from a CSV file with a header naming columns <c>x</c> and <c>y</c> (any case; other columns are ignored).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The points, in file order.</returns>
    /// <exception cref="InvalidDataException">The file is not numeric CSV (the message names the line).</exception>
    /// <exception cref="ArgumentException">There is no x or no y column.</exception>
    public static (double[] X, double[] Y) ReadPoints(string path)
    {
        var table = Csv.Read(path);
        int Column(string name)
        {
            for (int i = 0; i < table.Columns.Count; i++)
                if (string.Equals(table.Columns[i].Trim(), name, StringComparison.OrdinalIgnoreCase)) return i;
            throw new InvalidDataException($"{path}: no column '{name}' in the header (columns: {string.Join(", ", table.Columns)}); expected a header line x,y.");
        }
        int cx = Column("x"), cy = Column("y");
        int rows = table.Values.Shape[0], cols = table.Values.Shape[1];
        double[] v = table.Values.ToArray<double>();
        return (Enumerable.Range(0, rows).Select(r => v[r * cols + cx]).ToArray(), Enumerable.Range(0, rows).Select(r => v[r * cols + cy]).ToArray());
    }

    /// <summary>N points x_i ~ N(0, I_D) and values y_i ~ N(0, 1), from one seeded generator.</summary>
    /// <param name="n">Number of points, at least 1.</param>
    /// <param name="dim">Dimension D, at least 1.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The points [N, D] and values.</returns>
    public static (double[,] X, double[] Y) RandomPointsNd(int n, int dim, ulong seed)
    {
        if (n < 1) throw new ArgumentException($"--random must be at least 1; got {n}.");
        if (dim < 1) throw new ArgumentException($"--dim must be at least 1; got {dim}.");
        var g = new Generator(seed);
        var x = new double[n, dim];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < dim; k++) x[i, k] = g.NextNormal();
            y[i] = g.NextNormal();
        }
        return (x, y);
    }

    /// <summary>
    /// The interpolating networks through N points of R^D (<see cref="Interpolation.Relu(double[,], double[])"/>,
    /// <see cref="Interpolation.SigmoidSteps(double[,], double[], double?, double)"/>), each measured on the points.
    /// </summary>
    /// <param name="x">The points [N, D].</param>
    /// <param name="y">The values.</param>
    /// <param name="relu">Build the ReLU network.</param>
    /// <param name="sigmoid">Build the sigmoid network (with a steepness sweep).</param>
    /// <param name="steepness">The sigmoid steepness, or null for an error bound of 1e-6.</param>
    /// <returns>The networks and their errors.</returns>
    /// <exception cref="ArgumentException">As the constructions throw.</exception>
    public static InterpolationNdResult InterpolateNd(double[,] x, double[] y, bool relu = true, bool sigmoid = true, double? steepness = null)
    {
        if (!relu && !sigmoid) throw new ArgumentException("--activation: choose relu, sigmoid or both.");
        var r = relu ? Interpolation.Relu(x, y) : null;
        var s = sigmoid ? Interpolation.SigmoidSteps(x, y, steepness) : null;
        var sweep = new List<SteepnessPoint>();
        if (s is not null && s.Line.X.Count > 1)
        {
            double gap = s.Line.X.Zip(s.Line.X.Skip(1), (a, b) => b - a).Min();
            for (int m = 1; m <= 256; m *= 2)
            {
                var k = Interpolation.SigmoidSteps(x, y, m / gap);
                sweep.Add(new SteepnessPoint(k.Line.Steepness, k.MaxAbsError, k.Line.ErrorBound));
            }
        }
        return new InterpolationNdResult(x, y, r, s, sweep);
    }

    /// <summary>
    /// Builds the ReLU and the sigmoid interpolating networks through (x_i, y_i) and measures both; the sigmoid steepness
    /// defaults to one whose proven error bound is 1e-6 (<see cref="Interpolation.SteepnessFor"/>).
    /// </summary>
    /// <param name="x">Abscissae.</param>
    /// <param name="y">Values.</param>
    /// <param name="steepness">The sigmoid steepness k, or null for the default.</param>
    /// <returns>Both networks, their errors, and a steepness sweep.</returns>
    /// <exception cref="ArgumentException">Lengths differ, no points, non-finite values, one x with two values, or a bad steepness.</exception>
    public static InterpolationResult Interpolate(double[] x, double[] y, double? steepness = null)
    {
        var relu = Interpolation.Relu(x, y);
        double k = steepness ?? Interpolation.SteepnessFor(x, y, 1e-6);
        var sigmoid = Interpolation.SigmoidSteps(x, y, k);
        var sweep = new List<SteepnessPoint>();
        if (relu.X.Count > 1)
        {
            double gap = relu.X.Zip(relu.X.Skip(1), (a, b) => b - a).Min();
            for (int m = 1; m <= 256; m *= 2)
            {
                var s = Interpolation.SigmoidSteps(x, y, m / gap);
                sweep.Add(new SteepnessPoint(s.Steepness, s.MaxAbsError, s.ErrorBound));
            }
        }
        return new InterpolationResult(x, y, relu, sigmoid, sweep);
    }

    /// <summary>A random network: W1 ~ 2·N(0, 1), b1 ~ N(0, 1), W2 ~ 3·N(0, 1), b2 ~ N(0, 1), Float64.</summary>
    /// <param name="inputs">D, at least 1.</param>
    /// <param name="hidden">M, at least 1.</param>
    /// <param name="outputs">K, at least 1.</param>
    /// <param name="activation">Sigmoid or tanh.</param>
    /// <param name="seed">Random seed.</param>
    /// <returns>The network.</returns>
    public static TwoLayerNet RandomNetwork(int inputs, int hidden, int outputs, Activation activation, ulong seed)
    {
        Positive(inputs, "--inputs"); Positive(hidden, "--hidden"); Positive(outputs, "--outputs");
        var g = new Generator(seed);
        return new TwoLayerNet(Tensor.Randn([hidden, inputs], g, DType.Float64) * 2, Tensor.Randn([hidden], g, DType.Float64),
            Tensor.Randn([outputs, hidden], g, DType.Float64) * 3, Tensor.Randn([outputs], g, DType.Float64), activation);
    }

    /// <summary>
    /// Loads a network from an .npz with arrays W1 [M, D], b1 [M], W2 [K, M], b2 [K] (PyTorch's [out, in] layout, as
    /// <c>nn.Linear.weight</c>), converted to Float64 (exactly, from float32 or integers).
    /// </summary>
    /// <param name="path">The .npz file.</param>
    /// <param name="activation">The activation the weights were trained with.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidDataException">An array is missing or the file is not a valid .npz.</exception>
    /// <exception cref="ArgumentException">The shapes do not chain.</exception>
    public static TwoLayerNet LoadNetwork(string path, Activation activation)
    {
        var arrays = Npy.LoadNpz(path);
        Tensor Get(string key) => arrays.TryGetValue(key, out var t) ? t.To(DType.Float64)
            : throw new InvalidDataException($"{path}: no array '{key}' (found: {string.Join(", ", arrays.Keys)}); expected W1 [M, D], b1 [M], W2 [K, M], b2 [K].");
        try { return new TwoLayerNet(Get("W1"), Vector(Get("b1")), Get("W2"), Vector(Get("b2")), activation); }
        catch (ArgumentException e) { throw new ArgumentException($"{path}: {e.Message}", e); }
    }

    /// <summary>Converts to <paramref name="target"/> and compares the two networks on standard normal inputs scaled by 3 (into saturation).</summary>
    /// <param name="net">A sigmoid or tanh network.</param>
    /// <param name="target">The other activation.</param>
    /// <param name="samples">Number of random inputs, at least 1.</param>
    /// <param name="seed">Seed of the inputs.</param>
    /// <returns>Both networks and the largest difference.</returns>
    public static ConversionResult Convert(TwoLayerNet net, Activation target, int samples, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(net);
        Positive(samples, "--samples");
        if (target is not (Activation.Sigmoid or Activation.Tanh))
            throw new ArgumentException($"--to: the conversion goes to sigmoid or tanh; got {target}.");
        if (net.Activation == target)
            throw new ArgumentException($"The network already uses {net.Activation}; convert it to the other activation.");
        var converted = ActivationConversion.Convert(net, target);
        var x = Tensor.Randn([samples, net.InputSize], new Generator(seed), DType.Float64) * 3;
        using var _ = Autograd.NoGrad();
        double[] a = net.Forward(x).ToArray<double>(), b = converted.Forward(x).ToArray<double>();
        double diff = 0, scale = 0;
        for (int i = 0; i < a.Length; i++) { diff = Math.Max(diff, Math.Abs(a[i] - b[i])); scale = Math.Max(scale, Math.Abs(a[i])); }
        return new ConversionResult(net, converted, samples, diff, scale);
    }

    /// <summary>A random stack: widths [10, 3, 8, 6] give layers 10→3, 3→8, 8→6 with W ~ N(0, 1/in) and b ~ N(0, 1), Float64.</summary>
    /// <param name="widths">At least two positive widths.</param>
    /// <param name="seed">Random seed.</param>
    /// <returns>The layers, first first.</returns>
    public static IReadOnlyList<LinearLayer> RandomStack(IReadOnlyList<int> widths, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (widths.Count < 2) throw new ArgumentException($"--widths needs at least two widths (input and output), e.g. 10,3,8,6; got {widths.Count}.");
        foreach (int w in widths) Positive(w, "--widths");
        var g = new Generator(seed);
        var layers = new List<LinearLayer>();
        for (int i = 0; i + 1 < widths.Count; i++)
            layers.Add(new LinearLayer(Tensor.Randn([widths[i + 1], widths[i]], g, DType.Float64) * (1 / Math.Sqrt(widths[i])),
                Tensor.Randn([widths[i + 1]], g, DType.Float64)));
        return layers;
    }

    /// <summary>
    /// Loads a stack from an .npz with W0, b0, W1, b1, … (or from W1 when there is no W0), weights [out, in]; a missing
    /// bias means none. Every array must belong to a layer.
    /// </summary>
    /// <param name="path">The .npz file.</param>
    /// <returns>The layers, Float64.</returns>
    /// <exception cref="InvalidDataException">No W0/W1, or arrays that belong to no layer.</exception>
    public static IReadOnlyList<LinearLayer> LoadStack(string path)
    {
        var arrays = Npy.LoadNpz(path);
        int first = arrays.ContainsKey("W0") ? 0 : arrays.ContainsKey("W1") ? 1 : -1;
        if (first < 0) throw new InvalidDataException($"{path}: no array 'W0' or 'W1' (found: {string.Join(", ", arrays.Keys)}); expected W0, b0, W1, b1, … with weights [out, in].");
        var layers = new List<LinearLayer>();
        var used = new HashSet<string>();
        for (int i = first; arrays.TryGetValue($"W{i}", out var w); i++)
        {
            used.Add($"W{i}");
            Tensor? b = null;
            if (arrays.TryGetValue($"b{i}", out var bias)) { b = Vector(bias.To(DType.Float64)); used.Add($"b{i}"); }
            layers.Add(new LinearLayer(w.To(DType.Float64), b));
        }
        var extra = arrays.Keys.Where(k => !used.Contains(k)).ToList();
        if (extra.Count > 0)
            throw new InvalidDataException($"{path}: arrays {string.Join(", ", extra)} belong to no layer (layers W{first}..W{first + layers.Count - 1} were read; names must run W{first}, W{first + 1}, … without gaps).");
        return layers;
    }

    /// <summary>Collapses the stack and compares it with the collapsed layer on standard normal inputs.</summary>
    /// <param name="layers">The stack.</param>
    /// <param name="samples">Number of random inputs, at least 1.</param>
    /// <param name="seed">Seed of the inputs.</param>
    /// <returns>The collapsed layer, ranks and difference.</returns>
    /// <exception cref="ArgumentException">The shapes do not chain (the message names the layer).</exception>
    public static CollapseResult Collapse(IReadOnlyList<LinearLayer> layers, int samples, ulong seed)
    {
        Positive(samples, "--samples");
        using var _ = Autograd.NoGrad();
        var collapsed = LinearCollapse.Collapse(layers);
        var x = Tensor.Randn([samples, layers[0].InFeatures], new Generator(seed), DType.Float64);
        double[] a = LinearCollapse.Forward(layers, x).ToArray<double>(), b = collapsed.Forward(x).ToArray<double>();
        double diff = 0;
        for (int i = 0; i < a.Length; i++) diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
        return new CollapseResult(layers, collapsed, samples, diff);
    }

    /// <summary>Seed 002 Q6.2's example: 10 → 2 → 10, whose product is a 10 x 10 matrix of rank 2.</summary>
    /// <param name="seed">Random seed.</param>
    /// <returns>The collapse.</returns>
    public static CollapseResult Seed002Q6Bottleneck(ulong seed = 0) => Collapse(RandomStack([10, 2, 10], seed), 1000, seed + 1);

    /// <summary>Saves a network as an .npz with W1, b1, W2, b2 (the layout <see cref="LoadNetwork"/> reads).</summary>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="net">The network.</param>
    public static void SaveNetwork(string path, TwoLayerNet net) =>
        Npy.SaveNpz(path, new KeyValuePair<string, Tensor>[] { new("W1", net.W1), new("b1", net.B1), new("W2", net.W2), new("b2", net.B2) });

    /// <summary>A bias stored as [M, 1] or [1, M] (column or row vector) read as [M].</summary>
    private static Tensor Vector(Tensor t) =>
        t.Rank == 2 && (t.Shape[0] == 1 || t.Shape[1] == 1) ? t.Reshape(-1) : t;

    private static void Positive(int value, string option)
    {
        if (value < 1) throw new ArgumentException($"{option} must be at least 1; got {value}.");
    }
}
