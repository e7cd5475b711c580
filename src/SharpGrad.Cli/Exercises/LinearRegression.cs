using SharpGrad.Data;
using SharpGrad.NN;
using SharpGrad.Optim;
using SharpGrad.Theory;

namespace SharpGrad.Cli.Exercises;

/// <summary>
/// Linear least squares min ‖A θ − y‖₂ through Householder QR with column pivoting (A P = Q R, then R z = Qᵀ y):
/// backward-stable, and it never forms AᵀA or an inverse, whose condition number is the square of A's.
/// </summary>
public static class LeastSquares
{
    /// <summary>
    /// The least-squares solution of A θ ≈ y for an m x n matrix A with m ≥ n. When A is rank deficient, the basic
    /// solution: the coefficients of the columns QR finds dependent are 0.
    /// </summary>
    /// <param name="a">The design matrix, m x n.</param>
    /// <param name="y">The right-hand side, length m.</param>
    /// <returns>θ (length n) and the numerical rank of A.</returns>
    public static (double[] Theta, int Rank) Solve(double[,] a, double[] y)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(y);
        int m = a.GetLength(0), n = a.GetLength(1);
        if (y.Length != m) throw new ArgumentException($"LeastSquares: the matrix has {m} rows but the right-hand side has {y.Length} entries.");
        if (m < n) throw new ArgumentException($"LeastSquares: {m} equations for {n} unknowns; need at least as many rows as columns.");
        var qr = ColumnPivotedQr.Factor(a);
        var q = qr.ThinQ();
        var r = qr.R();
        int rank = qr.Rank();
        var c = new double[n];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) c[j] += q[i, j] * y[i];
        var z = new double[n];
        for (int i = rank - 1; i >= 0; i--)
        {
            double s = c[i];
            for (int j = i + 1; j < rank; j++) s -= r[i, j] * z[j];
            z[i] = s / r[i, i];
        }
        var theta = new double[n];
        for (int j = 0; j < n; j++) theta[qr.Permutation[j]] = z[j];
        return (theta, rank);
    }
}

/// <summary>Options of <see cref="LinearRegression.Run"/> (seed 003 Q2).</summary>
public sealed record LinregOptions
{
    /// <summary>A numeric CSV file with a header, or null for the seeded synthetic data set.</summary>
    public string? DataPath { get; init; }
    /// <summary>The CSV column to predict (required with <see cref="DataPath"/>).</summary>
    public string? Target { get; init; }
    /// <summary>Rows of the synthetic data set.</summary>
    public int Samples { get; init; } = 500;
    /// <summary>Features of the synthetic data set.</summary>
    public int Features { get; init; } = 5;
    /// <summary>Standard deviation of the synthetic noise.</summary>
    public double Noise { get; init; } = 0.5;
    /// <summary>Seed of the synthetic data, the split and the MLP's initial weights.</summary>
    public ulong Seed { get; init; }
    /// <summary>Full-batch gradient-descent epochs of the linear model.</summary>
    public int Epochs { get; init; } = 100;
    /// <summary>Gradient-descent learning rate of the linear model.</summary>
    public double LearningRate { get; init; } = 0.1;
    /// <summary>Hidden layer sizes of the MLP regressor.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [32];
    /// <summary>Full-batch Adam epochs of the MLP.</summary>
    public int MlpEpochs { get; init; } = 300;
    /// <summary>Adam learning rate of the MLP.</summary>
    public double MlpLearningRate { get; init; } = 0.01;
    /// <summary>
    /// Whether the training steps and the per-epoch evaluations of both models run compiled (<see cref="Jit.Compile"/>:
    /// captured once, then replayed); false runs them eagerly (<c>--no-compile</c>). The results are the same to the bit.
    /// </summary>
    public bool Compile { get; init; } = true;
}

/// <summary>
/// The data as the models see it: features standardised with the training split's mean and standard deviation (so one
/// learning rate suits any CSV), the target in its own units. A row of <c>TrainX</c> is one sample.
/// </summary>
public sealed record LinregData(string Source, IReadOnlyList<string> FeatureNames, double[,] TrainX, double[] TrainY, double[,] TestX, double[] TestY);

