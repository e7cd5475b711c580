using SharpGrad.NN;
using SharpGrad.Optim;

namespace SharpGrad.Cli.Exercises;

/// <summary>How the XOR network's parameters are drawn at the start of a restart.</summary>
public enum XorInit
{
    /// <summary>Every parameter, biases included, from N(0, 1).</summary>
    Normal,
    /// <summary>Every parameter, biases included, from U(−1, 1).</summary>
    Uniform,
    /// <summary>He (Kaiming) normal: weights from N(0, 2 / fan_in), biases 0.</summary>
    He,
}

/// <summary>Options of <see cref="Xor.Run"/> (seed 000 Q2–Q3).</summary>
public sealed record XorOptions
{
    /// <summary>Full-batch gradient-descent epochs per restart.</summary>
    public int Epochs { get; init; } = 2000;
    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; } = 0.1;
    /// <summary>Number of random initialisations; restart i uses seed <see cref="Seed"/> + i.</summary>
    public int Restarts { get; init; } = 10;
    /// <summary>Base seed.</summary>
    public ulong Seed { get; init; }
    /// <summary>Initialisation scheme.</summary>
    public XorInit Init { get; init; } = XorInit.Normal;
    /// <summary><see cref="Reduction.Mean"/> (¼ Σ (y − f)²) or <see cref="Reduction.Sum"/> (Σ (y − f)²).</summary>
    public Reduction Loss { get; init; } = Reduction.Mean;
    /// <summary><see cref="Activation.Relu"/> (the max of the sheet) or <see cref="Activation.Identity"/>.</summary>
    public Activation Activation { get; init; } = Activation.Relu;
    /// <summary>Whether the hidden layer has its bias b1 (Q2.3 asks about ReLU(Uᵀx) without it); b2 is always trained.</summary>
    public bool HiddenBias { get; init; } = true;
    /// <summary>Hand-set parameters to verify, in <see cref="Xor.ParameterNames"/> order, or null.</summary>
    public IReadOnlyList<double>? HandSet { get; init; }
    /// <summary>
    /// Whether each restart's training step runs compiled (<see cref="Jit.Compile"/>: captured once, then replayed);
    /// false runs it eagerly (<c>--no-compile</c>). The results are the same to the bit either way.
    /// </summary>
    public bool Compile { get; init; } = true;
}

/// <summary>The network evaluated on the four XOR points.</summary>
/// <param name="Parameters">U11, U12, U21, U22, b11, b12, w1, w2, b2.</param>
/// <param name="Outputs">f(x) at (0,0), (0,1), (1,0), (1,1).</param>
/// <param name="Loss">The squared loss under the chosen reduction.</param>
/// <param name="Correct">How many points the rule "class 1 iff f(x) ≥ 0" gets right (0–4).</param>
public sealed record XorEvaluation(double[] Parameters, double[] Outputs, double Loss, int Correct)
{
    /// <summary>All four points are classified correctly.</summary>
    public bool AllCorrect => Correct == 4;
}

/// <summary>One random restart of gradient descent.</summary>
/// <param name="Seed">Its seed.</param>
/// <param name="Loss">The loss before the first update and after each epoch (Epochs + 1 values; NaN after divergence).</param>
/// <param name="Trace">The two traced parameters before training and after each epoch.</param>
/// <param name="Final">The trained network evaluated on the data.</param>
/// <param name="DivergedAtEpoch">The epoch whose loss was not finite or above 10⁶ times the initial one (training stopped there), or null.</param>
public sealed record XorRun(ulong Seed, double[] Loss, double[][] Trace, XorEvaluation Final, int? DivergedAtEpoch)
{
    /// <summary>The loss after training (NaN if it diverged).</summary>
    public double FinalLoss => Final.Loss;
    /// <summary>Training did not diverge and the network classifies all four points.</summary>
    public bool Succeeded => DivergedAtEpoch is null && Final.AllCorrect;
    /// <summary>Whether the restart's steps ran compiled and were replayed (no fallback to eager mode): for tests.</summary>
    internal bool Replayed { get; init; }
}

