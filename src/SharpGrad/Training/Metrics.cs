namespace SharpGrad.Training;

/// <summary>
/// Evaluation metrics over whole data sets, for classification (class scores or labels against Int64 class targets)
/// and regression (predictions against targets of the same shape). Each returns a plain number; none records on the tape.
/// Their definitions are scikit-learn's (named on each), checked against independent NumPy formulas in
/// tools/golden/metrics.py.
/// </summary>
public static class Metrics
{
    /// <summary>
    /// Fraction of examples whose predicted class equals the target (sklearn: <c>accuracy_score</c>).
    /// <paramref name="output"/> is [N, C] class scores (the prediction is the first largest) or [N] Int64 labels.
    /// </summary>
    public static double Accuracy(Tensor output, Tensor target)
    {
        var (pred, y) = Labels(output, target, nameof(Accuracy));
        long hits = 0;
        for (int i = 0; i < y.Length; i++) if (pred[i] == y[i]) hits++;
        return y.Length == 0 ? double.NaN : (double)hits / y.Length;
    }

    /// <summary>
    /// Fraction of examples whose target is among the <paramref name="k"/> largest of its [N, C] class scores
    /// (sklearn: <c>top_k_accuracy_score</c> when no scores tie); the target is inside when fewer than k classes score
    /// strictly higher than it, so a tie with the k-th largest counts as a hit.
    /// </summary>
    public static double TopKAccuracy(Tensor output, Tensor target, int k)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank != 2) throw new ArgumentException($"TopKAccuracy: the output must be [N, C] class scores; got shape {Shapes.Format(output.ShapeRef)}.", nameof(output));
        int n = output.ShapeRef[0], c = output.ShapeRef[1];
        if (k < 1 || k > c) throw new ArgumentOutOfRangeException(nameof(k), k, $"TopKAccuracy: k must be in [1, {c}] for {c} classes.");
        var y = Targets(target, n, c, nameof(TopKAccuracy));
        var s = Doubles(output);
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            double mine = s[i * c + (int)y[i]];
            int above = 0; // classes scored strictly higher than the target's
            for (int j = 0; j < c; j++) if (s[i * c + j] > mine) above++;
            if (above < k) hits++;
        }
        return n == 0 ? double.NaN : (double)hits / n;
    }

    /// <summary>Mean of |prediction − target| over every element (sklearn: <c>mean_absolute_error</c>, averaged over outputs).</summary>
    public static double MeanAbsoluteError(Tensor prediction, Tensor target)
    {
        var (p, t) = Pair(prediction, target, nameof(MeanAbsoluteError));
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += Math.Abs(p[i] - t[i]);
        return p.Length == 0 ? double.NaN : sum / p.Length;
    }

    /// <summary>Square root of the mean of (prediction − target)² over every element (the root of sklearn's <c>mean_squared_error</c>).</summary>
    public static double RootMeanSquaredError(Tensor prediction, Tensor target)
    {
        var (p, t) = Pair(prediction, target, nameof(RootMeanSquaredError));
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += (p[i] - t[i]) * (p[i] - t[i]);
        return p.Length == 0 ? double.NaN : Math.Sqrt(sum / p.Length);
    }

    /// <summary>
    /// Coefficient of determination 1 − Σ(t − p)² / Σ(t − mean t)², per output column of [N] or [N, K] data and then
    /// averaged over the columns (sklearn: <c>r2_score</c>, uniform average). A column whose targets are all equal scores
    /// 1 when predicted exactly and 0 otherwise, as sklearn does.
    /// </summary>
    public static double R2Score(Tensor prediction, Tensor target)
    {
        var (p, t) = Pair(prediction, target, nameof(R2Score));
        if (prediction.Rank == 0) throw new ArgumentException("R2Score: needs at least one dimension of examples.", nameof(prediction));
        int n = prediction.ShapeRef[0];
        if (n == 0) return double.NaN;
        int k = p.Length / n;
        double total = 0;
        for (int j = 0; j < k; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += t[i * k + j];
            mean /= n;
            double res = 0, tot = 0;
            for (int i = 0; i < n; i++)
            {
                res += (t[i * k + j] - p[i * k + j]) * (t[i * k + j] - p[i * k + j]);
                tot += (t[i * k + j] - mean) * (t[i * k + j] - mean);
            }
            total += tot == 0 ? (res == 0 ? 1 : 0) : 1 - res / tot;
        }
        return total / k;
    }

    /// <summary>
    /// The [numClasses, numClasses] Int64 confusion matrix: entry (i, j) counts examples of true class i predicted as
    /// class j (sklearn: <c>confusion_matrix</c> with <c>labels=range(numClasses)</c>).
    /// </summary>
    public static Tensor ConfusionMatrix(Tensor output, Tensor target, int numClasses)
    {
        var counts = Confusion(output, target, numClasses, nameof(ConfusionMatrix));
        return Tensor.FromArray(counts, numClasses, numClasses);
    }

    /// <summary>
    /// Precision, recall, F1 and support of every class, and their macro averages (sklearn:
    /// <c>precision_recall_fscore_support</c> with <c>labels=range(numClasses)</c>, <c>zero_division=0</c>): a class
    /// never predicted has precision 0, one never present recall 0, and F1 is 0 when both are.
    /// </summary>
    public static ClassificationScores PrecisionRecallF1(Tensor output, Tensor target, int numClasses)
    {
        var m = Confusion(output, target, numClasses, nameof(PrecisionRecallF1));
        var precision = new double[numClasses];
        var recall = new double[numClasses];
        var f1 = new double[numClasses];
        var support = new long[numClasses];
        for (int c = 0; c < numClasses; c++)
        {
            long tp = m[c * numClasses + c], predicted = 0, actual = 0;
            for (int j = 0; j < numClasses; j++) { predicted += m[j * numClasses + c]; actual += m[c * numClasses + j]; }
            precision[c] = predicted == 0 ? 0 : (double)tp / predicted;
            recall[c] = actual == 0 ? 0 : (double)tp / actual;
            f1[c] = precision[c] + recall[c] == 0 ? 0 : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
            support[c] = actual;
        }
        return new ClassificationScores(precision, recall, f1, support);
    }

    /// <summary>Macro-averaged precision over <paramref name="numClasses"/> classes (see <see cref="PrecisionRecallF1"/>).</summary>
    public static double Precision(Tensor output, Tensor target, int numClasses) => PrecisionRecallF1(output, target, numClasses).MacroPrecision;

    /// <summary>Macro-averaged recall over <paramref name="numClasses"/> classes (see <see cref="PrecisionRecallF1"/>).</summary>
    public static double Recall(Tensor output, Tensor target, int numClasses) => PrecisionRecallF1(output, target, numClasses).MacroRecall;

    /// <summary>Macro-averaged F1 over <paramref name="numClasses"/> classes (see <see cref="PrecisionRecallF1"/>).</summary>
    public static double F1Score(Tensor output, Tensor target, int numClasses) => PrecisionRecallF1(output, target, numClasses).MacroF1;

    /// <summary>
    /// Area under the ROC curve of a binary classifier (sklearn: <c>roc_auc_score</c>): the probability that a random
    /// positive example scores above a random negative one, ties counting one half. <paramref name="scores"/> is [N] or
    /// [N, 1] (a larger score means "more positive": a logit or a probability) or [N, 2] class scores (their difference
    /// is used, which orders examples as the positive class's softmax probability does); <paramref name="target"/> holds
    /// 0 and 1 (any dtype).
    /// </summary>
    /// <exception cref="ArgumentException">Only one class occurs in <paramref name="target"/>: the AUC is undefined.</exception>
    public static double RocAuc(Tensor scores, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(target);
        int n = scores.Rank == 0 ? 1 : scores.ShapeRef[0];
        var s = Doubles(scores);
        double[] score;
        if (scores.Rank == 1 || (scores.Rank == 2 && scores.ShapeRef[1] == 1)) score = s;
        else if (scores.Rank == 2 && scores.ShapeRef[1] == 2)
        {
            score = new double[n];
            for (int i = 0; i < n; i++) score[i] = s[2 * i + 1] - s[2 * i];
        }
        else throw new ArgumentException($"RocAuc: scores must be [N], [N, 1] or [N, 2]; got shape {Shapes.Format(scores.ShapeRef)}.", nameof(scores));
        var y = Doubles(target);
        if (y.Length != n) throw new ArgumentException($"RocAuc: {n} scores but the target has shape {Shapes.Format(target.ShapeRef)}.", nameof(target));
        long positives = 0;
        foreach (double v in y)
        {
            if (v != 0 && v != 1) throw new ArgumentException($"RocAuc: binary targets must be 0 or 1; found {v}.", nameof(target));
            if (v == 1) positives++;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
            throw new ArgumentException($"RocAuc: the target holds only {(positives == 0 ? "negatives" : "positives")} ({n} examples); the AUC needs both classes.", nameof(target));
        // Mann-Whitney: the rank sum of the positives, tied scores sharing their average rank.
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => score[a].CompareTo(score[b]));
        double rankSum = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && score[order[j + 1]] == score[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int q = i; q <= j; q++) if (y[order[q]] == 1) rankSum += rank;
            i = j + 1;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    private static long[] Confusion(Tensor output, Tensor target, int numClasses, string op)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"{op}: numClasses must be at least 1.");
        var (pred, y) = Labels(output, target, op);
        var m = new long[(long)numClasses * numClasses];
        for (int i = 0; i < y.Length; i++)
        {
            if ((ulong)pred[i] >= (ulong)numClasses || (ulong)y[i] >= (ulong)numClasses)
                throw new ArgumentException($"{op}: example {i} has target {y[i]} and prediction {pred[i]}; classes must be in [0, {numClasses - 1}].");
            m[y[i] * numClasses + pred[i]]++;
        }
        return m;
    }

    /// <summary>Predicted labels (argmax of [N, C] scores, or [N] Int64 labels as given) and the targets, checked.</summary>
    private static (long[] Predicted, long[] Target) Labels(Tensor output, Tensor target, string op)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank == 1 && output.DType == DType.Int64)
            return (output.Array<long>().ToArray(), Targets(target, output.ShapeRef[0], int.MaxValue, op));
        if (output.Rank != 2 || !output.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: the output must be [N, C] class scores or [N] Int64 labels; got {output.DType.ToTorchName()} with shape {Shapes.Format(output.ShapeRef)}.", nameof(output));
        int n = output.ShapeRef[0], c = output.ShapeRef[1];
        var s = Doubles(output);
        var pred = new long[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int j = 1; j < c; j++) if (s[i * c + j] > s[i * c + best]) best = j;
            pred[i] = best;
        }
        return (pred, Targets(target, n, c, op));
    }

    private static long[] Targets(Tensor target, int n, int classes, string op)
    {
        if (target.DType != DType.Int64)
            throw new ArgumentException($"{op}: class targets must be Int64; got {target.DType.ToTorchName()}. Convert them with .To(DType.Int64).", nameof(target));
        if (target.Rank != 1 || target.ShapeRef[0] != n)
            throw new ArgumentException($"{op}: the target has shape {Shapes.Format(target.ShapeRef)}; expected [{n}], one class per example.", nameof(target));
        var y = target.Array<long>();
        for (int i = 0; i < y.Length; i++)
            if (y[i] < 0 || y[i] >= classes) throw new ArgumentException($"{op}: target {i} is class {y[i]}, outside [0, {classes - 1}].", nameof(target));
        return y.ToArray();
    }

    private static (double[] Prediction, double[] Target) Pair(Tensor prediction, Tensor target, string op)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!Shapes.Equal(prediction.ShapeRef, target.ShapeRef))
            throw new ArgumentException($"{op}: the prediction has shape {Shapes.Format(prediction.ShapeRef)} but the target has shape {Shapes.Format(target.ShapeRef)}; they must be equal.");
        return (Doubles(prediction), Doubles(target));
    }

    /// <summary>The elements as doubles, whatever the dtype (Bool as 0/1).</summary>
    internal static double[] Doubles(Tensor t) => t.Storage switch
    {
        float[] f => Array.ConvertAll(f, v => (double)v),
        double[] d => d.ToArray(),
        long[] l => Array.ConvertAll(l, v => (double)v),
        bool[] b => Array.ConvertAll(b, v => v ? 1.0 : 0.0),
        _ => throw new NotSupportedException($"Metrics: unsupported dtype {t.DType}."),
    };
}

/// <summary>Per-class precision, recall, F1 and support (examples of the class), from <see cref="Metrics.PrecisionRecallF1"/>.</summary>
/// <param name="Precision">TP / (TP + FP) per class; 0 for a class never predicted.</param>
/// <param name="Recall">TP / (TP + FN) per class; 0 for a class absent from the targets.</param>
/// <param name="F1">Harmonic mean of precision and recall per class; 0 when both are 0.</param>
/// <param name="Support">Examples of each class in the targets.</param>
public sealed record ClassificationScores(double[] Precision, double[] Recall, double[] F1, long[] Support)
{
    /// <summary>Unweighted mean of <see cref="Precision"/> over the classes.</summary>
    public double MacroPrecision => Precision.Average();

    /// <summary>Unweighted mean of <see cref="Recall"/> over the classes.</summary>
    public double MacroRecall => Recall.Average();

    /// <summary>Unweighted mean of <see cref="F1"/> over the classes.</summary>
    public double MacroF1 => F1.Average();
}