/// <summary>Everything <c>sharpgrad linreg</c> and the report show. Weight vectors end with the intercept.</summary>
/// <param name="Data">The standardised split.</param>
/// <param name="Rank">Numerical rank of the training design matrix [X, 1].</param>
/// <param name="ClosedFormWeights">The least-squares weights (QR), intercept last.</param>
/// <param name="ClosedFormTrainLoss">Training MSE of the closed form: the smallest any linear model can reach.</param>
/// <param name="ClosedFormTestLoss">Test MSE of the closed form.</param>
/// <param name="GdWeights">Weights after the last gradient-descent epoch (started at 0).</param>
/// <param name="InitialDistance">‖θ₀ − θ*‖ before the first epoch.</param>
/// <param name="Distance">‖θ_e − θ*‖ after each epoch e = 1..E.</param>
/// <param name="GdTrainLoss">Training MSE after each epoch.</param>
/// <param name="GdTestLoss">Test MSE after each epoch.</param>
/// <param name="MlpTrainLoss">The MLP's training MSE after each epoch.</param>
/// <param name="MlpTestLoss">The MLP's test MSE after each epoch.</param>
/// <param name="MlpParameters">Number of MLP parameters.</param>
public sealed record LinregResult(LinregData Data, int Rank, double[] ClosedFormWeights, double ClosedFormTrainLoss, double ClosedFormTestLoss,
    double[] GdWeights, double InitialDistance, double[] Distance, double[] GdTrainLoss, double[] GdTestLoss,
    double[] MlpTrainLoss, double[] MlpTestLoss, long MlpParameters)
{
    /// <summary>Training MSE of gradient descent after the last epoch.</summary>
    public double FinalGdTrainLoss => GdTrainLoss[^1];
    /// <summary>Test MSE of gradient descent after the last epoch.</summary>
    public double FinalGdTestLoss => GdTestLoss[^1];
    /// <summary>Test MSE of the MLP after its last epoch.</summary>
    public double FinalMlpTestLoss => MlpTestLoss[^1];
    /// <summary>Training MSE of the MLP after its last epoch.</summary>
    public double FinalMlpTrainLoss => MlpTrainLoss[^1];
    /// <summary>n / λ_max(AᵀA): gradient descent on this training MSE diverges at or above this learning rate.</summary>
    public double MaxStableLearningRate { get; init; } = double.NaN;
    /// <summary>Whether the steps ran compiled and every one was replayed (none fell back to eager mode): for tests.</summary>
    internal bool Replayed { get; init; }
}