/// <summary>The best linear function f(x) = a1 x1 + a2 x2 + c in the least-squares sense: what the identity network can reach.</summary>
/// <param name="Weights">a1, a2, c.</param>
/// <param name="Predictions">f at the four points.</param>
/// <param name="Loss">Its squared loss under the chosen reduction (the minimum over all linear networks).</param>
/// <param name="Misclassified">Points the rule f ≥ 0 gets wrong.</param>
public sealed record XorLinearFit(double[] Weights, double[] Predictions, double Loss, int Misclassified);

/// <summary>Everything <c>sharpgrad xor</c> and the report show.</summary>
/// <param name="Options">The options used.</param>
/// <param name="Runs">One entry per restart.</param>
/// <param name="BestRun">Index of the best run: the lowest final loss among the successes, else among all.</param>
/// <param name="TracedParameters">Indices (into <see cref="Xor.ParameterNames"/>) of the two parameters traced per epoch, chosen at random by the seed.</param>
/// <param name="Linear">The least-squares linear fit.</param>
/// <param name="HandSet">The hand-set parameters evaluated, when given.</param>
public sealed record XorResult(XorOptions Options, IReadOnlyList<XorRun> Runs, int BestRun, int[] TracedParameters, XorLinearFit Linear, XorEvaluation? HandSet)
{
    /// <summary>Fraction of restarts that succeed (<see cref="XorRun.Succeeded"/>).</summary>
    public double SuccessFraction => Runs.Count(r => r.Succeeded) / (double)Runs.Count;
    /// <summary>The best run.</summary>
    public XorRun Best => Runs[BestRun];
}

/// <summary>
/// Seed 000 Q2–Q3: the 2-2-1 network f(x) = wᵀ max(Uᵀx + b1, 0) + b2 on XOR with labels −1/1, trained by full-batch
/// gradient descent on the squared loss through SharpGrad's autograd (Float64), with random restarts; the hand-set
/// solution checked; and the linear network shown unable.
/// </summary>
/// <remarks>
/// U[i, j] is the weight from input i to hidden unit j, so h_j = Σ_i U_ij x_i + b1_j. The sheet's rule is "class 1 iff
/// f(x) ≥ 0", so f = 0 counts as class 1 (label 1) — the least-squares linear fit, f ≡ 0, therefore gets the two
/// label −1 points wrong.
/// </remarks>
public static class Xor
{
    /// <summary>Parameter names in the order of every parameter vector here (and of <c>--weights</c>).</summary>
    public static readonly IReadOnlyList<string> ParameterNames = ["U11", "U12", "U21", "U22", "b11", "b12", "w1", "w2", "b2"];

    /// <summary>The four inputs (0,0), (0,1), (1,0), (1,1), row-major [4, 2].</summary>
    public static readonly IReadOnlyList<double> Inputs = [0, 0, 0, 1, 1, 0, 1, 1];

    /// <summary>The labels of Q3: −1, 1, 1, −1.</summary>
    public static readonly IReadOnlyList<double> Labels = [-1, 1, 1, -1];

    /// <summary>
    /// The sheet's worked answer to Q2.1: U = [[1, −1], [−1, 1]], b1 = 0, w = [1, 1], b2 = −0.5, giving f = −0.5, 0.5,
    /// 0.5, −0.5. It needs no hidden bias, so it also answers Q2.3.
    /// </summary>
    public static readonly IReadOnlyList<double> SheetSolution = [1, -1, -1, 1, 0, 0, 1, 1, -0.5];

    /// <summary>An exact solution (zero squared loss): U = [[1, 1], [1, 1]], b1 = [0, −1], w = [2, −4], b2 = −1 gives f = y.</summary>
    public static readonly IReadOnlyList<double> ExactSolution = [1, 1, 1, 1, 0, -1, 2, -4, -1];

