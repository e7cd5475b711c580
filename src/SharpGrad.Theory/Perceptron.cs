namespace SharpGrad.Theory;

/// <summary>
/// Rosenblatt's perceptron, trained by its learning rule — a mistake-driven update, not a gradient step: for each
/// misclassified example, the weights of the true class move toward x and those of the predicted class away from it
/// (W[y] += ηx, W[ŷ] −= ηx, and likewise the biases). With two classes and labels ±1 this is the classic rule
/// w ← w + η y x on y(wᵀx + b) ≤ 0. Converges in finitely many updates when the data are linearly separable
/// (Novikoff, 1962), which is why AND and OR are learned and XOR never is.
/// </summary>
public sealed class Perceptron
{
    private readonly double[] _w;
    private readonly double[] _b;

    /// <summary>Creates a perceptron over <paramref name="features"/> inputs and <paramref name="classes"/> classes (2 or more), weights at zero.</summary>
    public Perceptron(int features, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A perceptron needs at least 2 classes.");
        (Features, Classes) = (features, classes);
        _w = new double[features * classes];
        _b = new double[classes];
    }

    /// <summary>Input size.</summary>
    public int Features { get; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>The weights as a [classes, features] Float64 tensor (a copy).</summary>
    public Tensor Weight => Tensor.FromArray(_w, Classes, Features);
    /// <summary>The biases as a [classes] Float64 tensor (a copy).</summary>
    public Tensor Bias => Tensor.FromArray(_b);

    /// <summary>The class with the highest score wᵀx + b (the first on ties).</summary>
    public int Predict(ReadOnlySpan<float> x)
    {
        if (x.Length != Features) throw new ArgumentException($"Perceptron: expected {Features} features, got {x.Length}.", nameof(x));
        Span<double> scores = Classes <= 256 ? stackalloc double[Classes] : new double[Classes];
        Scores(x, scores);
        return ArgMax(scores);
    }

    /// <summary>
    /// Applies the rule to one example: nothing happens when the true class scores strictly higher than every other;
    /// otherwise the true class's weights move toward x, the strongest rival's away from it, and this returns true. A tie
    /// counts as a mistake, so that all-zero weights still learn (the binary rule's y(wᵀx + b) ≤ 0).
    /// </summary>
    public bool Update(ReadOnlySpan<float> x, int label, double learningRate = 1.0)
    {
        if (x.Length != Features) throw new ArgumentException($"Perceptron: expected {Features} features, got {x.Length}.", nameof(x));
        if ((uint)label >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(label), label, $"Perceptron: label outside [0, {Classes}).");
        Span<double> scores = Classes <= 256 ? stackalloc double[Classes] : new double[Classes];
        Scores(x, scores);
        int rival = -1;
        for (int c = 0; c < Classes; c++)
            if (c != label && (rival < 0 || scores[c] > scores[rival])) rival = c;
        if (scores[label] > scores[rival]) return false;
        var up = _w.AsSpan(label * Features, Features);
        var down = _w.AsSpan(rival * Features, Features);
        for (int i = 0; i < Features; i++) { up[i] += learningRate * x[i]; down[i] -= learningRate * x[i]; }
        _b[label] += learningRate;
        _b[rival] -= learningRate;
        return true;
    }

    private void Scores(ReadOnlySpan<float> x, Span<double> scores)
    {
        for (int c = 0; c < Classes; c++)
        {
            double s = _b[c];
            var row = _w.AsSpan(c * Features, Features);
            for (int i = 0; i < Features; i++) s += row[i] * x[i];
            scores[c] = s;
        }
    }

    private static int ArgMax(ReadOnlySpan<double> scores)
    {
        int best = 0;
        for (int c = 1; c < scores.Length; c++) if (scores[c] > scores[best]) best = c;
        return best;
    }

    /// <summary>
    /// One pass over the examples in the given order, applying the rule to each; returns the number of mistakes (updates).
    /// The inputs are [N, features] Float32 or Float64, the labels Int64 [N].
    /// </summary>
    public int Epoch(Tensor inputs, Tensor labels, int[]? order = null, double learningRate = 1.0)
    {
        var (x, y) = Check(inputs, labels);
        int n = y.Length, mistakes = 0;
        for (int k = 0; k < n; k++)
        {
            int i = order is null ? k : order[k];
            if (Update(x.AsSpan(i * Features, Features), (int)y[i], learningRate)) mistakes++;
        }
        return mistakes;
    }

    /// <summary>Fraction of the examples classified correctly.</summary>
    public double Accuracy(Tensor inputs, Tensor labels)
    {
        var (x, y) = Check(inputs, labels);
        int correct = 0;
        for (int i = 0; i < y.Length; i++) if (Predict(x.AsSpan(i * Features, Features)) == y[i]) correct++;
        return y.Length == 0 ? double.NaN : (double)correct / y.Length;
    }

    private (float[] X, long[] Y) Check(Tensor inputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        var flat = inputs.Rank == 2 ? inputs : inputs.Reshape(inputs.Rank == 0 ? 1 : inputs.ShapeRef[0], -1);
        if (flat.ShapeRef[1] != Features || labels.DType != DType.Int64 || labels.Rank != 1 || labels.ShapeRef[0] != flat.ShapeRef[0])
            throw new ArgumentException($"Perceptron: expected inputs [N, {Features}] and Int64 labels [N]; got {Shapes.Format(inputs.ShapeRef)} and {labels.DType.ToTorchName()} {Shapes.Format(labels.ShapeRef)}.");
        return (flat.To(DType.Float32).Array<float>(), labels.Array<long>());
    }
}
