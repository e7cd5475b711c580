namespace SharpGrad.NN;

/// <summary>Activation functions by name, for model builders and the command line.</summary>
public enum Activation
{
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Logistic sigmoid.</summary>
    Sigmoid,
    /// <summary>No activation (a linear network).</summary>
    Identity,
}

/// <summary>Ready-made models for the seed exercises' image classification tasks (seed 003 Q3–Q4).</summary>
public static class Models
{
    /// <summary>A fresh module computing <paramref name="activation"/>.</summary>
    public static Module ActivationModule(Activation activation) => activation switch
    {
        Activation.Relu => new ReLU(),
        Activation.Tanh => new Tanh(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Identity => new Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>
    /// Multinomial logistic regression: Flatten then one Linear layer producing class scores (the softmax is in the
    /// cross-entropy loss).
    /// </summary>
    public static Sequential LogisticRegression(int inputs, int classes, Generator? generator = null) =>
        new(new Flatten(), new Linear(inputs, classes, generator: generator));

    /// <summary>
    /// A multilayer perceptron: Flatten, then for each hidden size Linear → activation (→ Dropout when
    /// <paramref name="dropout"/> &gt; 0), then a Linear output layer.
    /// </summary>
    public static Sequential Mlp(int inputs, IReadOnlyList<int> hidden, int classes, Activation activation = Activation.Relu,
        double dropout = 0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        var seq = new Sequential(new Flatten());
        int width = inputs;
        foreach (int h in hidden)
        {
            seq.Add(new Linear(width, h, generator: generator));
            seq.Add(ActivationModule(activation));
            if (dropout > 0) seq.Add(new Dropout(dropout, generator is null ? null : new Generator(generator.NextUInt64())));
            width = h;
        }
        seq.Add(new Linear(width, classes, generator: generator));
        return seq;
    }

    /// <summary>
    /// A small CNN for 28x28 grey images with fewer than 100,000 parameters: two blocks of
    /// Conv(k x k) → BatchNorm → ReLU → MaxPool(2) (1→32 and 32→64 channels, <paramref name="kernelSize"/> 5 by
    /// default), then Dropout and a Linear classifier on the 64·4·4 features (64·7·7 with <paramref name="padding"/> 2,
    /// 83,658 parameters with batch norm; 3x3 kernels with padding 1 also keep 28x28, 50,378 parameters). Without
    /// <paramref name="batchNorm"/> and padding it is the benchmark CNN of the kernels issue (62,346 parameters).
    /// </summary>
    public static Sequential Cnn(int classes = 10, double dropout = 0.0, bool batchNorm = false, Activation activation = Activation.Relu, Generator? generator = null,
        int padding = 0, int kernelSize = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (kernelSize is not (3 or 5)) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Cnn: the kernel size must be 3 or 5.");
        if (2 * padding > kernelSize - 1)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Cnn: padding above {(kernelSize - 1) / 2} would grow the 28x28 image with {kernelSize}x{kernelSize} kernels.");
        var seq = new Sequential(new Conv2d(1, 32, kernelSize, padding: padding, generator: generator));
        if (batchNorm) seq.Add(new BatchNorm2d(32));
        seq.Add(ActivationModule(activation)).Add(new MaxPool2d(2));
        seq.Add(new Conv2d(32, 64, kernelSize, padding: padding, generator: generator));
        if (batchNorm) seq.Add(new BatchNorm2d(64));
        seq.Add(ActivationModule(activation)).Add(new MaxPool2d(2)).Add(new Flatten());
        if (dropout > 0) seq.Add(new Dropout(dropout, generator is null ? null : new Generator(generator.NextUInt64())));
        int shrink = kernelSize - 1 - 2 * padding;
        int side = ((28 - shrink) / 2 - shrink) / 2;
        seq.Add(new Linear(64 * side * side, classes, generator: generator));
        return seq;
    }

    /// <summary>
    /// A VGG-style CNN for square grey images: for each stage, 3x3 convolutions with padding 1 (the channel counts of
    /// <paramref name="stages"/>, each followed by BatchNorm when <paramref name="batchNorm"/> and the activation), then
    /// MaxPool(2); then Flatten, Dropout (when <paramref name="dropout"/> &gt; 0) and a Linear classifier on the last
    /// stage's channels times the pooled side squared. <c>[[32], [64, 64]]</c> on 28x28 images is
    /// conv 1→32, pool to 14x14, conv 32→64, conv 64→64, pool to 7x7, Linear(3136, 10): 87,402 parameters with batch norm.
    /// </summary>
    /// <param name="stages">Channel counts of the convolutions of each stage; at least one stage, none empty.</param>
    /// <param name="classes">Number of class scores.</param>
    /// <param name="dropout">Dropout probability before the classifier (0 = none).</param>
    /// <param name="batchNorm">Whether each convolution is followed by BatchNorm2d.</param>
    /// <param name="activation">The activation after each convolution (and batch norm).</param>
    /// <param name="generator">Initialisation generator (PyTorch's default initialisations); null uses a fresh one.</param>
    /// <param name="inputSize">Height and width of the input images.</param>
    /// <param name="inputChannels">Channels of the input images.</param>
    /// <exception cref="ArgumentException">A stage is empty, a channel count is not positive, or the images would
    /// pool below 1x1.</exception>
    public static Sequential StagedCnn(IReadOnlyList<IReadOnlyList<int>> stages, int classes = 10, double dropout = 0.0, bool batchNorm = true,
        Activation activation = Activation.Relu, Generator? generator = null, int inputSize = 28, int inputChannels = 1)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0) throw new ArgumentException("StagedCnn: at least one stage is needed.", nameof(stages));
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputChannels, 1);
        int side = inputSize;
        foreach (var stage in stages) side /= 2;
        if (side < 1)
            throw new ArgumentException($"StagedCnn: {stages.Count} stages pool a {inputSize}x{inputSize} image below 1x1.", nameof(stages));
        var seq = new Sequential();
        int channels = inputChannels;
        for (int s = 0; s < stages.Count; s++)
        {
            if (stages[s] is null || stages[s].Count == 0) throw new ArgumentException($"StagedCnn: stage {s} has no convolution.", nameof(stages));
            foreach (int c in stages[s])
            {
                if (c < 1) throw new ArgumentException($"StagedCnn: stage {s} has a channel count of {c}; it must be positive.", nameof(stages));
                seq.Add(new Conv2d(channels, c, 3, padding: 1, generator: generator));
                if (batchNorm) seq.Add(new BatchNorm2d(c));
                seq.Add(ActivationModule(activation));
                channels = c;
            }
            seq.Add(new MaxPool2d(2));
        }
        seq.Add(new Flatten());
        if (dropout > 0) seq.Add(new Dropout(dropout, generator is null ? null : new Generator(generator.NextUInt64())));
        seq.Add(new Linear(channels * side * side, classes, generator: generator));
        return seq;
    }
}