    /// <summary>
    /// Evaluates the network with the given parameters on the four points (no training). Without a hidden bias
    /// (<paramref name="hiddenBias"/> false, Q2.3) the network is h = φ(Uᵀx): give the 7 values U11, U12, U21, U22, w1,
    /// w2, b2, or all 9 with b11 = b12 = 0; a non-zero hidden bias is an error rather than silently used or dropped.
    /// </summary>
    public static XorEvaluation Evaluate(IReadOnlyList<double> parameters, Activation activation = Activation.Relu, Reduction loss = Reduction.Mean, bool hiddenBias = true)
    {
        var p = Net.From(Complete(parameters, hiddenBias));
        using var _ = Autograd.NoGrad();
        return Score(p, activation, loss);
    }

    /// <summary>The 9 parameters from <c>--weights</c>: checked, and with the 7-value no-bias form widened by b1 = 0.</summary>
    private static double[] Complete(IReadOnlyList<double> given, bool hiddenBias)
    {
        ArgumentNullException.ThrowIfNull(given);
        if (!hiddenBias && given.Count == ParameterNames.Count - 2)
            return [given[0], given[1], given[2], given[3], 0, 0, given[4], given[5], given[6]];
        if (given.Count != ParameterNames.Count)
            throw new ArgumentException($"--weights: expected {ParameterNames.Count} values ({string.Join(",", ParameterNames)})" +
                (hiddenBias ? "" : ", or 7 without b11,b12 under --no-bias") + $"; got {given.Count}.");
        if (!hiddenBias && (given[4] != 0 || given[5] != 0))
            throw new ArgumentException(FormattableString.Invariant(
                $"--weights: b11 = {given[4]}, b12 = {given[5]}, but --no-bias drops the hidden bias; give 0 for both, or the 7 values U11,U12,U21,U22,w1,w2,b2."));
        return given.ToArray();
    }

    /// <summary>
    /// The least-squares fit of a1 x1 + a2 x2 + c to the labels, via QR. Every identity network wᵀ(Uᵀx + b1) + b2 is
    /// such a function (a = U w, c = wᵀb1 + b2), so this is the lowest loss it can reach.
    /// </summary>
    public static XorLinearFit LinearLeastSquares(Reduction loss = Reduction.Mean)
    {
        var a = new double[4, 3];
        for (int i = 0; i < 4; i++) { a[i, 0] = Inputs[2 * i]; a[i, 1] = Inputs[2 * i + 1]; a[i, 2] = 1; }
        var (theta, _) = LeastSquares.Solve(a, Labels.ToArray());
        // For XOR the exact optimum is θ = 0; QR leaves rounding residue of order 1e-16 whose sign would decide the
        // "f ≥ 0" rule at random. Values that small are zeros (the data are integers of size 1).
        for (int j = 0; j < 3; j++) if (Math.Abs(theta[j]) < 1e-12) theta[j] = 0;
        var f = new double[4];
        double sum = 0;
        int wrong = 0;
        for (int i = 0; i < 4; i++)
        {
            f[i] = theta[0] * a[i, 0] + theta[1] * a[i, 1] + theta[2];
            if (Math.Abs(f[i]) < 1e-12) f[i] = 0;
            sum += (Labels[i] - f[i]) * (Labels[i] - f[i]);
            if (!Classifies(f[i], Labels[i])) wrong++;
        }
        return new XorLinearFit(theta, f, loss == Reduction.Sum ? sum : sum / 4, wrong);
    }

    /// <summary>Whether "class 1 iff f ≥ 0" agrees with the label (1 or −1).</summary>
    public static bool Classifies(double f, double label) => (f >= 0) == (label > 0);