/// <summary>
/// Seed 003 Q2: linear regression solved in closed form (least squares by QR) and by full-batch gradient descent on the
/// mean squared error, with the distance between the two per epoch, then an MLP regressor on the same split.
/// </summary>
public static class LinearRegression
{
    /// <summary>Loads (or generates) the data, splits it 80/20 by seed and standardises the features.</summary>
    public static LinregData LoadData(LinregOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double[,] x; double[] y; IReadOnlyList<string> names; string source;
        if (options.DataPath is null)
        {
            if (options.Samples < 10) throw new ArgumentException($"--samples must be at least 10 (got {options.Samples}).");
            if (options.Features < 1) throw new ArgumentException($"--features must be at least 1 (got {options.Features}).");
            (x, y) = Synthetic(options.Samples, options.Features, options.Noise, options.Seed);
            names = Enumerable.Range(1, options.Features).Select(i => $"x{i}").ToArray();
            source = $"synthetic: y = X w* + 1 + N(0, {options.Noise}²), {options.Samples} x {options.Features}, seed {options.Seed}";
        }
        else
        {
            if (string.IsNullOrEmpty(options.Target)) throw new ArgumentException("--target: name the CSV column to predict.");
            var table = Csv.Read(options.DataPath);
            if (table.Columns.Count < 2) throw new InvalidDataException($"{options.DataPath}: needs a target and at least one feature column; found {table.Columns.Count} column(s).");
            var (features, target) = table.Split(options.Target);
            int rows = features.Shape[0], cols = features.Shape[1];
            if (rows < 5) throw new InvalidDataException($"{options.DataPath}: {rows} data rows; need at least 5 for an 80/20 split.");
            var flat = features.ToArray<double>();
            x = new double[rows, cols];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) x[i, j] = flat[i * cols + j];
            y = target.ToArray<double>();
            names = table.Columns.Where(c => c != options.Target).ToArray();
            source = $"{Path.GetFileName(options.DataPath)}: predict '{options.Target}' from {cols} feature(s), {rows} rows";
        }
        return Split(source, names, x, y, options.Seed);
    }

    /// <summary>Runs the exercise.</summary>
    public static LinregResult Run(LinregOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1) throw new ArgumentException($"--epochs must be at least 1 (got {options.Epochs}).");
        if (!(options.LearningRate > 0)) throw new ArgumentException($"--lr must be positive (got {options.LearningRate}).");
        if (options.MlpEpochs < 1) throw new ArgumentException($"--mlp-epochs must be at least 1 (got {options.MlpEpochs}).");
        var data = LoadData(options);
        int d = data.FeatureNames.Count;

        // Closed form on the design matrix [X, 1].
        var (theta, rank) = LeastSquares.Solve(WithOnes(data.TrainX), data.TrainY);
        double cfTrain = Mse(data.TrainX, data.TrainY, theta), cfTest = Mse(data.TestX, data.TestY, theta);

        // Gradient descent on the same MSE, through autograd, from θ = 0.
        var xTrain = ToTensor(data.TrainX); var yTrain = Tensor.FromArray(data.TrainY, data.TrainY.Length, 1);
        var xTest = ToTensor(data.TestX); var yTest = Tensor.FromArray(data.TestY, data.TestY.Length, 1);
        var w = Tensor.Zeros([d, 1], DType.Float64, requiresGrad: true);
        var b = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
        var sgd = new Sgd([w, b], options.LearningRate);
        var distance = new double[options.Epochs];
        var trainLoss = new double[options.Epochs];
        var testLoss = new double[options.Epochs];
        double limit = MaxStableLearningRate(WithOnes(data.TrainX));
        double initial = Distance(w, b, theta), startLoss = data.TrainY.Average(v => v * v); // the MSE at θ = 0
        // The step and the evaluation (one plan per data split), compiled or eager alike.
        var steps = new Steps(options.Compile);
        var step = steps.Of(t =>
        {
            sgd.ZeroGrad();
            var loss = Functional.MseLoss(t[0].MatMul(w) + b, t[1]);
            loss.Backward();
            sgd.Step();
            return loss;
        });
        var evaluate = steps.Of(t =>
        {
            using (Autograd.NoGrad()) return Functional.MseLoss(t[0].MatMul(w) + b, t[1]);
        });
        for (int e = 0; e < options.Epochs; e++)
        {
            step(xTrain, yTrain);
            trainLoss[e] = evaluate(xTrain, yTrain).Item();
            testLoss[e] = evaluate(xTest, yTest).Item();
            // On a quadratic, GD with lr above the limit grows geometrically; stop long before it overflows.
            if (!double.IsFinite(trainLoss[e]) || trainLoss[e] > 1e6 * Math.Max(startLoss, 1e-300))
                throw new InvalidOperationException(FormattableString.Invariant(
                    $"gradient descent diverged: the training MSE grew from {startLoss:G4} to {trainLoss[e]:G4} by epoch {e + 1}; --lr {options.LearningRate} is above this problem's stability limit {limit:G4} (n / λ_max(AᵀA))."));
            distance[e] = Distance(w, b, theta);
        }
        var gd = w.ToArray<double>().Append(b.Item()).ToArray();

        var (mlpTrain, mlpTest, count) = TrainMlp(options, steps, xTrain, yTrain, xTest, yTest);
        return new LinregResult(data, rank, theta, cfTrain, cfTest, gd, initial, distance, trainLoss, testLoss, mlpTrain, mlpTest, count)
        {
            MaxStableLearningRate = limit, Replayed = steps.AllReplayed,
        };
    }

    /// <summary>
    /// The learning rate above which full-batch GD on the MSE diverges: the iteration is θ ← (I − η (2/n) AᵀA) θ + …,
    /// stable iff η (2/n) λ_max(AᵀA) &lt; 2, i.e. η &lt; n / λ_max. λ_max of the small symmetric matrix AᵀA by the Jacobi
    /// method (<see cref="SymmetricEigen"/>): power iteration from a fixed start misses λ_max when its eigenvector is
    /// orthogonal to the start, as for two negatively correlated features.
    /// </summary>
    public static double MaxStableLearningRate(double[,] a)
    {
        ArgumentNullException.ThrowIfNull(a);
        int n = a.GetLength(0), d = a.GetLength(1);
        var m = new double[d, d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) m[i, j] += a[r, i] * a[r, j];
        double lambda = SymmetricEigen.Eigenvalues(m)[^1];
        if (!(lambda > 0)) return double.PositiveInfinity;
        return n / lambda;
    }

    /// <summary>
    /// An MLP regressor (Linear → ReLU per hidden size → Linear to 1 output) trained by full-batch Adam on the MSE of the
    /// standardised target (Adam's steps are of size lr whatever the target's units, so a target around 1000 would take
    /// thousands of epochs just to reach its mean). The losses are reported in the target's own units: MSE = σ² · MSE_z.
    /// </summary>
    private static (double[] Train, double[] Test, long Parameters) TrainMlp(LinregOptions options, Steps steps, Tensor xTrain, Tensor yTrain, Tensor xTest, Tensor yTest)
    {
        var yv = yTrain.ToArray<double>();
        double mean = yv.Average(), std = Math.Sqrt(yv.Average(v => (v - mean) * (v - mean)));
        if (std == 0) std = 1;
        yTrain = (yTrain - mean) / std;
        yTest = (yTest - mean) / std;
        double scale = std * std;
        var g = new Generator(options.Seed + 1);
        var model = new Sequential();
        int width = xTrain.Shape[1];
        foreach (int h in options.Hidden)
        {
            model.Add(new Linear(width, h, generator: g, dtype: DType.Float64)).Add(new ReLU());
            width = h;
        }
        model.Add(new Linear(width, 1, generator: g, dtype: DType.Float64));
        var adam = new Adam(model.Parameters(), options.MlpLearningRate);
        var train = new double[options.MlpEpochs];
        var test = new double[options.MlpEpochs];
        double lastFinite = double.NaN;
        var step = steps.Of(t =>
        {
            adam.ZeroGrad();
            var loss = Functional.MseLoss(model.Forward(t[0]), t[1]);
            loss.Backward();
            adam.Step();
            return loss;
        });
        var evaluate = steps.Of(t =>
        {
            using (Autograd.NoGrad()) return Functional.MseLoss(model.Forward(t[0]), t[1]);
        });
        for (int e = 0; e < options.MlpEpochs; e++)
        {
            step(xTrain, yTrain);
            train[e] = scale * evaluate(xTrain, yTrain).Item();
            test[e] = scale * evaluate(xTest, yTest).Item();
            if (!double.IsFinite(train[e])) throw new SharpGrad.Training.NonFiniteLossException(e + 1, e + 1, train[e], lastFinite);
            lastFinite = train[e];
        }
        return (train, test, model.ParameterCount());
    }

    /// <summary>Step functions run compiled (<see cref="CompiledStep.Run"/>) or eagerly, behind one signature.</summary>
    private sealed class Steps(bool compile)
    {
        private readonly List<CompiledStep> _compiled = [];

        public Func<Tensor, Tensor, Tensor> Of(Func<Tensor[], Tensor> body)
        {
            if (!compile) return (x, y) => body([x, y]);
            var compiled = Jit.Compile(body);
            _compiled.Add(compiled);
            return (x, y) => compiled.Run(x, y);
        }

        /// <summary>Whether every compiled step captured a plan and none fell back to eager mode.</summary>
        public bool AllReplayed => _compiled.Count > 0 && _compiled.TrueForAll(c => c.FallbackReason is null && c.PlanCount > 0);
    }

    /// <summary>y = X w* + 1 + noise with X ~ N(0, 1) and w* ~ N(0, 1), all drawn from one generator.</summary>
    private static (double[,] X, double[] Y) Synthetic(int n, int d, double noise, ulong seed)
    {
        var g = new Generator(seed);
        var wStar = new double[d];
        for (int j = 0; j < d; j++) wStar[j] = g.NextNormal();
        var x = new double[n, d];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 1.0;
            for (int j = 0; j < d; j++) { x[i, j] = g.NextNormal(); s += x[i, j] * wStar[j]; }
            y[i] = s + noise * g.NextNormal();
        }
        return (x, y);
    }

    /// <summary>A seeded shuffle, the first 80% for training, then z-scores of the features from the training rows.</summary>
    private static LinregData Split(string source, IReadOnlyList<string> names, double[,] x, double[] y, ulong seed)
    {
        int n = y.Length, d = x.GetLength(1);
        var order = Enumerable.Range(0, n).ToArray();
        var g = new Generator(seed ^ 0x5DEECE66DUL); // a stream of its own, so the split does not repeat the data's draws
        for (int i = n - 1; i > 0; i--) { int j = g.NextInt(i + 1); (order[i], order[j]) = (order[j], order[i]); }
        int nTest = Math.Max(1, (int)Math.Round(n * 0.2)), nTrain = n - nTest;
        var mean = new double[d]; var std = new double[d];
        for (int j = 0; j < d; j++)
        {
            for (int i = 0; i < nTrain; i++) mean[j] += x[order[i], j];
            mean[j] /= nTrain;
            for (int i = 0; i < nTrain; i++) std[j] += (x[order[i], j] - mean[j]) * (x[order[i], j] - mean[j]);
            std[j] = Math.Sqrt(std[j] / nTrain);
            if (std[j] == 0) std[j] = 1; // a constant column stays constant (0) rather than dividing by zero
        }
        double[,] Rows(int from, int count)
        {
            var r = new double[count, d];
            for (int i = 0; i < count; i++) for (int j = 0; j < d; j++) r[i, j] = (x[order[from + i], j] - mean[j]) / std[j];
            return r;
        }
        double[] Targets(int from, int count) => Enumerable.Range(from, count).Select(i => y[order[i]]).ToArray();
        return new LinregData(source, names, Rows(0, nTrain), Targets(0, nTrain), Rows(nTrain, nTest), Targets(nTrain, nTest));
    }

    /// <summary>[X, 1]: the features with a column of ones for the intercept.</summary>
    private static double[,] WithOnes(double[,] x)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var a = new double[n, d + 1];
        for (int i = 0; i < n; i++) { for (int j = 0; j < d; j++) a[i, j] = x[i, j]; a[i, d] = 1; }
        return a;
    }

    /// <summary>Mean squared error of the linear model θ (intercept last), in double.</summary>
    public static double Mse(double[,] x, double[] y, double[] theta)
    {
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(y); ArgumentNullException.ThrowIfNull(theta);
        int n = x.GetLength(0), d = x.GetLength(1);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double f = theta[d];
            for (int j = 0; j < d; j++) f += x[i, j] * theta[j];
            sum += (f - y[i]) * (f - y[i]);
        }
        return sum / n;
    }

    private static double Distance(Tensor w, Tensor b, double[] theta)
    {
        var wv = w.ToArray<double>();
        double s = (b.Item() - theta[^1]) * (b.Item() - theta[^1]);
        for (int j = 0; j < wv.Length; j++) s += (wv[j] - theta[j]) * (wv[j] - theta[j]);
        return Math.Sqrt(s);
    }

    private static Tensor ToTensor(double[,] x)
    {
        int n = x.GetLength(0), d = x.GetLength(1);
        var flat = new double[n * d];
        Buffer.BlockCopy(x, 0, flat, 0, flat.Length * sizeof(double));
        return Tensor.FromArray(flat, n, d);
    }
}