    /// <summary>Runs every restart, the linear fit, and the hand-set check.</summary>
    public static XorResult Run(XorOptions options, IProgress<int>? restartsDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1) throw new ArgumentException($"--epochs must be at least 1 (got {options.Epochs}).");
        if (options.Restarts < 1) throw new ArgumentException($"--restarts must be at least 1 (got {options.Restarts}).");
        if (!(options.LearningRate > 0) || !double.IsFinite(options.LearningRate)) throw new ArgumentException($"--lr must be positive (got {options.LearningRate}).");
        if (options.Activation is not (Activation.Relu or Activation.Identity)) throw new ArgumentException($"--activation: {options.Activation} is not part of this exercise (relu or identity).");
        if (options.Loss is not (Reduction.Mean or Reduction.Sum)) throw new ArgumentException($"--loss: {options.Loss} is not supported (mean or sum).");
        if (options.HandSet is { } given) Complete(given, options.HiddenBias); // check before training, not after

        var trainable = Enumerable.Range(0, ParameterNames.Count).Where(i => options.HiddenBias || i is not (4 or 5)).ToArray();
        var pick = new Generator(options.Seed ^ 0x9E3779B97F4A7C15UL); // its own stream: the choice does not disturb restart 0
        int first = pick.NextInt(trainable.Length), second = pick.NextInt(trainable.Length - 1);
        if (second >= first) second++;
        int[] traced = [trainable[first], trainable[second]];

        var runs = new List<XorRun>(options.Restarts);
        for (int r = 0; r < options.Restarts; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            runs.Add(Train(options, options.Seed + (ulong)r, traced));
            restartsDone?.Report(r + 1);
        }
        static double Key(XorRun r) => double.IsFinite(r.FinalLoss) ? r.FinalLoss : double.PositiveInfinity;
        var pool = runs.Any(r => r.Succeeded) ? runs.Where(r => r.Succeeded) : runs;
        int best = runs.IndexOf(pool.MinBy(Key)!);
        var hand = options.HandSet is null ? null : Evaluate(options.HandSet, options.Activation, options.Loss, options.HiddenBias);
        return new XorResult(options, runs, best, traced, LinearLeastSquares(options.Loss), hand);
    }

    private static XorRun Train(XorOptions o, ulong seed, int[] traced)
    {
        var net = Net.Random(o.Init, new Generator(seed), o.HiddenBias);
        var sgd = new Sgd(net.Trainable(o.HiddenBias), o.LearningRate);
        var x = Tensor.FromArray(Inputs.ToArray(), 4, 2);
        var y = Tensor.FromArray(Labels.ToArray(), 4, 1);
        var loss = new double[o.Epochs + 1];
        var trace = new[] { new double[o.Epochs + 1], new double[o.Epochs + 1] };
        Array.Fill(loss, double.NaN);
        Array.Fill(trace[0], double.NaN);
        Array.Fill(trace[1], double.NaN);
        int? diverged = null;
        double[] current = [];
        Record(0);
        // Compiled, the step's update is applied before its loss is read; a diverged epoch then puts the parameters it
        // started from back (kept by Record), so that both ways end in the state the eager loop stops in.
        var step = o.Compile ? Jit.Compile(t =>
        {
            sgd.ZeroGrad();
            var l = Functional.MseLoss(net.Forward(t[0], o.Activation), t[1], o.Loss);
            l.Backward();
            sgd.Step();
            return l;
        }) : null;
        for (int e = 0; e < o.Epochs; e++)
        {
            Tensor? l = null;
            if (step is not null) loss[e] = step.Run(x, y).Item();
            else
            {
                sgd.ZeroGrad();
                l = Functional.MseLoss(net.Forward(x, o.Activation), y, o.Loss);
                loss[e] = l.Item();
            }
            // Too large a step makes the loss grow geometrically; call it diverged long before it overflows.
            if (!double.IsFinite(loss[e]) || loss[e] > 1e6 * Math.Max(loss[0], 1))
            {
                if (step is not null) net.Load(current);
                diverged = e;
                break;
            }
            if (l is not null)
            {
                l.Backward();
                sgd.Step();
            }
            Record(e + 1);
        }
        XorEvaluation final;
        using (Autograd.NoGrad()) final = Score(net, o.Activation, o.Loss);
        if (diverged is null)
        {
            loss[o.Epochs] = final.Loss;
            if (!double.IsFinite(final.Loss) || final.Loss > 1e6 * Math.Max(loss[0], 1)) diverged = o.Epochs;
        }
        return new XorRun(seed, loss, trace, final, diverged) { Replayed = step is { FallbackReason: null, PlanCount: 1 } };

        void Record(int epoch)
        {
            var values = current = net.Values();
            trace[0][epoch] = values[traced[0]];
            trace[1][epoch] = values[traced[1]];
        }
    }

    private static XorEvaluation Score(Net net, Activation activation, Reduction reduction)
    {
        var x = Tensor.FromArray(Inputs.ToArray(), 4, 2);
        var y = Tensor.FromArray(Labels.ToArray(), 4, 1);
        var f = net.Forward(x, activation);
        double loss = Functional.MseLoss(f, y, reduction).Item();
        var outputs = f.ToArray<double>();
        int correct = Enumerable.Range(0, 4).Count(i => Classifies(outputs[i], Labels[i]));
        return new XorEvaluation(net.Values(), outputs, loss, correct);
    }

    /// <summary>The four parameter tensors, Float64: U [2, 2], b1 [2], w [2, 1], b2 [1].</summary>
    private sealed record Net(Tensor U, Tensor B1, Tensor W, Tensor B2)
    {
        public Tensor Forward(Tensor x, Activation activation)
        {
            var pre = x.MatMul(U) + B1;                     // row n: Uᵀ x_n + b1
            var h = activation == Activation.Relu ? pre.Relu() : pre;
            return h.MatMul(W) + B2;
        }

        public Tensor[] Trainable(bool hiddenBias) => hiddenBias ? [U, B1, W, B2] : [U, W, B2];

        public double[] Values() => [.. U.ToArray<double>(), .. B1.ToArray<double>(), .. W.ToArray<double>(), .. B2.ToArray<double>()];

        /// <summary>Overwrites the four tensors with <paramref name="p"/> (in <see cref="Values"/> order).</summary>
        public void Load(double[] p)
        {
            U.CopyFrom(Tensor.FromArray(p[0..4], 2, 2));
            B1.CopyFrom(Tensor.FromArray(p[4..6], 2));
            W.CopyFrom(Tensor.FromArray(p[6..8], 2, 1));
            B2.CopyFrom(Tensor.FromArray(p[8..9], 1));
        }

        public static Net From(double[] p) => new(
            Tensor.FromArray(p[0..4], 2, 2), Tensor.FromArray(p[4..6], 2), Tensor.FromArray(p[6..8], 2, 1), Tensor.FromArray(p[8..9], 1));

        public static Net Random(XorInit init, Generator g, bool hiddenBias)
        {
            var p = new double[9];
            for (int i = 0; i < p.Length; i++)
            {
                bool isBias = i is 4 or 5 or 8;
                p[i] = init switch
                {
                    XorInit.Normal => g.NextNormal(),
                    XorInit.Uniform => 2 * g.NextDouble() - 1,
                    XorInit.He => isBias ? 0 : g.NextNormal() * Math.Sqrt(2.0 / 2), // fan_in is 2 in both layers
                    _ => throw new ArgumentOutOfRangeException(nameof(init), init, "Unknown initialisation."),
                };
            }
            if (!hiddenBias) { p[4] = 0; p[5] = 0; }
            var net = From(p);
            foreach (var t in net.Trainable(hiddenBias)) t.RequiresGrad = true;
            return net;
        }
    }
}
